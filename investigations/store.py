"""EventStore: one DuckDB database per case, the single home of ingested events.

Two tables carry events. ``raw_events`` holds each record's JSON and is only ever appended to;
``events`` holds the typed columns and is re-sorted by time after each ingest, so that ``seq`` (a
dense time-order number) lets the timeline fetch any window by a range scan instead of OFFSET.
Keeping the raw JSON apart means re-sorting never rewrites the bulk of the data.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from investigations.athena import create_athena_view
from investigations.model import EVENT_COLUMNS, Event, duckdb_type
from investigations.staging import Staging, drop_orphans

if TYPE_CHECKING:
    from investigations.textindex import TextIndex

SCHEMA_VERSION = "1"
MEMORY_LIMIT = "1GB"
#: Attempts, 10 ms apart, to close the connection while interrupted workers let go of it.
CLOSE_TRIES = 300

_EVENT_DDL = ", ".join(f"{name} {duckdb_type(name)}" for name in EVENT_COLUMNS)
_EVENT_LIST = ", ".join(EVENT_COLUMNS)

#: Columns handed out in Event objects and pages (everything but the raw JSON).
ROW_COLUMNS: tuple[str, ...] = ("seq", "rid", *EVENT_COLUMNS)


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message says what to do."""


class EventStore:
    """Persistent, deduplicated CloudTrail events for one case.

    Thread use: the store's own methods serialise on one connection; workers that run long
    queries in parallel should take ``cursor()``, which DuckDB makes safe per thread.
    """

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._text_index: TextIndex | None = None
        self._text_index_lock = threading.Lock()  # not ``_lock``: an ingest holds that for whole batches
        self._cursors: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
        self._cursors_lock = threading.Lock()
        try:
            # DuckDB's default cache is 80% of RAM; the ingest keeps its own rows in Arrow, so a
            # 1 GiB cache keeps the whole process near the 2 GiB the benchmark holds it to.
            self.con = duckdb.connect(str(self.path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT})
        except duckdb.IOException as exc:
            raise StoreError(
                f"cannot open {self.path}: {exc}. Another Trailhound may have this case open; "
                "close it or work on a copy of the case folder."
            ) from None
        self._staging = Staging()
        if not read_only:
            self._create()

    def _create(self) -> None:
        with self._lock:
            self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            self.con.execute(
                "CREATE TABLE IF NOT EXISTS files (file_id INTEGER, source_id INTEGER, path VARCHAR, "
                "size BIGINT, sha256 VARCHAR, etag VARCHAR, kind VARCHAR, events INTEGER, "
                "duplicates INTEGER, rejected INTEGER)"
            )
            self.con.execute(
                "CREATE TABLE IF NOT EXISTS rejections (file_id INTEGER, path VARCHAR, record INTEGER, reason VARCHAR)"
            )
            self.con.execute("CREATE TABLE IF NOT EXISTS raw_events (rid BIGINT, raw VARCHAR)")
            self.con.execute(f"CREATE TABLE IF NOT EXISTS events (seq BIGINT, rid BIGINT, {_EVENT_DDL})")
            self.con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION])
            version = self.meta("schema_version")
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has store schema {version}, this Trailhound reads {SCHEMA_VERSION}: "
                    "run `trailhound rebuild --case DIR`"
                )
            drop_orphans(self.con)
            create_athena_view(self.con)

    def close(self) -> None:
        with self._lock:
            # DuckDB refuses to close a connection while any of its cursors runs a query, or is
            # being opened or closed ("connection is busy"), rather than wait. Workers still
            # running as the case closes (a pivot, a derived-table build) are interrupted, then
            # given a moment to let go.
            for _ in range(CLOSE_TRIES - 1):
                with self._cursors_lock:  # taken again each time: a worker may open one meanwhile
                    running = list(self._cursors)
                for cursor in running:
                    with suppress(duckdb.Error):
                        cursor.interrupt()
                try:
                    self.con.close()
                    return
                except duckdb.ResourceInUseException:
                    time.sleep(0.01)
            self.con.close()

    @property
    def text_index(self) -> TextIndex:
        """The free-text index beside this store (a cache; see textindex.py)."""
        with self._text_index_lock:
            if self._text_index is None:
                from investigations.textindex import TextIndex  # Hyperscan loads only for free text

                self._text_index = TextIndex(self)
            return self._text_index

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one worker thread, sharing this database."""
        try:
            cursor = self.con.cursor()
        except duckdb.ConnectionException as exc:  # a worker still running as the case closed
            raise StoreError(f"{self.path} is closed") from exc
        with self._cursors_lock:
            self._cursors.add(cursor)
        return cursor

    @contextmanager
    def _locked(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            yield self.con

    # -- metadata ---------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._locked() as con:
            rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._locked() as con:
            con.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    # -- writing ------------------------------------------------------------------------------
    def next_file_id(self) -> int:
        with self._locked() as con:
            return int(con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM files").fetchall()[0][0])

    def add_files(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """File accounting, one row per file: (file_id, source_id, path, size, sha256, etag, kind,
        events, duplicates, rejected). Written in one statement per batch of files."""
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        names = ["file_id", "source_id", "path", "size", "sha256", "etag", "kind", "events", "duplicates", "rejected"]
        batch = pa.table({name: list(values) for name, values in zip(names, columns, strict=True)})
        with self._locked() as con:
            con.register("new_files", batch)
            try:
                con.execute(f"INSERT INTO files SELECT {', '.join(names)} FROM new_files")
            finally:
                con.unregister("new_files")

    def add_rejections(self, rows: Sequence[tuple[int | None, str, int | None, str]]) -> None:
        if not rows:
            return
        file_ids, paths, records, reasons = (list(c) for c in zip(*rows, strict=True))
        batch = pa.table({"file_id": pa.array(file_ids, pa.int32()), "path": paths,
                          "record": pa.array(records, pa.int32()), "reason": reasons})
        with self._locked() as con:
            con.register("new_rejections", batch)
            try:
                con.execute("INSERT INTO rejections SELECT file_id, path, record, reason FROM new_rejections")
            finally:
                con.unregister("new_rejections")

    def insert(self, table: pa.Table) -> tuple[int, dict[int, int]]:
        """Add a batch (see ``staging.Staging.insert``); rows become visible at ``finalize()``."""
        with self._locked() as con:
            return self._staging.insert(con, table)

    def finalize(self) -> None:
        """Make staged rows visible in ``events``, in time order (see ``staging``)."""
        with self._locked() as con:
            if self._staging.finalize(con):
                create_athena_view(con)

    def staged(self) -> int:
        """Rows inserted but not yet visible (they appear in ``events`` at ``finalize()``)."""
        return self._staging.rows

    # -- reading ------------------------------------------------------------------------------
    def count(self, where: str = "TRUE", params: Sequence[Any] = ()) -> int:
        with self._locked() as con:
            return int(con.execute(f"SELECT count(*) FROM events WHERE {where}", list(params)).fetchall()[0][0])

    def page(self, start_seq: int, limit: int, where: str = "TRUE", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows in time order from ``start_seq`` on; cheap because ``events`` is sorted by seq."""
        sql = f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE seq >= ? AND ({where}) ORDER BY seq LIMIT ?"
        return self._dicts(sql, [start_seq, *params, limit])

    def rows(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """Rows for the given time-order numbers, in seq order."""
        if not seqs:
            return []
        low, high = min(seqs), max(seqs)
        wanted = set(seqs)
        rows = (
            self._dicts(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq", [low, high]
            )
            if high - low < 4 * len(wanted) + 1024
            else self._dicts(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE seq IN (SELECT unnest(?)) ORDER BY seq",
                [list(wanted)],
            )
        )
        return [r for r in rows if r["seq"] in wanted]

    def seqs(self, where: str, params: Sequence[Any] = ()) -> list[int]:
        """Time-order numbers of matching events: the currency of filters and pivots."""
        with self._locked() as con:
            result = con.sql(f"SELECT seq FROM events WHERE {where} ORDER BY seq", params=list(params))
            return result.to_arrow_table().column("seq").to_pylist()

    def get(self, event_id: str) -> Event | None:
        rows = self._dicts(f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE event_id = ?", [event_id])
        return event_from_row(rows[0]) if rows else None

    def events(self, where: str, params: Sequence[Any] = (), limit: int | None = None) -> list[Event]:
        sql = f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [event_from_row(r) for r in self._dicts(sql, list(params))]

    def raw(self, rid: int) -> str | None:
        with self._locked() as con:
            rows = con.execute("SELECT raw FROM raw_events WHERE rid = ?", [rid]).fetchall()
        return rows[0][0] if rows else None

    def distinct(
        self, column: str, where: str = "TRUE", params: Sequence[Any] = (), limit: int = 100
    ) -> list[tuple[Any, int]]:
        """Values of one typed column with their counts, most common first."""
        if column not in ROW_COLUMNS:
            raise StoreError(f"unknown column {column!r}")
        with self._locked() as con:
            return con.execute(
                f"SELECT {column}, count(*) AS n FROM events WHERE {where} GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?",
                [*params, limit],
            ).fetchall()

    def time_range(self, where: str = "TRUE", params: Sequence[Any] = ()) -> tuple[datetime | None, datetime | None]:
        with self._locked() as con:
            low, high = con.execute(
                f"SELECT min(event_time), max(event_time) FROM events WHERE {where}", list(params)
            ).fetchall()[0]
        return low, high

    def sql(self, query: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run any SQL (the ``cloudtrail_logs`` view speaks Athena's column names)."""
        with self._locked() as con:
            cur = con.execute(query, list(params))
            if cur.description is None:
                return [], []
            return [d[0] for d in cur.description], cur.fetchall()

    def _dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._locked() as con:
            cur = con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def event_from_row(row: dict[str, Any]) -> Event:
    return Event(
        seq=row["seq"],
        event_time=row["event_time"],
        event_id=row["event_id"],
        event_source=row["event_source"],
        event_name=row["event_name"],
        event_type=row["event_type"],
        aws_region=row["aws_region"],
        recipient_account_id=row["recipient_account_id"],
        identity_type=row["identity_type"],
        identity_arn=row["identity_arn"],
        identity_account_id=row["identity_account_id"],
        principal_id=row["principal_id"],
        user_name=row["user_name"],
        access_key_id=row["access_key_id"],
        source_ip=row["source_ip"],
        user_agent=row["user_agent"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        read_only=row["read_only"],
        issued_key=row["issued_key"],
        issued_arn=row["issued_arn"],
        shared_event_id=row["shared_event_id"],
        resources=tuple(row["resources"] or ()),
        row=row,
    )
