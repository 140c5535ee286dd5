"""Pivots on the hand-written world (``tests.support.lineage_world``), answers worked out by hand.

The central case: alice's long-term key is used by alice from 198.51.100.10 and by an intruder
from 203.0.113.66. The intruder's use is e04-e06 plus everything minted by e06 (the chain into
account B and the backdoor key used a day later from 192.0.2.99); alice's is e01, e02, e16, e32
and what they minted (e03, e17, e33).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from investigations.case import Case
from investigations.pivot import PivotError, Scope, pivot
from investigations.store import EventStore
from tests.support import lineage_world as w

ALL_OF_ALICE = [
    "e32", "e33", "e01", "e02", "e03", "e04", "e05", "e06", "e07", "e09a", "e09b",
    "e10", "e11", "e12", "e13", "e16", "e17", "e14", "e15",
]  # fmt: skip
INTRUDER = ["e04", "e05", "e06", "e07", "e09a", "e09b", "e10", "e11", "e12", "e13", "e14", "e15"]
OWNER = ["e32", "e33", "e01", "e02", "e03", "e16", "e17"]
SESSION = ["e32", "e01", "e02", "e04", "e05", "e06", "e16"]  # signed by AKIA_ALICE itself
B_ADMIN = f"arn:aws:sts::{w.B}:assumed-role/Admin/ops"


def test_unscoped_lineage_of_the_leaked_key(world_store: EventStore) -> None:
    result = pivot(world_store, "access_key", w.AKIA_ALICE)
    assert result.key == w.AKIA_ALICE
    assert result.ancestors == []
    assert result.origin == {"kind": "long_term", "label": w.ALICE_ARN, "event_id": None, "inferred": False}
    assert result.session_event_ids == SESSION
    assert result.lineage_event_ids == ALL_OF_ALICE
    assert result.in_scope_event_ids == ALL_OF_ALICE and result.out_of_scope_event_ids == []
    assert result.lineage_seqs == sorted(result.lineage_seqs) and len(result.lineage_seqs) == 19
    assert w.ASIA_DECOY not in [d["child"] for d in result.descendants]
    assert "e08" not in result.lineage_event_ids and "e06d" not in result.lineage_event_ids


def test_intruder_scope_by_address_separates_the_two_uses_of_one_key(world_store: EventStore) -> None:
    result = pivot(world_store, "access_key", w.AKIA_ALICE, Scope(ips=("203.0.113.0/24",)))
    assert result.in_scope_event_ids == INTRUDER
    assert result.out_of_scope_event_ids == OWNER
    assert result.lineage_event_ids == ALL_OF_ALICE
    verdicts = {d["child"]: d["in_scope"] for d in result.descendants}
    assert verdicts == {
        w.ASIA_NIGHTLY: False,
        w.ASIA_OWN1: False,
        w.ASIA_INT1: True,
        w.ASIA_GST: False,
        w.ASIA_INT2: True,
        w.ASIA_INT3: True,
        w.AKIA_BACKDOOR: True,
    }
    summary = result.as_dict()
    assert summary["principals"] == [
        w.ALICE_ARN,
        w.DEPLOY_OPS,
        f"arn:aws:sts::{w.B}:assumed-role/Audit/ops",
        B_ADMIN,
        f"arn:aws:iam::{w.B}:user/svc-backup",
    ]
    assert summary["source_ips"] == [w.INTRUDER_IP, w.BACKDOOR_IP]
    assert summary["user_agents"] == [w.INTRUDER_UA, "curl/8.5.0"]
    assert summary["accounts"] == [w.A, w.B]
    assert summary["regions"] == ["us-east-1", "eu-west-1"]


def test_blast_radius_of_the_intruders_use(world_store: EventStore) -> None:
    blast = pivot(world_store, "access_key", w.AKIA_ALICE, Scope(ips=(w.INTRUDER_IP,))).summary["blast_radius"]
    assert blast["events"] == 12
    assert blast["errors"] == {"total": 1, "by_code": {"AccessDenied": 1}}
    assert blast["bytes_out"] == 1048576
    assert blast["roles_assumed"] == [
        f"arn:aws:iam::{w.A}:role/Deploy",
        f"arn:aws:iam::{w.B}:role/Audit",
        f"arn:aws:iam::{w.B}:role/Admin",
    ]
    assert blast["roles_denied"] == [f"arn:aws:iam::{w.A}:role/Backup"]
    assert blast["keys_issued"] == [w.ASIA_INT1, w.ASIA_INT2, w.ASIA_INT3, w.AKIA_BACKDOOR]
    assert blast["resources_written"] == [
        f"arn:aws:iam::{w.B}:user/svc-backup",
        f"arn:aws:cloudtrail:us-east-1:{w.B}:trail/org-trail",
        f"arn:aws:ec2:us-east-1:{w.B}:security-group/sg-0123456789abcdef0",
    ]
    assert blast["resources_read"] == [
        f"arn:aws:iam::{w.A}:role/Deploy",
        "arn:aws:s3:::prod-data",
        "arn:aws:s3:::prod-data/finance/",
        "arn:aws:s3:::prod-data/finance/q1.csv",
        f"arn:aws:iam::{w.B}:role/Audit",
        f"arn:aws:iam::{w.B}:role/Admin",
        f"arn:aws:secretsmanager:us-east-1:{w.B}:secret:prod/db",
    ]
    assert [(p["event_id"], p["issued_key"], p["resources"]) for p in blast["persistence"]] == [
        ("e12", w.AKIA_BACKDOOR, [f"arn:aws:iam::{w.B}:user/svc-backup"])
    ]
    assert [(d["event_id"], d["event_name"], d["principal"]) for d in blast["defense_evasion"]] == [
        ("e13", "StopLogging", B_ADMIN)
    ]


def test_time_window_and_user_agent_scopes_find_the_same_intrusion(world_store: EventStore) -> None:
    window = pivot(
        world_store, "access_key", w.AKIA_ALICE, Scope(start=datetime(2024, 5, 1, 9), end=datetime(2024, 5, 1, 9, 30))
    )
    agent = pivot(world_store, "access_key", w.AKIA_ALICE, Scope(user_agents=("boto3",)))
    # The backdoor key's use a day later, from another address, is in scope either way.
    assert window.in_scope_event_ids == agent.in_scope_event_ids == INTRUDER


def test_owner_scope_is_the_complement(world_store: EventStore) -> None:
    result = pivot(world_store, "access_key", w.AKIA_ALICE, Scope(ips=(w.OWNER_IP,)))
    assert result.in_scope_event_ids == OWNER
    assert result.out_of_scope_event_ids == INTRUDER


def test_event_pivot_reaches_the_actors_session_ancestors_and_descendants(world_store: EventStore) -> None:
    result = pivot(world_store, "event", "e07")
    assert (result.key, result.ancestors) == (w.ASIA_INT1, [w.AKIA_ALICE])
    assert result.session_event_ids == ["e07", "e09a"]
    assert result.lineage_event_ids == ["e07", "e09a", "e09b", "e10", "e11", "e12", "e13", "e14", "e15"]
    assert [(d["parent"], d["child"], d["event_id"]) for d in result.descendants] == [
        (w.ASIA_INT1, w.ASIA_INT2, "e09a"),
        (w.ASIA_INT2, w.ASIA_INT3, "e11"),
        (w.ASIA_INT3, w.AKIA_BACKDOOR, "e12"),
    ]
    actor = result.actors[0]
    assert (actor["identity_type"], actor["identity_arn"], actor["session_created"]) == (
        "AssumedRole",
        w.DEPLOY_OPS,
        datetime(2024, 5, 1, 9, 2),
    )


def test_role_owners_copy_pivots_to_the_callers_key(world_store: EventStore) -> None:
    result = pivot(world_store, "event", "e09b")
    assert result.key == w.ASIA_INT1
    assert result.session_event_ids == ["e07", "e09a"]
    assert "e09b" in result.lineage_event_ids


def test_principal_pivot_keeps_same_named_sessions_apart(world_store: EventStore) -> None:
    result = pivot(world_store, "principal", w.DEPLOY_OPS)
    assert result.key is None and result.keys == [w.ASIA_INT1, w.ASIA_DECOY]
    assert [(a["key"], a["ancestors"]) for a in result.actors] == [
        (w.ASIA_INT1, [w.AKIA_ALICE]),
        (w.ASIA_DECOY, [w.AKIA_BOB]),
    ]
    assert result.ancestors == [w.AKIA_ALICE, w.AKIA_BOB]
    assert result.session_event_ids == ["e07", "e08", "e09a"]
    assert [d["parent"] for d in result.descendants] == [w.ASIA_INT1, w.ASIA_INT2, w.ASIA_INT3]


def test_source_identity_is_an_attribution_key(world_store: EventStore) -> None:
    result = pivot(world_store, "principal", "carol")
    assert result.keys == [w.ASIA_ORPHAN]
    assert result.summary["source_identities"] == ["carol"]
    assert result.origin is not None and result.origin["inferred"]


def test_ip_pivot_separates_stolen_instance_credentials(world_store: EventStore) -> None:
    result = pivot(world_store, "ip", w.INTRUDER_IP)
    assert result.keys == [w.AKIA_ALICE, w.ASIA_INT1, w.ASIA_INT2, w.ASIA_INT3, w.ASIA_EC2]
    assert result.in_scope_event_ids == ["e04", "e05", "e06", "e07", "e09a", "e09b", "e10", "e11", "e12", "e13", "e22",
                                         "e14", "e15"]  # fmt: skip
    assert result.out_of_scope_event_ids == ["e32", "e33", "e01", "e02", "e03", "e21", "e16", "e17"]
    ec2 = next(a for a in result.actors if a["key"] == w.ASIA_EC2)
    assert ec2["origin"] == {"kind": "service", "label": "ec2.amazonaws.com", "event_id": "e20", "inferred": False}


def test_resource_prefix_pivot_finds_only_who_read_there(world_store: EventStore) -> None:
    result = pivot(world_store, "resource", "arn:aws:s3:::prod-data/finance/*")
    assert result.keys == [w.ASIA_INT1]
    bucket = pivot(world_store, "resource", "arn:aws:s3:::prod-data")
    assert bucket.keys == [w.ASIA_INT1, w.ASIA_DECOY]


def test_console_login_pivot_reaches_the_console_session(world_store: EventStore) -> None:
    result = pivot(world_store, "event", "e40")
    assert result.keys == [w.ASIA_CON1, w.ASIA_CON2]
    assert result.session_event_ids == ["e41", "e42"]
    assert result.lineage_event_ids == ["e40", "e41", "e42"]
    assert result.origin == {
        "kind": "console",
        "label": f"arn:aws:iam::{w.A}:user/dave",
        "event_id": "e40",
        "inferred": True,
    }


def test_what_else_came_from_the_intruders_address(world_store: EventStore) -> None:
    scope = Scope(start=datetime(2024, 5, 1), end=datetime(2024, 5, 2), ips=(w.INTRUDER_IP,))
    result = pivot(world_store, "access_key", w.ASIA_EC2, scope)
    assert result.in_scope_event_ids == ["e22"] and result.out_of_scope_event_ids == ["e21"]
    nearby = [(n["via"], n["value"], n["principal"], n["key"], n["events"]) for n in result.summary["nearby"]]
    assert nearby == [
        ("ip", w.INTRUDER_IP, w.ALICE_ARN, w.AKIA_ALICE, 3),
        ("ip", w.INTRUDER_IP, w.DEPLOY_OPS, w.ASIA_INT1, 2),
        ("ip", w.INTRUDER_IP, "account 111111111111 (AROADEPLOY0000000000:ops)", None, 1),
        ("ip", w.INTRUDER_IP, f"arn:aws:sts::{w.B}:assumed-role/Audit/ops", w.ASIA_INT2, 2),
        ("ip", w.INTRUDER_IP, B_ADMIN, w.ASIA_INT3, 2),
    ]


def test_result_is_json_and_refuses_nonsense(world_store: EventStore) -> None:
    data = orjson.loads(orjson.dumps(pivot(world_store, "event", "e12").as_dict()))
    assert data["key"] == w.ASIA_INT3 and data["ancestors"] == [w.ASIA_INT2, w.ASIA_INT1, w.AKIA_ALICE]
    with pytest.raises(PivotError, match="no event"):
        pivot(world_store, "event", "missing")
    with pytest.raises(PivotError, match="CIDR"):
        pivot(world_store, "access_key", w.AKIA_ALICE, Scope(ips=("10.0.0.0/33",)))
    with pytest.raises(PivotError, match="cannot pivot"):
        pivot(world_store, "colour", "red")


def test_seqs_without_ids_address_the_same_events(world_store: EventStore) -> None:
    scope = Scope(ips=(w.INTRUDER_IP,))
    lean = pivot(world_store, "access_key", w.AKIA_ALICE, scope, with_ids=False)
    assert lean.lineage_event_ids == [] and lean.in_scope_event_ids == []
    assert [r["event_id"] for r in world_store.rows(lean.in_scope_seqs)] == INTRUDER
    assert [r["event_id"] for r in world_store.rows(lean.lineage_seqs)] == ALL_OF_ALICE
    assert [r["event_id"] for r in world_store.rows(lean.session_seqs)] == SESSION


def test_neighbours_are_sought_around_each_burst_of_activity(world_store: EventStore) -> None:
    """The intruder's bursts end at 09:08 and resume the next day; e22 (11:00, same IP) is 1h52 out."""
    scope = Scope(ips=(w.INTRUDER_IP,))
    assert pivot(world_store, "access_key", w.AKIA_ALICE, scope).summary["nearby"] == []
    wider = pivot(world_store, "access_key", w.AKIA_ALICE, scope, nearby_margin=timedelta(hours=2)).summary["nearby"]
    ec2 = f"arn:aws:sts::{w.A}:assumed-role/WebRole/{w.INSTANCE}"
    assert [(n["via"], n["value"], n["principal"], n["key"], n["events"]) for n in wider] == [
        ("ip", w.INTRUDER_IP, ec2, w.ASIA_EC2, 1)
    ]


