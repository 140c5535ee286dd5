"""Timeline as CSV for a spreadsheet: one row per event, formula cells defused.

Opened in Excel or LibreOffice, a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR would
run as a formula (``=HYPERLINK(...)`` in a user agent is a known trick), so such cells get a
leading ``'``. Quoting of commas, quotes and newlines is left to the csv module.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, BinaryIO

from investigations.export import rows
from investigations.export.cells import csv_cell
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case


def write(case: Case, selection: Selection, out: BinaryIO) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(text, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(rows.TIMELINE_FIELDS)
        count = 0
        for row in rows.stream(case, selection):
            writer.writerow([csv_cell(rows.cell(row[name])) for name in rows.TIMELINE_FIELDS])
            count += 1
        text.flush()
    finally:
        text.detach()
    return count
