"""Free text as ASCII literals, answered by the C loop in _textscan.c: no call into Python per match.

Hyperscan finds a term at memory speed, but its Python binding calls back into Python once per
match. A term in every one of a million records paid for a million calls: 0.3-0.45 s, against
0.06-0.11 s for the same records here (measured on the 2-core machine, two threads each way).

Most terms a responder types are printable ASCII (``boto3``, ``AccessDenied``, ``203.0.113.*``).
For those, ILIKE comes down to comparing bytes after ASCII lowercasing, provided the text holds
none of the non-ASCII characters DuckDB lowercases to one of the term's letters: the Kelvin sign
to k, ``İ`` to i (the index notes which ones it holds, textfiles.py). Any other term, or any term
when the extension was not built, goes to Hyperscan (textsearch.py), which gives the same answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from investigations.textsearch import in_runs, lowercase

try:
    from investigations import _textscan
except ImportError:  # built without a C compiler: Hyperscan answers every term
    _textscan = None

#: Threads scanning runs of records at once: the loop holds no GIL, so they run side by side.
THREADS = 2
#: Below this many records one thread answers in about a millisecond.
ONE_THREAD = 20_000
#: Bytes at the start of the text whose byte counts choose each part's two candidate bytes.
SAMPLE = 4 << 20


@dataclass(frozen=True, slots=True)
class Literal:
    """A term as lowercase ASCII parts, found in this order within a record (``*`` between them)."""

    parts: tuple[bytes, ...]


def simd() -> str:
    """What the C loop compares with on this machine: "avx2", "sse2", "none", or "not built"."""
    return "not built" if _textscan is None else _textscan.SIMD


def available() -> bool:
    """Whether the C loop was built, with SIMD (its one-byte-at-a-time form is slower than Hyperscan)."""
    return simd() in ("avx2", "sse2")


def literal(term: str, folds: Iterable[str]) -> Literal | None:
    """``term`` as a Literal, or None when it must go to Hyperscan: a character outside printable
    ASCII, or a letter that one of ``folds`` (non-ASCII characters in the text) lowercases to."""
    if not available() or not term.isascii() or not term.isprintable():
        return None
    low = term.lower()
    if any(lowercase(ch) in low for ch in folds):
        return None
    return Literal(tuple(part.encode("ascii") for part in low.split("*") if part))


def byte_counts(view: memoryview) -> np.ndarray:
    """How often each byte occurs in the first ``SAMPLE`` bytes of the text."""
    return np.bincount(np.frombuffer(view[:SAMPLE], dtype=np.uint8), minlength=256)


def _candidates(part: bytes, counts: np.ndarray) -> tuple[int, int]:
    """The part's two rarest positions in the text (a letter counts in both cases): the SIMD loop
    looks for both at once, and the rarer they are, the fewer candidates it checks in full."""
    score = [int(counts[b]) + (int(counts[b - 0x20]) if 0x61 <= b <= 0x7A else 0) for b in part]
    order = sorted(range(len(part)), key=score.__getitem__)
    first, second = order[0], order[min(1, len(order) - 1)]
    return min(first, second), max(first, second)


def matching_records(term: Literal, view: memoryview, ends: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indexes (ascending) of the records holding ``term``; ``ends[i]`` is where record i ends."""
    assert _textscan is not None, "literal() hands out no Literal without the extension"
    scan = _textscan.records
    parts = tuple((part, *_candidates(part, counts)) for part in term.parts)
    ends = np.ascontiguousarray(ends, dtype=np.int64)  # the loop reads native int64: no copy here

    def run(first: int, last: int) -> np.ndarray:
        out = np.empty(last - first, dtype=np.int64)
        return out[: scan(view, ends, first, last, parts, out)]

    return in_runs(len(ends), THREADS if len(ends) >= ONE_THREAD else 1, run)
