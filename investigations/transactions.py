"""One way to run DuckDB statements all-or-nothing.

Three writers need it (finalising events, derived tables, validation results); a reader on another
cursor must see either the old rows or the new ones, never a half-written table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN, then COMMIT if the block finishes or ROLLBACK if anything escapes it."""
    con.execute("BEGIN")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
