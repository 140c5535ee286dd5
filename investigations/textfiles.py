"""The text index on disk: its three files, the header that commits them, and appending records.

See textindex.py for what the index is for and why the header is the commit point; this module
keeps the byte-level rules in one place: records are appended straight from DuckDB's Arrow buffers
(no per-record Python work), each record followed by ``\\n`` and its own newlines stored as 0xFF,
noting on the way which of the characters DuckDB lowercases to ASCII occur (textsearch.py).
"""

from __future__ import annotations

import mmap
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from investigations.casefile.persist import atomic_write
from investigations.textsearch import INNER_NEWLINE, SEPARATOR, ascii_folds

VERSION = 2
#: Rows per Arrow batch read from DuckDB: about 150 MB of JSON, well inside 32-bit Arrow offsets.
BATCH_ROWS = 100_000
_PAIR = 16  # bytes per (rid, end) pair in the offsets file

Stamp = tuple[int, int, int]


class TextIndexError(RuntimeError):
    """The index could not be written; free text keeps working through the DuckDB scan."""


@dataclass(frozen=True, slots=True)
class Header:
    """What the index holds: records for rids up to ``covered`` of store ``store_id``, in ``length``
    bytes; ``folds``: which non-ASCII characters that lowercase to ASCII occur in them."""

    store_id: str
    covered: int
    length: int
    records: int
    folds: tuple[str, ...] = ()
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A consistent, read-only view of the index as one header describes it."""

    header: Header
    stamp: Stamp
    view: memoryview
    ends: np.ndarray
    rids: np.ndarray


class TextFiles:
    """The index's files beside ``store_path`` and the rules for trusting them."""

    def __init__(self, store_path: Path) -> None:
        self.text = store_path.with_name(store_path.name + ".text")
        self.offsets = store_path.with_name(store_path.name + ".text.offsets")
        self.header = store_path.with_name(store_path.name + ".text.json")

    def header_stamp(self) -> Stamp | None:
        try:
            info = self.header.stat()
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size

    def _read_header(self) -> tuple[Header, Stamp] | None:
        try:
            with open(self.header, "rb") as handle:
                info = os.fstat(handle.fileno())
                fields = orjson.loads(handle.read())
            header = Header(**{**fields, "folds": tuple(fields.get("folds") or ())})
        except (OSError, orjson.JSONDecodeError, TypeError, AttributeError):
            return None
        if header.version != VERSION:
            return None
        return header, (info.st_ino, info.st_mtime_ns, info.st_size)

    def _pairs(self, header: Header) -> np.ndarray | None:
        """The (rid, end) pairs the header claims, or None when the files cannot back it: too short,
        the text not ending with a record where the offsets say, or rids or ends out of order (a
        search would then name the wrong records, or read outside them)."""
        try:
            if self.text.stat().st_size < header.length or self.offsets.stat().st_size < header.records * _PAIR:
                return None
        except FileNotFoundError:
            return None
        pairs = np.fromfile(self.offsets, dtype="<i8", count=header.records * 2).reshape(-1, 2)
        if not header.records:
            return pairs if header.length == 0 else None
        rids, ends = pairs[:, 0], pairs[:, 1]
        if int(ends[-1]) != header.length or ends[0] < 1 or (np.diff(ends) < 1).any() or (np.diff(rids) < 1).any():
            return None
        with open(self.text, "rb") as text:
            text.seek(header.length - 1)
            return pairs if text.read(1) == bytes([SEPARATOR]) else None

    def snapshot(self) -> Snapshot | None:
        """The index as the header on disk describes it, or None when that cannot be trusted."""
        found = self._read_header()
        pairs = None if found is None else self._pairs(found[0])
        if found is None or pairs is None:
            return None
        header, stamp = found
        with open(self.text, "rb") as text:
            mapped = mmap.mmap(text.fileno(), header.length, access=mmap.ACCESS_READ) if header.length else b""
            view = memoryview(mapped)
        ends, rids = np.ascontiguousarray(pairs[:, 1]), np.ascontiguousarray(pairs[:, 0])
        return Snapshot(header, stamp, view, ends, rids)

    def usable(self, store_id: str, top: int) -> Header | None:
        """The header to extend from, after cutting off crash leftovers; None means rebuild."""
        found = self._read_header()
        if found is None:
            return None
        header = found[0]
        if header.store_id != store_id or header.covered > top or self._pairs(header) is None:
            return None
        if self.text.stat().st_size > header.length:
            os.truncate(self.text, header.length)
        if self.offsets.stat().st_size > header.records * _PAIR:
            os.truncate(self.offsets, header.records * _PAIR)
        return header

    def drop(self) -> None:
        """Withdraw the index (the header goes first, so nothing half-written is ever trusted)."""
        self.header.unlink(missing_ok=True)

    def temporaries(self) -> tuple[Path, Path]:
        """Where a rebuild writes before moving into place (named so a case's open sweeps them)."""
        return (self.text.with_name(f".{self.text.name}.tmp"), self.offsets.with_name(f".{self.offsets.name}.tmp"))

    def commit(self, header: Header) -> None:
        atomic_write(self.header, orjson.dumps(asdict(header)))


