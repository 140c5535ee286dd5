"""Pivots: from one event, key, principal, IP, user agent or resource to everything that follows.

A pivot resolves its target to seed keys (and keyless seed events), walks the credential tree
from them (``lineage``), gathers the events of every key in it plus the other account's copy of
each cross-account action into a temporary table on a private cursor, and summarises that table
(``blast``). Only aggregates and event ids leave DuckDB, so a full lineage pivot stays within
its budget on a million events.

The scope (a time window, source CIDRs, user-agent substrings) is how a responder separates an
intruder's use of a shared credential from its owner's: a seed key's events are in scope when
they match it; a key minted by an in-scope event is the intruder's, so all its events (and its
descendants') are in scope wherever they came from; keys minted outside the scope are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import duckdb

from investigations.activity import DERIVED as ACTIVITY_DERIVED
from investigations.blast import identities, summarise
from investigations.derived import ensure_derived
from investigations.lineage import DERIVED as LINKS_DERIVED
from investigations.lineage import TABLE as LINKS
from investigations.lineage import Lineage, Link, ancestors_of, edge, origin_of
from investigations.notable import DERIVED as NOTABLE_DERIVED
from investigations.pivot_events import Scope, collect_events
from investigations.resources import DERIVED as RESOURCES_DERIVED
from investigations.resources import resource_where
from investigations.store import EventStore

#: The derived tables a pivot reads, in build order (the rollups read the resource index).
TABLES = {**RESOURCES_DERIVED, **LINKS_DERIVED, **ACTIVITY_DERIVED, **NOTABLE_DERIVED}
TARGET_KINDS = ("event", "access_key", "principal", "ip", "user_agent", "resource")
#: Seed keys described one by one (identity, ancestors, origin); a busy NAT address has many.
ACTOR_LIMIT = 50


class PivotError(ValueError):
    """The target cannot be pivoted on (unknown kind, event not in the case, bad CIDR)."""


@dataclass(slots=True)
class PivotResult:
    """Everything a pivot found. Event ids are in time order; ``*_seqs`` index the store's events.

    ``principals``, ``source_ips``, ``user_agents``, ``accounts``, ``regions``, ``resources`` and
    ``blast_radius`` describe the in-scope events (all of them when no scope was given).
    ``descendants`` are edges ``{parent, child, event_id, inferred, in_scope, ...}``.
    """

    target: dict[str, str]
    scope: Scope
    key: str | None
    keys: list[str]
    session_keys: list[str]
    ancestors: list[str]
    chain: list[Link]
    origin: dict[str, Any] | None
    actors: list[dict[str, Any]]
    descendants: list[dict[str, Any]]
    session_seqs: list[int] = field(default_factory=list)
    lineage_seqs: list[int] = field(default_factory=list)
    in_scope_seqs: list[int] = field(default_factory=list)
    session_event_ids: list[str] = field(default_factory=list)
    lineage_event_ids: list[str] = field(default_factory=list)
    in_scope_event_ids: list[str] = field(default_factory=list)
    out_of_scope_event_ids: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (the CLI's ``--json``); the seq lists stay out, they are store-local."""
        return {
            "target": self.target,
            "scope": self.scope.as_dict(),
            "key": self.key,
            "keys": self.keys,
            "session_keys": self.session_keys,
            "actor": self.actors[0] if self.actors else None,
            "actors": self.actors,
            "ancestors": self.ancestors,
            "chain": [c.as_dict() for c in self.chain],
            "origin": self.origin,
            "descendants": self.descendants,
            "session_event_ids": self.session_event_ids,
            "lineage_event_ids": self.lineage_event_ids,
            "in_scope_event_ids": self.in_scope_event_ids,
            "out_of_scope_event_ids": self.out_of_scope_event_ids,
            **self.summary,
        }


_TARGET_SQL = {
    "principal": ("(identity_arn = ? OR session_issuer_arn = ? OR source_identity = ?)", 3),
    "ip": ("source_ip = ?", 1),
    "user_agent": ("user_agent = ?", 1),
}


