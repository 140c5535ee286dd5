"""Timeline as CSV for a spreadsheet: one row per event, formula cells defused.

Opened in Excel or LibreOffice, a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR would
run as a formula (``=HYPERLINK(...)`` in a user agent is a known trick), so such cells get a
leading ``'``, and control characters are written visibly (``csv_cell``). A million events are
millions of cells, so each window is rendered column by column in Arrow: a vectorised regex finds
the few cells that need ``csv_cell`` and only those pass through Python; Arrow's writer quotes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from investigations.export import rows
from investigations.export.cells import csv_cell
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

#: Cells ``csv_cell`` would change: a formula start, or a character ``textsafe.clean`` escapes.
NEEDS_CARE = r"^ *[=+\-@\t\r]|[\x00-\x1f\x7f-\x9f\x{200b}-\x{200f}\x{202a}-\x{202e}\x{2066}-\x{2069}\x{feff}]"
_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def render(column: pa.ChunkedArray) -> pa.Array:
    """One column as spreadsheet-safe text: lists joined with "; ", booleans true/false, nulls empty."""
    if pa.types.is_list(column.type):
        text = pc.binary_join(column, "; ")
    elif pa.types.is_boolean(column.type):
        text = pc.if_else(column, "true", "false")
    else:
        text = pc.cast(column, pa.string())
    text = pc.fill_null(text, "").combine_chunks()
    flagged = pc.match_substring_regex(text, NEEDS_CARE)
    if not pc.any(flagged).as_py():
        return text
    values = text.to_pylist()
    for index in pc.indices_nonzero(flagged).to_pylist():
        values[index] = csv_cell(values[index])
    return pa.array(values, pa.string())


def write(case: Case, selection: Selection, out: BinaryIO) -> int:
    schema = pa.schema([(name, pa.string()) for name in rows.TIMELINE_FIELDS])
    header = pa.table({name: pa.array([name], pa.string()) for name in rows.TIMELINE_FIELDS})
    count = 0
    with pa_csv.CSVWriter(out, schema, write_options=_OPTIONS) as writer:
        writer.write_table(header)
        for window in rows.windows(case, selection):
            writer.write_table(pa.table([render(window.column(n)) for n in rows.TIMELINE_FIELDS], schema=schema))
            count += window.num_rows
    return count
