"""Free-text filters in the workbench, answered by the text index the app builds after opening.

Expected rows are read off the scenario (tests/tui/scenario.py): corp-data appears in E2's and
E7's resources and E10's request; pwn2 is the session E8 mints and E9 acts as; E9's user agent
carries Rich markup; only E6 (DeleteTrail) names org-trail.
"""

from __future__ import annotations

from investigations.query import parse
from tests.tui.conftest import SIZE, screen_text, settle
from tests.tui.test_workbench import apply_filter, names, status
from tui.messages import TextIndexing
from tui.widgets.volume import VolumeChart


async def test_free_text_filters_use_the_index_built_after_opening(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.reader.store.text_index.current() is not None  # built in the background
        assert app.reader.text_search("corp-data") is not None
        for text, expected in (
            ("CORP-DATA", ["PutObject", "GetObject", "GetObject"]),
            ("pwn2", ["AssumeRole", "ListBuckets"]),
            ("[bold", ["ListBuckets"]),
            ("deletetrail*org-trail", ["DeleteTrail"]),
            ("pwn2 -name:AssumeRole", ["ListBuckets"]),
            ("no-such-thing-anywhere", []),
        ):
            await apply_filter(pilot, text)
            assert names(app) == expected, text
            noun = "event" if len(expected) == 1 else "events"
            assert status(app).startswith(f"{len(expected)} {noun} ·"), text
            if expected:  # and the volume chart's axis line counts them alike
                assert f"/bar · {len(expected)} {noun} ·" in screen_text(app), text


async def test_a_free_text_filter_answered_from_the_index_alone_has_its_histogram(app):
    """One free-text term skips the events scan (Reader.rid_matches): the rows and the volume bars
    still follow it. corp-data: E2 at 08:05, E7 at 09:06, E10 at 09:20, on one-minute bars from 08:00."""
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert parse("corp-data", search=app.reader.text_search).rids is not None  # the path under test
        await apply_filter(pilot, "corp-data")
        assert names(app) == ["PutObject", "GetObject", "GetObject"]
        data = app.screen.query_one(VolumeChart).data
        assert data.bucket == 60 and {i: c for i, c in enumerate(data.counts) if c} == {5: 1, 66: 1, 80: 1}


async def test_the_top_bar_says_while_free_text_is_being_indexed(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "indexing free text" not in screen_text(app)
        app.post_message(TextIndexing("indexing free text 40%"))
        await pilot.pause()
        assert "indexing free text 40%" in screen_text(app)
        app.post_message(TextIndexing("", "OSError: [Errno 28] No space left on device"))
        await pilot.pause()
        assert "indexing free text" not in screen_text(app)
        assert any("free text scans instead" in n.message for n in app._notifications)

