"""First-seen and newly observed: what each principal and each key did for the first time.

For every principal (a role for its sessions, else the identity) and every access key, each
source IP, network, user-agent family, region and API call gets the event where it was first
seen in the case. A value is *newly observed* when it first appears after the entity's learning
period (its first 24 hours in the case, or a quarter of the case's span when that is shorter):
before that, everything is new and nothing is news. ASN and country join the dimensions whenever
the geo data knows any of the case's addresses: the databases shipped with Trailhound by default,
MaxMind files when given (``investigations.geo``).

All of it is one pass of grouped aggregates over the store, written to tables in the case's
database (``ip_info``, ``ua_info``, ``first_seen``) so the TUI can flag events and profiles can list
first sightings without recomputing; the tables are rebuilt when the events change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from investigations.geo import geo_from
from investigations.netinfo import GeoProvider, classify, ua_family
from investigations.store import EventStore

#: Who acted, in the best name known; the same order as ``model.Event.actor``.
ACTOR_SQL = (
    "coalesce(identity_arn, invoked_by, "
    "CASE WHEN identity_type IS NOT NULL AND identity_account_id IS NOT NULL "
    "THEN identity_type || ':' || identity_account_id END, principal_id, user_name, identity_type, 'unknown')"
)
#: The principal a baseline belongs to: a role for all of its sessions, else the actor.
PRINCIPAL_SQL = (
    "CASE WHEN identity_type = 'AssumedRole' AND session_issuer_arn IS NOT NULL "
    f"THEN session_issuer_arn ELSE {ACTOR_SQL} END"
)

DEFAULT_LEARNING = timedelta(hours=24)
BASE_DIMENSIONS = ("ip", "network", "user_agent", "region", "api")
GEO_DIMENSIONS = ("asn", "country")


@dataclass(frozen=True, slots=True)
class Novelty:
    """A value first seen for an entity; ``new`` when that was after the entity's learning period."""

    kind: str
    entity: str
    dimension: str
    value: str
    seq: int
    event_time: datetime
    event_id: str
    count: int
    new: bool


def principal_of(store: EventStore, arn: str) -> str:
    """The baseline principal for an ARN: a session's role, else the ARN itself."""
    _, rows = store.sql(
        "SELECT session_issuer_arn FROM events WHERE identity_arn = ? AND identity_type = 'AssumedRole' "
        "AND session_issuer_arn IS NOT NULL LIMIT 1",
        [arn],
    )
    return rows[0][0] if rows else arn


def _lookups(con: Any, geo: GeoProvider | None) -> bool:
    """Rebuild ``ip_info`` and ``ua_info`` from the distinct values; True when ASN data is present."""
    ips = [r[0] for r in con.execute("SELECT DISTINCT source_ip FROM events WHERE source_ip IS NOT NULL").fetchall()]
    infos = [i for i in (classify(ip, geo) for ip in ips) if i is not None]
    ip_table = pa.table(
        {
            "ip": pa.array([i.ip for i in infos], pa.string()),
            "network": pa.array([i.network for i in infos], pa.string()),
            "wide": pa.array([i.wide for i in infos], pa.string()),
            "internal": pa.array([i.internal for i in infos], pa.bool_()),
            "asn": pa.array([i.asn for i in infos], pa.string()),
            "country": pa.array([i.country for i in infos], pa.string()),
        }
    )
    uas = [r[0] for r in con.execute("SELECT DISTINCT user_agent FROM events WHERE user_agent IS NOT NULL").fetchall()]
    ua_table = pa.table(
        {"user_agent": pa.array(uas, pa.string()), "family": pa.array([ua_family(u) for u in uas], pa.string())}
    )
    con.register("th_ip_in", ip_table)
    con.register("th_ua_in", ua_table)
    con.execute("CREATE OR REPLACE TABLE ip_info AS SELECT * FROM th_ip_in")
    con.execute("CREATE OR REPLACE TABLE ua_info AS SELECT * FROM th_ua_in")
    con.unregister("th_ip_in")
    con.unregister("th_ua_in")
    return any(i.asn or i.country for i in infos)


def _learning(con: Any, learning: timedelta | None) -> timedelta:
    if learning is not None:
        return learning
    low, high = con.execute("SELECT min(event_time), max(event_time) FROM events").fetchall()[0]
    if low is None:
        return DEFAULT_LEARNING
    return min(DEFAULT_LEARNING, (high - low) / 4)


def learning_window(store: EventStore, learning: timedelta | None = None) -> timedelta:
    """The learning period in force: the one given, else 24 hours or a quarter of the case's span."""
    con = store.cursor()
    try:
        return _learning(con, learning)
    finally:
        con.close()


def _events_state(con: Any) -> str:
    count, top = con.execute("SELECT count(*), max(seq) FROM events").fetchall()[0]
    return f"{count}:{top}"


def _options_state(learning: timedelta | None, geo: GeoProvider | None) -> str:
    return f"{learning}:{type(geo).__name__ if geo else '-'}"


