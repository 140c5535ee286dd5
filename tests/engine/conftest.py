"""Fixtures shared by the engine tests: the hand-written lineage world, ingested once per worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from investigations.case import Case
from investigations.store import EventStore
from tests.support import lineage_world


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lineage world's case folder; tests that change the world ingest their own copy."""
    return lineage_world.ingest_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def world_store(world_dir: Path) -> Iterator[EventStore]:
    with Case.open(world_dir) as case:
        yield case.store
