"""The workbench's flows, driven by keys through Pilot on the scenario case (tests/tui/scenario.py).

Expected rows are read off the scenario's story: E<n> is the n-th record there, in time order.
"""

from __future__ import annotations

import pytest
from textual.command import CommandList
from textual.widgets import Input

from tests.tui.conftest import SIZE, screen_text, settle
from tui import settings
from tui.app import make_app
from tui.screens.help import HelpScreen
from tui.screens.workbench import WorkbenchScreen
from tui.widgets.events_pane import EventsPane
from tui.widgets.filter_bar import FilterBar
from tui.widgets.timeline import Timeline
from tui.widgets.volume import VolumeChart


def names(app) -> list[str]:
    timeline = app.screen.query_one(Timeline)
    return [timeline.rows.get(i)["event_name"] for i in range(len(timeline.rows))]


def status(app) -> str:
    return str(app.screen.query_one("#filter-status").render())


async def apply_filter(pilot, text: str) -> None:
    """Focus the bar with its key, put the query in, press enter (typing each key is covered once)."""
    await pilot.press("slash")
    pilot.app.screen.query_one(FilterBar).input.value = text
    await pilot.press("enter")
    await settle(pilot)


async def test_opening_a_built_case_shows_every_event(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WorkbenchScreen)
        assert names(app) == [
            "ListBuckets",
            "PutObject",
            "GetCallerIdentity",
            "ListUsers",
            "AssumeRole",
            "DeleteTrail",
            "GetObject",
            "AssumeRole",
            "ListBuckets",
            "GetObject",
            "DescribeInstances",
            "ListRoles",
        ]
        assert status(app).startswith("12 events")
        timeline = app.screen.query_one(Timeline)
        header = timeline.render_line(0).text
        for title in ("TIME (UTC)", "ACCOUNT", "REGION", "ACTOR", "KEY", "SOURCE IP", "EVENT", "ERROR", "RESOURCE"):
            assert title in header


async def test_filter_selects_and_reports_count(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"ip:203.0.113.0/24", "enter")
        await settle(pilot)
        # E3 GetCallerIdentity and E4 ListUsers from .50, E5 AssumeRole from .51
        assert names(app) == ["GetCallerIdentity", "ListUsers", "AssumeRole"]
        assert status(app).startswith("3 events")
        await pilot.press("slash", *" -error:*", "enter")
        await settle(pilot)
        assert names(app) == ["GetCallerIdentity", "AssumeRole"]
        assert app.screen.query_one(FilterBar).input.value == "ip:203.0.113.0/24 -error:*"


async def test_escape_leaves_the_filter_as_it_was_applied(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await apply_filter(pilot, "ip:203.0.113.0/24")
        await pilot.press("slash", *" -error:*")
        assert status(app).startswith("typing a filter")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.focused, Timeline)
        assert app.screen.query_one(FilterBar).input.value == "ip:203.0.113.0/24"
        assert names(app) == ["GetCallerIdentity", "ListUsers", "AssumeRole"]
        assert status(app).startswith("3 events")


async def test_a_reload_while_typing_keeps_the_hint_and_the_text(app):
    # Loading lands more events while the responder types: the view reloads behind the bar.
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"name:Li")
        app.screen.query_one(EventsPane).reload()
        await settle(pilot)
        assert status(app).startswith("typing a filter") or status(app).startswith("fields:")
        assert app.screen.query_one(FilterBar).input.value == "name:Li"
        await pilot.press("enter")
        await settle(pilot)
        assert status(app).startswith("0 events")  # name:Li matches no name exactly: applied, counted


