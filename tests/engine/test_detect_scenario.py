"""The whole pack against the simulator's key-compromise scenario, judged by its ground truth.

The scenario (``investigations.simulate``) leaks marta's key amid background noise and records
which events make up each attack step in ``scenario.json``. Which rule should catch which step
is written here by hand, from the steps' descriptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from investigations.case import Case
from investigations.detections import Finding, Severity, run
from investigations.evidence import SourceOptions, ingest_sources
from investigations.simulate import generate

EXPECTED = {
    "first-use": {"TH-NEW-NETWORK", "TH-RECON-NEW-NETWORK"},  # the key tried from a new address
    "recon": {"TH-CIS-4.1", "TH-RECON-NEW-NETWORK"},  # enumeration with AccessDenied bursts
    "backdoor-key": {"TH-IAM-BACKDOOR-KEY"},  # a key created for backup-svc
    "open-ssh": {"TH-NET-SG-OPEN-ADMIN"},  # SSH opened to the world
    "share-snapshot": {"TH-EXF-SNAPSHOT-SHARED"},  # shared with account 999988887777
    "stop-logging": {"TH-CIS-4.5"},  # the account trail stopped
    "cross-account": {"TH-NEW-NETWORK"},  # CrossAccountDeploy from the intruder's network
    "role-chain": {"TH-NEW-NETWORK"},  # DataAdmin from the intruder's network
    "exfiltration": {"TH-EXF-S3-DOWNLOAD-SPIKE"},  # customer exports downloaded
    "key-check": {"TH-KEY-DISTANT-NETWORKS"},  # owner and intruder minutes apart
    "backdoor-use": {"TH-NEW-NETWORK"},  # the planted key from a second address
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], list[Finding]]]:
    root = tmp_path_factory.mktemp("scenario")
    start = datetime(2024, 5, 6, tzinfo=UTC)
    generate("key-compromise", root / "logs", events=4000, seed=7, start=start, days=3, layout="jsonl")
    truth = orjson.loads((root / "logs" / "scenario.json").read_bytes())
    with Case.open(root / "case") as case:
        ingest_sources(case, [str(root / "logs" / "events.jsonl")], SourceOptions(workers=0))
        yield truth, run(case.store).findings


@pytest.mark.parametrize("step", sorted(EXPECTED))
def test_each_attack_step_is_caught_by_its_rule(outcome: tuple[dict[str, Any], list[Finding]], step: str) -> None:
    truth, findings = outcome
    (events,) = [set(s["event_ids"]) for s in truth["attack"]["steps"] if s["name"] == step]
    caught = {f.rule_id for f in findings if events & set(f.event_ids)}
    assert EXPECTED[step] <= caught


def test_every_step_of_the_scenario_has_an_expectation(outcome: tuple[dict[str, Any], list[Finding]]) -> None:
    truth, _ = outcome
    assert {s["name"] for s in truth["attack"]["steps"]} - set(EXPECTED) == {"assume-role"}


def test_no_high_finding_is_made_of_background_alone(outcome: tuple[dict[str, Any], list[Finding]]) -> None:
    truth, findings = outcome
    attack = set(truth["attack"]["event_ids"])
    noise = [(f.rule_id, f.actor) for f in findings if f.severity >= Severity.HIGH and not attack & set(f.event_ids)]
    assert noise == []


def test_findings_come_grouped_not_one_per_event(outcome: tuple[dict[str, Any], list[Finding]]) -> None:
    _, findings = outcome
    (spike,) = [f for f in findings if f.rule_id == "TH-EXF-S3-DOWNLOAD-SPIKE"]
    assert spike.count > 10
    assert spike.actor.endswith("assumed-role/DataAdmin/marta")
    assert spike.first_seen < spike.last_seen
