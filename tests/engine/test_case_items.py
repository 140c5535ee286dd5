"""Case items over the shared six-event scenario: validation, edits, sightings and containment.

Expected values are read off the scenario by hand (see test_case_scenario's docstring).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from investigations import casefile as cf
from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from tests.engine.test_case_scenario import ATTACKER_IP, ROLE, Scenario, build


@pytest.fixture
def world(tmp_path: Path) -> Scenario:
    return build(tmp_path)


@pytest.fixture
def case(tmp_path: Path, world: Scenario) -> Iterator[Case]:
    with Case.open(tmp_path / "case") as opened:
        ingest_sources(opened, [str(world.path)], SourceOptions(workers=0))
        yield opened


def test_finding_promoted_from_a_detection_keeps_its_rule_and_events(case: Case, world: Scenario) -> None:
    finding = cf.add_finding(
        case,
        "Role assumed from an unfamiliar IP",
        "HIGH",
        rule_id="sts-assume-role-new-ip",
        technique="t1078.004",
        event_ids=[world.event_id(1), world.event_id(2), world.event_id(1)],
        entities=[("access_key", world.alice_key), f"ip:{ATTACKER_IP}"],
        narrative="alice's key assumed Audit in the production account.",
    )
    assert finding.id == "F-1"
    assert (finding.severity, finding.status, finding.technique) == ("high", "open", "T1078.004")
    assert finding.event_ids == [world.event_id(1), world.event_id(2)]
    assert finding.entities == [{"kind": "access_key", "value": world.alice_key}, {"kind": "ip", "value": ATTACKER_IP}]
    stored = cf.get(case, "F-1")
    assert stored == finding
    entry = list(case.journal.entries())[-1]
    assert (entry["action"], entry["item"]["rule_id"]) == ("finding.added", "sts-assume-role-new-ip")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "", "severity": "low"}, "title must not be empty"),
        ({"title": "x", "severity": "urgent"}, "severity 'urgent' is not one of info, low, medium, high, critical"),
        ({"title": "x", "severity": "low", "status": "done"}, "status 'done' is not one of"),
        ({"title": "x", "severity": "low", "technique": "TA0001"}, "not an ATT&CK id"),
        ({"title": "x", "severity": "low", "event_ids": ["no-such-event"]}, "no such event in the case: no-such-event"),
        ({"title": "x", "severity": "low", "entities": ["planet:mars"]}, "unknown kind 'planet'"),
    ],
)
def test_invalid_findings_are_refused_and_nothing_is_written(case: Case, kwargs: dict, message: str) -> None:
    before = case.journal.head
    with pytest.raises(cf.ItemError, match=message):
        cf.add_finding(case, **kwargs)
    assert case.journal.head == before
    assert case.data["findings"] == []


def test_edit_journals_old_and_new_values_and_ids_are_never_reused(case: Case) -> None:
    cf.add_finding(case, "one", "low")
    cf.add_finding(case, "two", "medium")
    edited = cf.edit(case, "F-1", status="confirmed", severity="critical")
    assert (edited.status, edited.severity) == ("confirmed", "critical")
    entry = list(case.journal.entries())[-1]
    assert entry["action"] == "finding.edited"
    assert entry["changed"] == {"status": ["open", "confirmed"], "severity": ["low", "critical"]}
    cf.remove(case, "F-2")
    assert [f.id for f in cf.items(case, "finding")] == ["F-1"]
    assert cf.add_finding(case, "three", "info").id == "F-3"
    with pytest.raises(cf.ItemError, match="no editable field"):
        cf.edit(case, "F-1", id="F-9")
    with pytest.raises(cf.ItemError, match="has no finding F-2"):
        cf.get(case, "F-2")


def test_bookmarks_notes_and_tags_point_at_real_things(case: Case, world: Scenario) -> None:
    bookmark = cf.add_bookmark(case, world.event_id(5), "still active after the key was disabled")
    again = cf.add_bookmark(case, world.event_id(5), "second look")
    assert (again.id, again.note) == (bookmark.id, "second look")
    with pytest.raises(cf.ItemError, match="no such event"):
        cf.add_bookmark(case, "not-an-event")
    note = cf.add_note(case, "ask the owner", about=f"access_key:{world.alice_key}")
    assert note.about == {"kind": "access_key", "value": world.alice_key}
    with pytest.raises(cf.ItemError, match="no finding F-7"):
        cf.add_note(case, "x", about="finding:F-7")
    tag = cf.add_tag(case, f"ip:{ATTACKER_IP}", "attacker")
    assert cf.add_tag(case, ("ip", ATTACKER_IP), "attacker").id == tag.id
    with pytest.raises(cf.ItemError, match="tags go on events and entities"):
        cf.add_tag(case, "finding:F-1", "x")
    assert [len(cf.items(case, k)) for k in ("bookmark", "note", "tag")] == [1, 1, 1]


@pytest.mark.parametrize(
    ("kind", "value", "first", "last", "events"),
    [
        ("ip", ATTACKER_IP, "2024-05-01T08:00:00Z", "2024-05-01T09:10:00Z", 5),
        ("arn", ROLE, "2024-05-01T08:05:00Z", "2024-05-01T09:10:00Z", 4),
        ("account", "444455556666", "2024-05-01T08:05:00Z", "2024-05-01T09:10:00Z", 3),
        ("user_agent", "Boto3/1.34.0", "2024-05-01T08:20:00Z", "2024-05-01T08:20:00Z", 1),
        ("ip", "198.51.100.1", None, None, 0),
    ],
)
def test_iocs_carry_first_and_last_seen(
    case: Case, kind: str, value: str, first: str | None, last: str | None, events: int
) -> None:
    ioc = cf.add_ioc(case, kind, value, note="from the timeline")
    assert (ioc.first_seen, ioc.last_seen, ioc.events) == (first, last, events)


def test_access_key_iocs_count_use_and_issuance(case: Case, world: Scenario) -> None:
    alice = cf.add_ioc(case, "access_key", world.alice_key)
    session = cf.add_ioc(case, "access_key", world.session_key)
    assert (alice.first_seen, alice.last_seen, alice.events) == ("2024-05-01T08:00:00Z", "2024-05-01T08:05:00Z", 2)
    # Issued in both AssumeRole copies (08:05), used at 08:10 and 09:10.
    assert (session.first_seen, session.last_seen, session.events) == (
        "2024-05-01T08:05:00Z",
        "2024-05-01T09:10:00Z",
        4,
    )
    with pytest.raises(cf.ItemError, match="already IOC I-1"):
        cf.add_ioc(case, "access_key", world.alice_key)
    for kind, value in (("ip", "999.1.1.1"), ("access_key", "hunter2"), ("account", "12345"), ("arn", "role/x")):
        with pytest.raises(cf.ItemError):
            cf.add_ioc(case, kind, value)


def test_iocs_refresh_when_new_evidence_arrives(tmp_path: Path) -> None:
    first = build(tmp_path / "one")
    with Case.open(tmp_path / "case") as case:
        ioc = cf.add_ioc(case, "ip", ATTACKER_IP)
        assert ioc.events == 0
        ingest_sources(case, [str(first.path)], SourceOptions(workers=0))
        changed = cf.refresh_iocs(case)
        assert [(i.id, i.events, i.first_seen) for i in changed] == [("I-1", 5, "2024-05-01T08:00:00Z")]
        assert cf.refresh_iocs(case) == []


def test_activity_after_containment_follows_the_keys_the_contained_key_minted(case: Case, world: Scenario) -> None:
    assert cf.contained_activity(case) == ("FALSE", [])
    cf.add_containment(case, "disable_key", world.alice_key, at="2024-05-01T09:00:00Z", note="IAM console")
    where, params = cf.contained_activity(case)
    # alice's own key is quiet after 09:00, but the Audit session it minted calls at 09:10.
    assert case.store.seqs(where, params) == [5]


def test_revoked_role_sessions_still_in_use_stand_out(case: Case) -> None:
    step = cf.add_containment(case, "revoke_sessions", ROLE, at="2024-05-01T09:00:00+02:00")
    assert step.at == "2024-05-01T07:00:00Z"  # stored in UTC
    where, params = cf.contained_activity(case)
    # Revoked at 07:00 UTC, before the session existed: nothing of it counts as after.
    assert case.store.seqs(where, params) == []
    cf.edit(case, step.id, at="2024-05-01T09:00:00Z")
    where, params = cf.contained_activity(case)
    assert case.store.seqs(where, params) == [5]
    with pytest.raises(cf.ItemError, match="not an ARN"):
        cf.add_containment(case, "revoke_sessions", "Audit")
    with pytest.raises(cf.ItemError, match="not an AWS access key"):
        cf.add_containment(case, "disable_key", "alice")


def test_a_detection_hit_is_promoted_with_its_rule_events_and_entities(case: Case, world: Scenario) -> None:
    hit = {
        "id": "F-0123456789",
        "rule_id": "TH-STS-001",
        "title": "Role assumed into another account",
        "severity": "high",
        "technique": "T1078.004",
        "why": "A long-term key assumed a role in an account it had not used before.",
        "actor": "arn:aws:iam::111122223333:user/alice",
        "access_key": world.alice_key,
        "access_keys": [world.alice_key],
        "accounts": ["444455556666"],
        "first_seen": "2024-05-01T08:05:00Z",
        "last_seen": "2024-05-01T08:05:00Z",
        "event_ids": [world.event_id(1), world.event_id(2)],
        "detail": None,
    }
    finding = cf.promote_detection(case, hit)
    assert (finding.id, finding.rule_id, finding.severity, finding.technique) == (
        "F-1",
        "TH-STS-001",
        "high",
        "T1078.004",
    )
    assert finding.event_ids == [world.event_id(1), world.event_id(2)]
    assert finding.entities == [
        {"kind": "principal", "value": "arn:aws:iam::111122223333:user/alice"},
        {"kind": "access_key", "value": world.alice_key},
        {"kind": "account", "value": "444455556666"},
    ]
    assert finding.narrative == (
        "A long-term key assumed a role in an account it had not used before.\n\n"
        "Seen 2024-05-01T08:05:00Z to 2024-05-01T08:05:00Z."
    )
