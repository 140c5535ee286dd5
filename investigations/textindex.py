"""The text index: every finalized record's raw JSON in one flat file, so free text costs one pass over it.

DuckDB keeps the raw JSON zstd-compressed, and a ``raw ILIKE`` over a million records takes about
half a second; a pass over the same JSON laid out flat takes a fifth of that or less: the C loop of
textliteral.py for ASCII terms, Hyperscan (textsearch.py) for the rest. Beside the store
(``events.duckdb``) live:

``events.duckdb.text``          each record's raw JSON followed by ``\\n``, in rid order (textsearch.py)
``events.duckdb.text.offsets``  one little-endian int64 pair per record: its rid and where it ends
``events.duckdb.text.json``     the header: version, store id, highest rid covered, bytes, records

The index is a cache: safe to delete, rebuilt when stale. The header is the commit point: text and
offsets are appended (and synced) first, then the header is replaced atomically, so bytes past what
the header claims are crash leftovers and are cut off, and an index never claims data it lacks. It
covers finalized records only (rid <= max(events.rid)): raw rows past that belong to an ingest still
running, or to one that died and whose rids ``staging.drop_orphans`` frees for reuse. The store id
(a uuid in the store's ``meta`` table) tells a store that ``trailhound rebuild`` replaced.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from investigations import textliteral, textsearch
from investigations.textfiles import Header, Snapshot, Stamp, TextFiles, TextIndexError, append_records

if TYPE_CHECKING:
    from investigations.store import EventStore

__all__ = ["IndexProgress", "IndexReport", "TextIndex", "TextIndexError"]

#: Answers remembered per version of the index: a responder refines a filter ("boto3", then
#: "boto3 -readonly:true", then a region), and each refinement would search again (0.12-0.3 s for a
#: term in 40% of a million records; its answer is at most 8 MB).
REMEMBERED = 8
#: (records done, records to do) while the index is built or extended.
IndexProgress = Callable[[int, int], None]

_STATE = "SELECT (SELECT value FROM meta WHERE key = 'store_id'), (SELECT coalesce(max(rid), -1) FROM events)"


@dataclass(frozen=True, slots=True)
class IndexReport:
    """What ``update`` did: records in the index, records it added, bytes of text, seconds taken."""

    records: int
    added: int
    bytes: int
    rebuilt: bool
    seconds: float


class TextIndex:
    """The text index of one open store. Searches may run in any thread while one thread updates."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.files = TextFiles(store.path)
        self._writing = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._snapshot_lock = threading.Lock()
        self._answers: OrderedDict[tuple[Stamp, str], np.ndarray | None] = OrderedDict()
        self._answers_lock = threading.Lock()
        self._counts: tuple[Stamp, np.ndarray] | None = None

    # -- reading ------------------------------------------------------------------------------
    def current(self, con: duckdb.DuckDBPyConnection | None = None) -> Snapshot | None:
        """The index as of now when it covers every finalized event of this store, else None."""
        if not textsearch.available():
            return None
        own = con is None
        cursor = self.store.cursor() if con is None else con
        try:
            store_id, top = cursor.execute(_STATE).fetchall()[0]
        except duckdb.Error:  # a store without the meta table (read-only, never written)
            return None
        finally:
            if own:
                cursor.close()
        snapshot = self._load()
        if snapshot is None or store_id is None or snapshot.header.store_id != store_id:
            return None
        return snapshot if snapshot.header.covered == top else None

    def search(self, term: str, con: duckdb.DuckDBPyConnection | None = None) -> np.ndarray | None:
        """Rids (ascending int64) of records whose raw JSON holds ``term`` as ``raw ILIKE`` reads it.

        None when the index does not cover every finalized event, when Hyperscan is missing or
        refuses the pattern, or when the term is in so many records that scanning is quicker: the
        caller then scans with DuckDB, which gives the same answer.
        """
        snapshot = self.current(con)
        if snapshot is None:
            return None
        key = (snapshot.stamp, term)
        with self._answers_lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]
        found = self._scan(term, snapshot)
        rids = None if found is None else snapshot.rids[found]
        if rids is not None:
            rids.flags.writeable = False  # shared by every later search of the term
        with self._answers_lock:
            self._answers[key] = rids
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)
        return rids

    def _scan(self, term: str, snapshot: Snapshot) -> np.ndarray | None:
        """Indexes of the records holding ``term``: by the C loop for an ASCII term, else by Hyperscan."""
        literal = textliteral.literal(term, snapshot.header.folds)
        if literal is not None:
            return textliteral.matching_records(literal, snapshot.view, snapshot.ends, self._byte_counts(snapshot))
        pattern = textsearch.compiled(term, textsearch.ascii_folds() - frozenset(snapshot.header.folds))
        if pattern is None:
            return None
        return textsearch.matching_records(pattern, snapshot.view, snapshot.ends)

    def _byte_counts(self, snapshot: Snapshot) -> np.ndarray:
        """``textliteral.byte_counts`` of this version of the text, counted once."""
        known = self._counts
        if known is None or known[0] != snapshot.stamp:
            known = self._counts = (snapshot.stamp, textliteral.byte_counts(snapshot.view))
        return known[1]

    def forget_answers(self) -> None:
        """Drop the remembered answers (the benchmarks time searches, not this cache)."""
        with self._answers_lock:
            self._answers.clear()

    def warm(self, cancel: threading.Event | None = None) -> None:
        """Read the text file through once, then touch each page of this process's mapping of it,
        so the first search neither waits for the disk nor maps the file in page by page.

        The workbench calls this in the background after opening a case: on a cold page cache a
        first search of a million-event index took 1.7 s against 0.2 s warm (measured), and a
        sequential read costs a second or two of disk and next to no CPU. The kernel's WILLNEED
        hints (madvise, posix_fadvise) did not bring the file in on this machine. With the file
        cached, the first search still took 110-160 ms against 55-65 for the next, mapping pages in;
        touching the mapping alone, without the read, left it at 130-150 ms (measured, cold cache).
        """
        try:
            with open(self.files.text, "rb", buffering=0) as text:
                chunk = bytearray(16 << 20)
                while text.readinto(chunk) and not (cancel is not None and cancel.is_set()):
                    pass
        except OSError:  # no index yet, or it was just replaced: nothing to warm
            return
        snapshot = self._load()
        if snapshot is None or (cancel is not None and cancel.is_set()):
            return
        self._byte_counts(snapshot)
        int(np.frombuffer(snapshot.view, dtype=np.uint8)[:: mmap.PAGESIZE].sum())

    def _load(self) -> Snapshot | None:
        """The snapshot of the header on disk, re-read only when the header file changed."""
        stamp = self.files.header_stamp()
        with self._snapshot_lock:
            if self._snapshot is not None and self._snapshot.stamp == stamp:
                return self._snapshot
            self._snapshot = self.files.snapshot() if stamp is not None else None
            return self._snapshot

    # -- writing ------------------------------------------------------------------------------
    def update(
        self, progress: IndexProgress | None = None, cancel: threading.Event | None = None
    ) -> IndexReport | None:
        """Bring the index level with the store: extend it, or rebuild it when it cannot be trusted.

        Returns None without touching anything for a read-only store or without Hyperscan. A
        cancel keeps (and commits) what was written so far; the next update goes on from there.
        """
        if self.store.read_only or not textsearch.available():
            return None
        started = time.perf_counter()
        with self._writing:
            con = self.store.cursor()
            try:
                store_id = _store_id(con)
                top = int(con.execute("SELECT coalesce(max(rid), -1) FROM events").fetchall()[0][0])
                header = self.files.usable(store_id, top)
                rebuilt = header is None
                before = 0 if header is None else header.records
                if header is None:
                    header = self._rebuild(con, store_id, top, progress, cancel)
                elif header.covered < top:
                    header = self._extend(con, header, top, progress, cancel)
            finally:
                con.close()
        return IndexReport(header.records, header.records - before, header.length, rebuilt,
                           time.perf_counter() - started)

    def _rebuild(
        self, con: duckdb.DuckDBPyConnection, store_id: str, top: int, progress: IndexProgress | None,
        cancel: threading.Event | None,
    ) -> Header:
        """A fresh index in temporary files, moved into place once complete (searchers that still
        map the old file keep reading it: a rename never changes an open file)."""
        self.files.drop()
        empty = Header(store_id=store_id, covered=-1, length=0, records=0)
        text, offsets = self.files.temporaries()
        try:
            with open(text, "wb") as text_out, open(offsets, "wb") as offsets_out:
                header = append_records(con, empty, top, text_out, offsets_out, progress, cancel)
            os.replace(text, self.files.text)
            os.replace(offsets, self.files.offsets)
        except BaseException:
            text.unlink(missing_ok=True)
            offsets.unlink(missing_ok=True)
            raise
        self.files.commit(header)
        return header

    def _extend(
        self, con: duckdb.DuckDBPyConnection, header: Header, top: int, progress: IndexProgress | None,
        cancel: threading.Event | None,
    ) -> Header:
        with open(self.files.text, "r+b") as text_out, open(self.files.offsets, "r+b") as offsets_out:
            text_out.seek(header.length)
            offsets_out.seek(header.records * 16)
            try:
                grown = append_records(con, header, top, text_out, offsets_out, progress, cancel)
            except BaseException:  # nothing past the header counts; cut it off now rather than on reopen
                text_out.truncate(header.length)
                offsets_out.truncate(header.records * 16)
                raise
        self.files.commit(grown)
        return grown


def _store_id(con: duckdb.DuckDBPyConnection) -> str:
    """This store's id, created on first use: a rebuilt store gets a new one, so old indexes go stale."""
    con.execute("INSERT INTO meta VALUES ('store_id', ?) ON CONFLICT DO NOTHING", [str(uuid.uuid4())])
    return str(con.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchall()[0][0])

