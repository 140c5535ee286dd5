"""Every real public CloudTrail record in ../shared/corpus goes through the decoder.

Zero crashes; every record either stored or rejected with a reason; and spot checks of values
read off particular corpus files by eye. Skipped when the corpus is not beside the project.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from investigations.decode import Decoded, parse_bytes, tabulate
from investigations.sources.files import scan_paths

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not present")


def decode_all() -> list[tuple[Path, Decoded]]:
    out = []
    files = [
        p for p in sorted(CORPUS.rglob("*")) if p.is_file() and p.suffix not in (".md", "") and "LICENSE" not in p.name
    ]
    for number, path in enumerate(files):
        decoded = parse_bytes(path.read_bytes(), str(path))
        tabulate([(number, decoded)])
        out.append((path, decoded))
    return out


def test_every_record_is_stored_or_explained():
    results = decode_all()
    assert len(results) > 600
    events = sum(d.events for _, d in results)
    assert events > 500
    for path, decoded in results:
        rejected_records = {r.record for r in decoded.rejections if r.record is not None}
        assert all(r.reason for r in decoded.rejections), path
        if decoded.kind == "events" and not any(r.record is None for r in decoded.rejections):
            assert decoded.events + len(rejected_records) == decoded.records_seen, path


def test_traildiscover_records_all_decode():
    """TrailDiscover's 563 real records are CloudTrail as AWS wrote it: none may be rejected."""
    folder = CORPUS / "traildiscover"
    results = [(p, parse_bytes(p.read_bytes(), str(p))) for p in sorted(folder.glob("*.cloudtrail"))]
    for path, decoded in results:
        tabulate([(0, decoded)])
        assert decoded.rejections == [], (path.name, decoded.rejections)
    assert sum(d.events for _, d in results) >= 563


def test_invalid_json_blocks_are_rejected_cleanly():
    bad = sorted(CORPUS.rglob("*.invalid-json.txt"))
    assert bad
    for path in bad:
        decoded = parse_bytes(path.read_bytes(), str(path))
        tabulate([(0, decoded)])
        assert decoded.rejections, path.name


def test_lookup_events_output_unwraps_cloudtrailevent_strings():
    path = CORPUS / "misc" / "aws-cli" / "lookup-events.output.json"
    body = orjson.loads(path.read_bytes())
    expected_ids = sorted(orjson.loads(e["CloudTrailEvent"])["eventID"] for e in body["Events"])
    decoded = parse_bytes(path.read_bytes(), str(path))
    table = tabulate([(0, decoded)])
    assert decoded.rejections == []
    assert sorted(table.column("event_id").to_pylist()) == expected_ids


def test_digest_bodies_are_recognised_not_rejected():
    folder = CORPUS / "misc" / "llm-guard"
    scan = scan_paths([str(folder)])
    assert (scan.units, len(scan.digests)) == ([], 1)  # set aside by name for validation
    decoded = parse_bytes(Path(scan.digests[0]).read_bytes(), scan.digests[0])
    assert (decoded.kind, decoded.rejections) == ("digest", [])  # and recognised by content too
