"""Real labelled events from Panther's rule tests (../shared/corpus/panther-dev) against our rules.

Where a Panther rule asks the same question as one of ours, its test events carry an answer
written by someone else: ``expected`` says whether that rule fires. Each event gets a fresh
eventID (the test events reuse theirs) and a time if it has none. Skipped without the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from investigations.case import Case
from investigations.detections import get_rule, run
from tests.engine.detect_records import case_with

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "panther-dev" / "rule_tests.jsonl"
pytestmark = pytest.mark.skipif(not CORPUS.is_file(), reason="../shared/corpus is not present")

SAME_QUESTION = {
    "AWS.IAM.Backdoor.User.Keys": "TH-IAM-BACKDOOR-KEY",
    "AWS.CloudTrail.LoginProfileCreatedOrModified": "TH-IAM-BACKDOOR-LOGIN",
    "AWS.S3.DeletePublicAccessBlock": "TH-EXF-BUCKET-PUBLIC",
}


def _labelled() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        return []
    out = []
    for number, line in enumerate(CORPUS.read_bytes().splitlines()):
        test = orjson.loads(line)
        if test["rule_id"] in SAME_QUESTION:
            event = {k: v for k, v in test["event"].items() if not k.startswith("p_")}
            event["eventID"] = f"panther-{number}"
            event.setdefault("eventTime", "2024-05-01T08:00:00Z")
            out.append(
                {
                    "ours": SAME_QUESTION[test["rule_id"]],
                    "name": test["test_name"],
                    "expected": test["expected"],
                    "event": event,
                }
            )
    return out


LABELLED = _labelled()


@pytest.fixture(scope="module")
def flagged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[set[tuple[str, str]]]:
    case_dir = case_with(tmp_path_factory.mktemp("panther"), [t["event"] for t in LABELLED])
    rules = [r for r in (get_rule(i) for i in set(SAME_QUESTION.values())) if r is not None]
    with Case.open(case_dir) as case:
        report = run(case.store, rules=rules)
    yield {(f.rule_id, e) for f in report.findings for e in f.event_ids}


@pytest.mark.parametrize("test", LABELLED, ids=[f"{t['ours']}:{t['name']}" for t in LABELLED])
def test_our_rule_agrees_with_panthers_label(flagged: set[tuple[str, str]], test: dict[str, Any]) -> None:
    assert ((test["ours"], test["event"]["eventID"]) in flagged) is test["expected"]
