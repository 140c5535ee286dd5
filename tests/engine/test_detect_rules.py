"""Each built-in rule against its story: the events that must fire it do, the look-alikes do not.

The stories (``detect_stories``) are written by hand, one per rule, and all live in one case so
the pack runs once; each test then reads the findings of one rule.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from investigations.case import Case
from investigations.detections import Finding, all_rules, run
from tests.engine.detect_records import case_with
from tests.engine.detect_stories import Story, all_stories

STORIES, RECORDS = all_stories()


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Finding]]]:
    case_dir = case_with(tmp_path_factory.mktemp("stories"), RECORDS)
    with Case.open(case_dir) as case:
        report = run(case.store)
    by_rule: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    yield by_rule


def test_every_rule_has_a_story_with_both_sides() -> None:
    geo_only = {"TH-NEW-ASN", "TH-NEW-COUNTRY"}  # tested with an ASN database in test_baseline
    ids = {rule.id for rule in all_rules()} - geo_only
    assert ids == set(STORIES)
    assert all(story.fire and story.quiet for story in STORIES.values())


@pytest.mark.parametrize("rule_id", sorted(STORIES))
def test_rule_fires_on_its_story_and_not_on_the_look_alikes(findings: dict[str, list[Finding]], rule_id: str) -> None:
    story: Story = STORIES[rule_id]
    flagged = {event_id for finding in findings.get(rule_id, []) for event_id in finding.event_ids}
    fire = {r["eventID"] for r in story.fire}
    quiet = {r["eventID"] for r in story.quiet}
    assert fire <= flagged, f"missed: {sorted(fire - flagged)}"
    assert not quiet & flagged, f"false positives: {sorted(quiet & flagged)}"