def append_records(
    con: duckdb.DuckDBPyConnection,
    header: Header,
    top: int,
    text_out: BinaryIO,
    offsets_out: BinaryIO,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Header:
    """Append the raw records after ``header.covered`` up to ``top``; returns the header for them.

    Both files are synced before returning, so the caller may commit the header at once.
    """
    total = int(con.execute(
        "SELECT count(*) FROM raw_events WHERE rid > ? AND rid <= ?", [header.covered, top]
    ).fetchall()[0][0])
    folds = sorted(ascii_folds())
    present = set(header.folds)
    # No ORDER BY: DuckDB returns rows in insertion order, which is rid order (checked below).
    reader = con.sql(
        "SELECT rid, raw, contains(raw, chr(10)) AS multiline"
        + "".join(f", contains(raw, ?) AS fold{i}" for i in range(len(folds)))
        + " FROM raw_events WHERE rid > ? AND rid <= ?",
        params=[*folds, header.covered, top],
    ).to_arrow_reader(BATCH_ROWS)
    length, records, last, done = header.length, header.records, header.covered, 0
    complete = True
    if progress is not None and total:
        progress(0, total)
    for batch in reader:
        if cancel is not None and cancel.is_set():
            complete = False
            break
        if not batch.num_rows:
            continue
        rids = batch.column(0).to_numpy()
        check_ascending(rids, last)
        data, sizes = _records(batch.column(1), bool(pc.any(batch.column(2)).as_py()))
        ends = length + np.cumsum(sizes, dtype=np.int64)
        text_out.write(data)
        offsets_out.write(np.column_stack((rids, ends)).astype("<i8").tobytes())
        length, records, last = int(ends[-1]), records + len(rids), int(rids[-1])
        present.update(ch for i, ch in enumerate(folds) if pc.any(batch.column(3 + i)).as_py())
        done += len(rids)
        if progress is not None:
            progress(done, total)
    for handle in (text_out, offsets_out):
        handle.flush()
        os.fsync(handle.fileno())
    return Header(header.store_id, top if complete else last, length, records, tuple(sorted(present)))


def _records(raw: pa.Array, multiline: bool) -> tuple[memoryview | np.ndarray, np.ndarray]:
    """The batch's records, each followed by ``\\n``, as one buffer (Arrow's own, when no record
    holds a newline), and each record's size in it."""
    joined = pc.binary_join_element_wise(raw, "", "\n", null_handling="replace", null_replacement="")
    width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    bounds = np.frombuffer(joined.buffers()[1], dtype=width)[joined.offset : joined.offset + len(joined) + 1]
    sizes = np.diff(bounds).astype(np.int64)
    data = memoryview(joined.buffers()[2])[int(bounds[0]) : int(bounds[-1])]
    if not multiline:
        return data, sizes
    flat = np.frombuffer(data, dtype=np.uint8).copy()
    flat[flat == SEPARATOR] = INNER_NEWLINE
    flat[np.cumsum(sizes) - 1] = SEPARATOR
    return flat, sizes


def check_ascending(rids: np.ndarray, after: int) -> None:
    """Raw rows must arrive in rid order (DuckDB keeps insertion order, and ingest appends rids in
    order); anything else would file records under the wrong rids, so it stops the build."""
    if len(rids) and (rids[0] <= after or bool(np.any(rids[1:] <= rids[:-1]))):
        raise TextIndexError(
            "raw_events came back out of rid order; the text index was not written (free text keeps "
            "using the DuckDB scan)"
        )
