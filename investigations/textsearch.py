"""Free text as Hyperscan patterns over the text index, meaning exactly what the DuckDB scan means.

The filter language's free text is ``raw ILIKE '%term%'`` with ``*`` read as ``%``. DuckDB's ILIKE
lowercases both sides one code point at a time (utf8proc's simple mapping: ``İ`` becomes ``i``,
the Kelvin sign ``k``, while ``ſ`` stays ``ſ``), then compares. Hyperscan's own caseless and UCP
folding disagrees on exactly those letters, so no Hyperscan flag is used: each character of the
term is spelled out as every code point DuckDB lowercases to the same one, byte by byte, from a
table read out of DuckDB itself once per process.

In the text file every record ends in ``\\n`` and no other ``\\n`` occurs (a record's own
newlines, from pretty-printed sources, are stored as 0xFF, a byte UTF-8 never uses). So the
pattern ``term[^\\n]*\\n`` can only end where a record holding the term ends, and Hyperscan reports
each end offset once: one callback per matching record, however often the term occurs in it. A
wildcard becomes ``[^\\n]*``, which cannot run on into the next record.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any

import duckdb
import numpy as np

try:
    import hyperscan
except ImportError:  # the DuckDB scan serves free text without it
    hyperscan = None

#: Ends every record in the text file.
SEPARATOR = 0x0A
#: Stands for a record's own newlines in the text file: UTF-8 text never holds this byte.
INNER_NEWLINE = 0xFF
#: Threads scanning parts of the file at once (Hyperscan releases the GIL while it scans).
THREADS = 2
#: A term's density is probed on four slices of the records, each this fraction of them.
PROBE = 1 / 256
#: Above this share of matching records, one thread scans: two would spend their time handing the
#: GIL to each other's match callbacks (measured on 1M records: a term in 40% of them took 266 ms
#: on one thread and 353 ms on two; one in 3% took 206 ms on one and 121 ms on two).
DENSE = 0.15
#: Above this share of matching records, and this many of them, the DuckDB scan answers sooner
#: than one callback per matching record (a term in every one of 1M records: 262 ms to scan, 565 ms
#: here), so ``matching_records`` declines; below that many, both are quick.
SCAN_INSTEAD = 0.6
SCAN_INSTEAD_MATCHES = 250_000


def available() -> bool:
    return hyperscan is not None


def ascii_folds() -> frozenset[str]:
    """The non-ASCII characters DuckDB lowercases to ASCII (``İ`` to i, the Kelvin sign to k).

    They are the only reason an ASCII term needs multi-byte alternatives, which halve Hyperscan's
    speed (its literal prefilter gets shorter): the index records which of them its text holds, and
    patterns leave out the ones it does not.
    """
    return frozenset(chr(cp) for cp, low in _lower_table().items() if cp > 0x7F and low <= 0x7F)


def prepare() -> None:
    """Read the case-folding table now (about 0.1 s, once per process), not at the first search."""
    _folded_together()


@cache
def _lower_table() -> dict[int, int]:
    """Code point -> DuckDB's ``lower()`` of it, for every code point it changes (about 1,400)."""
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT cp, unicode(lower(chr(cp::INTEGER))) FROM range(1, 1114112) t(cp) "
            "WHERE (cp < 55296 OR cp > 57343) AND lower(chr(cp::INTEGER)) <> chr(cp::INTEGER)"
        ).fetchall()
    return {int(cp): int(low) for cp, low in rows}


@cache
def _folded_together() -> dict[int, tuple[int, ...]]:
    """Lowercase code point -> every code point DuckDB lowercases to it, itself included."""
    table = _lower_table()
    groups: dict[int, list[int]] = {}
    for cp, low in table.items():
        groups.setdefault(low, []).append(cp)
    return {low: tuple(sorted({*members, *([low] if low not in table else [])})) for low, members in groups.items()}


def _stored(encoded: bytes) -> bytes:
    """How a character's UTF-8 bytes look in the text file (newlines inside records are 0xFF)."""
    return encoded.replace(b"\n", bytes([INNER_NEWLINE]))


