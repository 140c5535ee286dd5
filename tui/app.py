"""The Trailhound app: opens a case, loads evidence in the background, hosts the screens.

``make_app`` is the one way to build it, for the command line and for tests alike. Loading runs
in a thread worker that survives screen changes: the workbench opens as soon as the first events
are stored and keeps receiving progress until the last source is in. Another worker keeps the
free-text index (investigations/textindex.py) level with the store after the case opens and
whenever loading lands events; until it is, free text is answered by a DuckDB scan.
"""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.theme import Theme

from investigations.case import Case, CaseError
from investigations.store import StoreError
from investigations.textsafe import clean
from tui import settings
from tui.cli_open import data_dir, remember_case
from tui.commands import ActionCommands
from tui.messages import LoadFinished, LoadProgress, StoreChanged, TextIndexing
from tui.reader import Reader

if TYPE_CHECKING:
    from investigations.evidence import SourceOptions
    from investigations.ingest import IngestReport, Progress
    from investigations.sources.lookup_pull import LookupRequest
    from tui.loader import Job
    from tui.screens.workbench import WorkbenchScreen


@dataclass(slots=True)
class Launch:
    """What to open: a case folder (None for the start screen) and sources to load into it."""

    case_dir: Path | None = None
    sources: list[str] = field(default_factory=list)
    options: SourceOptions | None = None
    data_dir: Path = field(default_factory=data_dir)


class TrailhoundApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "Trailhound"
    COMMANDS = App.COMMANDS | {ActionCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, launch: Launch) -> None:
        super().__init__()
        self.launch = launch
        self.case: Case | None = None
        self.reader: Reader | None = None
        self.cancel_loading = threading.Event()
        self.progress: dict[str, Progress] = {}
        self.loading = False
        self.report: IngestReport | None = None
        self._ingest_done = threading.Event()
        self.workbench: WorkbenchScreen | None = None
        self.job: Job | None = None
        self._ingest_done.set()
        self._text_index_stop = threading.Event()
        self._indexer_busy = threading.Lock()  # held while the indexer works; closing waits for it
        #: What the free-text indexer is doing, for the workbench's top bar ("" when idle).
        self.text_indexing = ""

    def on_mount(self) -> None:
        theme = settings.load(self.launch.data_dir).get("theme")
        if isinstance(theme, str) and theme in self.available_themes:  # the file is the user's to edit
            self.theme = theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self.launch.case_dir is None:
            self.show_start()
        else:
            self.open_case(self.launch.case_dir, self.launch.sources)

    def _theme_changed(self, theme: Theme) -> None:
        """Keep the theme picked (command palette, "Change theme") for the next start."""
        if settings.load(self.launch.data_dir).get("theme") == theme.name:
            return
        try:
            settings.save(self.launch.data_dir, theme=theme.name)
        except OSError as exc:
            self._announce(f"Theme not saved: {exc}", "warning")

    # -- opening ------------------------------------------------------------------------------
    def show_start(self, error: str | None = None) -> None:
        from tui.screens.start import StartScreen

        self.push_screen(StartScreen(self.launch.data_dir, error))

    def open_case(self, case_dir: Path, sources: list[str], lookup: LookupRequest | None = None) -> None:
        """Open (or create) the case; load new sources; show the workbench once there are events."""
        try:
            self.case = Case.open(case_dir, create=True)
        except (CaseError, StoreError) as exc:
            self.show_start(str(exc))
            return
        self.reader = Reader(self.case.store)
        known = {s.get("uri") for s in self.case.data.get("sources", [])}
        fresh = [s for s in sources if s not in known]
        if len(fresh) < len(sources):
            self.notify(
                "Sources already in this case were not read again (use `trailhound ingest` to re-add).", markup=False
            )
        remember_case(
            self.case.root, self.case.data.get("name", case_dir.name), self.reader.count(), self.launch.data_dir
        )
        job = None
        if fresh or lookup:  # the ingest machinery is imported only when there is something to load
            from investigations.evidence import SourceOptions
            from tui.loader import Job

            job = Job(fresh, self.launch.options or SourceOptions(), lookup)
        self.job = job
        if job is not None:
            self.loading = True
            self._ingest_done.clear()
            self.load_sources(job)
        if self.reader.count():
            self.show_workbench()
            self.call_after_refresh(self.index_text)  # after the first frame: opening comes first
        elif job is not None:
            from tui.screens.loading import LoadingScreen

            self.push_screen(LoadingScreen(job.labels))
        else:
            self.show_start(f"{self.case.root} holds no events yet: open a folder or s3:// prefix into it")

    def show_workbench(self) -> None:
        from tui.screens.workbench import WorkbenchScreen

        assert self.case is not None and self.reader is not None
        if self.workbench is not None:
            return
        self.workbench = screen = WorkbenchScreen(self.reader, self.case, self.launch.data_dir / "filter-history")
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        # Everything built so far (Textual, the workbench, imports) lives as long as the app: out
        # of the collector's sight, a full collection stops walking it. On a 1M-event case one took
        # 64-75 ms of the main thread, landing at random inside a keypress or a filter's repaint.
        self.call_after_refresh(gc.freeze)

    # -- loading ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="ingest", exit_on_error=False)
    def load_sources(self, job: Job) -> None:
        from tui.loader import load

        assert self.case is not None
        try:
            load(self.case, job, self.post_message, self.cancel_loading)
        finally:
            self._ingest_done.set()

    @on(LoadProgress)
    def _progress(self, message: LoadProgress) -> None:
        self.progress[message.progress.source] = message.progress
        self._forward(message)

    @on(StoreChanged)
    def _landed(self, message: StoreChanged) -> None:
        from tui.screens.loading import LoadingScreen

        if message.events and isinstance(self.screen, LoadingScreen) and self.workbench is None:
            self.show_workbench()
        else:
            self._forward(message)
        self.index_text()

    @on(LoadFinished)
    def _finished(self, message: LoadFinished) -> None:
        from tui.screens.loading import LoadingScreen

        self.loading = False
        self.report = message.report
        report = message.report
        if message.error:
            self._announce(f"Loading stopped: {clean(message.error, 300)}", "error")
        elif report is not None:
            rejected = (
                f", {report.rejected_total:,} rejected (SELECT * FROM rejections)" if report.rejected_total else ""
            )
            verb = "Loading cancelled" if report.cancelled else "Loaded"
            text = f"{verb}: {report.events_added:,} events from {report.files:,} files{rejected}"
            self._announce(text, "warning" if report.rejected_total else "information")
        screen = self.screen
        if isinstance(screen, LoadingScreen) and screen.over_workbench:
            screen.dismiss()
        elif isinstance(screen, LoadingScreen) and self.reader is not None and self.reader.count():
            self.show_workbench()
        elif isinstance(screen, LoadingScreen):
            screen.finished(message)
        self._forward(message)
        self.index_text()

    @work(thread=True, exclusive=True, group="text-index", exit_on_error=False)
    def index_text(self) -> None:
        """Extend (or build) the free-text index to every stored event, with progress on the top bar.

        Reports by message, never ``call_from_thread``: closing the app waits for this worker (which
        stops within one batch once told), so the worker must never wait for the app.
        """
        from investigations import textsearch  # Hyperscan loads here, not before the first frame

        if self.reader is None:
            return

        def progress(done: int, total: int) -> None:
            self.post_message(TextIndexing(f"indexing free text {done * 100 // max(total, 1)}%"))

        error = None
        with self._indexer_busy:
            if self._text_index_stop.is_set():  # the app is closing: the store may be gone
                return
            try:
                index = self.reader.store.text_index
                index.update(progress, cancel=self._text_index_stop)
                index.current()  # loaded now (offsets, mapping), as is the case-folding table below,
                textsearch.prepare()  # so the first free-text filter does not wait for either,
                index.warm(self._text_index_stop)  # nor for the disk
            except Exception as exc:  # a full disk, a damaged file: free text keeps using the DuckDB scan
                error = f"{exc.__class__.__name__}: {exc}"
        self.post_message(TextIndexing("", error))

    @on(TextIndexing)
    def _text_indexing(self, message: TextIndexing) -> None:
        from tui.widgets.topbar import TopBar

        if message.error:
            self._announce(f"Free-text index not updated ({clean(message.error, 200)}); free text scans instead",
                           "warning")
        self.text_indexing = message.status
        if self.workbench is not None and self.workbench.is_mounted:
            self.workbench.query_one(TopBar).update_title()

    def _announce(self, text: str, severity: SeverityLevel) -> None:
        self.notify(text, severity=severity, timeout=10, markup=False)

    def _forward(self, message: LoadProgress | StoreChanged | LoadFinished) -> None:
        """Pass loading news to every open screen that shows it."""
        for screen in self.screen_stack:
            news = getattr(screen, "loading_news", None)
            if news is not None:
                news(message)

    # -- actions ------------------------------------------------------------------------------
    def action_show_loading(self) -> None:
        """The loading screen again, over the workbench, while evidence is still arriving."""
        from tui.screens.loading import LoadingScreen

        if self.loading and self.job is not None and not isinstance(self.screen, LoadingScreen):
            self.push_screen(LoadingScreen(self.job.labels, over_workbench=True))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def on_unmount(self) -> None:
        gc.unfreeze()  # what show_workbench froze is collectable again, as the interpreter exits
        self.cancel_loading.set()
        self._text_index_stop.set()  # the free-text indexer commits what it has written, then stops
        self._ingest_done.wait(timeout=60)  # the store must not close under a writer
        if self._indexer_busy.acquire(timeout=60):  # nor under the indexer (one batch at most)
            self._indexer_busy.release()
        if self.reader is not None:
            self.reader.close()
        if self.case is not None:
            self.case.close()


def make_app(
    case_dir: Path | None = None,
    sources: list[str] | None = None,
    options: SourceOptions | None = None,
    data_dir_path: Path | None = None,
) -> TrailhoundApp:
    """The app as the command line runs it; tests pass a temporary ``data_dir_path``."""
    launch = Launch(case_dir, list(sources or []), options)
    if data_dir_path is not None:
        launch.data_dir = data_dir_path
    return TrailhoundApp(launch)
