"""Tables derived from the events (resource index, credential lineage), cached in the case store.

A derived table is rebuilt only when the events it came from change, detected by a signature of
the event count and the highest raw-record id (ingest only appends, rebuild starts afresh), so
reopening a case costs one small query rather than a rebuild. The signature also carries
``VERSION``, raised whenever a derived table's shape changes, so a case built by an older
Trailhound gets its tables rebuilt rather than queried for columns they lack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb

from investigations.store import EventStore
from investigations.transactions import transaction

Build = Callable[[duckdb.DuckDBPyConnection], None]

_lock = threading.Lock()

#: Raised when any derived table changes shape (2: per-key rollups and event ids in the small tables).
VERSION = 2

_STATUS = """
    SELECT (SELECT $version || ':' || count(*) || ':' || coalesce(max(rid), -1) FROM events),
           (SELECT list(table_name) FROM duckdb_tables() WHERE list_contains($tables, table_name)),
           (SELECT map(list(key), list(value)) FROM meta WHERE starts_with(key, 'derived:'))
"""


def ensure_derived(store: EventStore, builds: dict[str, Build]) -> None:
    """Run each build (which creates its table on the given connection) unless the table is current.

    Each build runs in one transaction with its signature, so a reader never sees a table that
    disagrees with its signature; the lock keeps two threads from building the same table.
    """
    con = store.cursor()
    try:
        with _lock:
            status = con.execute(_STATUS, {"tables": list(builds), "version": VERSION})
            signature, present, recorded = status.fetchall()[0]
            recorded = recorded or {}
            for table, build in builds.items():
                key = f"derived:{table}"
                if table in (present or ()) and recorded.get(key) == signature:
                    continue
                with transaction(con):
                    build(con)
                    con.execute(
                        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        [key, signature],
                    )
    finally:
        con.close()
