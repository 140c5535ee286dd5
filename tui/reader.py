"""The workbench's read path into the case store: one DuckDB cursor per thread, no shared lock.

``EventStore``'s own methods serialise on one connection, and a background ingest holds that
connection for whole batches. The UI must never wait behind it, so every read here goes through a
per-thread cursor (DuckDB's connections are MVCC snapshots, safe to use beside the writer).
Matching sequence numbers come back as a compact ``array('q')`` built straight from Arrow's
buffer: a million of them cost 8 MB and no Python objects.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from investigations.histogram import Axis, Histogram
from investigations.store import ROW_COLUMNS, EventStore

#: What the timeline grid shows; the detail pane asks for everything.
GRID_COLUMNS: tuple[str, ...] = (
    "seq",
    "rid",
    "event_time",
    "event_id",
    "recipient_account_id",
    "aws_region",
    "identity_type",
    "identity_arn",
    "identity_account_id",
    "principal_id",
    "user_name",
    "invoked_by",
    "access_key_id",
    "source_ip",
    "user_agent",
    "event_source",
    "event_name",
    "error_code",
    "read_only",
    "resources",
    "role_arn",
    "issued_key",
    "session_issuer_arn",
)
_GRID = ", ".join(GRID_COLUMNS)
_ALL = ", ".join(ROW_COLUMNS)


class Reader:
    """Read-only queries for the UI; safe to call from the UI thread and from workers at once."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._guard = threading.Lock()
        self._positions: tuple[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self.store.cursor()
            self._local.cursor = cursor
            with self._guard:
                self._cursors.append(cursor)
        return cursor

    def close(self) -> None:
        with self._guard:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def count(self, where: str = "TRUE", params: Sequence[Any] = ()) -> int:
        return int(self.fetch(f"SELECT count(*) FROM events WHERE seq IS NOT NULL AND ({where})", params)[0][0])

    def span(self, low: int, high: int) -> list[dict[str, Any]]:
        """Grid rows with ``low <= seq < high``: the unfiltered timeline is a dense range of seqs."""
        return self._grid("seq >= ? AND seq < ?", [low, high], low, high - 1)

    def rows(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        """Grid rows for ascending ``seqs``: a hash semi-join, since a sparse page of a filter can
        span the whole case (the range bound still lets DuckDB skip row groups)."""
        if not seqs:
            return []
        low, high = seqs[0], seqs[-1]
        where = "seq BETWEEN ? AND ? AND seq IN (SELECT unnest(?::BIGINT[]))"
        return self._grid(where, [low, high, list(seqs)], low, high)

    def _grid(self, where: str, params: list[Any], low: int, high: int) -> list[dict[str, Any]]:
        """Grid rows, each with ``indexed``: the resources the engine's index ties to the event
        (request fields included), most specific first. Before the index exists, rows come alone."""
        page = f"SELECT {_GRID} FROM events WHERE {where}"
        try:
            return self.dicts(
                f"WITH p AS ({page}) SELECT p.*, r.indexed FROM p LEFT JOIN (SELECT seq, list(resource ORDER BY "
                "kind = 's3_prefix', kind = 's3_bucket', resource) AS indexed FROM event_resources "
                "WHERE seq BETWEEN ? AND ? AND seq IN (SELECT seq FROM p) GROUP BY seq) r USING (seq) ORDER BY p.seq",
                [*params, low, high],
            )
        except duckdb.CatalogException:
            return self.dicts(f"{page} ORDER BY seq", params)

    def seqs(self, where: str, params: Sequence[Any] = ()) -> array[int]:
        """Ascending sequence numbers of the matching events."""
        table = self.con.sql(
            f"SELECT seq FROM events WHERE seq IS NOT NULL AND ({where}) ORDER BY seq", params=list(params)
        ).to_arrow_table()
        return _int64s(table.column("seq"))

    def matches(self, where: str, params: Sequence[Any], frame: Axis) -> tuple[array[int], Histogram]:
        """Matching seqs and their histogram on ``frame`` from one scan (free text costs one pass)."""
        table = self.con.sql(
            f"SELECT seq, {frame.bucket_sql} AS b FROM events WHERE seq IS NOT NULL AND ({where}) ORDER BY seq",
            params=list(params),
        ).to_arrow_table()
        counts = pc.value_counts(table.column("b")).to_pylist()
        return _int64s(table.column("seq")), frame.histogram({c["values"]: c["counts"] for c in counts})

    def rid_matches(self, rids: np.ndarray, frame: Axis) -> tuple[array[int], Histogram]:
        """``matches`` for a filter that is one free-text term, from the rids the text index found:
        seqs and histogram come from two arrays held in memory (``positions``), where the events
        scan took 25-50 ms for 400k matches of a million events (measured)."""
        rid_seq, seq_time = self.positions()
        if len(rids) and rids[-1] >= len(rid_seq):
            rids = rids[rids < len(rid_seq)]
        found = rid_seq[rids]
        hit = np.zeros(len(seq_time), dtype=bool)
        hit[found[found >= 0]] = True
        seqs = np.flatnonzero(hit)  # ascending, with no sort: rids do not come in seq order
        # Seqs follow time, so each bar's events are a run of seqs, and bisection finds the runs.
        starts = np.searchsorted(seq_time, frame.origin + frame.size * np.arange(frame.n + 1))
        counts = np.diff(np.searchsorted(seqs, starts))
        out: array[int] = array("q")
        out.frombytes(memoryview(seqs.astype(np.int64, copy=False)).cast("B"))
        return out, frame.histogram(dict(enumerate(counts.tolist())))

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """rid -> seq (-1 for none) and seq -> event time in epoch seconds, kept until the events
        change (a million events: 16 MB, read in about 50 ms; the workbench reads them after
        opening). The store numbers seqs in time order, so the times never go down; a seq without
        an event, were there one, takes the time before it rather than break that."""
        state = self.fetch("SELECT count(*), max(seq), max(rid) FROM events WHERE seq IS NOT NULL")[0]
        with self._guard:
            if self._positions is not None and self._positions[0] == state:
                return self._positions[1]
        table = self.con.sql(
            "SELECT rid, seq, CAST(epoch(event_time) AS BIGINT) AS t FROM events WHERE seq IS NOT NULL"
        ).to_arrow_table()
        rids, seqs = table.column("rid").to_numpy(), table.column("seq").to_numpy()
        rid_seq = np.full(int(rids.max(initial=-1)) + 1, -1, dtype=np.int64)
        rid_seq[rids] = seqs
        seq_time = np.full(int(seqs.max(initial=-1)) + 1, np.iinfo(np.int64).min, dtype=np.int64)
        seq_time[seqs] = table.column("t").to_numpy()
        found = (rid_seq, np.maximum.accumulate(seq_time) if len(seq_time) else seq_time)
        with self._guard:
            self._positions = (state, found)
        return found

    def span_of(self, where: str, params: Sequence[Any] = ()) -> tuple[Any, Any]:
        return tuple(self.fetch(f"SELECT min(event_time), max(event_time) FROM events WHERE {where}", params)[0])

    def row(self, seq: int) -> dict[str, Any] | None:
        found = self.dicts(f"SELECT {_ALL} FROM events WHERE seq = ?", [seq])
        return found[0] if found else None

    def seq_of(self, event_id: str, hint: int | None = None) -> int | None:
        """The seq of ``event_id`` now; ``hint``, its seq when last seen, is checked first (a point
        read, where looking the id up scans a column: 35-45 ms on a million events). Seqs move only
        when loading lands events before it."""
        if hint is not None and self.fetch("SELECT 1 FROM events WHERE seq = ? AND event_id = ?", [hint, event_id]):
            return hint
        found = self.fetch("SELECT seq FROM events WHERE event_id = ? AND seq IS NOT NULL", [event_id])
        return found[0][0] if found else None

    def raw(self, rid: int) -> str | None:
        found = self.fetch("SELECT raw FROM raw_events WHERE rid = ?", [rid])
        return found[0][0] if found else None

    def text_search(self, term: str) -> np.ndarray | None:
        """Rids of the records holding ``term``, from the text index when it is current (else None,
        and the filter scans with DuckDB)."""
        return self.store.text_index.search(term, self.con)

    def source_ips(self) -> list[str]:
        return [ip for (ip,) in self.fetch("SELECT DISTINCT source_ip FROM events WHERE source_ip IS NOT NULL")]

    def widths(self) -> dict[str, int]:
        """Longest value per variable-width column, so the grid's columns fit the case's data."""
        names = ("aws_region", "source_ip", "event_name", "error_code", "access_key_id")
        sql = ", ".join(f"coalesce(max(length({n})), 0)" for n in names)
        values = self.fetch(f"SELECT {sql} FROM events")[0]
        return dict(zip(names, (int(v) for v in values), strict=True))


def _int64s(column: pa.ChunkedArray) -> array[int]:
    """A non-null int64 Arrow column as ``array('q')``, copied buffer to buffer."""
    flat = column.combine_chunks()
    out: array[int] = array("q")
    if len(flat):
        data = memoryview(flat.buffers()[1])
        out.frombytes(data[flat.offset * 8 : (flat.offset + len(flat)) * 8])
    return out
