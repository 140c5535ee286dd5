"""First-seen and newly observed values per principal and per key, on a hand-written case.

    day 0-2, 08:00  alice (AKIA, aws-cli, 198.51.100.7, us-east-1) ListBuckets, once a day
    day 0, 09:00    Deploy/build-1 (role session) from 198.51.100.20: ListBuckets
    day 0, 10:00    CloudFormation on alice's behalf (invokedBy): CreateStack, IP and agent are the service
    day 3, 08:00    alice from 198.51.100.8 (new IP, known /24): ListBuckets
    day 3, 08:05    alice from 203.0.113.9 with Boto3 (new IP, network, agent): ListBuckets
    day 3, 08:10    alice from 203.0.113.9 with Boto3 in eu-west-1: DescribeInstances (new region, new API)
    day 3, 09:00    Deploy/build-2 (new session key) from 203.0.113.50: ListBuckets

Learning period 24 h (given explicitly), so everything after day 1 08:00 for alice and after
day 1 09:00 for the Deploy role can be newly observed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from investigations import baseline
from investigations.case import Case
from investigations.detections import DetectOptions, run
from investigations.evidence import SourceOptions, ingest_sources
from investigations.netinfo import classify, ua_family
from investigations.simulate.writer import write_jsonl
from investigations.store import EventStore
from tests.engine.detect_records import ACCOUNT, BOTO, CLI, EC2, S3, alice, at, case_with, role, world

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEPLOY = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
DAY = 24 * 60


def _story() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    w = world()
    a = alice(w)
    build1 = role(w, "Deploy", "build-1", at(DAY * 0 + 59), ip="198.51.100.20")
    build2 = role(w, "Deploy", "build-2", at(DAY * 3 + 59), ip="203.0.113.50")
    behalf = {**a.identity, "invokedBy": "cloudformation.amazonaws.com"}
    named = {
        "a0": a.call(S3, "ListBuckets", at(0)),
        "a1": a.call(S3, "ListBuckets", at(DAY)),
        "a2": a.call(S3, "ListBuckets", at(2 * DAY)),
        "b1": build1.call(S3, "ListBuckets", at(60)),
        "cfn": a.call(
            "cloudformation.amazonaws.com",
            "CreateStack",
            at(120),
            identity=behalf,
            ip="cloudformation.amazonaws.com",
            ua="cloudformation.amazonaws.com",
        ),
        "a3": a.at(ip="198.51.100.8").call(S3, "ListBuckets", at(3 * DAY)),
        "a4": a.at(ip="203.0.113.9", user_agent=BOTO).call(S3, "ListBuckets", at(3 * DAY + 5)),
        "a5": a.at(ip="203.0.113.9", user_agent=BOTO).call(
            EC2, "DescribeInstances", at(3 * DAY + 10), region="eu-west-1"
        ),
        "b2": build2.call(S3, "ListBuckets", at(3 * DAY + 60)),
    }
    return list(named.values()), named


RECORDS, NAMED = _story()
AKIA = NAMED["a0"]["userIdentity"]["accessKeyId"]  # type: ignore[index]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    case_dir = case_with(tmp_path_factory.mktemp("baseline"), RECORDS)
    with Case.open(case_dir) as case:
        baseline.compute(case.store, learning=timedelta(hours=24))
        yield case.store


def _pairs(items: list[baseline.Novelty]) -> set[tuple[str, str, str]]:
    names = {r["eventID"]: n for n, r in NAMED.items()}
    return {(i.dimension, i.value, names[i.event_id]) for i in items}


def test_newly_observed_for_a_user(store: EventStore) -> None:
    assert _pairs(baseline.newly_observed(store, principal=ALICE)) == {
        ("ip", "198.51.100.8", "a3"),
        ("ip", "203.0.113.9", "a4"),
        ("network", "203.0.113.0/24", "a4"),
        ("user_agent", "Boto3", "a4"),
        ("region", "eu-west-1", "a5"),
        ("api", "ec2:DescribeInstances", "a5"),
    }


def test_the_key_has_the_same_history_as_its_only_user(store: EventStore) -> None:
    assert _pairs(baseline.newly_observed(store, key=AKIA)) == _pairs(baseline.newly_observed(store, principal=ALICE))


def test_first_sightings_in_the_learning_period_are_listed_on_request(store: EventStore) -> None:
    learned = {
        p for p in _pairs(baseline.newly_observed(store, principal=ALICE, include_learning=True)) if p[2] == "a0"
    }
    assert learned == {
        ("ip", "198.51.100.7", "a0"),
        ("network", "198.51.100.0/24", "a0"),
        ("user_agent", "aws-cli", "a0"),
        ("region", "us-east-1", "a0"),
        ("api", "s3:ListBuckets", "a0"),
    }


def test_calls_a_service_makes_on_someones_behalf_add_no_address_or_agent(store: EventStore) -> None:
    everything = _pairs(baseline.newly_observed(store, principal=ALICE, include_learning=True))
    assert {p for p in everything if p[2] == "cfn"} == {("api", "cloudformation:CreateStack", "cfn")}


def test_a_session_is_judged_against_its_role(store: EventStore) -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/build-2"
    expected = {("ip", "203.0.113.50", "b2"), ("network", "203.0.113.0/24", "b2")}
    assert _pairs(baseline.newly_observed(store, principal=session)) == expected
    assert _pairs(baseline.newly_observed(store, principal=DEPLOY)) == expected
    new_key = NAMED["b2"]["userIdentity"]["accessKeyId"]  # type: ignore[index]
    assert baseline.newly_observed(store, key=new_key) == []


def test_novelty_by_event_for_the_timeline(store: EventStore) -> None:
    seqs = {r[0]: r[1] for r in store.sql("SELECT event_id, seq FROM events")[1]}
    a4 = seqs[NAMED["a4"]["eventID"]]
    flags = baseline.novelty_by_seq(store, a4, a4)
    assert {(n.kind, n.dimension) for n in flags[a4]} == {
        ("principal", "ip"),
        ("principal", "network"),
        ("principal", "user_agent"),
        ("key", "ip"),
        ("key", "network"),
        ("key", "user_agent"),
    }
    assert baseline.novelty_by_seq(store, 0, seqs[NAMED["a2"]["eventID"]]) == {}


def test_learning_period_defaults_to_a_quarter_of_a_short_case(store: EventStore) -> None:
    # first event day 0 08:00, last day 3 09:00: 73 h, a quarter is 18 h 15 min
    assert baseline.learning_window(store) == timedelta(hours=18, minutes=15)
    assert baseline.learning_window(store, timedelta(hours=2)) == timedelta(hours=2)


def test_new_evidence_makes_the_tables_rebuild(tmp_path: Path) -> None:
    case_dir = case_with(tmp_path, RECORDS)
    w = world()
    late = alice(w, ip="192.0.2.77").call(S3, "ListBuckets", at(3 * DAY + 120))
    write_jsonl([late], tmp_path / "more" / "late.jsonl")
    with Case.open(case_dir) as case:
        assert ("ip", "192.0.2.77") not in {(n.dimension, n.value) for n in baseline.newly_observed(case.store, ALICE)}
        ingest_sources(case, [str(tmp_path / "more" / "late.jsonl")], SourceOptions(workers=0))
        found = {(n.dimension, n.value) for n in baseline.newly_observed(case.store, principal=ALICE)}
    assert ("ip", "192.0.2.77") in found and ("network", "192.0.2.0/24") in found


OFFICE_ISP = {"198.51.100.7": ("AS64500 Office ISP", "DE"), "198.51.100.8": ("AS64500 Office ISP", "DE")}


class TableGeo:
    """ASN and country from a fixed table: the GeoProvider protocol, as a MaxMind reader answers it."""

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        return OFFICE_ISP.get(ip, ("AS64511 Bulletproof Hosting", "NL"))


def test_asn_and_country_join_when_a_database_is_given(tmp_path: Path) -> None:
    case_dir = case_with(tmp_path, RECORDS)
    with Case.open(case_dir) as case:
        report = run(case.store, DetectOptions(learning=timedelta(hours=24), geo=TableGeo()))
        found = {(n.dimension, n.value) for n in baseline.newly_observed(case.store, principal=ALICE)}
    assert {("asn", "AS64511 Bulletproof Hosting"), ("country", "NL")} <= found
    flagged = {(f.rule_id, f.actor) for f in report.findings}
    assert {("TH-NEW-ASN", ALICE), ("TH-NEW-COUNTRY", ALICE)} <= flagged
    (asn,) = [f for f in report.findings if f.rule_id == "TH-NEW-ASN" and f.actor == ALICE]
    assert asn.event_ids == [NAMED["a4"]["eventID"]]


@pytest.mark.parametrize(
    ("text", "network", "wide", "internal"),
    [
        ("203.0.113.9", "203.0.113.0/24", "203.0.0.0/16", False),
        ("10.1.2.3", "10.1.2.0/24", "10.1.0.0/16", True),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48", "2001:db8::/32", False),
        ("::ffff:198.51.100.7", "198.51.100.0/24", "198.51.0.0/16", False),
        ("fd00::5", "fd00::/48", "fd00::/32", True),
    ],
)
def test_addresses_and_their_networks(text: str, network: str, wide: str, internal: bool) -> None:
    info = classify(text)
    assert info is not None
    assert (info.network, info.wide, info.internal) == (network, wide, internal)


@pytest.mark.parametrize("text", ["ec2.amazonaws.com", "AWS Internal", "", None])
def test_service_names_are_not_addresses(text: str | None) -> None:
    assert classify(text) is None


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        (CLI, "aws-cli"),
        ("aws-cli/1.32.69 Python/3.11.8 Linux/6.6.9-amd64 botocore/1.34.69", "aws-cli"),
        (BOTO, "Boto3"),
        ("APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.0", "Terraform"),
        ("aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1", "aws-sdk-go"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Firefox/125.0", "browser"),
        ("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]", "S3Console"),
        ("curl/8.5.0", "curl"),
        ("cloudformation.amazonaws.com", "cloudformation.amazonaws.com"),
        ("AWS Internal", None),
        (None, None),
    ],
)
def test_user_agent_families(agent: str | None, family: str | None) -> None:
    assert ua_family(agent) == family
