"""Alarms for next time: EventBridge patterns, metric filters and Sigma rules built from findings.

The CIS alarms are compared with the benchmark's own metric filters; the generated Sigma rules
are fed back into Trailhound's Sigma engine and must find what the built-in rule found.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from investigations.case import Case
from investigations.detections import DetectOptions, Finding, alarm_for, get_rule, load_findings, run, sigma
from investigations.detections.alarms import eventbridge, metric_filter
from investigations.detections.context import Context
from investigations.detections.registry import Match, eq
from investigations.store import EventStore
from tests.engine.detect_records import ACCOUNT, case_with
from tests.engine.detect_stories import all_stories

STORIES, RECORDS = all_stories()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    case_dir = case_with(tmp_path_factory.mktemp("alarms"), RECORDS)
    with Case.open(case_dir) as case:
        run(case.store)
        yield case.store


def _finding(store: EventStore, rule_id: str, actor: str | None = None) -> Finding:
    found = [f for f in load_findings(store) if f.rule_id == rule_id and (actor is None or f.actor == actor)]
    assert found, rule_id
    return found[0]


def test_root_use_alarm_is_the_cis_filter(store: EventStore) -> None:
    alarm = alarm_for(store, _finding(store, "TH-CIS-4.3"))
    assert alarm.metric_filter == (
        '{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) && '
        '($.eventType != "AwsServiceEvent") }'
    )
    assert alarm.eventbridge == {
        "detail-type": [
            "AWS API Call via CloudTrail",
            "AWS Console Sign In via CloudTrail",
            "AWS Console Action via CloudTrail",
        ],
        "detail": {
            "userIdentity": {"type": ["Root"], "invokedBy": [{"exists": False}]},
            "eventType": [{"anything-but": ["AwsServiceEvent"]}],
        },
    }


def test_unauthorized_calls_alarm_uses_prefix_and_suffix_matching(store: EventStore) -> None:
    alarm = alarm_for(store, _finding(store, "TH-CIS-4.1"))
    assert alarm.metric_filter == (
        '{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
    )
    assert alarm.eventbridge["detail"] == {
        "errorCode": [{"suffix": "UnauthorizedOperation"}, {"prefix": "AccessDenied"}],
        "sourceIPAddress": [{"anything-but": ["delivery.logs.amazonaws.com"]}],
        "eventName": [{"anything-but": ["HeadBucket"]}],
    }
    assert "source" not in alarm.eventbridge


def test_sign_in_alarm_targets_the_sign_in_detail_type(store: EventStore) -> None:
    alarm = alarm_for(store, _finding(store, "TH-CIS-4.2"))
    assert alarm.eventbridge["source"] == ["aws.signin"]
    assert alarm.eventbridge["detail-type"] == ["AWS Console Sign In via CloudTrail"]
    assert alarm.eventbridge["detail"]["additionalEventData"] == {"MFAUsed": [{"anything-but": ["Yes", "YES", "yes"]}]}


def test_source_names_follow_eventbridge_conventions() -> None:
    match = Match(
        where=(eq("eventSource", "monitoring.amazonaws.com", "logs.amazonaws.com"), eq("eventName", "DeleteAlarms"))
    )
    assert eventbridge(match)["source"] == ["aws.cloudwatch", "aws.logs"]
    glob = Match("lambda.amazonaws.com", ("CreateFunctionUrlConfig*",))
    assert eventbridge(glob)["detail"]["eventName"] == [{"prefix": "CreateFunctionUrlConfig"}]
    assert metric_filter(glob) == (
        '{ ($.eventSource = "lambda.amazonaws.com") && ($.eventName = "CreateFunctionUrlConfig*") }'
    )


SIMPLE = sorted(
    rule_id
    for rule_id in STORIES
    if (rule := get_rule(rule_id)) is not None and rule.detect is None and rule.check is None
)


def _sigma_hits(store: EventStore, tmp_path: Path, text: str) -> set[str]:
    """Events the Sigma text matches, evaluated without replacing the stored findings."""
    (tmp_path / "alarm.yml").write_text(text, encoding="utf-8")
    pack = sigma.load(tmp_path)
    assert pack.problems == [] or all(p.kind == "unsupported" and "correlation" in p.reason for p in pack.problems)
    ctx = Context(store, DetectOptions())
    try:
        return {hit.event_id for info in pack.rules for hit in sigma.evaluate(ctx, info)}
    finally:
        ctx.close()


@pytest.mark.parametrize("rule_id", SIMPLE)
def test_generated_sigma_finds_what_the_rule_found(store: EventStore, tmp_path: Path, rule_id: str) -> None:
    builtin = {e for f in load_findings(store) if f.rule_id == rule_id for e in f.event_ids}
    alarm = alarm_for(store, _finding(store, rule_id))
    assert _sigma_hits(store, tmp_path, alarm.sigma) == builtin


def test_checked_rules_alarm_on_a_superset_and_say_what_it_adds(store: EventStore, tmp_path: Path) -> None:
    finding = _finding(store, "TH-IAM-BACKDOOR-KEY")
    alarm = alarm_for(store, finding)
    assert alarm.eventbridge["detail"]["requestParameters"] == {"userName": [{"exists": True}]}
    assert set(finding.event_ids) <= _sigma_hits(store, tmp_path, alarm.sigma)


def test_volume_rules_carry_a_threshold_and_a_correlation(store: EventStore) -> None:
    alarm = alarm_for(store, _finding(store, "TH-CRED-SECRET-BURST"))
    assert alarm.as_dict()["metric_alarm"] == {"threshold": 20, "period_minutes": 10}
    rule, correlation = list(yaml.safe_load_all(alarm.sigma))
    assert correlation["correlation"] == {
        "type": "event_count",
        "rules": [rule["name"]],
        "group-by": ["userIdentity.arn"],
        "timespan": "10m",
        "condition": {"gte": 20},
    }


def test_newly_observed_alarm_is_about_that_principal_and_its_known_networks(store: EventStore) -> None:
    kim = f"arn:aws:iam::{ACCOUNT}:user/kim"
    alarm = alarm_for(store, _finding(store, "TH-NEW-NETWORK", kim))
    assert alarm.eventbridge["detail"] == {
        "userIdentity": {"arn": [kim]},
        "sourceIPAddress": [{"anything-but": {"wildcard": ["198.51.100.*"]}}],
    }
    assert alarm.metric_filter == f'{{ ($.userIdentity.arn = "{kim}") && ($.sourceIPAddress != "198.51.100.*") }}'


def test_alarm_ids_are_stable_across_runs(store: EventStore) -> None:
    before = {(f.id, f.rule_id) for f in load_findings(store)}
    run(store)
    assert {(f.id, f.rule_id) for f in load_findings(store)} == before