def _hex(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def _character(ch: str, absent: frozenset[str]) -> str:
    """A pattern matching the characters that ILIKE takes for ``ch``, as stored bytes, leaving out
    those ``absent`` from the text (ch itself always stays)."""
    low = _lower_table().get(ord(ch), ord(ch))
    members = [cp for cp in _folded_together().get(low, (low,)) if chr(cp) == ch or chr(cp) not in absent]
    spellings = sorted({_stored(chr(cp).encode("utf-8")) for cp in members})
    if all(len(s) == 1 for s in spellings):
        return _hex(spellings[0]) if len(spellings) == 1 else "[" + "".join(_hex(s) for s in spellings) + "]"
    return "(?:" + "|".join(_hex(s) for s in spellings) + ")"


def expression(term: str, absent: frozenset[str] = frozenset()) -> bytes:
    """The Hyperscan pattern of a free-text term: matches end at the end of each matching record.

    ``absent``: characters the text is known not to hold, left out of the pattern.
    """
    parts = ["".join(_character(ch, absent) for ch in part) for part in term.split("*")]
    return ("[^\\n]*".join(parts) + "[^\\n]*\\n").encode("ascii")


@lru_cache(maxsize=64)
def compiled(term: str, absent: frozenset[str] = frozenset()) -> Any:
    """The compiled database for ``term``, or None when Hyperscan is missing or refuses the pattern."""
    if hyperscan is None:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(expressions=[expression(term, absent)], ids=[0], flags=[0])
    except (hyperscan.error, UnicodeEncodeError):  # e.g. a lone surrogate from an undecodable argv
        return None
    return database


def _collect(_id: int, _start: int, end: int, _flags: int, found: list[int]) -> None:
    found.append(end)


def _scan_part(database: Any, data: memoryview, base: int) -> np.ndarray:
    found: list[int] = []
    database.scan(data, match_event_handler=_collect, scratch=hyperscan.Scratch(database), context=found)
    return base + np.asarray(found, dtype=np.int64)


def _density(database: Any, data: memoryview, ends: np.ndarray) -> float:
    """The share of matching records in four slices spread over the file (a 64th of it in all)."""
    count = len(ends)
    size = max(1, int(count * PROBE))
    starts = sorted({min(count - size, count * i // 4) for i in range(4)})
    hits = 0
    for first in starts:
        low = int(ends[first - 1]) if first else 0
        hits += len(_scan_part(database, data[low : int(ends[first + size - 1])], 0))
    return hits / (size * len(starts))


def plan(density: float, count: int) -> int | None:
    """Threads to scan ``count`` records with, given the share that match; None: leave it to DuckDB."""
    if density > SCAN_INSTEAD and density * count > SCAN_INSTEAD_MATCHES:
        return None
    return 1 if density > DENSE else THREADS


def matching_records(database: Any, data: memoryview, ends: np.ndarray) -> np.ndarray | None:
    """Indexes (ascending) of the records in ``data`` that match; ``ends[i]`` is where record i ends.

    The file is cut into parts at record ends, scanned in parallel threads when matches are sparse
    and in one when they are dense; None when they are so dense that the DuckDB scan is quicker.
    """
    count = len(ends)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    threads = plan(_density(database, data, ends), count)
    if threads is None:
        return None
    threads = min(threads, count)
    cuts = [0, *(int(ends[count * i // threads - 1]) for i in range(1, threads)), int(ends[-1])]
    parts = [(data[lo:hi], lo) for lo, hi in pairwise(cuts)]
    if threads == 1:
        offsets = [_scan_part(database, *parts[0])]
    else:
        with ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="textscan") as pool:
            others = [pool.submit(_scan_part, database, view, base) for view, base in parts[1:]]
            offsets = [_scan_part(database, *parts[0]), *(f.result() for f in others)]
    return np.searchsorted(ends, np.concatenate(offsets))