def compute(store: EventStore, learning: timedelta | None = None, geo: GeoProvider | None = None) -> int:
    """(Re)build the baseline tables; returns how many first sightings are newly observed."""
    con = store.cursor()
    try:
        has_geo = _lookups(con, geo)
        window = _learning(con, learning)
        dims = BASE_DIMENSIONS + (GEO_DIMENSIONS if has_geo else ())
        # Two levels: first collapse events to distinct combinations of the raw columns (a few
        # thousand rows per million events), then derive principal, network and family on those.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE th_combo AS SELECT identity_type, session_issuer_arn, identity_arn, "
            "invoked_by, identity_account_id, principal_id, user_name, access_key_id, source_ip, user_agent, "
            "aws_region, event_source, event_name, min(seq) AS seq, count(*) AS n FROM events "
            "WHERE identity_type IS DISTINCT FROM 'AWSService' AND event_name IS NOT NULL GROUP BY ALL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE th_obs AS SELECT c.seq, c.n, "
            f"{PRINCIPAL_SQL} AS principal, c.access_key_id AS akey, "
            "CASE WHEN c.invoked_by IS NULL THEN i.ip END AS ip, "
            "CASE WHEN c.invoked_by IS NULL THEN i.network END AS network, "
            "CASE WHEN c.invoked_by IS NULL THEN i.asn END AS asn, "
            "CASE WHEN c.invoked_by IS NULL THEN i.country END AS country, "
            "CASE WHEN c.invoked_by IS NULL THEN u.family END AS user_agent, "
            "c.aws_region AS region, split_part(c.event_source, '.', 1) || ':' || c.event_name AS api "
            "FROM th_combo c LEFT JOIN ip_info i ON i.ip = c.source_ip "
            "LEFT JOIN ua_info u ON u.user_agent = c.user_agent"
        )
        parts = [
            f"SELECT '{kind}' AS kind, {col} AS entity, '{dim}' AS dimension, {dim} AS value, "
            "min(seq) AS seq, sum(n) AS n FROM th_obs "
            f"WHERE {col} IS NOT NULL AND {dim} IS NOT NULL GROUP BY {col}, {dim}"
            for kind, col in (("principal", "principal"), ("key", "akey"))
            for dim in dims
        ]
        starts = (
            "SELECT 'principal' AS kind, principal AS entity, min(seq) AS s0 FROM th_obs "
            "WHERE principal IS NOT NULL GROUP BY principal UNION ALL "
            "SELECT 'key', akey, min(seq) FROM th_obs WHERE akey IS NOT NULL GROUP BY akey"
        )
        con.execute(
            "CREATE OR REPLACE TABLE first_seen AS "
            f"WITH f AS ({' UNION ALL '.join(parts)}), s AS ({starts}) "
            "SELECT f.kind, f.entity, f.dimension, f.value, f.seq, e.event_time, e.event_id, "
            "CAST(f.n AS BIGINT) AS count, e.event_time >= e0.event_time + ? AS new "
            "FROM f JOIN s USING (kind, entity) JOIN events e ON e.seq = f.seq JOIN events e0 ON e0.seq = s.s0 "
            "ORDER BY f.seq",
            [window],
        )
        con.execute("DROP TABLE th_combo")
        con.execute("DROP TABLE th_obs")
        new = con.execute("SELECT count(*) FROM first_seen WHERE new").fetchall()[0][0]
        state = _events_state(con)
    finally:
        con.close()
    store.set_meta("baseline.events", state)
    store.set_meta("baseline.options", _options_state(learning, geo))
    return int(new)


def ensure(store: EventStore, learning: timedelta | None = None, geo: GeoProvider | None = None) -> None:
    """Build the baseline unless the tables already describe the store's events with these options."""
    con = store.cursor()
    try:
        state = _events_state(con)
    finally:
        con.close()
    if store.meta("baseline.events") != state or store.meta("baseline.options") != _options_state(learning, geo):
        compute(store, learning, geo)


def _fresh(store: EventStore) -> None:
    """Readers accept whatever options the last build used, but never stale events."""
    con = store.cursor()
    try:
        state = _events_state(con)
    finally:
        con.close()
    if store.meta("baseline.events") != state:
        compute(store, geo=geo_from())


_COLUMNS = "kind, entity, dimension, value, seq, event_time, event_id, count, new"


def _novelties(store: EventStore, where: str, params: list[Any]) -> list[Novelty]:
    _fresh(store)
    _, rows = store.sql(f"SELECT {_COLUMNS} FROM first_seen WHERE {where} ORDER BY seq, kind, dimension", params)
    return [Novelty(*row) for row in rows]


def newly_observed(
    store: EventStore, principal: str | None = None, key: str | None = None, include_learning: bool = False
) -> list[Novelty]:
    """Newly observed values for a principal (an ARN; a session ARN means its role) and/or a key.

    With neither given, every entity's. ``include_learning`` adds the first sightings made during
    the learning period too, which is what a profile's "first seen" list shows.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if principal is not None:
        clauses.append("(kind = 'principal' AND entity IN (?, ?))")
        params += [principal, principal_of(store, principal)]
    if key is not None:
        clauses.append("(kind = 'key' AND entity = ?)")
        params.append(key)
    where = " OR ".join(clauses) if clauses else "TRUE"
    if not include_learning:
        where = f"({where}) AND new"
    return _novelties(store, where, params)


def novelty_by_seq(store: EventStore, first_seq: int, last_seq: int) -> dict[int, list[Novelty]]:
    """Newly observed values per event in a seq range: what the timeline marks on each row."""
    out: dict[int, list[Novelty]] = {}
    for item in _novelties(store, "new AND seq BETWEEN ? AND ?", [first_seq, last_seq]):
        out.setdefault(item.seq, []).append(item)
    return out
