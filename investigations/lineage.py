"""Credential lineage: which key minted which, so a pivot can follow an intruder across sessions.

Links are keyed by access key, never by session name: two sessions of one role with one session
name are different sessions. Every key seen in the case (used or issued) gets one row in the
``lineage_keys`` table, built once from SQL aggregates (only issuing events and one GROUP BY over
keys reach Python) and rebuilt when the events change. A pivot then fetches the part of the tree
it needs (sessions, ancestors, descendants) in one recursive query on that small table and walks
it in Python, which keeps a full pivot within its time budget on a million events.

Where the issuing event is absent, a temporary key falls back to its session's
``(arn, creationDate)``: an issuance of that same ARN within a second is taken as its parent, a
console login of that ARN as its origin, and otherwise the origin is unknown. All such links say
``inferred``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from investigations.derived import ensure_derived
from investigations.lineage_build import build_rows
from investigations.store import EventStore

TABLE = "lineage_keys"

_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("session", pa.string()),
        ("parent", pa.string()),
        ("seq", pa.int64()),
        ("event_id", pa.string()),
        ("event_name", pa.string()),
        ("event_time", pa.timestamp("us")),
        ("issuer_kind", pa.string()),
        ("issuer", pa.string()),
        ("inferred", pa.bool_()),
        ("arn", pa.string()),
        ("created", pa.timestamp("us")),
        ("source_identity", pa.string()),
        ("first_seen", pa.timestamp("us")),
        ("last_seen", pa.timestamp("us")),
        ("events", pa.int64()),
    ]
)
_COLUMNS: tuple[str, ...] = tuple(_SCHEMA.names)


@dataclass(frozen=True, slots=True)
class Link:
    """How one key came to be, and what it did in summary.

    ``parent`` is the key that signed the issuing event; it is None when the issuer had no key
    (an AWS service, the role owner's copy of a cross-account call, a SAML or web identity, a
    console login) or is not in the evidence. ``issuer_kind`` says which: key, long_term,
    service, account, saml, web_identity, console, unknown. ``session`` groups keys that are
    one session: the key itself, or ``arn@creationDate`` when no issuing event names the key.
    """

    key: str
    session: str
    parent: str | None
    seq: int | None
    event_id: str | None
    event_name: str | None
    event_time: datetime | None
    issuer_kind: str
    issuer: str | None
    inferred: bool
    arn: str | None
    created: datetime | None
    source_identity: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    events: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a lineage starts: a long-term key, an external identity, a service, or the unknown."""

    kind: str
    label: str | None
    event_id: str | None
    inferred: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class LineageTree:
    """One key's place in the credential tree.

    ``ancestors`` run nearest first up to the long-term key or external identity; ``chain`` holds
    the matching links (``chain[0]`` is how ``key`` itself was issued). ``descendants`` lists
    every key minted from the session, breadth first, each as its own Link (parent set).
    """

    key: str
    link: Link | None
    session_keys: list[str]
    ancestors: list[str]
    chain: list[Link]
    origin: Origin
    descendants: list[Link] = field(default_factory=list)

    def lineage_keys(self) -> list[str]:
        """The session's keys and every descendant: whose events make up the lineage."""
        return [*self.session_keys, *(d.key for d in self.descendants)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "link": self.link.as_dict() if self.link else None,
            "session_keys": self.session_keys,
            "ancestors": self.ancestors,
            "chain": [c.as_dict() for c in self.chain],
            "origin": self.origin.as_dict(),
            "descendants": [edge(d) for d in self.descendants],
        }


def edge(link: Link) -> dict[str, Any]:
    """A descendant as the CLI prints it: ``{parent, child, event_id, ...}``."""
    return {
        "parent": link.parent,
        "child": link.key,
        "event_id": link.event_id,
        "event_name": link.event_name,
        "event_time": link.event_time,
        "issuer_kind": link.issuer_kind,
        "arn": link.arn,
        "events": link.events,
        "inferred": link.inferred,
    }


def _build(con: duckdb.DuckDBPyConnection) -> None:
    rows = build_rows(con)
    table = pa.Table.from_pylist([dict(zip(_COLUMNS, row, strict=True)) for row in rows], schema=_SCHEMA)
    con.register("lineage_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS SELECT * FROM lineage_rows ORDER BY key")
    finally:
        con.unregister("lineage_rows")


#: The derived table this module keeps (see ``derived.ensure_derived``).
DERIVED = {TABLE: _build}


def ensure_links(store: EventStore) -> None:
    """Build ``lineage_keys`` unless it already matches the stored events."""
    ensure_derived(store, DERIVED)


_FAMILY_SQL = f"""
    WITH RECURSIVE
        asked AS (SELECT unnest($keys::VARCHAR[]) AS key),
        seed AS (
            SELECT key FROM asked
            UNION SELECT l.key FROM {TABLE} l
            WHERE l.session IN (SELECT s.session FROM {TABLE} s JOIN asked USING (key))
        ),
        down(key) AS (SELECT key FROM seed UNION SELECT l.key FROM {TABLE} l JOIN down d ON l.parent = d.key),
        up(key) AS (
            SELECT key FROM seed
            UNION SELECT l.parent FROM {TABLE} l JOIN up u ON l.key = u.key WHERE l.parent IS NOT NULL
        )
    SELECT {", ".join(_COLUMNS)} FROM {TABLE} WHERE key IN (SELECT key FROM down UNION SELECT key FROM up)
"""