def test_neighbours_of_a_whole_key_come_from_the_rollups_with_exact_spans(world_store: EventStore) -> None:
    """Unscoped, ASIA_EC2 (e21 08:10, e22 11:00) is summarised from the per-key rollups; with a
    2-hour margin its windows merge into 06:10-13:01, which holds the intruder's 09:00-09:08 burst
    from 203.0.113.66: alice e04-e06, INT1 e07 (delivered twice, one event) and e09a, the keyless
    role-owner copy e09b, INT2 e10-e11, INT3 e12-e13. Its agents are used by nobody else."""
    result = pivot(world_store, "access_key", w.ASIA_EC2, nearby_margin=timedelta(hours=2))
    at = datetime(2024, 5, 1, 9, 0)
    nearby = [
        (n["via"], n["value"], n["principal"], n["key"], n["events"], n["first_seen"], n["last_seen"])
        for n in result.summary["nearby"]
    ]
    assert nearby == [
        ("ip", w.INTRUDER_IP, w.ALICE_ARN, w.AKIA_ALICE, 3, at, at + timedelta(minutes=2)),
        ("ip", w.INTRUDER_IP, w.DEPLOY_OPS, w.ASIA_INT1, 2, at + timedelta(minutes=3), at + timedelta(minutes=4)),
        (
            "ip",
            w.INTRUDER_IP,
            "account 111111111111 (AROADEPLOY0000000000:ops)",
            None,
            1,
            at + timedelta(minutes=4),
            at + timedelta(minutes=4),
        ),
        (
            "ip",
            w.INTRUDER_IP,
            f"arn:aws:sts::{w.B}:assumed-role/Audit/ops",
            w.ASIA_INT2,
            2,
            at + timedelta(minutes=5),
            at + timedelta(minutes=6),
        ),
        ("ip", w.INTRUDER_IP, B_ADMIN, w.ASIA_INT3, 2, at + timedelta(minutes=7), at + timedelta(minutes=8)),
    ]


