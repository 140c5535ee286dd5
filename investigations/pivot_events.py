"""The events of a pivot: two temporary tables on the pivot's private cursor.

``pv`` lists every event of the lineage: those signed by a key of the tree, the keyless events
of inferred sessions (grouped by ``(arn, creationDate)``), the target's own keyless events, and
the other account's copy (same ``sharedEventID``) of each of them, with the few columns that
decide ``in_session`` (signed by the target's own session) and ``in_scope``.

A key whose every event is in scope is summarised from the per-key rollups (``activity``); only
the other in-scope events (a seed key's under a scope, keyless ones, copies) are copied, with
every column the summaries read, into ``scoped``. A key used all through a case touches every
row group, so reading its events' wide columns costs a scan of the whole table; its rollup rows
cost next to nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import compress
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from investigations.activity import KEYLESS, SHARED, key_rows
from investigations.lineage import Family, Link

#: Columns of ``scoped``: what ``activity.EVENT_GROUPS`` and the blast radius read of an event.
SCOPED_COLUMNS = (
    "seq, event_time, event_name, aws_region, recipient_account_id, identity_type, identity_arn, "
    "identity_account_id, principal_id, user_name, invoked_by, source_identity, source_ip, user_agent, "
    "error_code, bytes_out, role_arn, issued_key"
)


@dataclass(frozen=True, slots=True)
class Scope:
    """What counts as the credential use under investigation; empty means everything."""

    start: datetime | None = None
    end: datetime | None = None
    ips: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.start or self.end or self.ips or self.user_agents)

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The scope's addresses; ValueError names the first that is neither an address nor a CIDR."""
        try:
            return [ipaddress.ip_network(text.strip(), strict=False) for text in self.ips]
        except ValueError as exc:
            raise ValueError(f"not an IP address or CIDR: {exc}") from None

    def hosts(self) -> list[str] | None:
        """The scope's addresses when every entry is one address (no wider CIDR), else None."""
        nets = self.networks()
        if any(net.num_addresses != 1 for net in nets):
            return None
        return [str(net.network_address) for net in nets]

    def ip_matches(self, value: str | None) -> bool:
        if not self.ips:
            return True
        try:
            address = ipaddress.ip_address(value or "")
        except ValueError:
            return False
        return any(address in net for net in self.networks())

    def ua_matches(self, value: str | None) -> bool:
        lowered = (value or "").lower()
        return not self.user_agents or any(ua.lower() in lowered for ua in self.user_agents)

    def time_matches(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)

    def matches(self, when: datetime, ip: str | None, ua: str | None) -> bool:
        return self.time_matches(when) and self.ip_matches(ip) and self.ua_matches(ua)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Keys:
    """How the summaries read each key: ``full`` keys (every event in scope) from the rollups;
    ``events``, keys some of whose events sit in the pivot only as copies, event by event;
    ``pivot``, every key of the tree."""

    full: list[str]
    events: list[str]
    pivot: list[str]


@dataclass(slots=True)
class PivotEvents:
    keys: Keys
    session_seqs: list[int]
    lineage_seqs: list[int]
    in_scope_seqs: list[int]
    session_ids: list[str]
    lineage_ids: list[str]
    in_scope_ids: list[str]
    out_of_scope_ids: list[str]


def _predicate(scope: Scope, ips: list[str] | None) -> tuple[str, dict[str, Any]]:
    """SQL (named parameters) an event of a seed key must satisfy to be in scope."""
    terms, params = ["TRUE"], {}
    if scope.start:
        terms.append("event_time >= $scope_start")
        params["scope_start"] = scope.start
    if scope.end:
        terms.append("event_time < $scope_end")
        params["scope_end"] = scope.end
    if scope.ips:
        terms.append("list_contains($scope_ips::VARCHAR[], source_ip)")
        params["scope_ips"] = ips or []
    if scope.user_agents:
        names = [f"scope_ua{i}" for i in range(len(scope.user_agents))]
        terms.append("(" + " OR ".join(f"contains(lower(coalesce(user_agent, '')), ${n})" for n in names) + ")")
        params |= {n: ua.lower() for n, ua in zip(names, scope.user_agents, strict=True)}
    return " AND ".join(terms), params


