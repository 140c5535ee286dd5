"""The entity graph of the hand-written world: nodes by kind, aggregated edges with their counts."""

from __future__ import annotations

from datetime import datetime

import networkx as nx
import pytest

from investigations.case import Case
from investigations.graph import build_graph, node_id
from investigations.model import EntityKind
from tests.support import lineage_world as w

K, P, S = EntityKind.ACCESS_KEY, EntityKind.PRINCIPAL, EntityKind.SESSION


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> nx.MultiDiGraph:
    with Case.open(w.ingest_world(tmp_path_factory.mktemp("world"))) as case:
        return build_graph(case.store)


def edge(graph: nx.MultiDiGraph, a: str, b: str, relation: str) -> dict:
    return graph.get_edge_data(a, b, key=relation)


def test_nodes_by_kind(graph: nx.MultiDiGraph) -> None:
    def values(kind: EntityKind) -> set[str]:
        return {d["value"] for _, d in graph.nodes(data=True) if d["kind"] == kind}

    assert values(EntityKind.ACCOUNT) == {w.A, w.B}
    assert values(EntityKind.REGION) == {"us-east-1", "eu-west-1"}
    assert len(values(K)) == 15  # every key used or issued, the backdoor included
    assert values(S) == {
        f"arn:aws:iam::{w.A}:user/dave@2024-05-01T12:00:00Z",
        f"arn:aws:sts::{w.A}:assumed-role/Reporting/etl@2024-05-01T07:00:00Z",
        f"arn:aws:sts::{w.A}:assumed-role/Reporting/nightly@2024-05-01T06:00:00Z",
    }
    assert "arn:aws:s3:::prod-data/finance/q1.csv" not in values(EntityKind.RESOURCE)  # objects fold into prefixes
    assert {"arn:aws:s3:::prod-data", "arn:aws:s3:::prod-data/finance/"} <= values(EntityKind.RESOURCE)
    assert graph.nodes[node_id(K, w.AKIA_ALICE)]["key_type"] == "long_term"
    assert graph.nodes[node_id(K, w.ASIA_INT1)]["key_type"] == "temporary"


def test_key_edges_carry_counts_times_and_errors(graph: nx.MultiDiGraph) -> None:
    alice = node_id(K, w.AKIA_ALICE)
    intruder = edge(graph, alice, node_id(EntityKind.IP, w.INTRUDER_IP), "from")
    assert (intruder["count"], intruder["errors"]) == (3, 1)
    assert (intruder["first_seen"], intruder["last_seen"]) == (datetime(2024, 5, 1, 9), datetime(2024, 5, 1, 9, 2))
    assert sorted(intruder["event_names"]) == ["AssumeRole", "GetCallerIdentity"]
    owner = edge(graph, alice, node_id(EntityKind.IP, w.OWNER_IP), "from")
    assert (owner["count"], owner["errors"]) == (4, 0)
    assert edge(graph, node_id(P, w.ALICE_ARN), alice, "uses")["count"] == 7


def test_lineage_edges_follow_keys_not_names(graph: nx.MultiDiGraph) -> None:
    issued = {(a, b) for a, b, k in graph.edges(keys=True) if k == "issued"}
    assert (node_id(K, w.AKIA_ALICE), node_id(K, w.ASIA_INT1)) in issued
    assert (node_id(K, w.AKIA_BOB), node_id(K, w.ASIA_DECOY)) in issued
    assert (node_id(K, w.ASIA_INT3), node_id(K, w.AKIA_BACKDOOR)) in issued
    assert (node_id(P, "ec2.amazonaws.com"), node_id(K, w.ASIA_EC2)) in issued
    nightly = edge(graph, node_id(K, w.AKIA_ALICE), node_id(K, w.ASIA_NIGHTLY), "issued")
    assert (nightly["event_id"], nightly["inferred"]) == ("e32", True)
    # Both same-named sessions hang off one principal, each with its own key.
    uses = {b for _, b, k in graph.out_edges(node_id(P, w.DEPLOY_OPS), keys=True) if k == "uses"}
    assert uses == {node_id(K, w.ASIA_INT1), node_id(K, w.ASIA_DECOY)}


def test_console_session_node_groups_its_keys(graph: nx.MultiDiGraph) -> None:
    session = node_id(S, f"arn:aws:iam::{w.A}:user/dave@2024-05-01T12:00:00Z")
    assert edge(graph, node_id(P, f"arn:aws:iam::{w.A}:user/dave"), session, "opened")["count"] == 2
    assert {b for _, b in graph.out_edges(session)} == {node_id(K, w.ASIA_CON1), node_id(K, w.ASIA_CON2)}


def test_resources_touched_with_writes(graph: nx.MultiDiGraph) -> None:
    backdoor_user = edge(graph, node_id(K, w.ASIA_INT3), node_id(P, f"arn:aws:iam::{w.B}:user/svc-backup"), "touched")
    assert (backdoor_user["count"], backdoor_user["writes"], backdoor_user["event_names"]) == (
        1,
        1,
        ["CreateAccessKey"],
    )
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{w.B}:trail/org-trail"
    trail = edge(graph, node_id(K, w.ASIA_INT3), node_id(EntityKind.RESOURCE, trail_arn), "touched")
    assert trail["writes"] == 1
    role = edge(graph, node_id(K, w.AKIA_ALICE), node_id(P, f"arn:aws:iam::{w.A}:role/Backup"), "touched")
    assert (role["count"], role["errors"], role["writes"]) == (1, 1, 0)
    sessions = edge(graph, node_id(P, f"arn:aws:iam::{w.A}:role/Deploy"), node_id(P, w.DEPLOY_OPS), "session_of")
    assert sessions["count"] == 3  # e07 by the intruder, e09a, e08 by bob
