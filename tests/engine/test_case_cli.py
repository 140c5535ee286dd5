"""``trailhound case``: every item kind added, edited, listed and removed headless, with --json."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from tests.engine.test_case_scenario import ATTACKER_IP, build
from tui.cli import main


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, orjson.loads(out) if out.strip() else {}


def test_items_round_trip_through_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = build(tmp_path)
    root = tmp_path / "case"
    with Case.open(root) as case:
        ingest_sources(case, [str(world.path)], SourceOptions(workers=0))
    c = ["--case", str(root), "--json"]

    code, out = _json(
        capsys,
        "case",
        "finding",
        "add",
        "--title",
        "Key used from VPS",
        "--severity",
        "high",
        "--technique",
        "T1078.004",
        "--event",
        world.event_id(0),
        "--entity",
        f"ip:{ATTACKER_IP}",
        *c,
    )
    assert code == 0
    assert out["items"][0]["id"] == "F-1"
    assert out["items"][0]["event_ids"] == [world.event_id(0)]

    code, out = _json(capsys, "case", "finding", "edit", "F-1", "--status", "confirmed", *c)
    assert out["items"][0]["status"] == "confirmed"
    _json(capsys, "case", "bookmark", "add", world.event_id(5), "--note", "after containment", *c)
    _json(capsys, "case", "note", "add", "called the owner", "--about", "finding:F-1", *c)
    _json(capsys, "case", "tag", "add", f"access_key:{world.session_key}", "stolen", *c)
    code, out = _json(capsys, "case", "ioc", "add", "ip", ATTACKER_IP, "--finding", "F-1", *c)
    assert (out["items"][0]["events"], out["items"][0]["finding_id"]) == (5, "F-1")
    code, out = _json(
        capsys, "case", "contain", "add", "disable_key", world.alice_key, "--at", "2024-05-01T09:00:00Z", *c
    )
    assert out["items"][0]["at"] == "2024-05-01T09:00:00Z"

    code, listing = _json(capsys, "case", "list", *c)
    assert code == 0
    assert {k: len(v) for k, v in listing.items()} == {
        "findings": 1,
        "bookmarks": 1,
        "notes": 1,
        "tags": 1,
        "iocs": 1,
        "containment": 1,
        "sources": 1,
    }
    _json(capsys, "case", "note", "rm", "N-1", *c)
    code, listing = _json(capsys, "case", "list", "notes", *c)
    assert listing == {"notes": []}

    code, check = _json(capsys, "case", "verify", *c)
    assert (code, check["intact"], check["problems"]) == (0, True, [])
    assert check["entries"] == 10  # created, source, finding, edit, bookmark, note, tag, ioc, containment, rm


def test_mistakes_are_usage_errors_that_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "case"
    assert main(["case", "note", "add", "first", "--case", str(root)]) == 2  # no case yet: not created
    with Case.open(root):
        pass
    assert main(["case", "ioc", "add", "ip", "not-an-ip", "--case", str(root)]) == 2
    assert "'not-an-ip' is not an IP address" in capsys.readouterr().err
    assert main(["case", "finding", "edit", "F-4", "--status", "closed", "--case", str(root)]) == 2
    assert "has no finding F-4" in capsys.readouterr().err
    with Case.open(root) as case:
        assert case.journal.head.entries == 1


def test_verify_reports_tampering_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "case"
    with Case.open(root):
        pass
    main(["case", "note", "add", "original", "--case", str(root)])
    journal = root / "journal.jsonl"
    journal.write_bytes(journal.read_bytes().replace(b'"original"', b'"forged"'))
    capsys.readouterr()
    assert main(["case", "verify", "--case", str(root)]) == 1
    assert "line 2: content changed after it was written" in capsys.readouterr().out