def _verdict(cls: str, predicate: str) -> str:
    """In scope: minted inside it ('in'), never ('out'), or a seed key's event that matches."""
    return f"CASE {cls} WHEN 'in' THEN TRUE WHEN 'out' THEN FALSE ELSE coalesce({predicate}, FALSE) END"


def _narrow(scope: Scope) -> str:
    """The columns ``pv`` needs: where an event sits in time, its key, and what the scope tests."""
    extra = ", e.source_ip" * bool(scope.ips) + ", e.user_agent" * bool(scope.user_agents)
    return f"e.seq, e.event_time, e.access_key_id{extra}"


def collect_events(
    con: duckdb.DuckDBPyConnection,
    family: Family,
    session_keys: list[str],
    descendants: list[Link],
    inside: set[str],
    keyless: list[int],
    scope: Scope,
    with_ids: bool = True,
) -> PivotEvents:
    """Fill ``pv`` and ``scoped``; return the events in time order, split by session and scope.

    ``with_ids=False`` returns seqs only: resolving the eventID of every out-of-scope event of a
    busy key is the costliest single step, and a view that reads rows by seq does not need it.
    """
    seeds = set(session_keys)
    all_keys = [*session_keys, *(d.key for d in descendants if d.key not in seeds)]
    classes = ["in" if k in inside else "seed" if k in seeds else "out" for k in all_keys]
    narrow = _narrow(scope)
    # Single addresses are tested as the rows are read; CIDRs are matched in Python once the few
    # distinct addresses of the seed keys are known, and the verdict is filled in afterwards.
    hosts = scope.hosts()
    inline = not scope.ips or hosts is not None
    predicate, params = _predicate(scope, hosts) if inline else ("NULL", {})
    pv = _Pv(con)
    pv.set(
        f"SELECT {narrow}, k.cls, k.cls = 'seed' AS in_session, "
        f"{_verdict('k.cls', predicate)} AS in_scope "
        f"FROM ({key_rows('seq, event_time, access_key_id, source_ip, user_agent', all_keys)}) e "
        "JOIN (SELECT unnest($keys::VARCHAR[]) AS key, unnest($classes::VARCHAR[]) AS cls) k "
        "ON e.access_key_id = k.key",
        {"keys": all_keys, "classes": classes, **params},
    )
    if keyless:
        seed_verdict = _verdict("'seed'", predicate)
        pv.add(
            f"SELECT {narrow}, 'seed', FALSE, {seed_verdict} FROM events e "
            "WHERE e.seq BETWEEN $first AND $last AND e.seq IN (SELECT unnest($keyless::BIGINT[]))",
            {"first": min(keyless), "last": max(keyless), "keyless": keyless, **params},
        )
    _add_session_events(pv, family, all_keys, seeds, inside, narrow, _verdict("p.cls", predicate), params)
    if not inline:
        seen = con.execute("SELECT DISTINCT source_ip FROM pv WHERE cls = 'seed' AND source_ip IS NOT NULL").fetchall()
        predicate, params = _predicate(scope, [ip for (ip,) in seen if scope.ip_matches(ip)])
        pv.set(f"SELECT * REPLACE ({_verdict('cls', predicate)} AS in_scope) FROM pv", params)
    # The other account's copy of a call carries the same sharedEventID. Few events carry one at
    # all, so the copies come from that small set rather than from another pass over the case.
    pv.add(
        f"SELECT {narrow}, 'copy', FALSE, c.in_scope FROM events e JOIN ("
        f" SELECT s.seq, bool_or(p.in_scope) AS in_scope FROM {SHARED} s JOIN {SHARED} t USING (shared_event_id) "
        " JOIN pv p ON p.seq = t.seq WHERE s.seq NOT IN (SELECT seq FROM pv) GROUP BY s.seq) c ON e.seq = c.seq"
    )
    keys = _split_keys(con, all_keys, classes, scope)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE scoped AS SELECT {SCOPED_COLUMNS} FROM events WHERE seq IN "
        "(SELECT seq FROM pv WHERE in_scope "
        " AND (access_key_id IS NULL OR NOT list_contains($full::VARCHAR[], access_key_id)))",
        {"full": keys.full},
    )
    result = con.sql("SELECT seq, in_scope, in_session FROM pv ORDER BY seq").to_arrow_table()
    seqs = result.column("seq").to_pylist()
    in_scope = result.column("in_scope").to_pylist()
    in_session = result.column("in_session").to_pylist()
    ids = _event_ids(con, all_keys).to_pylist() if with_ids else []
    outside = pc.invert(result.column("in_scope")).to_pylist()
    # compress() filters in C: a lineage can hold tens of thousands of events.
    return PivotEvents(
        keys=keys,
        session_seqs=list(compress(seqs, in_session)),
        lineage_seqs=seqs,
        in_scope_seqs=list(compress(seqs, in_scope)),
        session_ids=list(compress(ids, in_session)),
        lineage_ids=ids,
        in_scope_ids=list(compress(ids, in_scope)),
        out_of_scope_ids=list(compress(ids, outside)),
    )


