"""Opening sources: the loading screen's figures, cancelling, and the workbench once events land."""

from __future__ import annotations

from investigations.ingest import Progress
from tests.tui.conftest import SIZE, screen_text, settle
from tui.app import make_app
from tui.screens.loading import LoadingScreen
from tui.screens.workbench import WorkbenchScreen
from tui.widgets.timeline import Timeline


async def test_sources_load_then_the_workbench_opens(tmp_path, scenario_logs, data_dir):
    app = make_app(case_dir=tmp_path / "fresh", sources=[str(scenario_logs)], data_dir_path=data_dir)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WorkbenchScreen)
        assert len(app.screen.query_one(Timeline).rows) == 12
        assert "Loaded: 12 events from 1 files" in screen_text(app)
    assert app.case.data["sources"][0]["uri"] == str(scenario_logs)


async def test_reopening_does_not_read_a_source_twice(case_dir, scenario_logs, data_dir):
    app = make_app(case_dir=case_dir, sources=[str(scenario_logs)], data_dir_path=data_dir)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert "were not read again" in screen_text(app)
        assert len(app.case.data["sources"]) == 1


async def test_progress_figures_and_cancel(app):
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = LoadingScreen(["s3://bucket/AWSLogs/"])
        await app.push_screen(screen)
        # 300 of 1,000 bytes in 2 s: 500 events/s and (1000-300)/300*2 = 4.7 s to go
        screen.loading_news(LoadProgress_(Progress("s3://bucket/AWSLogs/", 3, 10, 1000, 2, 300, 1000, 2.0)))
        await pilot.pause()
        text = screen_text(app)
        assert "3/10 files · 1,000 events · 500/s · 2 rejected · ~5 s left" in text
        await pilot.press("escape")
        assert app.cancel_loading.is_set()
        assert "cancelling after the current file" in screen_text(app)


async def test_nothing_to_load_says_why(tmp_path, data_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    app = make_app(case_dir=tmp_path / "fresh", sources=[str(empty)], data_dir_path=data_dir)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, LoadingScreen)
        assert "no events found in these sources" in screen_text(app)


def LoadProgress_(progress: Progress):
    from tui.messages import LoadProgress

    return LoadProgress(progress)
