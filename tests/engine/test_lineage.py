"""Credential lineage on the hand-written world of ``tests.support.lineage_world``.

Every expectation below is read off the world's docstring: which event minted which key, who
signed it, and which links can only be inferred.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from investigations.case import Case
from investigations.derived import ensure_derived
from investigations.lineage import Lineage
from investigations.pivot import TABLES
from investigations.store import EventStore
from tests.support import lineage_world as w


def test_world_ingests_every_record_once(world_store: EventStore) -> None:
    ids = [r["event_id"] for r in world_store.page(0, 100)]
    assert len(ids) == len(w.records()) == 31
    assert ids.count("e07") == 1  # delivered in both files, stored once
    assert ids[:4] == ["e32", "e33", "e30", "e31"]


def test_three_deep_chain_across_accounts_up_to_the_long_term_key(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.ASIA_INT3)
    assert tree.ancestors == [w.ASIA_INT2, w.ASIA_INT1, w.AKIA_ALICE]
    assert [c.event_id for c in tree.chain] == ["e11", "e09a", "e06", None]
    assert tree.origin.as_dict() == {"kind": "long_term", "label": w.ALICE_ARN, "event_id": None, "inferred": False}
    assert [(d.parent, d.key, d.event_id) for d in tree.descendants] == [(w.ASIA_INT3, w.AKIA_BACKDOOR, "e12")]


def test_backdoor_key_descends_from_the_session_that_created_it(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.AKIA_BACKDOOR)
    assert tree.ancestors == [w.ASIA_INT3, w.ASIA_INT2, w.ASIA_INT1, w.AKIA_ALICE]
    assert tree.link is not None and tree.link.event_name == "CreateAccessKey"
    assert tree.descendants == []


def test_descendants_of_the_leaked_key_breadth_first_in_issue_order(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.AKIA_ALICE)
    edges = [(d.parent, d.key, d.event_id, d.inferred) for d in tree.descendants]
    assert edges == [
        (w.AKIA_ALICE, w.ASIA_NIGHTLY, "e32", True),
        (w.AKIA_ALICE, w.ASIA_OWN1, "e02", False),
        (w.AKIA_ALICE, w.ASIA_INT1, "e06", False),
        (w.AKIA_ALICE, w.ASIA_GST, "e16", False),
        (w.ASIA_INT1, w.ASIA_INT2, "e09a", False),
        (w.ASIA_INT2, w.ASIA_INT3, "e11", False),
        (w.ASIA_INT3, w.AKIA_BACKDOOR, "e12", False),
    ]
    assert tree.ancestors == []
    assert w.ASIA_DECOY not in tree.lineage_keys()


def test_same_role_same_session_name_same_second_are_two_sessions(world_store: EventStore) -> None:
    lineage = Lineage(world_store)
    intruder, decoy = lineage.link(w.ASIA_INT1), lineage.link(w.ASIA_DECOY)
    assert intruder is not None and decoy is not None
    assert intruder.arn == decoy.arn == w.DEPLOY_OPS and intruder.created == decoy.created
    assert (intruder.parent, intruder.event_id, intruder.session) == (w.AKIA_ALICE, "e06", w.ASIA_INT1)
    assert (decoy.parent, decoy.event_id, decoy.session) == (w.AKIA_BOB, "e06d", w.ASIA_DECOY)
    assert lineage.family([w.ASIA_INT1]).session_keys([w.ASIA_INT1]) == [w.ASIA_INT1]


def test_failed_assume_role_issues_nothing(world_store: EventStore) -> None:
    family = Lineage(world_store).family([w.AKIA_ALICE])
    assert all(d.event_id != "e05" for d in family.descendants([w.AKIA_ALICE]))
    assert world_store.sql("SELECT count(*) FROM lineage_keys WHERE event_id = 'e05'")[1] == [(0,)]


def test_cross_account_copy_without_key_does_not_hide_the_signer(world_store: EventStore) -> None:
    link = Lineage(world_store).link(w.ASIA_INT2)
    assert link is not None
    assert (link.parent, link.event_id, link.issuer_kind) == (w.ASIA_INT1, "e09a", "key")
    assert link.issuer == w.DEPLOY_OPS


def test_get_session_token_links_by_key_to_the_same_user(world_store: EventStore) -> None:
    link = Lineage(world_store).link(w.ASIA_GST)
    assert link is not None
    assert (link.parent, link.event_id, link.event_name, link.arn) == (
        w.AKIA_ALICE,
        "e16",
        "GetSessionToken",
        w.ALICE_ARN,
    )
    assert link.created == datetime(2024, 5, 1, 10, 30)


def test_instance_profile_session_comes_from_the_service_not_a_user(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.ASIA_EC2)
    assert tree.ancestors == []
    assert tree.origin.as_dict() == {
        "kind": "service",
        "label": "ec2.amazonaws.com",
        "event_id": "e20",
        "inferred": False,
    }
    assert tree.link is not None and tree.link.arn == f"arn:aws:sts::{w.A}:assumed-role/WebRole/{w.INSTANCE}"


def test_saml_session_starts_at_the_external_identity(world_store: EventStore) -> None:
    origin = Lineage.for_key(world_store, w.ASIA_SAML).origin.as_dict()
    assert origin == {"kind": "saml", "label": "erin", "event_id": "e50", "inferred": False}


def test_missing_issuing_event_is_an_inferred_unknown_with_source_identity(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.ASIA_ORPHAN)
    assert tree.ancestors == []
    assert tree.origin.as_dict() == {
        "kind": "unknown",
        "label": "issuing event not in the evidence (sourceIdentity carol)",
        "event_id": None,
        "inferred": True,
    }
    assert (
        tree.link is not None
        and tree.link.session == f"arn:aws:sts::{w.A}:assumed-role/Reporting/etl@2024-05-01T07:00:00Z"
    )


def test_redacted_issuance_is_linked_by_arn_and_creation_date(world_store: EventStore) -> None:
    tree = Lineage.for_key(world_store, w.ASIA_NIGHTLY)
    assert tree.ancestors == [w.AKIA_ALICE]
    assert tree.link is not None
    assert (tree.link.event_id, tree.link.inferred) == ("e32", True)


def test_console_session_groups_its_keys_by_arn_and_creation_date(world_store: EventStore) -> None:
    family = Lineage(world_store).family([w.ASIA_CON2])
    assert family.session_keys([w.ASIA_CON2]) == [w.ASIA_CON1, w.ASIA_CON2]
    tree = family.tree(w.ASIA_CON1)
    assert tree.session_keys == [w.ASIA_CON1, w.ASIA_CON2]
    assert tree.origin.as_dict() == {
        "kind": "console",
        "label": f"arn:aws:iam::{w.A}:user/dave",
        "event_id": "e40",
        "inferred": True,
    }


def test_cycle_in_the_data_ends_the_walk(tmp_path: Path) -> None:
    """Two keys each minted by the other (impossible in AWS, possible in forged evidence)."""
    one, two = "ASIACYCLE0000000001", "ASIACYCLE0000000002"
    ident_one = w.session(w.A, "Loop", "a", one, "2024-05-01T05:00:00Z")
    ident_two = w.session(w.A, "Loop", "b", two, "2024-05-01T05:01:00Z")
    role = f"arn:aws:iam::{w.A}:role/Loop"
    extra = [
        w.assume("c1", "05:01", ident_one, w.OWNER_IP, w.OWNER_UA, role, "b", two),
        w.assume("c2", "05:02", ident_two, w.OWNER_IP, w.OWNER_UA, role, "a", one),
    ]
    with Case.open(w.ingest_world(tmp_path, extra)) as case:
        tree = Lineage.for_key(case.store, one)
    assert tree.ancestors == [two]
    assert tree.origin.kind == "cycle" and tree.origin.inferred
    assert [(d.parent, d.key) for d in tree.descendants] == [(one, two)]


def test_links_follow_new_evidence(tmp_path: Path) -> None:
    """The cached lineage table is rebuilt when an ingest adds the missing issuing event."""
    case_dir = w.ingest_world(tmp_path)
    with Case.open(case_dir) as case:
        assert Lineage.for_key(case.store, w.ASIA_ORPHAN).ancestors == []
    issuing = w.assume(
        "e29", "07:00", w.user(w.A, "alice", w.AKIA_ALICE), w.OWNER_IP, w.OWNER_UA,
        f"arn:aws:iam::{w.A}:role/Reporting", "etl", w.ASIA_ORPHAN,
    )  # fmt: skip
    late = w.write_world(tmp_path / "late", [issuing])
    from investigations.evidence import SourceOptions, ingest_sources

    with Case.open(case_dir) as case:
        ingest_sources(case, [str(late)], SourceOptions(workers=0))
        tree = Lineage.for_key(case.store, w.ASIA_ORPHAN)
    assert tree.ancestors == [w.AKIA_ALICE]
    assert tree.link is not None and (tree.link.event_id, tree.link.inferred) == ("e29", False)


def test_federation_token_and_web_identity(tmp_path: Path) -> None:
    """GetFederationToken links by key to its IAM user; a web identity is an external origin."""
    fed, web = "ASIAFEDERATED000001", "ASIAWEBIDENTITY0001"
    federated = {
        "type": "FederatedUser",
        "principalId": f"{w.A}:partner",
        "arn": f"arn:aws:sts::{w.A}:federated-user/partner",
        "accountId": w.A,
        "accessKeyId": fed,
        "sessionContext": {"attributes": {"creationDate": "2024-05-01T13:00:00Z", "mfaAuthenticated": "false"}},
    }
    github = {
        "type": "WebIdentityUser",
        "principalId": "token.actions.githubusercontent.com:repo:x",
        "userName": "repo:x",
    }
    extra = [
        w.event("f1", "13:00", "sts", "GetFederationToken", w.user(w.A, "bob", w.AKIA_BOB), w.BOB_IP, w.OWNER_UA,
                requestParameters={"name": "partner"},
                responseElements={"credentials": {"accessKeyId": fed},
                                  "federatedUser": {"arn": f"arn:aws:sts::{w.A}:federated-user/partner"}}),
        w.event("f2", "13:05", "s3", "ListBuckets", federated, "192.0.2.7", "aws-cli/2.15.0"),
        w.assume("f3", "13:10", github, "192.0.2.8", "GitHubActions", f"arn:aws:iam::{w.A}:role/CI", "gha", web,
                 event_name="AssumeRoleWithWebIdentity"),
        w.event("f4", "13:11", "s3", "ListBuckets", w.session(w.A, "CI", "gha", web, "2024-05-01T13:10:00Z"),
                "192.0.2.8", "GitHubActions"),
    ]  # fmt: skip
    with Case.open(w.ingest_world(tmp_path, extra)) as case:
        family = Lineage(case.store).family([fed, web, w.AKIA_BOB])
    link = family.link(fed)
    assert link is not None
    assert (link.parent, link.event_id, link.event_name, link.arn) == (
        w.AKIA_BOB,
        "f1",
        "GetFederationToken",
        f"arn:aws:sts::{w.A}:federated-user/partner",
    )
    assert [d.key for d in family.descendants([w.AKIA_BOB])] == [w.ASIA_DECOY, fed]
    assert family.tree(web).origin.as_dict() == {
        "kind": "web_identity",
        "label": "repo:x",
        "event_id": "f3",
        "inferred": False,
    }


def test_derived_tables_from_an_older_trailhound_are_rebuilt(tmp_path: Path) -> None:
    """A table recorded under the signature an older Trailhound wrote ("count:max rid", no version)
    is rebuilt, not queried for columns it lacks."""
    with Case.open(w.ingest_world(tmp_path)) as case:
        store = case.store
        ensure_derived(store, TABLES)
        store.sql("DROP TABLE keyless_events")
        store.sql("CREATE TABLE keyless_events AS SELECT 1 AS stale")  # an old shape under the current signature
        signature = store.meta("derived:keyless_events")
        assert signature is not None
        store.set_meta("derived:keyless_events", signature.split(":", 1)[1])
        ensure_derived(store, TABLES)
        assert store.sql("SELECT count(*) FROM keyless_events WHERE event_id = 'e40'")[1] == [(1,)]
