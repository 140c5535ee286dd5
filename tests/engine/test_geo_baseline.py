"""Newly observed ASN and country, and distant-network key use, with the shipped data and no options.

    days 0-2, 08:00  alice (AKIA) from 193.0.6.139: www.ripe.net, RIPE NCC's AS3333, NL
    day 3, 08:00     alice from 193.0.6.139 again
    day 3, 08:05     alice from 193.0.14.129: K-root, RIPE NCC's AS25152, NL; the same /16 as
                     her usual address, a new /24 and a new ASN, but not a new country
    day 3, 09:00     alice from 202.12.27.33: M-root, WIDE Project's AS7500, JP
    days 0-2, 08:00  bob (AKIA) from 1.1.1.1: Cloudflare, AS13335
    day 3, 08:00     bob from 1.1.1.1 again
    day 3, 08:05     bob from 1.0.0.1: Cloudflare's second resolver address, AS13335, another /16

Facts are the root-server operators' and resolvers' published addresses and AS numbers. Expected:
alice's new ASNs are AS25152 (08:05) and AS7500 (09:00), her new country JP (09:00), and her key's
08:00/08:05 pair is two networks minutes apart (the /16 alone would have called them one). Bob
gets a new address and /24 but no new ASN or country, and his key's two /16s are one network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from investigations import baseline
from investigations.case import Case
from investigations.detections import DetectOptions, DetectReport, run
from tests.engine.detect_records import ACCOUNT, CLI, S3, alice, at, case_with, world

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
DAY = 24 * 60


def _story() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    w = world()
    a = alice(w, ip="193.0.6.139")
    b = w.iam_user(ACCOUNT, "bob", ip="1.1.1.1", user_agent=CLI)
    named = {
        **{f"a{d}": a.call(S3, "ListBuckets", at(d * DAY)) for d in range(4)},
        "a_kroot": a.at(ip="193.0.14.129").call(S3, "ListBuckets", at(3 * DAY + 5)),
        "a_mroot": a.at(ip="202.12.27.33").call(S3, "ListBuckets", at(3 * DAY + 60)),
        **{f"b{d}": b.call(S3, "ListBuckets", at(d * DAY)) for d in range(4)},
        "b_second": b.at(ip="1.0.0.1").call(S3, "ListBuckets", at(3 * DAY + 5)),
    }
    return list(named.values()), named


RECORDS, NAMED = _story()


@pytest.fixture(scope="module")
def detected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DetectReport]:
    case_dir = case_with(tmp_path_factory.mktemp("geo"), RECORDS)
    with Case.open(case_dir) as case:
        report = run(case.store, DetectOptions())  # no geo option given: the shipped data
    return case_dir, report


def _new(case_dir: Path, principal: str) -> set[tuple[str, str, str]]:
    """(dimension, value's first word, event id) for each newly observed value."""
    with Case.open(case_dir) as case:
        found = baseline.newly_observed(case.store, principal=principal)
    return {(n.dimension, n.value.split(" ", 1)[0], n.event_id) for n in found}


def test_a_new_asn_in_the_same_country_and_then_a_new_country(detected: tuple[Path, DetectReport]) -> None:
    case_dir, _ = detected
    kroot, mroot = NAMED["a_kroot"]["eventID"], NAMED["a_mroot"]["eventID"]
    found = _new(case_dir, ALICE)
    assert {d for d in found if d[0] in ("asn", "country")} == {
        ("asn", "AS25152", kroot),
        ("asn", "AS7500", mroot),
        ("country", "JP", mroot),
    }
    assert ("network", "193.0.14.0/24", kroot) in found


def test_another_address_of_the_same_network_is_no_new_asn_or_country(
    detected: tuple[Path, DetectReport],
) -> None:
    case_dir, _ = detected
    second = NAMED["b_second"]["eventID"]
    assert _new(case_dir, BOB) == {("ip", "1.0.0.1", second), ("network", "1.0.0.0/24", second)}


def test_the_rules_flag_the_new_asn_and_country(detected: tuple[Path, DetectReport]) -> None:
    _, report = detected
    geo_rules = ("TH-NEW-ASN", "TH-NEW-COUNTRY")
    flagged = {(f.rule_id, f.actor, tuple(f.event_ids)) for f in report.findings if f.rule_id in geo_rules}
    kroot, mroot = NAMED["a_kroot"]["eventID"], NAMED["a_mroot"]["eventID"]
    assert flagged == {
        ("TH-NEW-ASN", ALICE, (kroot,)),  # 55 minutes apart: two bursts
        ("TH-NEW-ASN", ALICE, (mroot,)),
        ("TH-NEW-COUNTRY", ALICE, (mroot,)),
    }  # and nothing for bob


def test_distant_networks_are_asns_and_countries_when_known(detected: tuple[Path, DetectReport]) -> None:
    _, report = detected
    distant = [f for f in report.findings if f.rule_id == "TH-KEY-DISTANT-NETWORKS"]
    assert [(f.actor, f.event_ids) for f in distant] == [(ALICE, [NAMED["a3"]["eventID"], NAMED["a_kroot"]["eventID"]])]
