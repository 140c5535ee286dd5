"""SVG snapshots of the main screens (update with ``pytest --snapshot-update`` after a deliberate change)."""

from __future__ import annotations

import orjson

from tests.tui.conftest import SIZE, settle
from tui.app import make_app
from tui.screens.loading import LoadingScreen
from tui.widgets.timeline import Timeline


def test_workbench(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_filtered_with_detail(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("slash", *"ip:203.0.113.0/24", "enter")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_entity_profile(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.screen.query_one(Timeline).cursor = 5  # E6, the stolen session deleting the trail
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_loading(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.app.push_screen(LoadingScreen(["/evidence/AWSLogs", "s3://acme-trail/AWSLogs/"]))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_start(snap_compare, data_dir):
    data_dir.mkdir(parents=True)
    recent = [
        {"path": "/cases/acme-breach", "name": "acme-breach", "events": 1_204_331, "opened": "2024-05-02T10:00:00Z"},
        {"path": "/cases/q1-review", "name": "q1-review", "events": 5_120, "opened": "2024-04-01T09:00:00Z"},
    ]
    (data_dir / "recent.json").write_bytes(orjson.dumps(recent))
    assert snap_compare(make_app(data_dir_path=data_dir), terminal_size=SIZE, run_before=settle)


def test_lineage(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_detections(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("F", "D")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_case_panel(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        pilot.app.screen.query_one(Timeline).cursor = 5
        await pilot.press("b", "C")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sql_console(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("S", "ctrl+r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
