"""Adding, editing, listing and removing case items, headless.

Each change is one journal entry carrying the item's whole new state (``<kind>.added``,
``<kind>.edited`` with the fields that changed, ``<kind>.removed``), committed before the function
returns: there is no save step to forget, and a crash loses at most the change in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from investigations.casefile.document import ITEM_COLLECTIONS, next_item_id
from investigations.casefile.items import (
    ITEM_TYPES,
    Bookmark,
    Containment,
    Finding,
    Ioc,
    Item,
    ItemError,
    Note,
    Ref,
    Tag,
)
from investigations.casefile.persist import now_iso
from investigations.casefile.sightings import after_containment, sighting
from investigations.journal import os_user
from investigations.timeparse import iso, parse_time

if TYPE_CHECKING:
    from investigations.case import Case

T = TypeVar("T", bound=Item)
RefLike = Ref | dict[str, Any] | tuple[str, str] | str


def _stamp() -> dict[str, str]:
    now = now_iso()
    return {"created": now, "updated": now, "author": os_user()}


def _add(case: Case, item: T) -> T:
    item.validate()
    case.commit(f"{item.KIND}.added", item=item.to_dict())
    return item


def kind_of(item_id: str) -> str:
    prefix = item_id.partition("-")[0].upper()
    for kind, (_, known) in ITEM_COLLECTIONS.items():
        if known == prefix:
            return kind
    raise ItemError(f"{item_id!r} is not an item id (F- finding, B- bookmark, N- note, G- tag, I- IOC, C- containment)")


def items(case: Case, kind: str) -> list[Item]:
    """Every item of one kind (``finding``, ``bookmark``, ...), in the order they were added."""
    if kind not in ITEM_TYPES:
        raise ItemError(f"unknown item kind {kind!r} (kinds: {', '.join(ITEM_TYPES)})")
    collection = ITEM_COLLECTIONS[kind][0]
    return [ITEM_TYPES[kind].from_dict(data) for data in case.data[collection]]


def get(case: Case, item_id: str) -> Item:
    kind = kind_of(item_id)
    for item in items(case, kind):
        if item.id == item_id.upper():
            return item
    raise ItemError(f"the case has no {kind} {item_id}")


def edit(case: Case, item_id: str, **changes: Any) -> Item:
    """Change some fields of an item; the journal entry lists each field's old and new value."""
    item = get(case, item_id)
    unknown = set(changes) - item.editable()
    if unknown:
        raise ItemError(f"{item.KIND} has no editable field(s) {', '.join(sorted(unknown))}")
    before = item.to_dict()
    for name, value in changes.items():
        setattr(item, name, value)
    if isinstance(item, Containment) and "at" in changes:
        item.at = _when(changes["at"])
    item.validate()
    after = item.to_dict()
    changed = {k: [before[k], after[k]] for k in changes if before[k] != after[k]}
    if not changed:
        return item
    _known_events(case, _linked_events(item, changed))
    item.updated = now_iso()
    case.commit(f"{item.KIND}.edited", item=item.to_dict(), changed=changed)
    return item


def remove(case: Case, item_id: str) -> Item:
    item = get(case, item_id)
    case.commit(f"{item.KIND}.removed", id=item.id, item=item.to_dict())
    return item


def _linked_events(item: Item, changed: dict[str, Any]) -> list[str]:
    """Events an edit newly links to, which must exist like those of a new item."""
    if isinstance(item, Finding) and "event_ids" in changed:
        return [e for e in item.event_ids if e not in changed["event_ids"][0]]
    if isinstance(item, Bookmark) and "event_id" in changed:
        return [item.event_id]
    if isinstance(item, Tag) and "target" in changed and item.target["kind"] == "event":
        return [item.target["value"]]
    return []


def _when(value: datetime | str | None) -> str:
    if value is None:
        return now_iso()
    try:
        moment = parse_time(value) if isinstance(value, str) else value.replace(tzinfo=None)
    except ValueError as exc:
        raise ItemError(str(exc)) from None
    return str(iso(moment))


def _known_events(case: Case, event_ids: Sequence[str]) -> None:
    """Refuse links to events the case does not hold: a typo must not become evidence."""
    wanted = list(dict.fromkeys(event_ids))
    if not wanted:
        return
    if not case.has_events:
        raise ItemError("the case holds no events yet; ingest evidence before linking events")
    _, rows = case.store.sql("SELECT event_id FROM events WHERE event_id IN (SELECT unnest(?))", [wanted])
    missing = sorted(set(wanted) - {row[0] for row in rows})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ItemError(f"no such event in the case: {shown}")


def add_finding(
    case: Case,
    title: str,
    severity: str,
    *,
    status: str = "open",
    narrative: str = "",
    technique: str | None = None,
    rule_id: str | None = None,
    event_ids: Iterable[str] = (),
    entities: Iterable[RefLike] = (),
) -> Finding:
    """A finding, typed by hand or promoted from a detection hit (pass its rule_id and events)."""
    finding = Finding(
        id=next_item_id(case.data, "finding"),
        title=title,
        severity=severity,
        status=status,
        narrative=narrative,
        technique=technique,
        rule_id=rule_id,
        event_ids=list(event_ids),
        entities=[dict(kind=r.kind, value=r.value) for r in map(Ref.parse, entities)],
        **_stamp(),
    )
    finding.validate()
    _known_events(case, finding.event_ids)
    return _add(case, finding)


