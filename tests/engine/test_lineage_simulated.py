"""The simulator's key-compromise story against its own ground truth (``scenario.json``).

The truth lists every record the intruder caused and which event minted which key; the pivot on
the leaked key, scoped to the intruder's first address, must recover exactly those records from
amid the owner's use of the same key and thousands of background events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.pivot import PivotResult, Scope, pivot
from investigations.simulate.scenarios import generate
from investigations.simulate.truth import Attack


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Attack, Case]]:
    root = tmp_path_factory.mktemp("simulated")
    truth = generate("key-compromise", root / "logs", events=3000, seed=11, start=datetime(2024, 3, 4), days=3)
    assert truth.attack is not None
    with Case.open(root / "case") as case:
        ingest_sources(case, [str(root / "logs")], SourceOptions(workers=0))
        yield truth.attack, case


@pytest.fixture(scope="module")
def scoped(story: tuple[Attack, Case]) -> PivotResult:
    attack, case = story
    return pivot(case.store, "access_key", attack.leaked_key, Scope(ips=(attack.intruder_ips[0],)))


def test_scoped_pivot_recovers_exactly_the_intruders_records(scoped: PivotResult, story: tuple[Attack, Case]) -> None:
    attack, _ = story
    assert set(scoped.in_scope_event_ids) == set(attack.event_ids)
    assert len(scoped.in_scope_event_ids) == len(attack.event_ids)


def test_every_minted_key_hangs_off_the_right_parent(scoped: PivotResult, story: tuple[Attack, Case]) -> None:
    attack, _ = story
    edges = {(d["parent"], d["child"]): d for d in scoped.descendants}
    assert set(edges) == {(i.parent_key, i.key) for i in attack.issued}
    for issued in attack.issued:
        edge = edges[(issued.parent_key, issued.key)]
        assert edge["event_id"] in issued.event_ids and edge["in_scope"] and not edge["inferred"]
    copies = [i for i in attack.issued if len(i.event_ids) == 2]
    assert copies and all(set(i.event_ids) <= set(scoped.lineage_event_ids) for i in copies)


def test_out_of_scope_is_the_owners_own_use(scoped: PivotResult, story: tuple[Attack, Case]) -> None:
    attack, case = story
    assert scoped.out_of_scope_event_ids  # the owner keeps working with the same key
    ips = case.store.distinct("source_ip", "event_id IN (SELECT unnest(?::VARCHAR[]))", [scoped.out_of_scope_event_ids])
    assert {ip for ip, _ in ips} <= set(attack.owner_ips)


def test_backdoor_key_traces_back_to_the_leak(story: tuple[Attack, Case]) -> None:
    attack, case = story
    result = pivot(case.store, "access_key", attack.backdoor_key)
    parent = next(i for i in attack.issued if i.key == attack.backdoor_key).parent_key
    assert result.ancestors == [parent, attack.leaked_key]
    assert result.summary["source_ips"] == [attack.intruder_ips[1]]
