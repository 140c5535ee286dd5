"""Fixtures for the TUI tests: the scenario case built once, copied fresh for every test."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerState

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from tests.tui.scenario import write_logs
from tui.app import TrailhoundApp, make_app

os.environ["TEXTUAL_ANIMATIONS"] = "none"
SIZE = (160, 45)


@pytest.fixture(scope="session")
def scenario_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_logs(tmp_path_factory.mktemp("evidence") / "logs")


@pytest.fixture(scope="session")
def built_case(tmp_path_factory: pytest.TempPathFactory, scenario_logs: Path) -> Path:
    folder = tmp_path_factory.mktemp("built") / "case"
    with Case.open(folder) as case:
        ingest_sources(case, [str(scenario_logs)], SourceOptions())
    return folder


@pytest.fixture
def case_dir(tmp_path: Path, built_case: Path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(built_case, target, ignore=shutil.ignore_patterns("case.lock"))
    return target


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(case_dir: Path, data_dir: Path) -> Iterator[TrailhoundApp]:
    yield make_app(case_dir=case_dir, data_dir_path=data_dir)


async def settle(pilot: Pilot[object]) -> None:
    """Let workers finish and their messages land (a worker's result can start another).

    A worker in an exclusive group is cancelled when it is started again (the free-text indexer
    after loading finishes): that is the app's normal course, so a cancelled worker is not waited on.
    """
    for _ in range(4):
        for worker in [w for w in pilot.app.workers if w.state != WorkerState.PENDING]:
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
        await pilot.pause()


def screen_text(app: TrailhoundApp) -> str:
    """What the terminal shows right now, as plain lines (the compositor's own output)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
