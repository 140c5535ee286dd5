"""The case's indicators as CSV, for a blocklist, a SIEM watchlist or a ticket.

Indicator values are attacker-chosen (a user agent can be ``=HYPERLINK(...)``), so every cell
goes through the same formula neutralisation as the timeline.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, BinaryIO

from investigations.casefile.items import Ioc
from investigations.casefile.ops import items
from investigations.export.cells import csv_cell
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

FIELDS = ("id", "kind", "value", "first_seen", "last_seen", "events", "finding_id", "note", "created", "author")


def write(case: Case, selection: Selection | None, out: BinaryIO) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(FIELDS)
        found = [i for i in items(case, "ioc") if isinstance(i, Ioc)]
        for ioc in found:
            writer.writerow([csv_cell(getattr(ioc, name)) for name in FIELDS])
        text.flush()
    finally:
        text.detach()
    return len(found)
