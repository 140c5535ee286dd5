"""The C loop (investigations/_textscan.c) on its own: which records hold an ASCII term.

Expected answers in the first tests are read off the records by hand. The SIMD loop compares two
candidate bytes of the term 16 or 32 at a time after OR-ing 0x20 into letters, then checks the
whole term, and falls back to one byte at a time within the last vector's width of the file: the
records here put terms on and across those edges, and pair letters with the non-letters OR-ing
0x20 would confuse them with (``[`` and ``{``, ``@`` and a backquote). The randomized test
compares every choice of candidate bytes with Python's own ``str.find`` on the same records.
"""

from __future__ import annotations

import random
import subprocess
import sys
from itertools import combinations_with_replacement

import numpy as np
import pytest

from investigations import _textscan, textliteral


def layout(records: list[bytes]) -> tuple[bytes, np.ndarray]:
    """The text file's layout: each record followed by a newline, and where each one ends."""
    text = b"".join(r + b"\n" for r in records)
    return text, np.cumsum([len(r) + 1 for r in records], dtype=np.int64)


def holding(records: list[bytes], term: str) -> list[int]:
    text, ends = layout(records)
    literal = textliteral.literal(term, ())
    assert literal is not None, term
    view = memoryview(text)
    return textliteral.matching_records(literal, view, ends, textliteral.byte_counts(view)).tolist()


def test_the_extension_runs_with_simd_here():
    """The install builds it (optionally: a failed build falls back to Hyperscan, which this test
    would otherwise hide); on x86-64 it always has at least SSE2."""
    assert _textscan.SIMD in ("avx2", "sse2") and textliteral.available()


def test_a_term_in_any_case_and_only_whole():
    records = [b"aaab", b"aab", b"ab", b"xAaBx", b"a-a-b"]
    assert holding(records, "AAB") == [0, 1, 3]


def test_wildcard_parts_come_in_order_without_overlapping():
    # aba: "ab" at 0 leaves "a" for "ba"; abba and "ab ba" have room; baab has "ab" last.
    assert holding([b"aba", b"abba", b"ab ba", b"baab"], "ab*ba") == [1, 2]
    assert holding([b"x", b""], "*") == [0, 1]  # nothing but wildcards: every record


def test_a_term_never_spans_two_records():
    assert holding([b"needle", b"nee", b"dle", b"xneedl", b"e"], "needle") == [0]


def test_terms_at_every_alignment_up_to_the_end_of_the_text():
    """The last record ends the text: the vector loop must stop short and the byte loop finish."""
    for pad in range(80):
        records = [b"filler" * 7, b"x" * pad + b"NeEdLe"]
        assert holding(records, "needle") == [1], pad
        assert holding([b"x" * pad + b"needl", b"e"], "needle") == [], pad


GUARDED = """
import ctypes, mmap, sys
import numpy as np
from investigations import _textscan
page = mmap.PAGESIZE
area = mmap.mmap(-1, 2 * page)
start = ctypes.addressof(ctypes.c_char.from_buffer(area))
assert ctypes.CDLL(None).mprotect(ctypes.c_void_p(start + page), page, 0) == 0  # PROT_NONE
for pad in range(80):
    text = b"x" * pad + b"needle" + b"\\n"
    area[page - len(text) : page] = text
    view = memoryview(area)[page - len(text) : page]
    for i1, i2 in ((0, 5), (5, 5), (0, 0)):
        out = np.empty(1, dtype=np.int64)
        assert _textscan.records(view, np.array([len(text)], dtype=np.int64), 0, 1, ((b"needle", i1, i2),), out) == 1
    view.release()
print("read nothing past the text")
"""


def test_nothing_past_the_text_is_read():
    """The text ends just before a page that may not be read: a read past it kills the process."""
    done = subprocess.run([sys.executable, "-c", GUARDED], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "read nothing past the text"), done.stderr


def test_only_letters_fold():
    """OR-ing 0x20 turns [ into { and @ into a backquote: those must stay different."""
    records = [b"{x}", b"[X]", b"`q", b"@Q", b"K\xe2\x84\xaa\xff\xc3\xa9"]
    assert holding(records, "[x]") == [1]
    assert holding(records, "{X}") == [0]
    assert holding(records, "@q") == [3]
    assert holding(records, "`Q") == [2]
    assert holding(records, "k") == [4]  # the ASCII K only; the Kelvin sign's bytes are not ASCII


def test_record_ends_in_any_byte_order_or_layout():
    text, ends = layout([b"abc", b"xyz", b"abc"])
    term, counts = textliteral.Literal((b"abc",)), textliteral.byte_counts(memoryview(text))
    for shaped in (ends.astype(">i8"), np.repeat(ends, 2)[::2], ends.astype(np.int32)):
        assert textliteral.matching_records(term, memoryview(text), shaped, counts).tolist() == [0, 2]


def test_bad_arguments_are_refused_not_read_past():
    text, ends = layout([b"abc", b"def"])
    out = np.empty(2, dtype=np.int64)
    part = ((b"abc", 0, 2),)
    assert _textscan.records(text, ends, 0, 2, part, out) == 1 and out[0] == 0
    with pytest.raises(ValueError, match="out of order or past the text"):
        _textscan.records(text, np.array([4, 100], dtype=np.int64), 0, 2, part, out)
    with pytest.raises(ValueError, match="out of order or past the text"):
        _textscan.records(text, np.array([4, 2], dtype=np.int64), 0, 2, part, out)
    with pytest.raises(ValueError, match="room"):
        _textscan.records(text, ends, 0, 2, part, np.empty(1, dtype=np.int64))
    with pytest.raises(ValueError, match="room"):
        _textscan.records(text, ends, 0, 3, part, out)
    with pytest.raises(ValueError, match="lowercase ASCII"):
        _textscan.records(text, ends, 0, 2, ((b"ABC", 0, 2),), out)
    with pytest.raises(ValueError, match="non-empty"):
        _textscan.records(text, ends, 0, 2, ((b"abc", 2, 1),), out)
    with pytest.raises(TypeError):
        _textscan.records(text, ends, 0, 2, [(b"abc", 0, 2)], out)  # a list could change under the loop


def test_every_choice_of_candidate_bytes_agrees_with_str_find():
    rng = random.Random(20261122)
    alphabet = "abAB[{@`-*\u00e9\xff"
    records = [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 90))).encode("utf-8")
        for _ in range(3000)
    ]
    text, ends = layout(records)
    lowered = ["".join(ch.lower() if ch.isascii() else ch for ch in r.decode("utf-8")) for r in records]
    for term in ("ab", "Ba[", "a@b", "{a", "`", "abab", "-b-", "bbbbb"):
        expected = [i for i, low in enumerate(lowered) if term.lower() in low]
        part = term.lower().encode()
        for i1, i2 in combinations_with_replacement(range(len(part)), 2):
            out = np.empty(len(records), dtype=np.int64)
            found = _textscan.records(text, ends, 0, len(records), ((part, i1, i2),), out)
            assert out[:found].tolist() == expected, (term, i1, i2)