async def test_filter_error_points_at_the_mistake(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await apply_filter(pilot, "name:List* nmae:x")
        text = status(app)
        assert "col 12" in text and "did you mean name:" in text
        assert app.screen.query_one(FilterBar).input.cursor_position == 11
        assert len(names(app)) == 12  # nothing applied


async def test_filter_history_and_completion(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await apply_filter(pilot, "name:List*")
        await apply_filter(pilot, "error:*")
        await pilot.press("slash", "up")
        assert app.screen.query_one(FilterBar).input.value == "error:*"
        await pilot.press("up")
        assert app.screen.query_one(FilterBar).input.value == "name:List*"
        await pilot.press("ctrl+u", *"-rea")
        await settle(pilot)
        await pilot.press("tab")
        assert app.screen.query_one(Input).value == "-readonly:"
        assert "fields:" in status(app) or "readonly:" in status(app)


async def test_value_completion_offers_what_the_case_holds(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"name:Desc")
        await settle(pilot)
        await pilot.press("tab")
        assert app.screen.query_one(FilterBar).input.value == "name:DescribeInstances"


async def test_histogram_bar_narrows_time(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        volume = app.screen.query_one(VolumeChart)
        # 08:00..09:40 on 158 columns: one-minute bars; the cursor starts on the last busy bar (09:40, E12).
        assert volume.data.bucket == 60 and volume.cursor == 100
        await pilot.press("v", *["left"] * 10, "enter")
        await settle(pilot)
        assert app.screen.query_one(FilterBar).input.value == ("after:2024-05-01T09:30:00Z before:2024-05-01T09:31:00Z")
        assert names(app) == ["DescribeInstances"]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert len(names(app)) == 12


async def test_a_lone_event_is_one_bar_not_a_wall(app):
    """Narrowed to 09:30 there is one event, so one one-second bucket: a bar of at most eight
    columns at the left, where it used to stretch across the whole chart."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v", *["left"] * 10, "enter")
        await settle(pilot)
        volume = app.screen.query_one(VolumeChart)
        assert names(app) == ["DescribeInstances"] and len(volume.data.counts) == 1
        top, bottom = volume.render().plain.splitlines()[:2]
        assert top.rstrip() == bottom.rstrip() == "█" * 8


async def test_histogram_run_of_bars(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v")
        app.screen.query_one(VolumeChart).cursor = 61
        await pilot.press(*["shift+left"] * 6, "enter")
        await settle(pilot)
        # bars 55..61 cover 08:55 to 09:02 (exclusive): E3 (09:00) and E4 (09:01)
        assert names(app) == ["GetCallerIdentity", "ListUsers"]


async def test_clicking_a_bar_narrows_to_it(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # one cell per one-minute bar; bar 65 is 09:05, when E6 DeleteTrail happened
        await pilot.click(VolumeChart, offset=(1 + 65, 1))
        await settle(pilot)
        assert names(app) == ["DeleteTrail"]


async def test_help_lists_the_keys_and_fields(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for words in ("Actor", "Back", "Filter", "Help", "name:", "readonly:"):
            assert words in text
        await pilot.press("escape")
        assert isinstance(app.screen, WorkbenchScreen)


async def test_command_palette_runs_a_pivot(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "down", "ctrl+p", *"source IP")
        await pick_first(pilot, "pivot to the source ip")
        await settle(pilot)
        # E3 came from 203.0.113.50, as did E4
        assert names(app) == ["GetCallerIdentity", "ListUsers"]


async def test_the_theme_picked_in_the_palette_is_kept_for_the_next_start(case_dir, data_dir):
    first = make_app(case_dir=case_dir, data_dir_path=data_dir)
    async with first.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert first.theme != "nord"
        await pilot.press("ctrl+p", *"theme")
        await pick_first(pilot, "theme")
        await pilot.press(*"nord")
        await pick_first(pilot, "nord")
        await settle(pilot)
        assert first.theme == "nord"
    assert settings.load(data_dir) == {"theme": "nord"}
    second = make_app(case_dir=case_dir, data_dir_path=data_dir)
    async with second.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert second.theme == "nord"


@pytest.mark.parametrize(
    "content", ['{"theme": "nord"', '{"theme": ["nord"]}', '{"theme": "no-such-theme"}', "[]", ""],
    ids=["cut short", "a list", "unknown theme", "not an object", "empty"],
)
async def test_a_damaged_settings_file_means_the_default_theme(app, data_dir, content):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(content)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark" and isinstance(app.screen, WorkbenchScreen)


async def pick_first(pilot, words: str) -> None:
    """Enter on the palette's first offer once it mentions ``words`` (the palette searches in a worker)."""
    for _ in range(100):
        commands = pilot.app.screen.query(CommandList)
        first = commands.first().get_option_at_index(0) if commands and commands.first().option_count else None
        if first is not None and words in str(first.prompt).lower():
            await pilot.press("enter")
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the palette never offered {words!r} first")
