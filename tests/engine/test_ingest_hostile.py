"""Bad input never crashes and is never silently dropped.

Each case: a folder holding one good file (two records) beside one bad file. The good records
must be stored, the bad file (or its bad records) listed with its path and a reason, in the
``--json`` output and in the case's ``rejections`` table, and the exit code must be 1.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import orjson
import pytest

from tests.support.cli import sql_rows
from tui.cli import main


def record(n: int, **extra: object) -> dict:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T08:{n:02d}:00Z",
        "eventID": f"bbbbbbbb-0000-4000-8000-{n:012d}",
        "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        **extra,
    }


GOOD = gzip.compress(orjson.dumps({"Records": [record(1), record(2)]}))


def run_ingest(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = main(["ingest", str(folder), "--case", str(tmp_path / "case"), "--json", *extra])
    return code, orjson.loads(capsys.readouterr().out)


def stored_rejections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[list]:
    return sql_rows(tmp_path / "case", "SELECT path, record, reason FROM rejections ORDER BY path, record", capsys)


def evidence(tmp_path: Path, name: str, body: bytes) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "good.json.gz").write_bytes(GOOD)
    (folder / name).write_bytes(body)
    return folder


def deep(n: int) -> bytes:
    return b'{"Records":[' + b"[" * n + b"]" * n + b"]}"


HOSTILE_FILES = {
    "truncated": (
        "cut.json.gz",
        gzip.compress(orjson.dumps({"Records": [record(3), record(4)]}))[:-30],
        "truncated gzip",
    ),
    "not-gzip": ("fake.json.gz", b"this is not gzip at all", "not JSON"),
    "empty": ("empty.json.gz", b"", "empty file"),
    "invalid-json": ("bad.json", b'{"Records": [{"eventTime": "2024-05-01T08:00:00Z",,]}', "JSON breaks off"),
    "records-not-list": ("shape.json", b'{"Records": {"eventTime": "x"}}', "unexpected shape"),
    "deep-nesting": ("deep.json", deep(100_000), "nested too deep"),
    "corrupt-gzip": ("corrupt.json.gz", GOOD[:10] + b"\xff" * 40 + GOOD[50:], "corrupt gzip"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_bad_file_listed_good_kept(tmp_path, capsys, case):
    name, body, reason = HOSTILE_FILES[case]
    code, out = run_ingest(evidence(tmp_path, name, body), tmp_path, capsys)
    assert code == 1
    assert out["events_total"] >= 2
    bad = [r for r in out["rejected"] if r["path"].endswith(name)]
    assert bad and reason in bad[0]["reason"]
    assert out["rejected_total"] == len(out["rejected"])
    stored = stored_rejections(tmp_path, capsys)
    assert [row for row in stored if row[0].endswith(name)] == [[r["path"], r.get("record"), r["reason"]] for r in bad]


def test_truncated_gzip_keeps_whole_records_before_the_cut(tmp_path, capsys):
    body = orjson.dumps({"Records": [record(n) for n in range(10, 60)]})
    cut = gzip.compress(body)[: len(gzip.compress(body)) * 2 // 3]
    code, out = run_ingest(evidence(tmp_path, "cut.json.gz", cut), tmp_path, capsys)
    assert code == 1
    kept = out["events_total"] - 2
    assert 0 < kept < 50
    assert any(f"{kept} records before it kept" in r["reason"] for r in out["rejected"])


def test_bad_records_inside_a_good_file(tmp_path, capsys):
    records = [
        record(3),
        17,
        "text",
        record(4, eventTime="yesterday"),
        {"no": "cloudtrail"},
        {"eventID": "no-time", "eventVersion": "1.08"},
        record(5),
    ]
    code, out = run_ingest(evidence(tmp_path, "mixed.json", orjson.dumps({"Records": records})), tmp_path, capsys)
    assert code == 1
    assert out["events_added"] == 4  # two from good.json.gz, records 1 and 7 here
    reasons = {r["record"]: r["reason"] for r in out["rejected"]}
    assert reasons == {
        2: "not a JSON object (a int)",
        3: "not a JSON object (a str)",
        4: "eventTime 'yesterday' is not a CloudTrail time",
        5: "not a CloudTrail record (no eventTime, eventID or eventVersion)",
        6: "record has no eventTime",
    }


def test_invalid_utf8_rejects_only_that_record(tmp_path, capsys):
    good = orjson.dumps(record(3))
    bad = orjson.dumps(record(4, userAgent="UA")).replace(b'"UA"', b'"U\xff\xfeA"')
    body = b'{"Records":[' + good + b"," + bad + b"]}"
    code, out = run_ingest(evidence(tmp_path, "utf8.json", body), tmp_path, capsys)
    assert (code, out["events_added"]) == (1, 3)
    assert [(r["record"], r["reason"].split(" at ")[0]) for r in out["rejected"]] == [(2, "invalid UTF-8")]


def test_gzip_bomb_refused_under_the_cap(tmp_path, capsys):
    bomb = gzip.compress(b"{" + b" " * (8 * 2**20) + b"}")  # 8 MiB of air in ~8 KB
    assert len(bomb) < 100_000
    code, out = run_ingest(evidence(tmp_path, "bomb.json.gz", bomb), tmp_path, capsys, "--max-decompressed", "1")
    assert code == 1
    assert out["events_total"] == 2
    assert "gzip bomb" in next(r for r in out["rejected"] if r["path"].endswith("bomb.json.gz"))["reason"]


def test_fifty_megabyte_field(tmp_path, capsys):
    huge = record(3, userAgent="A" * (50 * 2**20))
    code, out = run_ingest(
        evidence(tmp_path, "huge.json", orjson.dumps({"Records": [huge, record(4)]})), tmp_path, capsys
    )
    assert (code, out["events_added"]) == (1, 3)
    assert out["rejected"][0]["record"] == 1
    assert "over the 8 MiB limit" in out["rejected"][0]["reason"]


def test_symlink_loop_ends(tmp_path, capsys):
    folder = evidence(tmp_path, "b.json", orjson.dumps(record(3)))
    os.symlink(folder, folder / "loop")
    os.symlink(folder / "missing-target", folder / "dangling.json")
    code, out = run_ingest(folder, tmp_path, capsys)
    assert code == 1
    assert out["events_total"] == 3
    assert [r["reason"] for r in out["rejected"]] == ["broken symbolic link"]
    assert any("symbolic link loop" in s["reason"] for s in out["skipped"])


def test_nothing_usable_exits_2(tmp_path, capsys):
    (tmp_path / "junk.json").write_bytes(b"not json")
    code, out = run_ingest(tmp_path / "junk.json", tmp_path, capsys)
    assert code == 2
    assert out["events_total"] == 0
    assert out["rejected"][0]["path"].endswith("junk.json")


def test_missing_path_exits_2(tmp_path, capsys):
    code, out = run_ingest(tmp_path / "does-not-exist", tmp_path, capsys)
    assert code == 2
    assert out["rejected"] == [{"path": str(tmp_path / "does-not-exist"), "reason": "no such file or folder"}]
