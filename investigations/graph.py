"""The entity graph: who used which key, from where, in which account and region, touching what.

Built from aggregates, never one node per event: one GROUPING SETS query over the events (one
scan for every relation), one over the resource index, and the credential links. Each edge
carries its relation, the number of events, first and last seen, the error count and up to
twenty distinct event names, so a view can show "how much, when, what" without going back to
the store. Node ids are ``"<kind>:<value>"`` (``node_id``); every node has ``kind`` (an
``EntityKind``) and ``value`` attributes.

A session node exists only where a session has several keys or none (console sessions, sessions
whose issuing event is missing: ``arn@creationDate``); a key minted by a known event *is* its
session, so two same-named sessions of one role never merge.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from investigations.derived import ensure_derived
from investigations.lineage import DERIVED as LINKS_DERIVED
from investigations.lineage import TABLE as LINKS
from investigations.lineage_build import ACTOR_SQL
from investigations.model import EntityKind
from investigations.resources import DERIVED as RESOURCES_DERIVED
from investigations.resources import GRAPH_KINDS
from investigations.resources import TABLE as RESOURCES
from investigations.store import EventStore

_NAMES = 20

_EVENTS = f"""
    SELECT e.seq, e.event_time, e.event_name, e.error_code, e.identity_type, e.identity_account_id AS member,
           e.session_issuer_arn AS issuer, e.access_key_id AS key, e.source_ip, e.user_agent, e.aws_region,
           e.recipient_account_id AS account, e.actor,
           CASE WHEN e.access_key_id IS NOT NULL THEN nullif(l.session, e.access_key_id)
                WHEN e.identity_arn IS NOT NULL AND e.session_created IS NOT NULL
                THEN e.identity_arn || '@' || strftime(e.session_created, '%Y-%m-%dT%H:%M:%SZ') END AS sess
    FROM (SELECT *, {ACTOR_SQL} AS actor FROM events) e LEFT JOIN {LINKS} l ON l.key = e.access_key_id
