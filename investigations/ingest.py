"""The ingest pipeline: units in, deduplicated events stored, every file and rejection accounted.

Decoding runs in worker processes (CPU-bound: decompress and split JSON), while this process only
batches Arrow tables into DuckDB. Small inputs decode inline, where starting processes would cost
more than it saves. The number of units in flight is bounded so memory stays flat however large
the archive. Cancelling keeps what has landed: the store is finalised either way.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field

import pyarrow as pa

from investigations import handoff
from investigations.decode import DEFAULT_MAX_DECOMPRESSED, Rejection, tabulate
from investigations.extract import with_typed_columns
from investigations.sources.units import Refused, Unit, UnitResult
from investigations.store import EventStore

#: Below this many bytes of input, decoding inline beats starting worker processes.
INLINE_BYTES = 24 * 1024 * 1024
_FLUSH_ROWS = 100_000
#: Rejections listed individually in a report; the count and the case store keep all of them.
REPORT_REJECTIONS = 1000


@dataclass(slots=True)
class Progress:
    """A snapshot for progress bars; the UI derives rates and time left from it."""

    source: str
    files_done: int
    files_total: int | None
    events: int
    rejected: int
    bytes_done: int
    bytes_total: int | None
    elapsed: float


@dataclass(slots=True)
class FileRecord:
    """One file's line in the case manifest: enough to re-read it and to prove it unchanged."""

    path: str
    size: int | None
    sha256: str | None
    etag: str | None
    kind: str
    events: int
    duplicates: int
    rejected: int


@dataclass(slots=True)
class IngestReport:
    events_added: int = 0
    events_total: int = 0
    duplicates: int = 0
    files: int = 0
    digests: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    rejected_total: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    manifest: list[FileRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "events_added": self.events_added,
            "events_total": self.events_total,
            "duplicates": self.duplicates,
            "files": self.files,
            "digests": self.digests,
            "rejected": [r.as_dict() for r in self.rejected],
            "rejected_total": self.rejected_total,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "seconds": round(self.seconds, 3),
            "cancelled": self.cancelled,
        }


#: A task for one worker: enough input that per-batch costs (process hop, Arrow columns) amortise.
_CHUNK_BYTES = 4 * 1024 * 1024
_CHUNK_UNITS = 512

Chunk = list[tuple[int, Unit]]


def decode_chunk(chunk: Chunk, limit: int) -> tuple[pa.Table | None, list[UnitResult]]:
    """Parse every unit of a chunk and build one table for all their rows (runs in a worker)."""
    results = [unit.parse(limit) for _, unit in chunk]
    table = tabulate([(fid, r.decoded) for (fid, _), r in zip(chunk, results, strict=True)])
    return (with_typed_columns(table) if table is not None else None), results


def decode_chunk_shared(chunk: Chunk, limit: int) -> tuple[tuple[str, str] | None, list[UnitResult]]:
    """``decode_chunk`` for a worker process: the table travels through shared memory."""
    table, results = decode_chunk(chunk, limit)
    return (handoff.send(table) if table is not None else None), results


