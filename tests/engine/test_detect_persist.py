"""Findings kept in the case store for the workbench: listing, lookup, per-event marks, staleness.

The case: bob's key opens SSH to the world (high) from a new address after a day at the office,
and in the same minute creates a key for carol (high); then nothing else happens.
"""

from __future__ import annotations

from pathlib import Path

from investigations.case import Case
from investigations.detections import Severity, findings_by_seq, findings_stale, get_finding, load_findings, run
from investigations.evidence import SourceOptions, ingest_sources
from investigations.simulate.writer import write_jsonl
from tests.engine.detect_records import ACCOUNT, CLI, EC2, INTRUDER_IP, S3, at, case_with, world

SSH = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}


def _records() -> dict[str, dict[str, object]]:
    w = world()
    bob = w.iam_user(ACCOUNT, "bob", ip="198.51.100.7", user_agent=CLI)
    x = bob.at(ip=INTRUDER_IP)
    key, _ = x.create_access_key("carol", at(2 * 24 * 60 + 1))
    request = {"groupId": "sg-1", "ipPermissions": {"items": [SSH]}}
    return {
        "d0": bob.call(S3, "ListBuckets", at(0)),
        "d1": bob.call(S3, "ListBuckets", at(24 * 60)),
        "ssh": x.call(EC2, "AuthorizeSecurityGroupIngress", at(2 * 24 * 60), request=request),
        "key": key,
    }


NAMED = _records()


def test_before_any_run_there_is_nothing_to_show(tmp_path: Path) -> None:
    with Case.open(case_with(tmp_path, list(NAMED.values()))) as case:
        assert load_findings(case.store) == []
        assert findings_by_seq(case.store, 0, 10) == {}
        assert get_finding(case.store, "F-0000000000") is None
        assert not findings_stale(case.store)


def test_marks_lookup_and_staleness(tmp_path: Path) -> None:
    case_dir = case_with(tmp_path, list(NAMED.values()))
    with Case.open(case_dir) as case:
        store = case.store
        ranked = run(store).findings
        assert load_findings(store) == ranked
        high = load_findings(store, Severity.HIGH)
        assert {f.rule_id for f in high} == {"TH-NET-SG-OPEN-ADMIN", "TH-IAM-BACKDOOR-KEY"}
        assert get_finding(store, high[0].id) == high[0]
        seqs = {r[0]: r[1] for r in store.sql("SELECT event_id, seq FROM events")[1]}
        ssh = seqs[NAMED["ssh"]["eventID"]]
        marks = findings_by_seq(store, 0, 100)
        assert set(marks) == {f_seq for f in ranked for f_seq in f.seqs}
        severities = [sev for _, sev in marks[ssh]]
        assert severities == sorted(severities, reverse=True) and severities[0] is Severity.HIGH
        assert marks.get(seqs[NAMED["d0"]["eventID"]]) is None
        assert not findings_stale(store)
        late = (
            world().iam_user(ACCOUNT, "bob", ip="198.51.100.7", user_agent=CLI).call(S3, "ListBuckets", at(3 * 24 * 60))
        )
        write_jsonl([late], tmp_path / "more" / "late.jsonl")
        ingest_sources(case, [str(tmp_path / "more" / "late.jsonl")], SourceOptions(workers=0))
        assert findings_stale(store)