def test_a_copy_signed_by_another_key_stays_out_of_the_neighbours(tmp_path: Path) -> None:
    """e71 (INT1) and its copy e72 in B carry one sharedEventID; e72 is signed by ASIA_COPY, which
    also made e73. Pivoting on the intruder's use of alice's key, e72 is the pivot's own (a copy),
    so ASIA_COPY appears beside it with e73 alone."""
    copier = w.session(w.B, "Copier", "x", "ASIACOPY000000000001", "2024-05-01T09:00:00Z")
    extra = [
        w.event("e71", "09:03:10", "s3", "ListBuckets", w.session(
            w.A, "Deploy", "ops", w.ASIA_INT1, "2024-05-01T09:02:00Z"), w.INTRUDER_IP, w.INTRUDER_UA,
            sharedEventID="shared-e71"),
        w.event("e72", "09:03:10", "s3", "ListBuckets", copier, w.INTRUDER_IP, "copier/1.0",
                sharedEventID="shared-e71", recipientAccountId=w.B),
        w.event("e73", "09:03:20", "s3", "ListBuckets", copier, w.INTRUDER_IP, "copier/1.0"),
    ]  # fmt: skip
    with Case.open(w.ingest_world(tmp_path, extra)) as case:
        result = pivot(case.store, "access_key", w.AKIA_ALICE, Scope(ips=(w.INTRUDER_IP,)))
    assert "e72" in result.in_scope_event_ids and "e73" not in result.lineage_event_ids
    copier_arn = f"arn:aws:sts::{w.B}:assumed-role/Copier/x"
    assert [(n["via"], n["key"], n["events"]) for n in result.summary["nearby"] if n["principal"] == copier_arn] == [
        ("ip", "ASIACOPY000000000001", 1),
        ("user_agent", "ASIACOPY000000000001", 1),
    ]


def test_a_hostile_access_key_id_is_data_in_the_pivots_sql(tmp_path: Path) -> None:
    """Key ids are written into the pivot's SQL as literals (for the scan filter); one carrying a
    quote, SQL and a NUL must match its own two events and change nothing else."""
    hostile = "AKIA'); DROP TABLE events; --\x00x"
    mallory = w.user(w.A, "mallory", hostile)
    extra = [
        w.event("e80", "13:00", "s3", "ListBuckets", mallory, w.BOB_IP, "curl/8"),
        w.event("e81", "13:01", "iam", "ListUsers", mallory, w.BOB_IP, "curl/8"),
    ]
    with Case.open(w.ingest_world(tmp_path, extra)) as case:
        result = pivot(case.store, "access_key", hostile)
        assert result.lineage_event_ids == ["e80", "e81"] and result.summary["source_ips"] == [w.BOB_IP]
        assert case.store.count() == len(w.records()) + 2
