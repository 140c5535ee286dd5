"""Helper processes that scan parts of the text file, for a caller that stays open (the workbench).

Hyperscan calls back into Python once per matching record, taking the GIL each time. A term in 40%
of a million records spends about half of its quarter second in those callbacks, and threads of one
process only take turns at them, and at the workbench's own Python work besides (a 2-thread scan of
such a term took 353 ms against 266 ms on one thread). Two processes each scan half the file with a
GIL of their own.

Helpers are started with ``spawn``, so they inherit none of the workbench's threads, and import
only this module and textsearch.py: Hyperscan, NumPy and the standard library. Each maps the text
file and reads the record ends itself, once per version of the index, receives compiled patterns
as Hyperscan's serialized bytes, and hands back record indexes. Anything that goes wrong in a
helper (it died, the file was replaced under it) makes ``scan`` raise ``HelpersUnavailable``; the
caller scans in-process instead, which gives the same answer.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from multiprocessing import resource_tracker
from typing import Any

import numpy as np

from investigations.textsearch import Pattern, run_bounds, run_records

try:
    import hyperscan
except ImportError:  # no helpers without Hyperscan; free text scans with DuckDB
    hyperscan = None

#: Helper processes: one per core of the machine the targets are set for.
HELPERS = 2
#: Below this much text the in-process threads answer in a few milliseconds; helpers would only
#: add two processes (about 40 MB each) to the workbench.
WORTH_HELPERS = 64 << 20

_opened: dict[str, tuple[Target, memoryview, np.ndarray]] = {}


class HelpersUnavailable(RuntimeError):
    """The helpers cannot answer this scan; scan in-process."""


@dataclass(frozen=True, slots=True)
class Target:
    """One version of the index: ``length`` bytes of ``text`` (inode ``inode``), ``records`` records
    whose (rid, end) pairs are in ``offsets``."""

    text: str
    offsets: str
    inode: int
    length: int
    records: int


def _open(target: Target) -> tuple[memoryview, np.ndarray]:
    """The text mapped and the record ends read, once per version of the index."""
    known = _opened.get(target.text)
    if known is not None and known[0] == target:
        return known[1], known[2]
    with open(target.text, "rb") as handle:
        if os.fstat(handle.fileno()).st_ino != target.inode:
            raise HelpersUnavailable(f"{target.text} was replaced")
        view = memoryview(mmap.mmap(handle.fileno(), target.length, access=mmap.ACCESS_READ))
    ends = np.fromfile(target.offsets, dtype="<i8", count=target.records * 2)[1::2].copy()
    if len(ends) != target.records or (target.records and int(ends[-1]) != target.length):
        raise HelpersUnavailable(f"{target.offsets} does not match the text")
    _opened[target.text] = (target, view, ends)
    return view, ends


@lru_cache(maxsize=16)
def _pattern(serialized: tuple[bytes, bytes | None]) -> Pattern:
    records, occurrences = serialized
    load = hyperscan.loadb
    return Pattern(load(records, hyperscan.HS_MODE_BLOCK), occurrences and load(occurrences, hyperscan.HS_MODE_BLOCK))


def _scan(serialized: tuple[bytes, bytes | None], target: Target, first: int, last: int) -> np.ndarray:
    """Helper side: ``textsearch.run_records`` over this helper's own mapping."""
    view, ends = _open(target)
    return run_records(_pattern(serialized), view, ends, first, last)


def _warm(target: Target, first: int, last: int) -> None:
    """Map the index and touch the pages of this helper's own run, one byte a page: a new mapping
    of 1.4 GB faults page by page otherwise (the first scan took twice as long), and touching only
    its own half keeps each helper's resident size to that half."""
    view, ends = _open(target)
    if last > first:
        low, high = (int(ends[first - 1]) if first else 0), int(ends[last - 1])
        int(np.frombuffer(view[low:high], dtype=np.uint8)[:: mmap.PAGESIZE].sum())


def _quiet() -> None:
    """Helper side, first thing: nothing a helper might print may draw over the workbench's screen."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _start_tracker() -> None:
    """Start multiprocessing's resource tracker with /dev/null for its stderr.

    The tracker takes ``sys.stderr``'s descriptor, and under Textual that is a capture object with
    none (spawning then fails with "bad value(s) in fds_to_keep"); nor should its warnings reach
    the screen.
    """
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            resource_tracker.ensure_running()
        finally:
            sys.stderr = saved


class ScanHelpers:
    """``HELPERS`` helper processes, each scanning its own part of a file."""

    def __init__(self, count: int = HELPERS) -> None:
        if hyperscan is None:
            raise HelpersUnavailable("Hyperscan is not installed")
        _start_tracker()
        context = multiprocessing.get_context("spawn")
        # One single-process pool per helper, so part i always goes to helper i and finds its
        # mapping there (a shared pool hands tasks to whichever process is free).
        self._pools = [
            ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_quiet) for _ in range(count)
        ]
        self.broken = False

    @property
    def count(self) -> int:
        return len(self._pools)

    def on(self, target: Target) -> OnFile:
        """These helpers scanning one version of the index: what ``textsearch.matching_records`` calls."""
        return OnFile(self, target)

    def warm(self, target: Target) -> None:
        """Start the helpers and open the index in each now, not at the first search."""
        runs = pairwise(run_bounds(target.records, self.count))
        self._run(lambda: [pool.submit(_warm, target, *run) for pool, run in zip(self._pools, runs, strict=False)])

    def scan(self, pattern: Pattern, target: Target, bounds: Sequence[int]) -> list[np.ndarray]:
        """``textsearch.run_records`` for the records between consecutive ``bounds``, one run per helper."""
        if len(bounds) != self.count + 1:
            raise ValueError(f"{self.count} helpers scan {self.count} runs, not {len(bounds) - 1}")
        serialized = _serialized(pattern)
        return self._run(
            lambda: [
                pool.submit(_scan, serialized, target, first, last)
                for pool, first, last in zip(self._pools, bounds, bounds[1:], strict=False)
            ]
        )

    def _run(self, submit: Callable[[], list[Future[Any]]]) -> list[Any]:
        """The results of the tasks ``submit`` hands to the helpers; HelpersUnavailable if any fails."""
        if self.broken:
            raise HelpersUnavailable("a helper process stopped")
        try:
            return [future.result() for future in submit()]
        except HelpersUnavailable:
            raise
        except BrokenProcessPool as exc:
            self.broken = True
            raise HelpersUnavailable(f"a helper process stopped: {exc}") from exc
        except Exception as exc:  # raised in a helper: the in-process scan answers, or says what is wrong
            raise HelpersUnavailable(f"a helper failed: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=False, cancel_futures=True)


@lru_cache(maxsize=64)
def _serialized(pattern: Pattern) -> tuple[bytes, bytes | None]:
    return hyperscan.dumpb(pattern.records), pattern.occurrences and hyperscan.dumpb(pattern.occurrences)


@dataclass(frozen=True, slots=True)
class OnFile:
    """Helpers bound to one version of the index (``textsearch.Elsewhere``)."""

    helpers: ScanHelpers
    target: Target

    @property
    def count(self) -> int:
        return self.helpers.count

    def scan(self, pattern: Pattern, bounds: Sequence[int]) -> list[np.ndarray]:
        return self.helpers.scan(pattern, self.target, bounds)
