"""Sigma rules (tests/data/sigma, written for these tests) evaluated against a nine-event case.

The events, and which rules must match them:

    create   alice (CLI, office)      iam CreateUser eve
    selfkey  alice (CLI, office)      iam CreateAccessKey for alice herself
    boto     intruder (Boto3 1.34)    ec2 DescribeInstances, us-east-1, from 203.0.113.9
    stop     bob (CLI) over IPv6      cloudtrail StopLogging from 2001:db8::5
    delete   bob (CLI, office)        cloudtrail DeleteTrail, AccessDenied
    get      alice (CLI, office)      s3 GetObject prod-data, 5 MB out
    login    alice (browser)          ConsoleLogin, no MFA, success
    ingress  alice (CLI, office)      ec2 AuthorizeSecurityGroupIngress sg-0123456789abcdef0
    vpcs     alice (CLI, office)      ec2 DescribeVpcs, us-west-1
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from investigations.case import Case
from investigations.detections import Severity, alarm_for, run, sigma
from investigations.detections.runner import DetectReport
from tests.engine.detect_records import ACCOUNT, BOTO, CLI, EC2, IAM, INTRUDER_IP, alice, at, case_with, world

RULES = Path(__file__).resolve().parents[1] / "data" / "sigma"
PREFIX = "SIGMA-0b7c3f7a-"


def _events() -> dict[str, dict[str, object]]:
    w = world()
    a = alice(w)
    bob = w.iam_user(ACCOUNT, "bob", ip="198.51.100.7", user_agent=CLI)
    intruder = a.at(ip=INTRUDER_IP, user_agent=BOTO)
    trail = "cloudtrail.amazonaws.com"
    login, _ = w.console_login(ACCOUNT, "alice", at(5), ip="198.51.100.7", browser="Mozilla/5.0 Firefox/125.0")
    selfkey, _ = a.create_access_key("alice", at(1))
    ingress = {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": []}}
    return {
        "create": a.call(IAM, "CreateUser", at(0), request={"userName": "eve"}),
        "selfkey": selfkey,
        "boto": intruder.call(EC2, "DescribeInstances", at(2), region="us-east-1"),
        "stop": bob.at(ip="2001:db8::5").call(trail, "StopLogging", at(3), request={"name": "org-trail"}),
        "delete": bob.call(trail, "DeleteTrail", at(4), request={"name": "org-trail"}, error="AccessDenied"),
        "get": a.s3_object("GetObject", "prod-data", at(6), key="q1.csv", bytes_out=5_000_000),
        "login": login,
        "ingress": a.call(EC2, "AuthorizeSecurityGroupIngress", at(7), request=ingress),
        "vpcs": a.call(EC2, "DescribeVpcs", at(8), region="us-west-1"),
    }


EVENTS = _events()
EXPECTED = {
    "1111-4c1e-9a00-000000000001": {"create", "selfkey"},
    "1111-4c1e-9a00-000000000002": {"boto"},
    "1111-4c1e-9a00-000000000003": {"boto"},
    "1111-4c1e-9a00-000000000004": {"boto", "stop"},
    "1111-4c1e-9a00-000000000005": {"ingress", "vpcs"},
    "1111-4c1e-9a00-000000000006": {"vpcs"},
    "1111-4c1e-9a00-000000000007": {"selfkey"},
    "1111-4c1e-9a00-000000000008": {"get"},
    "1111-4c1e-9a00-000000000009": set(),
    "1111-4c1e-9a00-000000000010": {"stop"},
    "2222-4c1e-9a00-000000000001": {"stop", "delete"},
    "2222-4c1e-9a00-000000000002": {"stop", "ingress"},
    "2222-4c1e-9a00-000000000003": {"stop"},
    "2222-4c1e-9a00-000000000004": {"ingress"},
    "2222-4c1e-9a00-000000000005": {"login"},
    "2222-4c1e-9a00-000000000006": {"stop"},
    "2222-4c1e-9a00-000000000007": {"login"},
    "2222-4c1e-9a00-000000000008": {"get", "vpcs"},
    "3333-4c1e-9a00-000000000002": {"stop", "delete"},
}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Case]:
    with Case.open(case_with(tmp_path_factory.mktemp("sigma"), list(EVENTS.values()))) as opened:
        yield opened


@pytest.fixture(scope="module")
def report(case: Case) -> DetectReport:
    return run(case.store, rules_dir=RULES, rules=[])


@pytest.mark.parametrize("suffix", sorted(EXPECTED))
def test_rule_matches_exactly_the_expected_events(report: DetectReport, suffix: str) -> None:
    names = {EVENTS[n]["eventID"]: n for n in EVENTS}
    matched = {names[e] for f in report.findings if f.rule_id == PREFIX + suffix for e in f.event_ids}
    assert matched == EXPECTED[suffix]


def test_sigma_findings_carry_the_rule_level_tag_and_description(report: DetectReport) -> None:
    (finding,) = [f for f in report.findings if f.rule_id == PREFIX + "2222-4c1e-9a00-000000000001"]
    assert finding.title == "Trail tampering as a list of maps"
    assert finding.severity is Severity.HIGH
    assert finding.technique == "T1562.008"
    assert finding.origin == "sigma"
    assert finding.actor == f"arn:aws:iam::{ACCOUNT}:user/bob"
    (created,) = [f for f in report.findings if f.rule_id == PREFIX + "1111-4c1e-9a00-000000000001"]
    assert created.why == "contains, startswith and endswith on typed columns"
    assert created.technique == "T1136.003"


def test_rules_that_cannot_run_are_reported_by_title_and_id(report: DetectReport) -> None:
    assert report.sigma is not None
    problems = {(p.rule_id, p.kind) for p in report.sigma.problems}
    assert problems == {
        (PREFIX + "3333-4c1e-9a00-000000000001", "unsupported"),  # | count() pipe
        (PREFIX + "3333-4c1e-9a00-000000000003", "unsupported"),  # correlation rule
        (PREFIX + "3333-4c1e-9a00-000000000004", "unsupported"),  # |expand placeholder
        (PREFIX + "3333-4c1e-9a00-000000000005", "unsupported"),  # |minute timestamp part
        (PREFIX + "4444-4c1e-9a00-000000000001", "skipped"),  # windows logsource
        (PREFIX + "4444-4c1e-9a00-000000000002", "invalid"),  # no detection
    }
    by_id = {p.rule_id: p for p in report.sigma.problems}
    assert by_id[PREFIX + "3333-4c1e-9a00-000000000001"].title == "Secret reads counted with the retired pipe syntax"
    assert "correlation" in by_id[PREFIX + "3333-4c1e-9a00-000000000003"].reason
    assert "windows/process_creation" in by_id[PREFIX + "4444-4c1e-9a00-000000000001"].reason
    assert len(report.sigma.rules) == len(EXPECTED)
    assert report.sigma.files == 5


def test_loading_alone_lists_the_same_problems_without_a_store() -> None:
    pack = sigma.load(RULES)
    assert {r.id for r in pack.rules} == {PREFIX + s for s in EXPECTED}
    assert len(pack.problems) == 6


def test_a_folder_with_broken_yaml_reports_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("title: [unclosed\n", encoding="utf-8")
    pack = sigma.load(tmp_path)
    assert pack.rules == []
    assert [(p.path, p.kind) for p in pack.problems] == [("bad.yml", "invalid")]


def test_alarm_for_a_sigma_finding_gives_the_rule_back(case: Case, report: DetectReport) -> None:
    (finding,) = [f for f in report.findings if f.rule_id == PREFIX + "2222-4c1e-9a00-000000000001"]
    alarm = alarm_for(case.store, finding)
    rule = yaml.safe_load(alarm.sigma)
    assert rule["title"] == "Trail tampering as a list of maps"
    assert rule["detection"]["selection"] == [
        {"eventName": "StopLogging"},
        {"eventName": "DeleteTrail", "errorCode": "AccessDenied"},
    ]
    assert alarm.eventbridge["detail"] == {
        "eventSource": ["cloudtrail.amazonaws.com"],
        "eventName": ["DeleteTrail", "StopLogging"],
    }
