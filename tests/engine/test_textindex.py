"""The text index as a cache: built and extended by ingests, distrusted when stale, never written read-only.

Answers are checked against the DuckDB scan (the path the index stands in for) and, where the
records are written here, against rows read off them by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.query import parse
from investigations.simulate import generate
from investigations.store import EventStore
from investigations.textfiles import TextIndexError, check_ascending
from tui.cli import main

INTRUDER_IP = "203.0.113.77"  # investigations/simulate/cast.py


def records(first: int, count: int, mark: str = "") -> list[dict]:
    return [
        {
            "eventVersion": "1.09",
            "eventTime": f"2024-05-01T09:{(first + i) % 60:02d}:00Z",
            "eventID": f"ev-{first + i:04d}",
            "eventName": "GetObject" if (first + i) % 3 else "PutObject",
            "eventSource": "s3.amazonaws.com",
            "awsRegion": "us-east-1",
            "userIdentity": {"type": "IAMUser", "userName": f"user{first + i}"},
            "requestParameters": {"note": mark},
        }
        for i in range(count)
    ]


def write(path: Path, rows: list[dict]) -> str:
    path.write_bytes(orjson.dumps({"Records": rows}))
    return str(path)


def ingest(case: Case, path: str) -> None:
    ingest_sources(case, [path], SourceOptions(workers=0))


def ids(case: Case, text: str, indexed: bool) -> set[str]:
    compiled = parse(text, search=case.store.text_index.search if indexed else None)
    _, rows = case.store.sql(f"SELECT event_id FROM events WHERE {compiled.where}", compiled.params)
    return {r[0] for r in rows}


def used_index(case: Case, text: str) -> bool:
    return any(isinstance(p, bytes) for p in parse(text, search=case.store.text_index.search).params)


@pytest.fixture
def case(tmp_path: Path):
    with Case.open(tmp_path / "case") as opened:
        ingest(opened, write(tmp_path / "a.json", records(0, 6, "alpha")))
        yield opened


def test_ingest_builds_the_index_and_a_later_ingest_extends_it(tmp_path: Path, capsys):
    start = datetime(2024, 5, 6)
    generate("key-compromise", tmp_path / "first", events=400, seed=11, start=start, days=3)
    generate("background", tmp_path / "second", events=400, seed=12, start=start, days=3)
    root = tmp_path / "case"
    assert main(["ingest", str(tmp_path / "first"), "--case", str(root)]) == 0
    assert "free-text index built" in capsys.readouterr().err
    text = root / "events.duckdb.text"
    before, inode = text.read_bytes(), text.stat().st_ino
    assert main(["ingest", str(tmp_path / "second"), "--case", str(root), "--json"]) == 0
    captured = capsys.readouterr()
    assert orjson.loads(captured.out)["events_added"] > 0  # stdout stays one JSON object
    assert "free-text index" not in captured.err  # --json: no summary lines
    assert text.stat().st_ino == inode and text.read_bytes().startswith(before)  # appended, not rewritten
    with Case.open(root) as case:
        header = orjson.loads((root / "events.duckdb.text.json").read_bytes())
        assert header["records"] == case.store.count() > len(before.splitlines())
        assert case.store.text_index.current() is not None
        for term in (INTRUDER_IP, "AssumeRole", "MARTA", "s3*GetObject", "Boto3*linux", "eventversion"):
            assert used_index(case, term)
            assert ids(case, term, indexed=True) == ids(case, term, indexed=False), term
        assert ids(case, INTRUDER_IP, indexed=True)  # the intrusion's address is there to be found


def test_new_events_leave_the_index_stale_until_it_is_extended(case, tmp_path: Path):
    first = case.store.text_index.update()
    assert first is not None and first.rebuilt and first.records == 6
    ingest(case, write(tmp_path / "b.json", records(6, 4, "beta")))
    assert case.store.text_index.search("beta") is None  # it does not cover the new events
    assert not used_index(case, "beta") and ids(case, "beta", indexed=True) == {f"ev-{n:04d}" for n in range(6, 10)}
    again = case.store.text_index.update()
    assert again is not None and not again.rebuilt and again.added == 4 and again.records == 10
    assert list(case.store.text_index.search("beta")) == [6, 7, 8, 9]  # rids, in ingest order
    assert case.store.text_index.update().added == 0  # already level


def test_an_answer_is_remembered_until_the_index_changes(case, tmp_path: Path, monkeypatch):
    """Refining a filter searches its free text again: the index answers that from memory, for as
    long as the index is the same; new events make a new index, and a new search."""
    index = case.store.text_index
    index.update()
    scans: list[str] = []
    real = index._scan

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        scans.append("scan")
        return real(*args, **kwargs)

    monkeypatch.setattr(index, "_scan", counted)
    first = index.search("alpha")
    assert list(first) == [0, 1, 2, 3, 4, 5] and index.search("alpha") is first and scans == ["scan"]
    with pytest.raises(ValueError):
        first[0] = 99  # shared by every caller: read-only
    ingest(case, write(tmp_path / "b.json", records(6, 2, "alpha")))
    index.update()
    assert list(index.search("alpha")) == [0, 1, 2, 3, 4, 5, 6, 7] and scans == ["scan", "scan"]
    index.forget_answers()
    index.search("alpha")
    assert len(scans) == 3


def test_a_character_that_lowercases_to_ascii_is_noted_when_it_arrives(case, tmp_path: Path):
    # Patterns leave out İ and the Kelvin sign while the text holds neither; an extend must notice.
    case.store.text_index.update()
    header = case.store.text_index.files.header
    assert orjson.loads(header.read_bytes())["folds"] == []
    ingest(case, write(tmp_path / "b.json", records(6, 1, "25\u212a and ISTANBUL")))
    case.store.text_index.update()
    assert orjson.loads(header.read_bytes())["folds"] == ["\u212a"]
    assert list(case.store.text_index.search("25k")) == [6]
    assert ids(case, "25k", indexed=True) == ids(case, "25k", indexed=False) == {"ev-0006"}
    assert ids(case, "istanbul", indexed=True) == {"ev-0006"}


def test_leftovers_past_the_header_are_cut_off(case):
    case.store.text_index.update()
    files = case.store.text_index.files
    sizes = files.text.stat().st_size, files.offsets.stat().st_size
    with open(files.text, "ab") as text, open(files.offsets, "ab") as offsets:  # a crash mid-append
        text.write(b'{"half a record')
        offsets.write(b"\x01" * 8)
    assert list(case.store.text_index.search("alpha")) == [0, 1, 2, 3, 4, 5]  # the header still rules
    report = case.store.text_index.update()
    assert report is not None and not report.rebuilt and report.added == 0
    assert (files.text.stat().st_size, files.offsets.stat().st_size) == sizes


def _shorter_text(files) -> None:
    os.truncate(files.text, files.text.stat().st_size - 10)


def _shorter_offsets(files) -> None:
    os.truncate(files.offsets, 16)


def _offsets_out_of_order(files) -> None:
    pairs = np.fromfile(files.offsets, dtype="<i8").reshape(-1, 2)
    pairs[[1, 2], 1] = pairs[[2, 1], 1]  # two records' ends swapped; the last still ends the text
    pairs.astype("<i8").tofile(files.offsets)


def _garbled_header(files) -> None:
    files.header.write_bytes(b'{"store_id": ')


def _other_version(files) -> None:
    header = orjson.loads(files.header.read_bytes())
    files.header.write_bytes(orjson.dumps({**header, "version": 999}))


def _other_store(files) -> None:
    header = orjson.loads(files.header.read_bytes())
    files.header.write_bytes(orjson.dumps({**header, "store_id": "another store"}))


def _deleted(files) -> None:
    files.text.unlink()


@pytest.mark.parametrize(
    "damage",
    [_shorter_text, _shorter_offsets, _offsets_out_of_order, _garbled_header, _other_version, _other_store, _deleted],
)
def test_an_index_that_cannot_be_trusted_is_not_used_and_is_rebuilt(case, damage):
    case.store.text_index.update()
    damage(case.store.text_index.files)
    assert case.store.text_index.search("alpha") is None
    assert ids(case, "alpha", indexed=True) == {f"ev-{n:04d}" for n in range(6)}  # through the scan
    report = case.store.text_index.update()
    assert report is not None and report.rebuilt and report.records == 6
    assert list(case.store.text_index.search("alpha")) == [0, 1, 2, 3, 4, 5]


def test_a_rebuilt_store_makes_the_old_index_stale(tmp_path: Path, capsys):
    root = tmp_path / "case"
    assert main(["ingest", write(tmp_path / "a.json", records(0, 5, "gamma")), "--case", str(root)]) == 0
    old = orjson.loads((root / "events.duckdb.text.json").read_bytes())["store_id"]
    assert main(["rebuild", "--case", str(root)]) == 0
    assert "free-text index built" in capsys.readouterr().err  # the new store's id does not match
    with Case.open(root) as case:
        header = orjson.loads((root / "events.duckdb.text.json").read_bytes())
        assert header["store_id"] != old and header["store_id"] == case.store.meta("store_id")
        assert list(case.store.text_index.search("gamma")) == [0, 1, 2, 3, 4]


def test_records_past_the_last_finalized_event_are_never_indexed(case, tmp_path: Path):
    # A raw row no event points at: what an ingest that died before finalising leaves behind.
    case.store.con.execute("INSERT INTO raw_events VALUES (6, '{\"orphan\": \"ORPHANMARK\"}')")
    report = case.store.text_index.update()
    assert report is not None and report.records == 6
    assert list(case.store.text_index.search("ORPHANMARK")) == []
    case.close_store()  # reopening drops the orphan, and the next ingest reuses its rid
    ingest(case, write(tmp_path / "b.json", records(6, 1, "delta")))
    assert case.store.text_index.update().added == 1
    assert list(case.store.text_index.search("delta")) == [6]
    assert list(case.store.text_index.search("ORPHANMARK")) == []


def test_a_read_only_store_never_writes_the_index_but_uses_a_current_one(case):
    path = case.store.path
    case.close_store()
    reader = EventStore(path, read_only=True)
    try:
        assert reader.text_index.update() is None
        assert reader.text_index.search("alpha") is None
        assert sorted(p.name for p in path.parent.iterdir() if ".text" in p.name) == []
    finally:
        reader.close()
    assert case.store.text_index.update() is not None
    case.close_store()
    reader = EventStore(path, read_only=True)
    try:
        stamps = {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir() if ".text" in p.name}
        assert list(reader.text_index.search("ALPHA")) == [0, 1, 2, 3, 4, 5]
        assert reader.text_index.update() is None
        assert {p.name: p.stat().st_mtime_ns for p in path.parent.iterdir() if ".text" in p.name} == stamps
    finally:
        reader.close()


def test_a_cancelled_build_commits_what_it_wrote_and_the_next_update_finishes(case):
    stop = threading.Event()
    stop.set()
    report = case.store.text_index.update(cancel=stop)
    assert report is not None and report.records == 0
    assert case.store.text_index.search("alpha") is None  # covers nothing yet
    report = case.store.text_index.update()
    assert report is not None and not report.rebuilt and report.records == 6


def test_an_index_copied_with_its_case_stays_current(case, tmp_path: Path):
    case.store.text_index.update()
    case.close_store()
    shutil.copytree(case.root, tmp_path / "copy", ignore=shutil.ignore_patterns("case.lock"))
    with Case.open(tmp_path / "copy") as copy:
        assert list(copy.store.text_index.search("alpha")) == [0, 1, 2, 3, 4, 5]


def test_rids_out_of_order_stop_the_build():
    check_ascending(np.array([3, 4, 9]), after=2)
    for rids, after in (([3, 2], -1), ([2, 3], 2), ([5, 5], -1)):
        with pytest.raises(TextIndexError):
            check_ascending(np.array(rids), after=after)


def test_without_hyperscan_free_text_scans_and_nothing_is_written(case):
    path = case.store.path
    case.close_store()
    script = (
        "import sys\n"
        "sys.modules['hyperscan'] = None  # as if it could not be installed\n"
        "from investigations.store import EventStore\n"
        "from investigations.query import parse\n"
        f"store = EventStore({str(path)!r})\n"
        "assert store.text_index.update() is None and store.text_index.search('alpha') is None\n"
        "compiled = parse('ALPHA', search=store.text_index.search)\n"
        "print(store.count(compiled.where, compiled.params))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "6"
    assert not [p for p in path.parent.iterdir() if ".text" in p.name]
