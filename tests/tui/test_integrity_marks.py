"""The timeline marks events whose log file validation found tampered (issue 7)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson

from investigations.case import Case
from tui.cli import main
from tui.reader import Reader
from tui.screens.case_actions import integrity_marks

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"


def test_events_of_a_tampered_file_are_marked(tmp_path, capsys):
    evidence = tmp_path / "evidence"
    shutil.copytree(SAMPLE, evidence)
    victim = sorted(evidence.rglob("*_CloudTrail_us-east-1_20240507T03*.json.gz"))[0]
    records = orjson.loads(gzip.decompress(victim.read_bytes()))["Records"]
    records[0]["sourceIPAddress"] = "192.0.2.200"  # one field edited after delivery
    victim.write_bytes(gzip.compress(orjson.dumps({"Records": records})))
    expected_ids = {r["eventID"] for r in records}
    case = tmp_path / "case"
    assert main(["ingest", str(evidence), "--case", str(case)]) == 0
    with Case.open(case) as opened:
        assert integrity_marks(Reader(opened.store)) == {}  # never validated: nothing to say yet
    key = str(evidence / "test-signing-key.public.pem")
    assert main(["validate", str(evidence), "--public-key", key, "--case", str(case)]) == 1
    capsys.readouterr()
    with Case.open(case) as opened:
        reader = Reader(opened.store)
        marks = integrity_marks(reader)
        marked = {seq for seq, mark in marks.items() if mark == ("✗", "timeline--tampered")}
        ids = {
            row[0]
            for row in reader.fetch("SELECT event_id FROM events WHERE seq IN (SELECT unnest(?))", [sorted(marked)])
        }
        reader.close()
    assert ids == expected_ids
    assert all(mark[0] == "✗" for mark in marks.values())  # every other file validated
