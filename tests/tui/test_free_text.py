"""Free-text filters in the workbench, answered by the text index the app builds after opening.

Expected rows are read off the scenario (tests/tui/scenario.py): corp-data appears in E2's and
E7's resources and E10's request; pwn2 is the session E8 mints and E9 acts as; E9's user agent
carries Rich markup; only E6 (DeleteTrail) names org-trail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


HELPED = """
import asyncio, sys
from pathlib import Path
from tests.tui.conftest import SIZE, settle
from tests.tui.test_workbench import apply_filter, names
from tui.app import make_app

async def main():
    app = make_app(case_dir=Path(sys.argv[1]), data_dir_path=Path(sys.argv[2]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        index = app.reader.store.text_index
        print("started", index.start_helpers(minimum=0))
        answered, real = [], index._helpers.scan
        def scan(*args, **kwargs):
            runs = real(*args, **kwargs)
            answered.append(len(runs))
            return runs
        index._helpers.scan = scan
        await apply_filter(pilot, "CORP-DATA")
        print("answered", answered, names(app))

asyncio.run(main())
"""


def test_helper_processes_start_and_answer_inside_the_running_app(case_dir, data_dir):
    """Under Textual, sys.stderr is a capture object without a descriptor, which multiprocessing's
    resource tracker asks for; helpers must start anyway (and answer). A fresh interpreter, so the
    tracker is not already running from another test."""
    done = subprocess.run(
        [sys.executable, "-c", HELPED, str(case_dir), str(data_dir)],
        capture_output=True, text=True, timeout=180, cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-2:] == [
        "started True",
        "answered [2] ['PutObject', 'GetObject', 'GetObject']",
    ]
