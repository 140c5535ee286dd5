"""The committed sample case ingests whole: the figures below are the ones sample_logs/README.md states."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.support.cli import sql_rows
from tui.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"


def test_sample_logs_ingest_exactly_with_no_rejections(tmp_path, capsys):
    code = main(["ingest", str(SAMPLE), "--case", str(tmp_path / "case"), "--json"])
    out = orjson.loads(capsys.readouterr().out)
    # README: 2,448 events (2,010 management, 438 S3 data events) in 1,439 files; 584 signed digests.
    assert code == 0
    assert (out["events_added"], out["events_total"], out["duplicates"]) == (2448, 2448, 0)
    assert (out["rejected"], out["rejected_total"], out["digests"]) == ([], 0, 584)
    assert sorted(Path(s["path"]).name for s in out["skipped"]) == [
        "(digests)",
        "README.md",
        "scenario.json",
        "test-signing-key.public.pem",
    ]
    case = tmp_path / "case"
    assert sql_rows(case, "SELECT event_category, count(*) FROM events GROUP BY 1 ORDER BY 1", capsys) == [
        ["Data", 438],
        ["Management", 2010],
    ]
    assert sql_rows(case, "SELECT count(*) FROM files WHERE kind = 'events'", capsys) == [[1439]]