def promote_detection(case: Case, detection: Mapping[str, Any]) -> Finding:
    """A case finding from a detection hit, in the shape ``trailhound detect --json`` prints.

    The rule's explanation opens the narrative; the actor, keys and accounts become entities, so
    the finding's lineage and IOCs follow from it without retyping.
    """
    entities: list[RefLike] = []
    actor = str(detection.get("actor") or "")
    if actor.startswith("arn:"):
        entities.append(("principal", actor))
    keys = [detection.get("access_key"), *(detection.get("access_keys") or [])]
    entities += [("access_key", key) for key in dict.fromkeys(k for k in keys if k)]
    entities += [("account", account) for account in detection.get("accounts") or []]
    seen = f"Seen {detection.get('first_seen')} to {detection.get('last_seen')}." if detection.get("first_seen") else ""
    narrative = "\n\n".join(str(p) for p in (detection.get("why"), detection.get("detail"), seen) if p)
    return add_finding(
        case,
        str(detection.get("title", "")),
        str(detection.get("severity", "medium")),
        narrative=narrative,
        technique=detection.get("technique") or None,
        rule_id=detection.get("rule_id"),
        event_ids=list(detection.get("event_ids") or []),
        entities=entities,
    )


def add_bookmark(case: Case, event_id: str, note: str = "") -> Bookmark:
    """Bookmark an event by its eventID (stable across re-sorts and rebuilds, unlike seq)."""
    for old in items(case, "bookmark"):
        if isinstance(old, Bookmark) and old.event_id == event_id:
            return cast(Bookmark, edit(case, old.id, note=note)) if note else old
    _known_events(case, [event_id])
    return _add(case, Bookmark(id=next_item_id(case.data, "bookmark"), event_id=event_id, note=note, **_stamp()))


def add_note(case: Case, text: str, about: RefLike | None = None) -> Note:
    ref = Ref.parse(about) if about else None
    if ref and ref.kind == "finding":
        get(case, ref.value)
    elif ref and ref.kind == "event":
        _known_events(case, [ref.value])
    note = Note(
        id=next_item_id(case.data, "note"),
        text=text,
        about={"kind": ref.kind, "value": ref.value} if ref else None,
        **_stamp(),
    )
    return _add(case, note)


def add_tag(case: Case, target: RefLike, label: str) -> Tag:
    """Tag an event or entity; tagging the same thing with the same label twice is one tag."""
    ref = Ref.parse(target)
    tag = Tag(id=next_item_id(case.data, "tag"), target={"kind": ref.kind, "value": ref.value}, label=label, **_stamp())
    tag.validate()
    for old in items(case, "tag"):
        if isinstance(old, Tag) and old.target == tag.target and old.label == tag.label:
            return old
    if ref.kind == "event":
        _known_events(case, [ref.value])
    return _add(case, tag)


def add_ioc(case: Case, kind: str, value: str, note: str = "", finding_id: str | None = None) -> Ioc:
    """An indicator, with first and last seen read from the case's events (None when unseen)."""
    ioc = Ioc(id=next_item_id(case.data, "ioc"), kind=kind, value=value, note=note, finding_id=finding_id, **_stamp())
    ioc.validate()
    for old in items(case, "ioc"):
        if isinstance(old, Ioc) and (old.kind, old.value) == (ioc.kind, ioc.value):
            raise ItemError(f"{ioc.kind} {ioc.value} is already IOC {old.id}")
    if finding_id:
        get(case, finding_id)
    if case.has_events:
        ioc.first_seen, ioc.last_seen, ioc.events = sighting(case.store, ioc.kind, ioc.value)
    return _add(case, ioc)


def refresh_iocs(case: Case) -> list[Ioc]:
    """Recompute first/last seen after new evidence; returns the IOCs whose sightings changed."""
    changed: list[Ioc] = []
    if not case.has_events:
        return changed
    for ioc in (i for i in items(case, "ioc") if isinstance(i, Ioc)):
        first, last, count = sighting(case.store, ioc.kind, ioc.value)
        if (first, last, count) != (ioc.first_seen, ioc.last_seen, ioc.events):
            changed.append(cast(Ioc, edit(case, ioc.id, first_seen=first, last_seen=last, events=count)))
    return changed


def add_containment(
    case: Case, action: str, target: str, at: datetime | str | None = None, note: str = ""
) -> Containment:
    """Record a containment step; ``at`` (default now) is when it took effect, in UTC."""
    step = Containment(
        id=next_item_id(case.data, "containment"), action=action, target=target, at=_when(at), note=note, **_stamp()
    )
    return _add(case, step)


def contained_activity(case: Case) -> tuple[str, list[Any]]:
    """SQL condition (with params) for events after containment: the timeline highlights these."""
    steps = [step for step in items(case, "containment") if isinstance(step, Containment)]
    if not steps or not case.has_events:
        return "FALSE", []
    return after_containment(case.store, steps)