class _Pv:
    """The pivot's ``pv`` rows, held in Arrow and registered on the pivot's private cursor: for
    tens of thousands of rows written once and read a few times, that costs a third less than a
    temporary table (measured)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.table: pa.Table | None = None

    def set(self, query: str, params: dict[str, Any] | None = None) -> None:
        """Make the rows of ``query`` (which may read the present ``pv``) the whole of ``pv``."""
        self.table = self.con.sql(query, params=params).to_arrow_table()
        self.con.register("pv", self.table)

    def add(self, query: str, params: dict[str, Any] | None = None) -> None:
        """Append the rows of ``query`` (which may read ``pv``), column by column in order."""
        assert self.table is not None
        more = self.con.sql(query, params=params).to_arrow_table()
        if more.num_rows:
            more = more.rename_columns(self.table.schema.names).cast(self.table.schema)
            self.table = pa.concat_tables([self.table, more])
            self.con.register("pv", self.table)


def _event_ids(con: duckdb.DuckDBPyConnection, keys: list[str]) -> pa.ChunkedArray:
    """The eventID of every ``pv`` row, in seq order: the keys' read from ``key_events`` (a few
    contiguous row groups), keyless events and copies from their small tables; aligned by
    sorting rather than joined (measured faster for a key with tens of thousands of events)."""
    table = con.sql(
        f"{key_rows('seq, event_id', keys)} UNION ALL "
        f"SELECT seq, event_id FROM {KEYLESS} WHERE seq IN (SELECT seq FROM pv WHERE access_key_id IS NULL) "
        f"UNION ALL SELECT seq, event_id FROM {SHARED} WHERE seq IN (SELECT seq FROM pv WHERE cls = 'copy' "
        "AND access_key_id IS NOT NULL)"
    ).to_arrow_table()
    return table.take(pc.sort_indices(table, [("seq", "ascending")])).column("event_id")


def _split_keys(con: duckdb.DuckDBPyConnection, keys: list[str], classes: list[str], scope: Scope) -> Keys:
    """Whole keys (every event in scope) apart from the keys of copies, read event by event."""
    whole = {"in", "seed"} if not scope.active else {"in"}
    full = [k for k, c in zip(keys, classes, strict=True) if c in whole]
    copies = con.execute("SELECT DISTINCT access_key_id FROM pv WHERE cls = 'copy' AND access_key_id IS NOT NULL")
    return Keys(full, sorted(k for (k,) in copies.fetchall()), keys)


def _add_session_events(
    pv: _Pv,
    family: Family,
    keys: list[str],
    seeds: set[str],
    inside: set[str],
    narrow: str,
    verdict: str,
    params: dict[str, Any],
) -> None:
    """Keyless events of sessions known only by ``(arn, creationDate)`` belong to those sessions."""
    pairs = {
        (link.arn, link.created): "in" if key in inside else "seed" if key in seeds else "out"
        for key in keys
        if (link := family.link(key)) and link.session != key and link.arn and link.created
    }
    if not pairs:
        return
    arns, created, classes = zip(*((a, c, k) for (a, c), k in pairs.items()), strict=True)
    pv.add(
        f"SELECT {narrow}, p.cls, p.cls = 'seed', {verdict} FROM events e JOIN "
        "(SELECT unnest($arns::VARCHAR[]) AS arn, unnest($created::TIMESTAMP[]) AS created, "
        " unnest($classes::VARCHAR[]) AS cls) p ON e.identity_arn = p.arn AND e.session_created = p.created "
        "WHERE e.event_time >= $since AND e.access_key_id IS NULL AND e.seq NOT IN (SELECT seq FROM pv)",
        {"arns": list(arns), "created": list(created), "classes": list(classes), "since": min(created), **params},
    )
