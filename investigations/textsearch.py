"""Free text as Hyperscan patterns over the text index, meaning exactly what the DuckDB scan means.

Printable ASCII terms over text without characters that fold onto their letters are answered by
textliteral.py instead, with no call into Python per match; this module answers every other term.

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

from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
#: on one thread and 353 ms on two; one in 3% took 206 ms on one and 121 ms on two). ASCII terms
#: come here only when the C loop is not built (textliteral.py answers them without callbacks).
DENSE = 0.15
#: Above this share of matching records, and this many of them, the DuckDB scan answers sooner
#: than one callback per matching record (a term in every one of 1M records: 262 ms to scan, 565 ms
#: here), so ``matching_records`` declines; below that many, both are quick.
SCAN_INSTEAD = 0.6
SCAN_INSTEAD_MATCHES = 250_000
#: A term found at most this many times per matching record (in the probe) is scanned for each
#: occurrence rather than for each record, and repeats dropped: the per-record pattern's
#: ``[^\n]*\n`` runs on to the end of the record after every match, which cost 40 ms of 232 for a
#: term in 40% of 1M records, once in each (measured).
ONCE = 1.2


def available() -> bool:
    return hyperscan is not None


def ascii_folds() -> frozenset[str]:
    """The non-ASCII characters DuckDB lowercases to ASCII (``İ`` to i, the Kelvin sign to k).

    They are the only reason an ASCII term needs multi-byte alternatives, which halve Hyperscan's
    speed (its literal prefilter gets shorter): the index records which of them its text holds, and
    patterns leave out the ones it does not.
    """
    return frozenset(chr(cp) for cp, low in _lower_table().items() if cp > 0x7F and low <= 0x7F)


def lowercase(ch: str) -> str:
    """DuckDB's ``lower()`` of one character."""
    return chr(_lower_table().get(ord(ch), ord(ch)))


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


def expression(term: str, absent: frozenset[str] = frozenset(), per_record: bool = True) -> bytes:
    """The Hyperscan pattern of a free-text term: its matches end at the end of each matching record,
    or (``per_record`` False, for terms without a wildcard) at the end of each occurrence.

    ``absent``: characters the text is known not to hold, left out of the pattern.
    """
    parts = ["".join(_character(ch, absent) for ch in part) for part in term.split("*")]
    return ("[^\\n]*".join(parts) + ("[^\\n]*\\n" if per_record else "")).encode("ascii")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A term compiled for Hyperscan: ``records`` reports each matching record once; ``occurrences``
    each occurrence of a term without wildcards (None for one with them)."""

    records: Any
    occurrences: Any | None


def _compile(expression: bytes) -> Any:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[expression], ids=[0], flags=[0])
    return database


@lru_cache(maxsize=64)
def compiled(term: str, absent: frozenset[str] = frozenset()) -> Pattern | None:
    """The compiled pattern of ``term``, or None when Hyperscan is missing or refuses it."""
    if hyperscan is None:
        return None
    try:
        records = _compile(expression(term, absent))
        occurrences = None if "*" in term else _compile(expression(term, absent, per_record=False))
    except (hyperscan.error, UnicodeEncodeError):  # e.g. a lone surrogate from an undecodable argv
        return None
    return Pattern(records, occurrences)


def _collect(_id: int, _start: int, end: int, _flags: int, found: array[int]) -> None:
    found.append(end)


def _match_ends(database: Any, data: memoryview, ends: np.ndarray, first: int, last: int) -> np.ndarray:
    """Where the matches in records ``first``..``last - 1`` end, as offsets into ``data``."""
    low, high = (int(ends[first - 1]) if first else 0), int(ends[last - 1])
    found: array[int] = array("q")
    database.scan(data[low:high], match_event_handler=_collect, scratch=hyperscan.Scratch(database), context=found)
    return low + np.frombuffer(found, dtype=np.int64)


def records_in(database: Any, data: memoryview, ends: np.ndarray, first: int, last: int, repeated: bool) -> np.ndarray:
    """Indexes of the records among ``first``..``last - 1`` where ``database`` matches.

    ``repeated``: the database reports every occurrence, so a record may come more than once.
    """
    # A match ending at byte e lies in the first record ending at or after e.
    indexes = np.searchsorted(ends, _match_ends(database, data, ends, first, last))
    if repeated and len(indexes) > 1:
        indexes = indexes[np.concatenate(([True], indexes[1:] != indexes[:-1]))]
    return indexes


def _probe(pattern: Pattern, data: memoryview, ends: np.ndarray, first: int, last: int) -> tuple[float, float]:
    """On four slices spread over records ``first``..``last - 1`` (a 64th of them in all): the share
    of records that match, and how often the term occurs in each of them (1.0 when it cannot be told)."""
    count = last - first
    size = max(1, int(count * PROBE))
    starts = sorted({first + min(count - size, count * i // 4) for i in range(4)})
    slices = [(start, start + size) for start in starts]
    records = sum(len(records_in(pattern.records, data, ends, *bounds, False)) for bounds in slices)
    if pattern.occurrences is None or not records:
        return records / (size * len(slices)), 1.0
    occurrences = sum(len(_match_ends(pattern.occurrences, data, ends, *bounds)) for bounds in slices)
    return records / (size * len(slices)), occurrences / records


def plan(density: float, count: int) -> int | None:
    """Threads to scan ``count`` records with, given the share that match; None: leave it to DuckDB."""
    if density > SCAN_INSTEAD and density * count > SCAN_INSTEAD_MATCHES:
        return None
    return 1 if density > DENSE else THREADS


def _database(pattern: Pattern, per_record: float) -> tuple[Any, bool]:
    """The database to scan with, and whether it reports repeats (see ``ONCE``)."""
    repeated = pattern.occurrences is not None and per_record <= ONCE
    return (pattern.occurrences if repeated else pattern.records), repeated


def matching_records(pattern: Pattern, data: memoryview, ends: np.ndarray) -> np.ndarray | None:
    """Indexes (ascending) of the records in ``data`` that match; ``ends[i]`` is where record i ends.

    The records are cut into runs scanned in parallel threads when matches are sparse, in one when
    they are dense, and None (the DuckDB scan is quicker) when they are nearly everywhere.
    """
    count = len(ends)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    density, per_record = _probe(pattern, data, ends, 0, count)
    threads = plan(density, count)
    if threads is None:
        return None
    database, repeated = _database(pattern, per_record)
    return in_runs(count, threads, lambda first, last: records_in(database, data, ends, first, last, repeated))


def in_runs(count: int, parts: int, scan: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """``scan(first, last)`` over ``count`` records cut into ``parts`` runs of about as many each,
    side by side in threads (worth it only as far as ``scan`` leaves the GIL), the indexes it
    returns joined in order."""
    parts = max(1, min(parts, count))
    runs = list(pairwise(count * i // parts for i in range(parts + 1)))
    if len(runs) == 1:
        return scan(*runs[0])
    with ThreadPoolExecutor(max_workers=len(runs) - 1, thread_name_prefix="textscan") as pool:
        others = [pool.submit(scan, *run) for run in runs[1:]]
        return np.concatenate([scan(*runs[0]), *(f.result() for f in others)])
