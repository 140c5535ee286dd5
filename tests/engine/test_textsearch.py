"""Free text through the text index answers exactly what the DuckDB scan answers, on hostile records.

The thirteen records below (E01..E13) are written out by hand; the expected answers in
``EXPECTED`` were worked out by reading them with ILIKE's rule in mind (DuckDB lowercases both
sides code point by code point: ``İ`` becomes ``i``, the Kelvin sign ``k``, the ohm sign ``ω``,
while ``ſ`` stays ``ſ``). The differential test then throws a few hundred generated terms
(substrings of the records, case-flipped, with wildcards, and strings from a hostile alphabet)
at both paths and requires the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from investigations import textliteral, textsearch
from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.query import QueryError, parse
from investigations.textsearch import THREADS, plan


def record(n: int, name: str, *, head: dict | None = None, tail: dict | None = None, **fields: object) -> dict:
    """A CloudTrail-shaped record whose raw JSON starts with ``head`` and ends with ``tail``."""
    return {
        **(head or {}),
        "eventVersion": "1.09",
        "eventTime": f"2024-05-01T08:{n:02d}:00Z",
        "eventID": f"E{n:02d}",
        "eventName": name,
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
        **fields,
        **(tail or {}),
    }


HEAD = {"aaa": "HEADMARK"}
TAIL = {"zzz": "TAILMARK"}
COMPACT = [
    record(1, "KaLi-Login", userAgent="Mozilla [bold red]x[/] 100%_done", tail=TAIL),
    record(2, "SayHi", head=HEAD, requestParameters={"note": 'say "hi"', "path": "C:\\temp\\x_1"}),
    record(3, "Fail", errorMessage="line1\nline2\tend"),
    record(4, "KALİ", city="İstanbul_x"),
    record(5, "Hello", person="Élodie"),
    record(6, "Order", resource="café"),
    record(7, "Walk", street="ſtrasse_1"),
    record(8, "Heat", temperature="25K"),  # the Kelvin sign
    record(9, "Tag", tag="🔑 key"),
    record(10, "Agent", userAgent="100XYdone"),
    record(11, "Resist", unit="Ω"),  # the ohm sign
    record(12, "Both", head=HEAD, tail=TAIL),
]
PRETTY = record(13, "Pretty", note="MULTI_MARK")  # written indented: its raw JSON spans lines
ALL = {f"E{n:02d}" for n in range(1, 14)}

EXPECTED: dict[str, set[str]] = {
    "kali": {"E01", "E04"},  # KaLi, and KALİ (İ lowercases to i)
    "KALİ": {"E01", "E04"},
    "istanbul": {"E04"},
    "istanbul_x": {"E04"},  # with LIKE's own wildcard in it, the scan takes another path: same rule
    "é": {"E05", "E06"},  # Élodie, café
    "ſ": {"E07"},
    "strasse": set(),  # ſ does not lowercase to s
    "strasse_1": set(),
    "STRASSE_1": set(),
    "ſtrasse_1": {"E07"},
    "25k": {"E08"},  # the Kelvin sign lowercases to k
    "ω": {"E11"},  # so does the ohm sign, to ω
    "Ω": {"E11"},
    "🔑": {"E09"},
    "[bold red]x[/]": {"E01"},
    "100%_done": {"E01"},  # % and _ are plain characters, not LIKE's wildcards
    "100*done": {"E01", "E10"},
    '\\"hi\\"': {"E02"},  # the raw JSON holds the escaped quotes
    '"hi"': set(),
    "C:\\\\temp": {"E02"},  # and doubled backslashes
    "C:\\temp": set(),
    "x_1": {"E02"},
    "line1\\nline2\\tend": {"E03"},  # an escaped newline and tab, as the raw JSON spells them
    '{"aaa":"HEADMARK"': {"E02", "E12"},  # at a record's very start
    'TAILMARK"}': {"E01", "E12"},  # and at its very end
    "TAILMARK*HEADMARK": set(),  # E01 ends with TAILMARK and E02 starts with HEADMARK: no spanning
    "HEADMARK*TAILMARK": {"E12"},
    "}{": set(),
    "MULTI_MARK": {"E13"},
    "Pretty*MULTI_MARK": {"E13"},  # across the lines of one pretty-printed record
    "Pretty*MULTI": {"E13"},
    "eventversion": ALL,
    "*": ALL,
    " ": {"E01", "E02", "E09", "E13"},  # spaces inside values, and the indented record
}


def quoted(term: str) -> str:
    """``term`` as a ``text:"..."`` filter (the filter language unescapes backslashes in quotes)."""
    return 'text:"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def hostile_case(folder: Path) -> Iterator[Case]:
    """A case of the thirteen records, its text index built."""
    (folder / "compact.json").write_bytes(orjson.dumps({"Records": COMPACT}))
    (folder / "pretty.json").write_text(json.dumps({"Records": [PRETTY]}, indent=2, ensure_ascii=False))
    with Case.open(folder / "case") as opened:
        ingest_sources(opened, [str(folder / "compact.json")], SourceOptions(workers=0))
        ingest_sources(opened, [str(folder / "pretty.json")], SourceOptions(workers=0))
        report = opened.store.text_index.update()
        assert report is not None and report.records == 13
        yield opened


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory):
    with hostile_case(tmp_path_factory.mktemp("textsearch")) as opened:
        yield opened


def ids(case: Case, text: str, indexed: bool) -> set[str]:
    search = case.store.text_index.search if indexed else None
    compiled = parse(text, search=search)
    if indexed and compiled.free_text:
        assert any(isinstance(p, bytes) for p in compiled.params) or compiled.where == "FALSE", "index not used"
    _, rows = case.store.sql(f"SELECT event_id FROM events WHERE {compiled.where}", compiled.params)
    return {r[0] for r in rows}


def test_the_records_are_as_hostile_as_intended(case):
    _, rows = case.store.sql("SELECT raw FROM raw_events ORDER BY rid")
    assert [r[0].startswith('{"aaa":"HEADMARK"') for r in rows[:2]] == [False, True]
    assert rows[0][0].endswith('"zzz":"TAILMARK"}')
    assert "\n" in rows[12][0]  # the pretty-printed record keeps its newlines
    assert case.store.text_index.files.text.read_bytes().count(b"\n") == 13  # one per record, no more


@pytest.fixture(params=["c loop", "hyperscan"])
def engine(request, case, monkeypatch):
    """Each test below runs twice: ASCII terms through the C loop (textliteral.py), and every term
    through Hyperscan, as when the extension is not built."""
    if request.param == "hyperscan":
        monkeypatch.setattr(textliteral, "available", lambda: False)
    case.store.text_index.forget_answers()
    yield request.param
    case.store.text_index.forget_answers()


@pytest.mark.parametrize("term", list(EXPECTED))
def test_index_and_scan_give_the_hand_computed_rows(case, term, engine):
    assert ids(case, quoted(term), indexed=True) == EXPECTED[term]
    assert ids(case, quoted(term), indexed=False) == EXPECTED[term]


def test_ascii_terms_go_to_the_c_loop_unless_the_text_folds_one_of_their_letters():
    """The hostile text holds İ (lowercased to i) and the Kelvin sign (to k): terms with an i or a k
    must go to Hyperscan, which spells those characters out; so must any non-ASCII term."""
    folds = ("K", "İ")
    assert textliteral.literal("Hello*World", folds) == textliteral.Literal((b"hello", b"world"))
    assert textliteral.literal("**", folds) == textliteral.Literal(())
    assert textliteral.literal("25k", folds) is None
    assert textliteral.literal("KALİ", ()) is None
    assert textliteral.literal("line1\\nend", folds) is None  # an i
    assert textliteral.literal("café", ()) is None
    assert textliteral.literal("tab\there", ()) is None  # a control character
    assert textliteral.literal("C:\\temp", ()) == textliteral.Literal((b"c:\\temp",))


@pytest.mark.parametrize("once", [0.0, float("inf")], ids=["each record once", "each occurrence"])
@pytest.mark.parametrize("term", list(EXPECTED))
def test_either_pattern_gives_the_hand_computed_rows(case, term, once, monkeypatch):
    """Hyperscan scans for each matching record, or for each occurrence of a term without a
    wildcard (dropping repeats) when the term is seldom repeated within a record: same rows."""
    monkeypatch.setattr(textsearch, "ONCE", once)
    monkeypatch.setattr(textliteral, "available", lambda: False)
    case.store.text_index.forget_answers()  # searched afresh, with the pattern under test
    assert ids(case, quoted(term), indexed=True) == EXPECTED[term]
    rids = case.store.text_index.search(term)
    assert rids is None or list(rids) == sorted(set(rids.tolist()))  # each record once, in order


def test_bare_words_negation_and_combinations_use_the_index(case):
    assert ids(case, "kali -istanbul", indexed=True) == {"E01"}
    assert ids(case, "HEADMARK OR 🔑", indexed=True) == {"E02", "E09", "E12"}
    assert ids(case, "name:Kali* kali", indexed=True) == {"E01", "E04"}


def test_empty_and_blank_terms():
    with pytest.raises(QueryError):
        parse('text:""')
    assert parse("   ").empty


ALPHABET = "aAkKiIİıſsSéÉßẞΩωΩ🔑%_\\\"*{}:[] \n.-0"


@st.composite
def terms(draw: st.DrawFn) -> str:
    raws = [orjson.dumps(r).decode() for r in COMPACT] + [json.dumps(PRETTY, indent=2, ensure_ascii=False)]
    if draw(st.booleans()):
        return draw(st.text(alphabet=ALPHABET, min_size=1, max_size=5))
    raw = draw(st.sampled_from(raws))
    start = draw(st.integers(0, len(raw) - 1))
    piece = raw[start : start + draw(st.integers(1, 12))]
    piece = draw(st.sampled_from([str, str.upper, str.lower, str.swapcase]))(piece)
    if len(piece) > 2 and draw(st.booleans()):
        cut = draw(st.integers(1, len(piece) - 1))
        piece = piece[:cut] + "*" + piece[cut + draw(st.integers(0, 3)) :]
    return piece


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=terms())
def test_index_matches_the_scan_on_generated_terms(case, term):
    index = case.store.text_index
    scanned = ids(case, quoted(term), indexed=False)
    index.forget_answers()
    assert ids(case, quoted(term), indexed=True) == scanned, repr(term)
    index.forget_answers()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(textliteral, "available", lambda: False)
        assert ids(case, quoted(term), indexed=True) == scanned, f"{term!r} through Hyperscan"
    index.forget_answers()


def test_the_scan_plan_follows_how_many_records_match():
    assert plan(0.001, 1_000_000) == THREADS  # rare: parallel threads
    assert plan(0.4, 1_000_000) == 1  # dense: one thread, no fight over the GIL between callbacks
    assert plan(0.9, 1_000_000) is None  # nearly everything: the DuckDB scan is quicker
    assert plan(0.9, 10_000) == 1  # ... unless there are few records anyway

