"""Timeline in Timesketch's JSONL import format, importable as-is.

Timesketch requires ``message``, ``datetime`` (ISO 8601 with offset) and ``timestamp_desc`` on
every line and indexes the other fields flat, so values stay scalars or lists of strings (no
nested objects). The case's tags go in ``tag``, which Timesketch shows as event tags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from investigations.export import rows
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case


def message(row: dict[str, Any]) -> str:
    """One line a timeline reader can scan: who called what, from where, and whether it failed."""
    actor = row["identity_arn"] or row["principal_id"] or row["identity_type"] or "unknown caller"
    text = f"{row['event_source']}:{row['event_name']} by {actor}"
    if row["source_ip"]:
        text += f" from {row['source_ip']}"
    if row["error_code"]:
        text += f" failed: {row['error_code']}"
    return text


def line(row: dict[str, Any]) -> dict[str, Any]:
    moment = datetime.fromisoformat(row["event_time"]).replace(tzinfo=UTC)
    out: dict[str, Any] = {
        "message": message(row),
        "datetime": moment.isoformat(),
        "timestamp": int(moment.timestamp() * 1_000_000),
        "timestamp_desc": "Event Time",
        "data_type": "aws:cloudtrail:event",
    }
    for name in rows.EVENT_FIELDS[1:]:
        if row[name] is not None and row[name] != []:
            out[name] = row[name]
    out["tag"] = row["tags"]
    out["after_containment"] = row["after_containment"]
    if row["bookmark"] is not None:
        out["bookmark_note"] = row["bookmark"]
    if row["findings"]:
        out["case_findings"] = row["findings"]
    return out


def write(case: Case, selection: Selection, out: BinaryIO) -> int:
    count = 0
    for row in rows.stream(case, selection):
        out.write(orjson.dumps(line(row)) + b"\n")
        count += 1
    return count
