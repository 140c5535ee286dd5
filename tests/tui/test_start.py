"""The start screen: open a folder into a new case, reopen a recent one, pull LookupEvents."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from tests.support.aws_env import offline_aws
from tests.support.cloudtrail_server import CloudTrailServer
from tests.support.lookup_events import LookupEvents
from tests.tui.conftest import SIZE, screen_text, settle
from tests.tui.scenario import RECORDS
from tui.app import make_app
from tui.cli_open import recent_cases
from tui.screens.start import StartScreen
from tui.screens.workbench import WorkbenchScreen
from tui.widgets.timeline import Timeline


async def wait_for_workbench(pilot) -> None:
    for _ in range(100):
        await settle(pilot)
        if isinstance(pilot.app.screen, WorkbenchScreen) and not pilot.app.loading:
            return
        await pilot.pause(0.05)


async def test_open_a_folder_then_reopen_it_from_recent(tmp_path, scenario_logs, data_dir):
    app = make_app(data_dir_path=data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        app.screen.query_one("#start-source", Input).value = str(scenario_logs)
        app.screen.query_one("#start-case", Input).value = str(tmp_path / "from-start")
        await pilot.click("#start-open")
        await wait_for_workbench(pilot)
        assert len(app.screen.query_one(Timeline).rows) == 12
    [entry] = recent_cases(data_dir)
    assert entry["path"] == str(tmp_path / "from-start") and entry["events"] == 0  # remembered before loading
    app = make_app(data_dir_path=data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "from-start" in screen_text(app)
        await pilot.press("enter")
        await wait_for_workbench(pilot)
        assert len(app.screen.query_one(Timeline).rows) == 12


async def test_a_missing_folder_is_refused_in_place(data_dir):
    app = make_app(data_dir_path=data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#start-source", Input).value = "/no/such/evidence"
        await pilot.click("#start-open")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        assert "/no/such/evidence: no such file or folder" in screen_text(app)


@pytest.fixture
def cloudtrail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with CloudTrailServer() as server:
        server.handlers["LookupEvents"] = LookupEvents(RECORDS)
        offline_aws(monkeypatch, tmp_path, AWS_ENDPOINT_URL=server.endpoint_url)
        yield server


async def test_lookup_events_pull_into_a_new_case(tmp_path, data_dir, cloudtrail):
    app = make_app(data_dir_path=data_dir)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#lookup-regions", Input).value = "us-east-1"
        app.screen.query_one("#lookup-start", Input).value = ""
        app.screen.query_one("#start-case", Input).value = str(tmp_path / "pulled")
        await pilot.click("#lookup-pull")
        await wait_for_workbench(pilot)
        # every scenario event but E6 and E7, which happened in eu-west-1
        timeline = app.screen.query_one(Timeline)
        got = [timeline.rows.get(i)["event_id"][-2:] for i in range(len(timeline.rows))]
        assert got == ["01", "02", "03", "04", "05", "08", "09", "10", "11", "12"]
        assert app.case.data["sources"][0]["kind"] == "lookup"
