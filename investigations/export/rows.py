"""Timeline rows for exports: the events a scope selects, with the case's annotations, streamed.

Rows come from DuckDB a window of time-order numbers at a time (the events table is sorted by
``seq``, so each window is a range scan), which keeps memory flat on a million-event case and
keeps the output in time order without sorting the whole selection. Each row carries what the
responder added: bookmark note, tags (on the event or on any entity in it), finding ids, and
whether it happened after a containment step on its credential.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from investigations.casefile.items import Bookmark, Finding, Tag
from investigations.casefile.ops import contained_activity, items
from investigations.export.scope import Selection
from investigations.timeparse import iso

if TYPE_CHECKING:
    from investigations.case import Case

#: Columns every timeline export carries, in order (event fields, then the case's annotations).
EVENT_FIELDS: tuple[str, ...] = (
    "event_time",
    "event_id",
    "event_source",
    "event_name",
    "aws_region",
    "recipient_account_id",
    "identity_type",
    "identity_arn",
    "identity_account_id",
    "principal_id",
    "user_name",
    "access_key_id",
    "session_issuer_arn",
    "source_ip",
    "user_agent",
    "error_code",
    "error_message",
    "read_only",
    "issued_key",
    "issued_arn",
    "role_arn",
    "resources",
    "request_id",
    "shared_event_id",
)
ANNOTATIONS: tuple[str, ...] = ("after_containment", "bookmark", "tags", "findings")
TIMELINE_FIELDS = EVENT_FIELDS + ANNOTATIONS

#: Which event columns an entity tag of each kind matches.
_ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "access_key": ("access_key_id", "issued_key"),
    "session": ("access_key_id",),
    "principal": ("identity_arn", "session_issuer_arn", "issued_arn"),
    "ip": ("source_ip",),
    "user_agent": ("user_agent",),
    "account": ("recipient_account_id", "identity_account_id"),
    "region": ("aws_region",),
    "resource": ("resources",),
}
WINDOW = 20_000


@dataclass(slots=True)
class Annotator:
    """The case's marks on events, indexed for a per-row lookup."""

    bookmarks: dict[str, str] = field(default_factory=dict)
    findings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    event_tags: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    entity_tags: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, case: Case) -> Annotator:
        marks = cls()
        for item in items(case, "bookmark"):
            if isinstance(item, Bookmark):
                marks.bookmarks[item.event_id] = item.note
        for item in items(case, "finding"):
            if isinstance(item, Finding):
                for event_id in item.event_ids:
                    marks.findings[event_id].append(item.id)
        for item in items(case, "tag"):
            if isinstance(item, Tag):
                kind, value = item.target["kind"], item.target["value"]
                if kind == "event":
                    marks.event_tags[value].append(item.label)
                else:
                    marks.entity_tags[(kind, value)].append(item.label)
        return marks

    def tags(self, row: dict[str, Any]) -> list[str]:
        labels = list(self.event_tags.get(row["event_id"], ()))
        if self.entity_tags:
            for (kind, value), found in self.entity_tags.items():
                for column in _ENTITY_COLUMNS.get(kind, ()):
                    cell = row.get(column)
                    if cell == value or (isinstance(cell, list) and value in cell):
                        labels.extend(found)
                        break
        return list(dict.fromkeys(labels))

    def annotate(self, row: dict[str, Any]) -> None:
        event_id = row["event_id"]
        row["bookmark"] = self.bookmarks.get(event_id)
        row["tags"] = self.tags(row)
        row["findings"] = list(self.findings.get(event_id, ()))


def stream(case: Case, selection: Selection, raw: bool = False) -> Iterator[dict[str, Any]]:
    """Timeline rows of the selection in time order; ``raw`` adds ``record`` (the original JSON text)."""
    marks = Annotator.of(case)
    flag, flag_params = contained_activity(case)
    con = case.store.cursor()
    try:
        [(low, high)] = con.execute(
            f"SELECT min(seq), max(seq) FROM events WHERE {selection.where}", list(selection.params)
        ).fetchall()
        if low is None:
            return
        columns = ", ".join(("rid", *EVENT_FIELDS))
        query = (
            f"SELECT {columns}, ({flag}) AS after_containment FROM events "
            f"WHERE seq >= ? AND seq < ? AND ({selection.where}) ORDER BY seq"
        )
        for start in range(low, high + 1, WINDOW):
            cur = con.execute(query, [*flag_params, start, start + WINDOW, *selection.params])
            names = [d[0] for d in cur.description]
            batch = [dict(zip(names, values, strict=True)) for values in cur.fetchall()]
            records = _records(con, [row["rid"] for row in batch]) if raw and batch else {}
            for row in batch:
                rid = row.pop("rid")
                row["after_containment"] = bool(row["after_containment"])
                marks.annotate(row)
                if raw:
                    row["record"] = records.get(rid)
                yield row
    finally:
        con.close()


def _records(con: Any, rids: list[int]) -> dict[int, str]:
    rows = con.execute(
        "SELECT rid, raw FROM raw_events WHERE rid BETWEEN ? AND ? AND rid IN (SELECT unnest(?))",
        [min(rids), max(rids), rids],
    ).fetchall()
    return dict(rows)


def cell(value: Any) -> Any:
    """A row value as plain JSON data: times in ISO 8601 UTC, everything else unchanged."""
    if isinstance(value, datetime):
        return iso(value)
    return value


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row as JSON-ready data (``record`` parsed back into an object when present)."""
    out = {name: cell(row[name]) for name in TIMELINE_FIELDS}
    if "record" in row:
        out["record"] = orjson.Fragment(row["record"]) if row["record"] else None
    return out
