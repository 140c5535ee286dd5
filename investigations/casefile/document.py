"""``case.json``: its schema, how old versions are migrated, and how journal entries change it.

Every change to the document is first written to the journal as an entry that carries the whole
new state of what changed (an item, a source), and ``apply_entry`` is the only code that turns an
entry into a change. Live edits and crash recovery therefore run the same function: replaying
the journal's tail onto the last saved document gives exactly what the live process had.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from investigations.casefile.persist import CaseError, backup_path, now_iso
from investigations.journal import GENESIS

CASE_SCHEMA = "trailhound.case/1"

#: The lists a case holds, and the id prefix of the items in each (sources are numbered).
ITEM_COLLECTIONS: dict[str, tuple[str, str]] = {
    "finding": ("findings", "F"),
    "bookmark": ("bookmarks", "B"),
    "note": ("notes", "N"),
    "tag": ("tags", "G"),
    "ioc": ("iocs", "I"),
    "containment": ("containment", "C"),
}

Migration = Callable[[dict[str, Any]], dict[str, Any]]
#: Older schema -> (the schema it becomes, the function that converts it). Applied in a chain on
#: open; the file as it was is kept as ``case.json.<old schema>``. Register one per new version.
MIGRATIONS: dict[str, tuple[str, Migration]] = {}


class CaseDamaged(CaseError):
    """``case.json`` cannot be read as a case."""


class CaseVersionError(CaseDamaged):
    """``case.json`` is a case of a schema this Trailhound does not know (a newer one)."""


def new_document(name: str) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "schema": CASE_SCHEMA,
        "name": name,
        "created": stamp,
        "updated": stamp,
        "journal": {"entries": 0, "head": GENESIS},
        "next_id": {},
        "sources": [],
        **{collection: [] for collection, _ in ITEM_COLLECTIONS.values()},
    }


def encode(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def load_document(path: Path) -> tuple[dict[str, Any], str | None]:
    """The document and, when it had to be migrated, the schema it was written in."""
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CaseDamaged(_damaged(path, f"is not valid JSON ({exc})")) from None
    if not isinstance(data, dict) or not isinstance(data.get("schema"), str):
        raise CaseDamaged(_damaged(path, "is not a Trailhound case document (no schema)"))
    original = data["schema"]
    seen: set[str] = set()
    while data["schema"] != CASE_SCHEMA:
        step = MIGRATIONS.get(data["schema"])
        if step is None or data["schema"] in seen:
            raise CaseVersionError(
                f"{path} has schema {original!r}, which this Trailhound cannot read (it reads {CASE_SCHEMA!r}); "
                "it was probably written by a newer Trailhound: open it with that version. The file was not changed."
            )
        seen.add(data["schema"])
        target, convert = step
        data = convert(data)
        data["schema"] = target
    for key, empty in new_document(data.get("name", "")).items():
        data.setdefault(key, empty)
    for collection, _ in [("sources", ""), *ITEM_COLLECTIONS.values()]:
        if not isinstance(data[collection], list):
            raise CaseDamaged(_damaged(path, f"has {collection!r} that is not a list"))
    return data, (original if original != CASE_SCHEMA else None)


def _damaged(path: Path, why: str) -> str:
    backup = backup_path(path)
    keep = (
        f"the last good version is {backup.name} beside it; `trailhound case restore --case {path.parent}` puts it "
        "back and replays the journal onto it"
        if backup.exists()
        else f"`trailhound case restore --case {path.parent}` rebuilds it from the journal"
    )
    return f"{path} {why}; nothing was overwritten: {keep}"


def apply_entry(doc: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Make the change a journal entry records; True when the document changed."""
    action = str(entry.get("action", ""))
    if action == "case.created":
        doc["name"] = entry.get("name", doc["name"])
        return True
    if action == "source.added" and isinstance(entry.get("source"), dict):
        source = entry["source"]
        if any(s.get("id") == source.get("id") for s in doc["sources"]):
            return False
        doc["sources"].append(source)
        return True
    kind, _, verb = action.partition(".")
    if kind not in ITEM_COLLECTIONS:
        return False
    collection, prefix = ITEM_COLLECTIONS[kind]
    items: list[dict[str, Any]] = doc[collection]
    if verb in ("added", "edited") and isinstance(entry.get("item"), dict):
        item = entry["item"]
        index = next((i for i, old in enumerate(items) if old.get("id") == item.get("id")), None)
        if index is None:
            items.append(item)
        else:
            items[index] = item
        _bump_counter(doc, prefix, str(item.get("id", "")))
        return True
    if verb == "removed":
        kept = [old for old in items if old.get("id") != entry.get("id")]
        doc[collection] = kept
        return len(kept) != len(items)
    return False


def _bump_counter(doc: dict[str, Any], prefix: str, item_id: str) -> None:
    head, _, number = item_id.partition("-")
    if head == prefix and number.isdigit():
        counters = doc.setdefault("next_id", {})
        counters[prefix] = max(int(counters.get(prefix, 1)), int(number) + 1)


def next_item_id(doc: dict[str, Any], kind: str) -> str:
    prefix = ITEM_COLLECTIONS[kind][1]
    return f"{prefix}-{int(doc.get('next_id', {}).get(prefix, 1))}"
