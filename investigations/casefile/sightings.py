"""Where a case's indicators and containment steps meet its events, as SQL over the store.

An IOC's first and last seen, and the events that happened after a containment step took effect,
are both conditions on the ``events`` table; keeping them as SQL fragments lets the timeline
highlight, the exports flag and the report count them without pulling events into Python.

Disabling a long-term key does not end the STS sessions it already minted, which is exactly the
activity a responder needs to see after containment, so a key's condition covers its whole
family in the credential lineage: the key plus every key minted from it, at any depth.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from investigations.casefile.items import Containment
from investigations.timeparse import iso, parse_time

if TYPE_CHECKING:
    from investigations.store import EventStore

_IOC_CONDITIONS: dict[str, tuple[str, int]] = {
    "ip": ("source_ip = ?", 1),
    "access_key": ("(access_key_id = ? OR issued_key = ?)", 2),
    "arn": (
        "(identity_arn = ? OR issued_arn = ? OR session_issuer_arn = ? OR role_arn = ? OR list_contains(resources, ?))",
        5,
    ),
    "user_agent": ("user_agent = ?", 1),
    "account": ("(identity_account_id = ? OR recipient_account_id = ?)", 2),
}


def ioc_condition(kind: str, value: str) -> tuple[str, list[Any]]:
    sql, count = _IOC_CONDITIONS[kind]
    return sql, [value] * count


def sighting(store: EventStore, kind: str, value: str) -> tuple[str | None, str | None, int]:
    """First seen, last seen (ISO 8601) and number of events mentioning an indicator."""
    where, params = ioc_condition(kind, value)
    _, rows = store.sql(f"SELECT min(event_time), max(event_time), count(*) FROM events WHERE {where}", params)
    first, last, count = rows[0]
    return iso(first), iso(last), int(count)


def key_family(store: EventStore, key: str) -> list[str]:
    """The key, the other keys of its session, and every key minted from them down any chain."""
    from investigations.lineage import Lineage  # builds the lineage table on first use

    tree = Lineage.for_key(store, key)
    return sorted({key, *tree.session_keys, *(link.key for link in tree.descendants)})


def after_containment(store: EventStore, steps: Iterable[Containment]) -> tuple[str, list[Any]]:
    """A condition true for events made with a contained credential after its containment took effect.

    Key families are resolved once here, so the condition stays cheap to evaluate on every row.
    Revoking a role's sessions denies sessions issued before the revocation, so for that step the
    events that count are those of older sessions still being used afterwards.
    """
    parts: list[str] = []
    params: list[Any] = []
    for step in steps:
        at = parse_time(step.at)
        if step.action in ("disable_key", "delete_key"):
            parts.append("(event_time > ? AND access_key_id IN (SELECT unnest(?)))")
            params += [at, key_family(store, step.target)]
        elif step.action == "revoke_sessions":
            parts.append("(event_time > ? AND session_issuer_arn = ? AND session_created < ?)")
            params += [at, step.target, at]
        else:
            parts.append("(event_time > ? AND (identity_arn = ? OR session_issuer_arn = ?))")
            params += [at, step.target, step.target]
    return (" OR ".join(parts) or "FALSE"), params