def _order(link: Link) -> tuple[bool, int, datetime, str]:
    """Issue order: by issuing event, then first use, then key (keys never issued come last)."""
    return (link.seq is None, link.seq or 0, link.first_seen or datetime.max, link.key)


class Family:
    """The credential tree around some keys: their sessions, ancestors and descendants.

    Fetched in one query (recursive, and guarded against cycles by UNION) so that walking it
    costs nothing more; every method here is plain Python over those links.
    """

    def __init__(self, links: dict[str, Link]) -> None:
        self.links = links
        self._children: dict[str, list[Link]] = {}
        for link in sorted(links.values(), key=_order):
            if link.parent:
                self._children.setdefault(link.parent, []).append(link)

    def link(self, key: str) -> Link | None:
        return self.links.get(key)

    def session_keys(self, keys: list[str]) -> list[str]:
        """The given keys and every key of the same sessions, in first-seen order."""
        sessions = {self.links[k].session for k in keys if k in self.links}
        found = sorted(
            (link for link in self.links.values() if link.session in sessions),
            key=lambda link: (link.first_seen is None, link.first_seen or datetime.max, link.key),
        )
        ordered = [link.key for link in found]
        return ordered + [k for k in keys if k not in sessions and k not in ordered]

    def chain(self, key: str) -> list[Link]:
        """Links from ``key`` up to its origin, nearest first; a cycle in the data ends the walk."""
        out: list[Link] = []
        seen = {key}
        current = self.links.get(key)
        while current is not None:
            out.append(current)
            if current.parent is None or current.parent in seen:
                break
            seen.add(current.parent)
            current = self.links.get(current.parent)
        return out

    def descendants(self, roots: list[str]) -> list[Link]:
        """Every key minted from ``roots`` at any depth, breadth first, each key once."""
        seen = set(roots)
        frontier = list(roots)
        out: list[Link] = []
        while frontier:
            children = sorted((c for k in frontier for c in self._children.get(k, ())), key=_order)
            fresh = [c for c in children if c.key not in seen]
            seen.update(c.key for c in fresh)
            out.extend(fresh)
            frontier = [c.key for c in fresh]
        return out

    def edges_between(self, keys: list[str]) -> list[Link]:
        """Links from one of ``keys`` to another (an IP pivot finds a key and a key it minted)."""
        inner = set(keys)
        links = [self.links[k] for k in keys if k in self.links]
        return sorted((link for link in links if link.parent in inner and link.parent != link.key), key=_order)

    def tree(self, key: str) -> LineageTree:
        """Ancestors, origin and descendants of ``key`` and its session."""
        chain = self.chain(key)
        session = self.session_keys([key])
        return LineageTree(
            key=key,
            link=chain[0] if chain else None,
            session_keys=session,
            ancestors=ancestors_of(chain, key),
            chain=chain,
            origin=origin_of(chain, key),
            descendants=self.descendants(session),
        )


class Lineage:
    """The credential tree of one store; cheap to create, one per pivot or view."""

    def __init__(self, store: EventStore, con: duckdb.DuckDBPyConnection | None = None, ensure: bool = True) -> None:
        if ensure:
            ensure_links(store)
        self._con = con or store.cursor()

    @classmethod
    def for_key(cls, store: EventStore, key: str) -> LineageTree:
        return cls(store).family([key]).tree(key)

    def family(self, keys: list[str]) -> Family:
        """The keys, their sessions, and every ancestor and descendant, in one query."""
        rows = self._con.execute(_FAMILY_SQL, {"keys": list(keys)}).fetchall()
        return Family({row[0]: Link(*row) for row in rows})

    def links(self, keys: list[str]) -> dict[str, Link]:
        rows = self._con.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM {TABLE} WHERE list_contains(?::VARCHAR[], key)", [list(keys)]
        ).fetchall()
        return {row[0]: Link(*row) for row in rows}

    def link(self, key: str) -> Link | None:
        return self.links([key]).get(key)

    def close(self) -> None:
        self._con.close()


def ancestors_of(chain: list[Link], key: str) -> list[str]:
    """The parents along a chain, nearest first; a chain closed by a cycle stops short of ``key``."""
    return [c.parent for c in chain if c.parent and c.parent != key]


def origin_of(chain: list[Link], key: str) -> Origin:
    """The top of a chain: the last link's issuer, or the key itself when nothing is known."""
    if not chain:
        return Origin("unknown", key, None, True)
    top = chain[-1]
    if top.parent is not None:  # the walk stopped on a cycle
        return Origin("cycle", top.parent, top.event_id, True)
    label = top.issuer
    if top.issuer_kind == "unknown":
        label = f"issuing event not in the evidence ({top.issuer or top.arn or top.key})"
    return Origin(top.issuer_kind, label, top.event_id, top.inferred)