def _seeds_from_event(con: duckdb.DuckDBPyConnection, event_id: str) -> tuple[list[str], list[int]]:
    """An event's own key; for a keyless event, the key its session or sibling copy carries."""
    rows = con.execute(
        "SELECT seq, access_key_id, shared_event_id, identity_arn, session_created, issued_key, event_name "
        "FROM events WHERE event_id = ?",
        [event_id],
    ).fetchall()
    if not rows:
        raise PivotError(f"no event {event_id!r} in this case")
    seq, key, shared, arn, created, issued, name = rows[0]
    if key:
        return [key], []
    keys: list[str] = []
    if shared:
        keys = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT access_key_id FROM events WHERE shared_event_id = ? AND access_key_id IS NOT NULL",
                [shared],
            ).fetchall()
        ]
    if not keys and arn and created:
        keys = [
            r[0]
            for r in con.execute(
                f"SELECT key FROM {LINKS} WHERE arn = ? AND created = ? ORDER BY first_seen", [arn, created]
            ).fetchall()
        ]
    if not keys and name == "ConsoleLogin":
        keys = [
            r[0]
            for r in con.execute(
                f"SELECT key FROM {LINKS} WHERE issuer_kind = 'console' AND event_id = ? ORDER BY first_seen",
                [event_id],
            ).fetchall()
        ]
    if not keys and issued:
        keys = [issued]
    return keys, [seq]


def _seeds_from_matches(
    con: duckdb.DuckDBPyConnection, kind: str, value: str, scope: Scope
) -> tuple[list[str], list[int]]:
    """Keys (first use first) and keyless events among the target's events that fall in scope."""
    if kind == "resource":
        clause, params = resource_where(value)
        where, args = f"seq IN (SELECT seq FROM event_resources WHERE {clause})", params
    else:
        sql, count = _TARGET_SQL[kind]
        where, args = sql, [value] * count
    if scope.start:
        where, args = f"{where} AND event_time >= ?", [*args, scope.start]
    if scope.end:
        where, args = f"{where} AND event_time < ?", [*args, scope.end]
    rows = con.execute(
        "SELECT access_key_id, source_ip, user_agent, min(seq) AS first, "
        "list(seq) FILTER (WHERE access_key_id IS NULL) "
        f"FROM events WHERE {where} GROUP BY ALL ORDER BY first",
        args,
    ).fetchall()
    keys: list[str] = []
    keyless: list[int] = []
    for key, ip, ua, _, seqs in rows:
        if not (scope.ip_matches(ip) and scope.ua_matches(ua)):
            continue
        if key and key not in keys:
            keys.append(key)
        elif not key:
            keyless.extend(seqs or ())
    return keys, sorted(keyless)


def _widen(scope: Scope, kind: str, value: str) -> Scope:
    """An IP or user-agent pivot is about that IP or agent: it joins the scope."""
    if kind == "ip":
        return Scope(scope.start, scope.end, (*scope.ips, value), scope.user_agents)
    if kind == "user_agent":
        return Scope(scope.start, scope.end, scope.ips, (*scope.user_agents, value))
    return scope


def _classify(
    con: duckdb.DuckDBPyConnection, descendants: list[Link], seeds: set[str], scope: Scope
) -> tuple[set[str], dict[str, bool]]:
    """Keys minted inside the scope (theirs entirely, at any depth) and each edge's verdict.

    ``descendants`` must list parents before children, which breadth-first order guarantees.
    """
    if not scope.active:
        return {d.key for d in descendants}, {d.key: True for d in descendants}
    seqs = [d.seq for d in descendants if d.parent in seeds and d.seq is not None]
    facts = {}
    if seqs:
        facts = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT seq, event_time, source_ip, user_agent FROM events WHERE seq IN (SELECT unnest(?::BIGINT[]))",
                [seqs],
            ).fetchall()
        }
    inside: set[str] = set()
    verdict: dict[str, bool] = {}
    for d in descendants:
        if d.parent in inside:
            ok = True
        elif d.parent in seeds and d.seq in facts:
            ok = scope.matches(*facts[d.seq])
        else:
            ok = False
        verdict[d.key] = ok
        if ok:
            inside.add(d.key)
    return inside, verdict


