"""Pivots from a row, profiles, back and forward, and the lineage view (scenario: tests/tui/scenario.py).

E6 is the stolen Admin session "pwn" (key ASIATEMP…, from 2001:db8::5) deleting the trail; the
expected rows below are read off the story.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList, Tree

from tests.tui.conftest import SIZE, screen_text, settle
from tests.tui.scenario import ALICE_KEY, CHILD_KEY, SESSION_KEY
from tests.tui.test_workbench import apply_filter
from tui.messages import StoreChanged
from tui.widgets.lineage_view import LineagePane
from tui.widgets.profile import ProfilePanel
from tui.widgets.timeline import Timeline


def names(app) -> list[str]:
    timeline = app.screen.query_one(Timeline)
    return [timeline.rows.get(i)["event_name"] for i in range(len(timeline.rows))]


def selected(app) -> str:
    return app.screen.query_one(Timeline).current["event_id"][-2:]


async def pivot_from(pilot, index: int, key: str) -> None:
    pilot.app.screen.query_one(Timeline).cursor = index
    await pilot.press(key)
    await settle(pilot)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("a", ["DeleteTrail", "GetObject", "AssumeRole"]),  # the session's ARN: E6 E7 E8
        ("k", ["AssumeRole", "DeleteTrail", "GetObject", "AssumeRole"]),  # E5 minted it, E6-E8 used it
        ("s", ["DeleteTrail", "GetObject", "AssumeRole"]),  # principal AROAADMIN:pwn
        ("i", ["DeleteTrail", "GetObject", "AssumeRole", "ListBuckets"]),  # 2001:db8::5, E6-E9
        ("u", ["ListBuckets", "PutObject", "AssumeRole", "DeleteTrail", "GetObject", "AssumeRole"]),  # aws-cli/2.15.0
        ("r", ["DeleteTrail"]),  # the trail named in requestParameters (engine's resource index)
    ],
)
async def test_each_pivot_from_a_row(app, key, expected):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 5, key)
        assert names(app) == expected
        assert selected(app) == "06"  # the event pivoted from stays selected


async def test_resource_pivot_from_an_object_read(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 6, "r")  # E7 read secrets.txt; nobody else touched it
        assert names(app) == ["GetObject"]
        assert "arn:aws:s3:::corp-data/secrets.txt" in screen_text(app)


async def test_back_and_forward_restore_view_and_selection(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 5, "i")
        app.screen.query_one(Timeline).cursor = 3  # E9
        await pivot_from(pilot, 3, "k")
        assert names(app) == ["AssumeRole", "ListBuckets"]  # E8 minted ASIACHILD, E9 used it
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert len(names(app)) == 4 and selected(app) == "09"
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert len(names(app)) == 12 and selected(app) == "06"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert len(names(app)) == 4 and selected(app) == "09"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert names(app) == ["AssumeRole", "ListBuckets"]


async def test_profile_of_a_session(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 5, "s")
        panel = app.screen.query_one(ProfilePanel)
        sections = {title: [(i.value, i.count) for i in items] for title, _, items in _sections(panel)}
        assert sections["Accounts"] == [("222222222222", 3)]
        assert sections["Regions"] == [("eu-west-1", 2), ("us-east-1", 1)]
        assert sections["Source IPs"] == [("2001:db8::5", 3)]
        assert sections["API calls"] == [("AssumeRole", 1), ("DeleteTrail", 1), ("GetObject", 1)]
        assert sections["Access keys"] == [(SESSION_KEY, 3)]
        assert sections["Keys issued"] == [(CHILD_KEY, 1)]
        assert ("arn:aws:s3:::corp-data/secrets.txt", 1) in sections["Resources"]
        text = screen_text(app)
        assert "3 events" in text and "first 2024-05-01T09:05:00Z" in text and "last  2024-05-01T09:10:00Z" in text


async def test_profile_flags_new_values_and_every_value_pivots(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 0, "k")  # alice's key: first seen 08:00; learning ends 08:25 (a quarter of 100 min)
        panel = app.screen.query_one(ProfilePanel)
        ips = {i.value: i.new for title, _, items in _sections(panel) if title == "Source IPs" for i in items}
        assert ips == {"198.51.100.7": False, "203.0.113.50": True, "203.0.113.51": True}
        listing = panel.query_one(OptionList)
        index = next(
            i for i in range(listing.option_count) if "203.0.113.50" in str(listing.get_option_at_index(i).prompt)
        )
        listing.focus()
        listing.highlighted = index
        await pilot.press("enter")
        await settle(pilot)
        assert names(app) == ["GetCallerIdentity", "ListUsers"]


async def test_a_filter_within_an_entity_keeps_its_profile_and_another_entity_gets_its_own(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 5, "s")  # the session AROAADMIN:pwn: 3 events
        panel = app.screen.query_one(ProfilePanel)
        shown = panel.profile
        assert shown is not None and shown.events == 3
        await apply_filter(pilot, "name:GetObject")
        assert names(app) == ["GetObject"]
        assert panel.profile is shown  # the entity did not change: not profiled again
        await pivot_from(pilot, 0, "i")  # E7's source, 2001:db8::5: E6-E9
        assert panel.profile is not shown and panel.profile.value == "2001:db8::5" and panel.profile.events == 4
        shown = panel.profile
        app.post_message(StoreChanged(events=1))  # loading landed events: the figures may be stale
        await settle(pilot)
        await apply_filter(pilot, "name:GetObject")
        assert panel.profile is not shown and panel.profile.events == 4  # profiled again


async def test_lineage_view_and_its_nodes(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 0, "l")
        pane = app.screen.query_one(LineagePane)
        assert pane.display
        tree = pane.query_one(Tree)
        labels = [str(node.label) for node in _walk(tree.root)]
        assert labels[0].startswith("origin: long_term: arn:aws:iam::111111111111:user/alice")
        assert labels[1].startswith(f"{ALICE_KEY}  user/alice  111111111111  8 events")
        assert labels[2].startswith(f"{SESSION_KEY}  assumed-role/Admin/pwn  222222222222  3 events")
        assert "via AssumeRole" in labels[2]
        assert labels[3].startswith(f"{CHILD_KEY}  assumed-role/Admin/pwn2  222222222222  1 event ")
        assert tree.cursor_node.data == ALICE_KEY
        await pilot.press("down", "enter")
        await settle(pilot)
        assert names(app) == ["AssumeRole", "DeleteTrail", "GetObject", "AssumeRole"]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert len(names(app)) == 12  # in this story every event descends from alice's key


def _sections(panel: ProfilePanel):
    return panel.profile.sections


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


async def test_the_footer_follows_the_keys_of_each_view(app):
    """The footer rebuilds only when its keys change (tui/widgets/footer.py): it must still change."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Lineage events" not in footer(app) and "Filter" in footer(app)
        await pivot_from(pilot, 0, "l")
        await pilot.pause()
        assert "Lineage events" in footer(app)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "Lineage events" not in footer(app) and "Filter" in footer(app)


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]