def _chunks(units: Iterable[Unit], first_id: int) -> Iterator[Chunk]:
    chunk: Chunk = []
    size = 0
    for file_id, unit in enumerate(units, first_id):
        chunk.append((file_id, unit))
        size += unit.size or 0
        if size >= _CHUNK_BYTES or len(chunk) >= _CHUNK_UNITS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: the parent may hold DuckDB and UI threads, which fork would copy mid-flight.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["investigations.ingest"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


class _Batcher:
    """Collects decoded tables and writes them to the store in large batches."""

    def __init__(self, store: EventStore, source_id: int, report: IngestReport, land_early: bool) -> None:
        self.store = store
        self.source_id = source_id
        self.report = report
        self.land_early = land_early
        self.tables: list[pa.Table] = []
        self.pending: list[tuple[int, str, UnitResult]] = []
        self.rows = 0

    def add(self, table: pa.Table | None, done: list[tuple[int, str, UnitResult]]) -> None:
        if table is not None and table.num_rows:
            self.tables.append(table)
            self.rows += table.num_rows
        self.pending.extend(done)
        if self.rows >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        duplicates: dict[int, int] = {}
        if self.tables:
            added, duplicates = self.store.insert(pa.concat_tables(self.tables))
            self.report.events_added += added
        rejections: list[tuple[int | None, str, int | None, str]] = []
        files: list[tuple[object, ...]] = []
        for file_id, display, result in self.pending:
            decoded = result.decoded
            dup = duplicates.get(file_id, 0)
            if decoded.kind == "skipped":
                self.report.skipped.extend((r.path, r.reason) for r in decoded.rejections)
                decoded.rejections = []
            bad = len(decoded.rejections)
            record = FileRecord(
                display, result.size, result.sha256, result.etag, decoded.kind, decoded.events - dup, dup, bad
            )
            self.report.manifest.append(record)
            self.report.duplicates += dup
            self.report.rejected_total += bad
            room = REPORT_REJECTIONS - len(self.report.rejected)
            self.report.rejected.extend(decoded.rejections[: max(room, 0)])
            rejections.extend((file_id, r.path, r.record, r.reason) for r in decoded.rejections)
            files.append((file_id, self.source_id, display, result.size, result.sha256, result.etag,
                          decoded.kind, record.events, dup, bad))
        self.store.add_files(files)
        self.store.add_rejections(rejections)
        if self.land_early and self.store.staged() >= max(self.store.count(), _FLUSH_ROWS):
            # Make events browsable while loading goes on. Landing only when the staged rows
            # at least match the visible ones keeps the total re-sorting under twice the final.
            self.store.finalize()
        self.tables, self.pending, self.rows = [], [], 0


def ingest_units(
    store: EventStore,
    units: Iterable[Unit],
    *,
    source: str,
    source_id: int,
    total_files: int | None = None,
    total_bytes: int | None = None,
    workers: int | None = None,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    land_early: bool = False,
) -> IngestReport:
    """Decode and store every unit; returns the accounting. The store is finalised on return.

    ``land_early`` makes events visible during a long ingest (the workbench opens on them while
    loading continues); headless ingests leave it off and sort once at the end.
    """
    started = time.perf_counter()
    report = IngestReport()
    batcher = _Batcher(store, source_id, report, land_early)
    file_id = store.next_file_id()
    done_bytes = 0
    events = 0
    if workers is None:
        small = total_bytes is not None and total_bytes < INLINE_BYTES
        workers = 0 if small else max(1, (os.cpu_count() or 2))
    last_tick = 0.0

    def tick(force: bool = False) -> None:
        nonlocal last_tick
        now = time.perf_counter()
        if progress and (force or now - last_tick > 0.1):
            last_tick = now
            progress(
                Progress(
                    source,
                    report.files,
                    total_files,
                    events,
                    report.rejected_total + sum(len(r.decoded.rejections) for _, _, r in batcher.pending),
                    done_bytes,
                    total_bytes,
                    now - started,
                )
            )

    try:
        for table, done in _run(units, file_id, workers, max_decompressed, cancel):
            for _, unit, result in done:
                report.files += 1
                done_bytes += unit.size or 0
                events += result.decoded.events
            batcher.add(table, [(fid, unit.display, result) for fid, unit, result in done])
            tick()
    finally:
        batcher.flush()
        report.cancelled = bool(cancel and cancel.is_set())
        store.finalize()
        report.events_total = store.count()
        report.digests = sum(1 for m in report.manifest if m.kind == "digest")
        report.seconds = time.perf_counter() - started
        tick(force=True)
    return report


def _run(
    units: Iterable[Unit], first_id: int, workers: int, limit: int, cancel: threading.Event | None
) -> Iterator[tuple[pa.Table | None, list[tuple[int, Unit, UnitResult]]]]:
    """Yield each finished chunk's table and per-unit results, with a bounded number in flight."""
    chunks = _chunks(units, first_id)
    if workers <= 0:
        for chunk in chunks:
            if cancel and cancel.is_set():
                return
            table, results = decode_chunk(chunk, limit)
            yield table, [(fid, unit, r) for (fid, unit), r in zip(chunk, results, strict=True)]
        return
    with _pool(workers) as pool:
        in_flight: dict[Future[tuple[tuple[str, str] | None, list[UnitResult]]], Chunk] = {}
        exhausted = False
        try:
            while in_flight or not exhausted:
                while not exhausted and len(in_flight) < workers * 2:
                    chunk = None if cancel and cancel.is_set() else next(chunks, None)
                    if chunk is None:
                        exhausted = True
                        break
                    in_flight[pool.submit(decode_chunk_shared, chunk, limit)] = chunk
                if not in_flight:
                    break
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    chunk = in_flight.pop(future)
                    try:
                        paths, results = future.result()
                        table = handoff.receive(paths) if paths else None
                    except Exception as exc:  # a worker died: account for every unit, keep going
                        reason = f"decoder failed: {exc.__class__.__name__}: {exc}"
                        table, results = None, [Refused(u.display, reason).parse(limit) for _, u in chunk]
                    yield table, [(fid, unit, r) for (fid, unit), r in zip(chunk, results, strict=True)]
        finally:
            for future in in_flight:  # cancelled or abandoned: leave no table behind in shared memory
                if not future.cancel():
                    with suppress(Exception):
                        paths, _ = future.result()
                        if paths:
                            handoff.discard(paths)