def pivot(
    store: EventStore,
    kind: str,
    value: str,
    scope: Scope | None = None,
    nearby_margin: timedelta = timedelta(hours=1),
    with_ids: bool = True,
) -> PivotResult:
    """Follow ``value`` (a target of ``kind``, one of TARGET_KINDS) through the credential tree.

    ``scope`` marks the use under investigation (see the module docstring); ``nearby_margin``
    widens the in-scope span for "what else came from here" when the scope has no time window.
    ``with_ids=False`` leaves the ``*_event_ids`` lists empty and fills only the ``*_seqs``
    lists, which is all a view reading rows by seq needs and saves resolving every eventID.
    Raises PivotError for an unknown kind, an event not in the case or a malformed CIDR.
    """
    if kind not in TARGET_KINDS:
        raise PivotError(f"cannot pivot on {kind!r}; use one of {', '.join(TARGET_KINDS)}")
    scope = _widen(scope or Scope(), kind, value)
    try:
        scope.networks()  # a bad CIDR fails here, before any work
    except ValueError as exc:
        raise PivotError(str(exc)) from None
    ensure_derived(store, TABLES)
    con = store.cursor()
    try:
        if kind == "access_key":
            keys, keyless = [value], []
        elif kind == "event":
            keys, keyless = _seeds_from_event(con, value)
        else:
            keys, keyless = _seeds_from_matches(con, kind, value, scope)
        family = Lineage(store, con, ensure=False).family(keys)
        session_keys = family.session_keys(keys)
        descendants = family.edges_between(session_keys) + family.descendants(session_keys)
        inside, verdict = _classify(con, descendants, set(session_keys), scope)
        chains = {key: family.chain(key) for key in keys[:ACTOR_LIMIT]}
        events = collect_events(con, family, session_keys, descendants, inside, keyless, scope, with_ids)
        summary = summarise(con, scope, nearby_margin, events.keys)
        known = identities(con, keys[:ACTOR_LIMIT], [] if keys else keyless[:1])
        first = keys[0] if keys else None
        chain = chains.get(first, []) if first else []
        return PivotResult(
            target={"kind": kind, "value": value},
            scope=scope,
            key=first if len(keys) == 1 else None,
            keys=keys,
            session_keys=session_keys,
            ancestors=_merged_ancestors(keys, chains, set(session_keys)),
            chain=chain,
            origin=origin_of(chain, first).as_dict() if first else None,
            actors=_actors(keys[:ACTOR_LIMIT], chains, known),
            descendants=[{**edge(d), "in_scope": verdict[d.key]} for d in descendants],
            session_seqs=events.session_seqs,
            lineage_seqs=events.lineage_seqs,
            in_scope_seqs=events.in_scope_seqs,
            session_event_ids=events.session_ids,
            lineage_event_ids=events.lineage_ids,
            in_scope_event_ids=events.in_scope_ids,
            out_of_scope_event_ids=events.out_of_scope_ids,
            summary=summary,
        )
    finally:
        con.close()


def _merged_ancestors(keys: list[str], chains: dict[str, list[Link]], exclude: set[str]) -> list[str]:
    """Ancestors of every seed key, nearest first per key, each once, seeds themselves left out."""
    out: list[str] = []
    for key in keys:
        for link in chains.get(key, []):
            if link.parent and link.parent != key and link.parent not in exclude and link.parent not in out:
                out.append(link.parent)
    return out


def _actors(keys: list[str], chains: dict[str, list[Link]], known: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per seed key: identity and session context, ancestors nearest first, origin."""
    if not keys:
        return [{"key": None, **ident} for ident in known.values()]
    out = []
    for key in keys:
        chain = chains.get(key, [])
        out.append(
            {
                "key": key,
                **known.get(key, {}),
                "session": chain[0].session if chain else key,
                "ancestors": ancestors_of(chain, key),
                "origin": origin_of(chain, key).as_dict(),
            }
        )
    return out
