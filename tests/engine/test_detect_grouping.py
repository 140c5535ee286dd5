"""Findings from hits: bursts per actor, stable ids, ranking, and the facts a finding carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from investigations.detections.grouping import Hit, build, bursts, finding_id, rank
from investigations.detections.registry import Severity

T = datetime(2024, 5, 1, 8, 0, 0)


@dataclass(frozen=True)
class Meta:
    id: str = "TH-TEST"
    title: str = "test rule"
    severity: Severity = Severity.MEDIUM
    technique: str = "T1078"
    why: str = "because"


def hit(seq: int, minutes: float, actor: str = "A", key: str | None = "AKIA1", region: str = "us-east-1") -> Hit:
    return Hit(seq, T + timedelta(minutes=minutes), f"e{seq}", actor, key, "111122223333", region)


def test_a_burst_ends_after_the_quiet_gap_and_actors_never_mix() -> None:
    hits = [hit(1, 0), hit(2, 10), hit(3, 5, actor="B"), hit(4, 41), hit(5, 71)]
    groups = bursts(hits, timedelta(minutes=30))
    assert sorted([h.event_id for h in g] for g in groups) == [["e1", "e2"], ["e3"], ["e4", "e5"]]


def test_a_gap_of_exactly_the_limit_keeps_the_burst() -> None:
    groups = bursts([hit(1, 0), hit(2, 30)], timedelta(minutes=30))
    assert [[h.seq for h in g] for g in groups] == [[1, 2]]


def test_finding_facts() -> None:
    hits = [
        hit(7, 3, key="ASIA2", region="eu-west-1"),
        hit(5, 0, key=None),
        hit(6, 1, key="ASIA1"),
        *[Hit(10 + i, T + timedelta(minutes=5), f"x{i}", "A", None, None, None, f"d{i}") for i in range(7)],
    ]
    finding = build(Meta(), hits)
    assert finding.event_ids == ["e5", "e6", "e7", "x0", "x1", "x2", "x3", "x4", "x5", "x6"]
    assert finding.seqs == [5, 6, 7, 10, 11, 12, 13, 14, 15, 16]
    assert (finding.first_seen, finding.last_seen) == (T, T + timedelta(minutes=5))
    assert finding.access_key == "ASIA1" and finding.access_keys == ["ASIA1", "ASIA2"]
    assert finding.regions == ["eu-west-1", "us-east-1"] and finding.accounts == ["111122223333"]
    assert finding.detail == "d0; d1; d2; d3; d4; and 2 more"
    assert finding.count == 10
    assert finding.id == finding_id("TH-TEST", "A", "e5")


def test_ids_depend_on_rule_actor_and_first_event_only() -> None:
    one = build(Meta(), [hit(1, 0), hit(2, 1)])
    two = build(Meta(), [hit(1, 0), hit(2, 1), hit(3, 2)])
    other_rule = build(Meta(id="TH-OTHER"), [hit(1, 0)])
    assert one.id == two.id != other_rule.id
    assert one.id.startswith("F-") and len(one.id) == 12


def test_ranking_is_severity_then_time() -> None:
    late_high = build(Meta(severity=Severity.HIGH), [hit(9, 60)])
    early_high = build(Meta(id="TH-B", severity=Severity.HIGH), [hit(1, 0)])
    critical = build(Meta(id="TH-C", severity=Severity.CRITICAL), [hit(5, 30)])
    info = build(Meta(id="TH-D", severity=Severity.INFO), [hit(0, -10)])
    assert [f.rule_id for f in rank([info, late_high, critical, early_high])] == ["TH-C", "TH-B", "TH-TEST", "TH-D"]


def test_json_form_has_the_contract_fields() -> None:
    doc = build(Meta(), [hit(1, 0)]).as_dict()
    assert doc["severity"] == "medium"
    assert doc["first_seen"] == doc["last_seen"] == "2024-05-01T08:00:00Z"
    assert {"rule_id", "title", "technique", "event_ids", "actor", "access_key", "why", "count"} <= set(doc)
