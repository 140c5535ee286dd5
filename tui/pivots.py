"""What a pivot means in store terms: the one place the workbench turns entities into queries.

Every view that follows an entity (actor, key, session, IP, user agent, resource...) asks this
module for the entity's scope (a WHERE clause), its profile and, for keys, its lineage. They run
as plain SQL over the store through the UI's own ``Reader``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from tui.reader import Reader

#: Pivot kinds and how the workbench names them.
LABELS: dict[str, str] = {
    "principal": "actor",
    "key": "access key",
    "session": "session",
    "ip": "source IP",
    "ua": "user agent",
    "resource": "resource",
    "account": "account",
    "region": "region",
    "event": "API call",
    "error": "error",
}

_SCOPES: dict[str, tuple[str, int]] = {
    "principal": ("(identity_arn = ? OR session_issuer_arn = ?)", 2),
    "key": ("(access_key_id = ? OR issued_key = ?)", 2),
    "session": ("principal_id = ?", 1),
    "ip": ("source_ip = ?", 1),
    "ua": ("user_agent = ?", 1),
    "resource": ("(list_contains(resources, ?) OR role_arn = ?)", 2),
    "account": ("(recipient_account_id = ? OR identity_account_id = ?)", 2),
    "region": ("aws_region = ?", 1),
    "event": ("event_name = ?", 1),
    "error": ("error_code = ?", 1),
}

#: Profile sections: title, SQL expression of the value, the pivot kind a value opens.
_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("Accounts", "recipient_account_id", "account"),
    ("Regions", "aws_region", "region"),
    ("Source IPs", "source_ip", "ip"),
    ("User agents", "user_agent", "ua"),
    ("API calls", "event_name", "event"),
    ("Errors", "error_code", "error"),
    ("Actors", "identity_arn", "principal"),
    ("Access keys", "access_key_id", "key"),
    ("Sessions", "CASE WHEN identity_type IN ('AssumedRole', 'FederatedUser') THEN principal_id END", "session"),
    ("Keys issued", "issued_key", "key"),
    ("Resources", "unnest(CASE WHEN len(resources) > 0 THEN resources ELSE [role_arn] END)", "resource"),
)
TOP = 8
LEARNING = timedelta(hours=24)


def scope(kind: str, value: str) -> tuple[str, list[Any]]:
    """The events that belong to an entity."""
    where, n = _SCOPES[kind]
    if kind == "session" and ":" not in value:
        where, n = "access_key_id = ?", 1  # a GetSessionToken session is its temporary key
    return where, [value] * n


def value_from_row(kind: str, row: dict[str, Any]) -> str | None:
    """The entity of ``kind`` that an event belongs to, if it has one."""
    if kind == "principal":
        return row.get("identity_arn") or row.get("invoked_by")
    if kind == "session":
        if row.get("identity_type") in ("AssumedRole", "FederatedUser") and row.get("principal_id"):
            return row["principal_id"]
        key = row.get("access_key_id") or ""
        return key if key.startswith("ASIA") else None
    if kind == "resource":
        resources = row.get("resources") or []
        return resources[0] if resources else row.get("role_arn")
    column = {"key": "access_key_id", "ip": "source_ip", "ua": "user_agent", "account": "recipient_account_id"}
    column |= {"region": "aws_region", "event": "event_name", "error": "error_code"}
    return row.get(column[kind])


@dataclass(frozen=True, slots=True)
class Item:
    """One value in a profile section: every one is a pivot."""

    kind: str
    value: str
    count: int
    first: datetime
    last: datetime
    new: bool


@dataclass(slots=True)
class Profile:
    kind: str
    value: str
    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    sections: list[tuple[str, int, list[Item]]] = field(default_factory=list)


def profile(reader: Reader, kind: str, value: str) -> Profile:
    """First and last seen, and the top values of each facet with counts and novelty flags.

    A value is *newly observed* when the entity first used it after its learning period: its
    first 24 hours, or a quarter of its active span when that is shorter.
    """
    where, params = scope(kind, value)
    count, first, last = reader.fetch(
        f"SELECT count(*), min(event_time), max(event_time) FROM events WHERE {where}", params
    )[0]
    result = Profile(kind, value, count, first, last)
    if not count:
        return result
    learning_end = first + min(LEARNING, (last - first) / 4)
    for title, expr, target in _SECTIONS:
        if target == kind and title != "Keys issued":
            continue
        rows = reader.fetch(
            f"SELECT v, count(*) AS n, min(t), max(t), count(*) OVER () FROM "
            f"(SELECT {expr} AS v, event_time AS t FROM events WHERE {where}) WHERE v IS NOT NULL "
            "GROUP BY v ORDER BY n DESC, v LIMIT ?",
            [*params, TOP],
        )
        if rows:
            items = [Item(target, v, n, lo, hi, lo > learning_end) for v, n, lo, hi, _ in rows]
            result.sections.append((title, rows[0][4], items))
    return result


@dataclass(frozen=True, slots=True)
class KeyNode:
    """One credential in a lineage: who held it, what it did, and how it was minted."""

    key: str
    parent: str | None
    depth: int
    arn: str | None
    accounts: tuple[str, ...]
    events: int
    first: datetime | None
    last: datetime | None
    minted_by: str | None


def lineage(reader: Reader, key: str, limit: int = 500) -> list[KeyNode]:
    """The credential tree around ``key``: ancestors (negative depth) down to every descendant.

    Links are issuing events: a call made with key P whose response carried key C makes P the
    parent of C. Nodes are returned root first, children after their parents.
    """
    chain = [key]
    while len(chain) < 50:
        found = reader.fetch(
            "SELECT access_key_id FROM events WHERE issued_key = ? AND access_key_id IS NOT NULL ORDER BY seq LIMIT 1",
            [chain[0]],
        )
        if not found or found[0][0] in chain:
            break
        chain.insert(0, found[0][0])
    depth_of = {k: i - (len(chain) - 1) for i, k in enumerate(chain)}
    parents: dict[str, str | None] = {chain[0]: None} | {c: p for p, c in pairwise(chain)}
    minted: dict[str, str | None] = {}
    frontier = [key]
    while frontier and len(parents) < limit:
        rows = reader.fetch(
            "SELECT access_key_id, issued_key, min(event_name) FROM events WHERE issued_key IS NOT NULL "
            "AND access_key_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1, 2 ORDER BY min(seq)",
            [frontier],
        )
        frontier = []
        for parent, child, name in rows:
            if child not in parents:
                parents[child] = parent
                depth_of[child] = depth_of[parent] + 1
                minted[child] = name
                frontier.append(child)
    for parent, child in pairwise(chain):
        found = reader.fetch(
            "SELECT min(event_name) FROM events WHERE access_key_id = ? AND issued_key = ?", [parent, child]
        )
        minted[child] = found[0][0]
    stats = _key_stats(reader, list(parents))
    return [
        KeyNode(k, parents[k], depth_of[k], *stats.get(k, (None, (), 0, None, None)), minted.get(k))
        for k in sorted(
            parents, key=lambda k: (depth_of[k], stats.get(k, (None, (), 0, None, None))[3] or datetime.max)
        )
    ]


def _key_stats(reader: Reader, keys: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    rows = reader.fetch(
        "SELECT access_key_id, any_value(identity_arn), "
        "list(DISTINCT recipient_account_id ORDER BY recipient_account_id), count(*), min(event_time), "
        "max(event_time) FROM events "
        "WHERE access_key_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
        [list(keys)],
    )
    return {k: (arn, tuple(a for a in accounts if a), n, lo, hi) for k, arn, accounts, n, lo, hi in rows}
