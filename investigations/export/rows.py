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
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from investigations.casefile.items import Bookmark, Finding, Tag
from investigations.casefile.ops import contained_activity, items
from investigations.export.scope import Selection

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
_TIME_SQL = "strftime(event_time, '%Y-%m-%dT%H:%M:%SZ') AS event_time"


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

    def columns(self, window: pa.Table) -> dict[str, pa.Array]:
        """The annotation columns for one window of events (constant columns when nothing is marked)."""
        ids = window.column("event_id").to_pylist()
        count = len(ids)
        bookmarks = [self.bookmarks.get(i) for i in ids] if self.bookmarks else [None] * count
        findings = [self.findings.get(i, []) for i in ids] if self.findings else [[]] * count
        if self.entity_tags:
            wanted = sorted({c for kind, _ in self.entity_tags for c in _ENTITY_COLUMNS.get(kind, ())} | {"event_id"})
            values = [window.column(name).to_pylist() for name in wanted]
            tags = [self.tags(dict(zip(wanted, row, strict=True))) for row in zip(*values, strict=True)]
        elif self.event_tags:
            tags = [list(self.event_tags.get(i, ())) for i in ids]
        else:
            tags = [[]] * count
        return {
            "bookmark": pa.array(bookmarks, pa.string()),
            "tags": pa.array(tags, pa.list_(pa.string())),
            "findings": pa.array(findings, pa.list_(pa.string())),
        }


def windows(case: Case, selection: Selection, raw: bool = False) -> Iterator[pa.Table]:
    """The selection as Arrow tables of up to ``WINDOW`` events each, in time order.

    Columns are ``TIMELINE_FIELDS`` (``event_time`` as ISO 8601 UTC text), plus ``record`` (the
    original JSON text) when ``raw``. Arrow keeps the per-row Python work to the annotations.
    """
    marks = Annotator.of(case)
    flag, flag_params = contained_activity(case)
    con = case.store.cursor()
    try:
        [(low, high)] = con.execute(
            f"SELECT min(seq), max(seq) FROM events WHERE {selection.where}", list(selection.params)
        ).fetchall()
        if low is None:
            return
        columns = ", ".join(("seq", "rid", *(_TIME_SQL if name == "event_time" else name for name in EVENT_FIELDS)))
        query = (
            f"SELECT {columns}, coalesce({flag}, FALSE) AS after_containment FROM events "
            f"WHERE seq >= ? AND seq < ? AND ({selection.where})"
        )
        query += " ORDER BY seq"
        for start in range(low, high + 1, WINDOW):
            window = con.sql(query, params=[*flag_params, start, start + WINDOW, *selection.params]).to_arrow_table()
            if not window.num_rows:
                continue
            for name, column in marks.columns(window).items():
                window = window.append_column(name, column)
            if raw:
                window = window.append_column("record", _records(con, window.column("rid")))
            yield window.select([*TIMELINE_FIELDS, *(["record"] if raw else [])])
    finally:
        con.close()


def stream(case: Case, selection: Selection, raw: bool = False) -> Iterator[dict[str, Any]]:
    """Timeline rows of the selection in time order, as dicts (see ``windows`` for the columns)."""
    for window in windows(case, selection, raw):
        names = window.column_names
        yield from (
            dict(zip(names, row, strict=True)) for row in zip(*(c.to_pylist() for c in window.columns), strict=True)
        )


def _records(con: Any, rids: pa.ChunkedArray) -> pa.ChunkedArray:
    """The raw JSON of a window's events, in the window's order, fetched and arranged in Arrow.

    A SQL join would let DuckDB build its hash table over all of ``raw_events``; a range-bounded
    lookup by rid reads only the records wanted.
    """
    bounds = pc.min_max(rids)
    found = con.sql(
        "SELECT rid, raw FROM raw_events WHERE rid BETWEEN ? AND ? AND rid IN (SELECT unnest(?))",
        params=[bounds["min"].as_py(), bounds["max"].as_py(), rids.to_pylist()],
    ).to_arrow_table()
    return found.column("raw").take(pc.index_in(rids, value_set=found.column("rid").combine_chunks()))


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """The row as JSON-ready data (``record`` embedded as the object it is)."""
    out = {name: row[name] for name in TIMELINE_FIELDS}
    if "record" in row:
        out["record"] = orjson.Fragment(row["record"]) if row["record"] else None
    return out
