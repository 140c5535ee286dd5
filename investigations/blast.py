"""Blast radius and neighbourhood of a pivot: its in-scope events, whole keys read from the
``activity`` rollups and the rest from its ``scoped`` table (see ``pivot_events``).

Everything here describes the in-scope events: where the credential went (accounts, regions,
roles), what it touched (resources written and read), what went wrong (errors), how much left
(``bytesTransferredOut``), what it left behind (persistence) and what it tried to hide (defence
evasion; both in ``notable``). ``nearby`` answers "what else came from here": other principals
and keys seen from the same addresses and user agents around the same time (the scope's window,
else an hour either side of each burst of in-scope activity).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from investigations.activity import ACTIVITY, EVENT_GROUPS, GROUPS, KEY_RESOURCES, KEYLESS, key_rows
from investigations.lineage_build import ACTOR_SQL
from investigations.notable import notable
from investigations.resources import TABLE as RESOURCES

if TYPE_CHECKING:
    from investigations.pivot_events import Keys, Scope

_NEARBY_LIMIT = 50
#: Beyond this many separate bursts of activity, neighbours are sought over their whole span.
_MAX_WINDOWS = 12


#: Distinct in-scope values, each list in order of first appearance: (field, column, filter).
_LISTS = (
    ("principals", "identity_arn", "TRUE"),
    ("source_ips", "source_ip", "TRUE"),
    ("user_agents", "user_agent", "TRUE"),
    ("accounts", "recipient_account_id", "TRUE"),
    ("regions", "aws_region", "TRUE"),
    ("source_identities", "source_identity", "TRUE"),
    ("roles_assumed", "role_assumed", "error_code IS NULL"),
    ("roles_denied", "role_assumed", "error_code IS NOT NULL"),
    ("keys_issued", "issued_key", "TRUE"),
    ("error_codes", "error_code", "TRUE"),
)


def _gather(con: duckdb.DuckDBPyConnection, full: list[str]) -> None:
    """The in-scope activity in rollup shape, registered as ``activity``: whole keys from
    ``key_activity``, the rest event by event from ``scoped``. Held in Arrow, which costs less
    than a temporary table for rows read a few times and dropped."""
    columns = f"{', '.join(GROUPS)}, minute, n, first_seq, first_time, last_time, bytes_out"
    table = con.sql(
        f"{key_rows(columns, full, ACTIVITY)} "
        f"UNION ALL SELECT {EVENT_GROUPS}, date_trunc('minute', event_time), 1, seq, event_time, event_time, "
        "coalesce(bytes_out, 0) FROM scoped"
    ).to_arrow_table()
    con.register("activity", table)


def _lists(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, list[Any]], dict[str, int], tuple[int, int, int]]:
    """Every ordered list, the count per error code and the totals, in one round trip."""
    parts = " UNION ALL ".join(
        f"SELECT '{name}' AS f, {col} AS v, min(first_seq) AS s, sum(n) AS n FROM activity "
        f"WHERE {col} IS NOT NULL AND {cond} GROUP BY 2"
        for name, col, cond in _LISTS
    )
    totals = "SELECT '~', NULL, sum(n), sum(bytes_out) FROM activity"
    out: dict[str, list[Any]] = {name: [] for name, _, _ in _LISTS}
    counts: dict[str, int] = {}
    events = bytes_out = 0
    for name, value, first, n in con.execute(f"{parts} UNION ALL {totals} ORDER BY f, s, v").fetchall():
        if name == "~":
            events, bytes_out = int(first or 0), n or 0
        else:
            out[name].append(value)
            if name == "error_codes":
                counts[value] = int(n)
    return out, counts, (events, sum(counts.values()), int(bytes_out))


def _resources(con: duckdb.DuckDBPyConnection, full: list[str]) -> list[dict[str, Any]]:
    rows = con.execute(
        "WITH touched AS ("
        f" {key_rows('resource, kind, writes, reads, errors, first_seq', full, KEY_RESOURCES)} "
        " UNION ALL SELECT r.resource, r.kind, (r.write AND s.error_code IS NULL)::INT, "
        " (NOT r.write AND s.error_code IS NULL)::INT, (s.error_code IS NOT NULL)::INT, s.seq "
        f" FROM scoped s JOIN {RESOURCES} r ON r.seq = s.seq) "
        "SELECT resource, kind, sum(writes), sum(reads), sum(errors), min(first_seq) AS s FROM touched "
        "GROUP BY 1, 2 ORDER BY s, 1"
    ).fetchall()
    return [
        {"resource": r, "kind": k, "writes": int(w), "reads": int(n), "errors": int(e)} for r, k, w, n, e, _ in rows
    ]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _windows(con: duckdb.DuckDBPyConnection, scope: Scope, margin: timedelta) -> list[tuple[datetime, datetime]]:
    """Where to look for neighbours: the scope's own window, else ``margin`` around each burst of
    in-scope activity (bursts merged), so a day-long gap between two bursts is not scanned."""
    if scope.start or scope.end:
        low, high = con.execute("SELECT min(first_time), max(last_time) FROM activity").fetchall()[0]
        return [(scope.start or low - margin, scope.end or high + margin)]
    minutes = con.execute("SELECT DISTINCT minute AS t FROM activity ORDER BY t").fetchall()
    merged: list[tuple[datetime, datetime]] = []
    for (moment,) in minutes:
        start, end = moment - margin, moment + margin + timedelta(minutes=1)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged if len(merged) <= _MAX_WINDOWS else [(merged[0][0], merged[-1][1])]


def _whole_minutes(windows: list[tuple[datetime, datetime]]) -> bool:
    return all(t.second == 0 and t.microsecond == 0 for window in windows for t in window)


def _nearby(
    con: duckdb.DuckDBPyConnection,
    ips: list[str],
    agents: list[str],
    scope: Scope,
    margin: timedelta,
    keys: Keys,
) -> list[dict[str, Any]]:
    """Other principals and keys seen from the in-scope addresses and agents, within the window.

    Keys outside the pivot are read from ``key_activity`` when the windows are whole minutes (the
    rollup's grain); keyless events, and keys some of whose events the pivot holds (another
    account's copy of a call), are read event by event so the pivot's own events stay out.
    """
    ips = [ip for ip in ips if _is_ip(ip)]
    agents = [ua for ua in agents if "amazonaws.com" not in ua and ua != "AWS Internal"]
    windows = _windows(con, scope, margin) if ips or agents else []
    if not windows:
        return []
    rollup = _whole_minutes(windows)
    matched = "(source_ip IN (SELECT unnest($ips::VARCHAR[])) OR user_agent IN (SELECT unnest($uas::VARCHAR[])))"
    # A range per window of the time-sorted columns: row groups outside every window are skipped.
    spans = " OR ".join(f"({{col}} >= $s{i} AND {{col}} < $e{i})" for i in range(len(windows)))
    by_event = (
        f"SELECT source_ip, user_agent, {ACTOR_SQL} AS principal, access_key_id, 1 AS n, seq AS first_seq, "
        f"event_time AS first_time, event_time AS last_time FROM events WHERE ({spans.format(col='event_time')}) "
        f"AND {matched} AND seq NOT IN (SELECT seq FROM pv)"
    )
    params: dict[str, Any] = {"ips": ips, "uas": agents, "limit": _NEARBY_LIMIT}
    if not rollup:
        parts = [by_event]
    else:
        params["skip"] = [*keys.pivot, *keys.events]
        parts = [
            "SELECT source_ip, user_agent, principal, NULL::VARCHAR AS access_key_id, 1 AS n, seq AS first_seq, "
            "event_time AS first_time, event_time AS last_time "
            f"FROM {KEYLESS} WHERE ({spans.format(col='event_time')}) AND {matched} "
            "AND seq NOT IN (SELECT seq FROM pv WHERE access_key_id IS NULL)",
            f"SELECT source_ip, user_agent, principal, access_key_id, n, first_seq, first_time, last_time "
            f"FROM {ACTIVITY} WHERE ({spans.format(col='minute')}) AND {matched} "
            "AND access_key_id NOT IN (SELECT unnest($skip::VARCHAR[]))",
        ]
        if keys.events:
            parts.append(f"{by_event} AND access_key_id IN (SELECT unnest($event_keys::VARCHAR[]))")
            params["event_keys"] = keys.events
    for i, (start, end) in enumerate(windows):
        params |= {f"s{i}": start, f"e{i}": end}
    rows = con.execute(
        f"WITH near AS ({' UNION ALL '.join(parts)}) "
        "SELECT via, value, principal, access_key_id, sum(n)::BIGINT, min(first_time), max(last_time) FROM ("
        "  SELECT 'ip' AS via, source_ip AS value, * FROM near WHERE source_ip IN (SELECT unnest($ips::VARCHAR[])) "
        "  UNION ALL SELECT 'user_agent', user_agent, * FROM near WHERE user_agent IN (SELECT unnest($uas::VARCHAR[]))"
        ") GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, min(first_seq), 3, 4 LIMIT $limit",
        params,
    ).fetchall()
    names = ("via", "value", "principal", "key", "events", "first_seen", "last_seen")
    return [dict(zip(names, row, strict=True)) for row in rows]


def identities(con: duckdb.DuckDBPyConnection, keys: list[str], seqs: list[int]) -> dict[str, dict[str, Any]]:
    """Who each key (or keyless seed event, by its id) acted as, from its first event in the pivot.

    The first events are found in ``pv`` and then fetched by seq: a semi-join on a parameter list
    reaches the scan as a filter, where a join on a computed table reads every row group.
    """
    firsts = con.execute(
        "SELECT min(seq), min(event_time), max(event_time), count(*) FROM pv "
        "WHERE list_contains($keys::VARCHAR[], access_key_id) "
        "OR (access_key_id IS NULL AND list_contains($seqs::BIGINT[], seq)) "
        "GROUP BY coalesce(access_key_id, seq::VARCHAR)",
        {"keys": keys, "seqs": seqs},
    ).fetchall()
    spans = {seq: (first, last, n) for seq, first, last, n in firsts}
    rows = con.execute(
        "SELECT seq, coalesce(access_key_id, event_id), struct_pack(identity_type, identity_arn, "
        "identity_account_id, principal_id, user_name, invoked_by, session_issuer_arn, session_created, "
        "mfa_authenticated, source_identity) FROM events WHERE seq IN (SELECT unnest($seqs::BIGINT[]))",
        {"seqs": list(spans)},
    ).fetchall()
    out = {}
    for seq, name, ident in rows:
        first, last, n = spans[seq]
        out[name] = {**ident, "first_seen": first, "last_seen": last, "events": n}
    return out


def summarise(con: duckdb.DuckDBPyConnection, scope: Scope, margin: timedelta, keys: Keys) -> dict[str, Any]:
    """The in-scope summary fields of a pivot result (see ``PivotResult``)."""
    _gather(con, keys.full)
    lists, by_code, (events, errors, bytes_out) = _lists(con)
    resources = _resources(con, keys.full)
    blast = {
        "events": events,
        "errors": {"total": errors, "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])))},
        "bytes_out": bytes_out,
        "roles_assumed": lists.pop("roles_assumed"),
        "roles_denied": lists.pop("roles_denied"),
        "keys_issued": lists.pop("keys_issued"),
        "resources_written": [r["resource"] for r in resources if r["writes"]],
        "resources_read": [r["resource"] for r in resources if r["reads"] and not r["writes"]],
        **notable(con),
    }
    lists.pop("error_codes")
    return {
        **lists,
        "resources": [r["resource"] for r in resources],
        "resource_details": resources,
        "blast_radius": blast,
        "nearby": _nearby(con, lists["source_ips"], lists["user_agents"], scope, margin, keys),
    }
