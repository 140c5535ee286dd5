"""Blast radius and neighbourhood of a pivot, read from its ``scoped`` table (see ``pivot_events``).

Everything here describes the in-scope events: where the credential went (accounts, regions,
roles), what it touched (resources written and read), what went wrong (errors), how much left
(``bytesTransferredOut``), what it left behind (persistence) and what it tried to hide (defence
evasion). ``nearby`` answers "what else came from here": other principals and keys seen from the
same addresses and user agents around the same time (the scope's window, else an hour either
side of each burst of in-scope activity).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from investigations.lineage_build import ACTOR_SQL

if TYPE_CHECKING:
    from investigations.pivot_events import Scope

#: Successful calls that leave a way back in: keys, users, passwords, policies, trust.
PERSISTENCE = frozenset(
    {
        "CreateAccessKey",
        "CreateUser",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "AttachUserPolicy",
        "PutUserPolicy",
        "AttachRolePolicy",
        "PutRolePolicy",
        "AttachGroupPolicy",
        "PutGroupPolicy",
        "AddUserToGroup",
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "UploadSSHPublicKey",
        "CreateServiceSpecificCredential",
        "ImportKeyPair",
        "CreateKeyPair",
        "UpdateFunctionCode20150331v2",
        "AddPermission20150331v2",
    }
)

#: Calls (successful or not) that blind or weaken the defenders' view.
DEFENSE_EVASION = frozenset(
    {
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
        "PutInsightSelectors",
        "DeleteEventDataStore",
        "DeleteFlowLogs",
        "DeleteDetector",
        "UpdateDetector",
        "DisassociateFromMasterAccount",
        "DeleteConfigurationRecorder",
        "StopConfigurationRecorder",
        "DeleteDeliveryChannel",
        "DisableSecurityHub",
        "DeleteLogGroup",
        "DeleteLogStream",
        "PutBucketLogging",
        "DeleteBucketPolicy",
    }
)

_NEARBY_LIMIT = 50
#: Beyond this many separate bursts of activity, neighbours are sought over their whole span.
_MAX_WINDOWS = 12


#: Distinct in-scope values, each list in order of first appearance: (field, SQL value, filter).
_LISTS = (
    ("principals", "identity_arn", "TRUE"),
    ("source_ips", "source_ip", "TRUE"),
    ("user_agents", "user_agent", "TRUE"),
    ("accounts", "recipient_account_id", "TRUE"),
    ("regions", "aws_region", "TRUE"),
    ("source_identities", "source_identity", "TRUE"),
    ("roles_assumed", "role_arn", "event_name LIKE 'AssumeRole%' AND error_code IS NULL"),
    ("roles_denied", "role_arn", "event_name LIKE 'AssumeRole%' AND error_code IS NOT NULL"),
    ("keys_issued", "issued_key", "TRUE"),
    ("error_codes", "error_code", "TRUE"),
)


def _lists(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, list[Any]], dict[str, int], tuple[int, int, int]]:
    """Every ordered list, the count per error code and the totals, in one round trip."""
    parts = " UNION ALL ".join(
        f"SELECT '{name}' AS f, {col} AS v, min(seq) AS s, count(*) AS n FROM scoped "
        f"WHERE {col} IS NOT NULL AND {cond} GROUP BY 2"
        for name, col, cond in _LISTS
    )
    totals = "SELECT '~', NULL, count(*), coalesce(sum(bytes_out), 0) FROM scoped"
    out: dict[str, list[Any]] = {name: [] for name, _, _ in _LISTS}
    counts: dict[str, int] = {}
    events = bytes_out = 0
    for name, value, first, n in con.execute(f"{parts} UNION ALL {totals} ORDER BY f, s, v").fetchall():
        if name == "~":
            events, bytes_out = first, n
        else:
            out[name].append(value)
            if name == "error_codes":
                counts[value] = n
    return out, counts, (events, sum(counts.values()), int(bytes_out))


def _resources(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT r.resource, r.kind, count(*) FILTER (WHERE r.write AND s.error_code IS NULL), "
        "count(*) FILTER (WHERE NOT r.write AND s.error_code IS NULL), "
        "count(*) FILTER (WHERE s.error_code IS NOT NULL), "
        "min(s.seq) AS s FROM scoped s JOIN event_resources r ON r.seq = s.seq "
        "GROUP BY 1, 2 ORDER BY s, 1"
    ).fetchall()
    return [{"resource": r, "kind": k, "writes": w, "reads": n, "errors": e} for r, k, w, n, e, _ in rows]


def _notable(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """Persistence (successful calls only) and defence evasion (attempts too), with their targets."""
    rows = con.execute(
        "SELECT list_contains($evasion, s.event_name), s.event_id, s.event_time, s.event_name, "
        "s.recipient_account_id, s.identity_arn, s.error_code, s.issued_key, "
        "list(r.resource ORDER BY r.resource) FILTER (WHERE r.resource IS NOT NULL) "
        "FROM scoped s LEFT JOIN event_resources r ON r.seq = s.seq WHERE "
        "(list_contains($evasion, s.event_name) OR (list_contains($persistence, s.event_name) "
        " AND s.error_code IS NULL)) GROUP BY s.seq, 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY s.seq",
        {"evasion": sorted(DEFENSE_EVASION), "persistence": sorted(PERSISTENCE)},
    ).fetchall()
    keys = ("event_id", "event_time", "event_name", "account", "principal", "error_code", "issued_key", "resources")
    out: dict[str, list[dict[str, Any]]] = {"persistence": [], "defense_evasion": []}
    for evasion, *row in rows:
        out["defense_evasion" if evasion else "persistence"].append(dict(zip(keys, row, strict=True)))
    return out


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
        low, high = con.execute("SELECT min(event_time), max(event_time) FROM scoped").fetchall()[0]
        return [(scope.start or low - margin, scope.end or high + margin)]
    minutes = con.execute("SELECT DISTINCT date_trunc('minute', event_time) AS t FROM scoped ORDER BY t").fetchall()
    merged: list[tuple[datetime, datetime]] = []
    for (moment,) in minutes:
        start, end = moment - margin, moment + margin + timedelta(minutes=1)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged if len(merged) <= _MAX_WINDOWS else [(merged[0][0], merged[-1][1])]


def _nearby(
    con: duckdb.DuckDBPyConnection, ips: list[str], agents: list[str], scope: Scope, margin: timedelta
) -> list[dict[str, Any]]:
    """Other principals and keys seen from the in-scope addresses and agents, within the window."""
    ips = [ip for ip in ips if _is_ip(ip)]
    agents = [ua for ua in agents if "amazonaws.com" not in ua and ua != "AWS Internal"]
    windows = _windows(con, scope, margin) if ips or agents else []
    if not windows:
        return []
    # One range per window keeps each scan prunable by the time-sorted row groups.
    ranges = " UNION ALL ".join(
        "SELECT source_ip, user_agent, seq, event_time, access_key_id, identity_arn, identity_type, invoked_by, "
        "identity_account_id, principal_id, user_name FROM events "
        f"WHERE event_time >= $s{i} AND event_time < $e{i} "
        "AND (source_ip IN (SELECT unnest($ips::VARCHAR[])) OR user_agent IN (SELECT unnest($uas::VARCHAR[])))"
        for i in range(len(windows))
    )
    params: dict[str, Any] = {"ips": ips, "uas": agents, "limit": _NEARBY_LIMIT}
    for i, (start, end) in enumerate(windows):
        params |= {f"s{i}": start, f"e{i}": end}
    rows = con.execute(
        f"WITH near AS (SELECT *, {ACTOR_SQL} AS principal FROM ({ranges}) WHERE seq NOT IN (SELECT seq FROM pv)) "
        "SELECT via, value, principal, access_key_id, count(*) AS n, min(event_time), max(event_time) FROM ("
        "  SELECT 'ip' AS via, source_ip AS value, * FROM near WHERE source_ip IN (SELECT unnest($ips::VARCHAR[])) "
        "  UNION ALL SELECT 'user_agent', user_agent, * FROM near WHERE user_agent IN (SELECT unnest($uas::VARCHAR[]))"
        ") GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, min(seq), 3, 4 LIMIT $limit",
        params,
    ).fetchall()
    keys = ("via", "value", "principal", "key", "events", "first_seen", "last_seen")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def identities(con: duckdb.DuckDBPyConnection, keys: list[str], seqs: list[int]) -> dict[str, dict[str, Any]]:
    """Who each key (or keyless seed event, by its id) acted as, from its first event in the pivot."""
    rows = con.execute(
        "WITH first AS (SELECT coalesce(access_key_id, seq::VARCHAR) AS who, min(seq) AS seq, "
        "  min(event_time) AS first_seen, max(event_time) AS last_seen, count(*) AS n FROM pv "
        "  WHERE list_contains($keys, access_key_id) OR (access_key_id IS NULL AND list_contains($seqs, seq)) "
        "  GROUP BY 1) "
        "SELECT coalesce(e.access_key_id, e.event_id), struct_pack(e.identity_type, e.identity_arn, "
        "e.identity_account_id, e.principal_id, e.user_name, e.invoked_by, e.session_issuer_arn, e.session_created, "
        "e.mfa_authenticated, e.source_identity), f.first_seen, f.last_seen, f.n "
        "FROM events e JOIN first f ON e.seq = f.seq",
        {"keys": keys, "seqs": seqs},
    ).fetchall()
    return {
        name: {**ident, "first_seen": first, "last_seen": last, "events": n} for name, ident, first, last, n in rows
    }


def summarise(con: duckdb.DuckDBPyConnection, scope: Scope, margin: timedelta) -> dict[str, Any]:
    """The in-scope summary fields of a pivot result (see ``PivotResult``)."""
    lists, by_code, (events, errors, bytes_out) = _lists(con)
    resources = _resources(con)
    blast = {
        "events": events,
        "errors": {"total": errors, "by_code": dict(sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])))},
        "bytes_out": bytes_out,
        "roles_assumed": lists.pop("roles_assumed"),
        "roles_denied": lists.pop("roles_denied"),
        "keys_issued": lists.pop("keys_issued"),
        "resources_written": [r["resource"] for r in resources if r["writes"]],
        "resources_read": [r["resource"] for r in resources if r["reads"] and not r["writes"]],
        **_notable(con),
    }
    lists.pop("error_codes")
    return {
        **lists,
        "resources": [r["resource"] for r in resources],
        "resource_details": resources,
        "blast_radius": blast,
        "nearby": _nearby(con, lists["source_ips"], lists["user_agents"], scope, margin),
    }