"""

# (relation, source column, source kind, target column, target kind)
_RELATIONS: tuple[tuple[str, str, EntityKind, str, EntityKind], ...] = (
    ("opened", "actor", EntityKind.PRINCIPAL, "sess", EntityKind.SESSION),
    ("uses", "holder", EntityKind.PRINCIPAL, "key", EntityKind.ACCESS_KEY),
    ("from", "node", EntityKind.ACCESS_KEY, "source_ip", EntityKind.IP),
    ("with", "node", EntityKind.ACCESS_KEY, "user_agent", EntityKind.USER_AGENT),
    ("in_region", "node", EntityKind.ACCESS_KEY, "aws_region", EntityKind.REGION),
    ("in_account", "node", EntityKind.ACCESS_KEY, "account", EntityKind.ACCOUNT),
    ("member_of", "actor", EntityKind.PRINCIPAL, "member", EntityKind.ACCOUNT),
    ("session_of", "issuer", EntityKind.PRINCIPAL, "actor", EntityKind.PRINCIPAL),
)


def node_id(kind: EntityKind | str, value: str) -> str:
    return f"{EntityKind(kind).value}:{value}"


def _aggregates() -> tuple[str, list[str]]:
    """One query for every relation: a fine-grained GROUP BY first (one row per distinct
    combination, far fewer than events), then GROUPING SETS over that, so the costly distinct
    event-name lists are built from thousands of rows rather than a million."""
    sets = ", ".join(f"({src}, {dst})" for _, src, _, dst, _ in _RELATIONS)
    flags = ", ".join(f"grouping({src}, {dst}) = 0" for _, src, _, dst, _ in _RELATIONS)
    columns = sorted({c for _, s, _, d, _ in _RELATIONS for c in (s, d)})
    dims = ", ".join(columns)
    return (
        f"""
        WITH ev AS (SELECT *, coalesce(sess, actor) AS holder, coalesce(key, sess, actor) AS node FROM ({_EVENTS})),
        fine AS (
            SELECT {dims}, event_name, any_value(identity_type) AS identity_type, count(*) AS n,
                   min(event_time) AS first, max(event_time) AS last, count(error_code) AS errors
            FROM ev GROUP BY ALL
        )
        SELECT [{flags}] AS which, {dims}, sum(n)::BIGINT, min(first), max(last), sum(errors)::BIGINT,
               list(DISTINCT event_name)[:{_NAMES}], any_value(identity_type)
        FROM fine GROUP BY GROUPING SETS ({sets})
    """,
        columns,
    )


def _node_kind(value: str, default: EntityKind, sessions: set[str], keys: set[str]) -> EntityKind:
    """The ``node`` and ``holder`` columns mix keys, sessions and principals; tell them apart."""
    if value in keys:
        return EntityKind.ACCESS_KEY
    if value in sessions:
        return EntityKind.SESSION
    return EntityKind.PRINCIPAL if default in (EntityKind.ACCESS_KEY, EntityKind.PRINCIPAL) else default


def _add(graph: nx.MultiDiGraph, kind: EntityKind, value: str, **attrs: Any) -> str:
    nid = node_id(kind, value)
    if nid not in graph:
        graph.add_node(nid, kind=kind, value=value)
    graph.nodes[nid].update({k: v for k, v in attrs.items() if v is not None})
    return nid


def build_graph(store: EventStore) -> nx.MultiDiGraph:
    """The aggregated entity graph of the whole case; edge keys are relation names."""
    ensure_derived(store, {**RESOURCES_DERIVED, **LINKS_DERIVED})
    graph = nx.MultiDiGraph()
    con = store.cursor()
    try:
        sql, columns = _aggregates()
        rows = con.execute(sql).fetchall()
        keys = {r[0] for r in con.execute(f"SELECT key FROM {LINKS}").fetchall()}
        sessions = {r[0] for r in con.execute(f"SELECT DISTINCT session FROM {LINKS} WHERE session <> key").fetchall()}
        sessions |= {r[1 + columns.index("sess")] for r in rows if r[1 + columns.index("sess")]}
        for row in rows:
            which, values = row[0], dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
            count, first, last, errors, names, identity_type = row[1 + len(columns) :]
            for flag, (relation, src, src_kind, dst, dst_kind) in zip(which, _RELATIONS, strict=True):
                if not flag or values[src] is None or values[dst] is None:
                    continue
                a = _add(graph, _node_kind(values[src], src_kind, sessions, keys), values[src])
                b = _add(graph, _node_kind(values[dst], dst_kind, sessions, keys), values[dst])
                if relation == "member_of":
                    graph.nodes[a]["identity_type"] = identity_type
                graph.add_edge(
                    a,
                    b,
                    key=relation,
                    relation=relation,
                    count=count,
                    first_seen=first,
                    last_seen=last,
                    errors=errors,
                    event_names=names,
                )
        _add_lineage(graph, con)
        _add_resources(graph, con, sessions, keys)
    finally:
        con.close()
    for _, data in graph.nodes(data=True):
        if data["kind"] == EntityKind.ACCESS_KEY:
            data["key_type"] = "long_term" if data["value"].startswith("AKIA") else "temporary"
    return graph


def _add_lineage(graph: nx.MultiDiGraph, con: Any) -> None:
    rows = con.execute(
        f"SELECT key, parent, issuer_kind, issuer, event_id, event_name, event_time, inferred FROM {LINKS} "
        "WHERE parent IS NOT NULL OR issuer_kind NOT IN ('long_term', 'unknown')"
    ).fetchall()
    for key, parent, kind, issuer, event_id, name, when, inferred in rows:
        source = _add(graph, EntityKind.ACCESS_KEY, parent) if parent else _add(graph, EntityKind.PRINCIPAL, issuer)
        target = _add(graph, EntityKind.ACCESS_KEY, key)
        graph.add_edge(
            source,
            target,
            key="issued",
            relation="issued",
            count=1,
            first_seen=when,
            last_seen=when,
            errors=0,
            event_names=[name] if name else [],
            event_id=event_id,
            inferred=inferred,
            issuer_kind=kind,
        )


def _add_resources(graph: nx.MultiDiGraph, con: Any, sessions: set[str], keys: set[str]) -> None:
    rows = con.execute(
        f"SELECT coalesce(ev.key, ev.sess, ev.actor) AS node, r.resource, r.kind, count(*), "
        "count(*) FILTER (WHERE r.write), min(ev.event_time), max(ev.event_time), count(ev.error_code), "
        f"list(DISTINCT ev.event_name)[:{_NAMES}] FROM {RESOURCES} r JOIN ({_EVENTS}) ev ON ev.seq = r.seq "
        "WHERE r.kind IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1, 2, 3",
        [sorted(GRAPH_KINDS)],
    ).fetchall()
    for node, resource, kind, count, writes, first, last, errors, names in rows:
        a = _add(graph, _node_kind(node, EntityKind.PRINCIPAL, sessions, keys), node)
        if kind in ("iam_role", "iam_user"):
            b = _add(graph, EntityKind.PRINCIPAL, resource)
        else:
            b = _add(graph, EntityKind.RESOURCE, resource, resource_kind=kind)
        graph.add_edge(
            a,
            b,
            key="touched",
            relation="touched",
            count=count,
            writes=writes,
            first_seen=first,
            last_seen=last,
            errors=errors,
            event_names=names,
        )
