"""Loading evidence: one line per source with files, events per second, rejections and time left.

The screen only shows; the app's worker does the loading and outlives it. Escape asks the worker
to stop after the file in hand; what was stored by then stays in the case.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from investigations.ingest import Progress
from investigations.textsafe import clean
from tui.messages import LoadFinished, LoadProgress, StoreChanged
from tui.widgets.footer import KeysFooter


def describe(p: Progress) -> Text:
    """``12/40 files · 1,234,567 events · 98,000/s · 3 rejected · ~42 s left``."""
    rate = p.events / p.elapsed if p.elapsed > 0 else 0.0
    files = f"{p.files_done:,}/{p.files_total:,}" if p.files_total else f"{p.files_done:,}"
    text = Text(f"{files} files · {p.events:,} events · {rate:,.0f}/s")
    if p.rejected:
        text.append(f" · {p.rejected:,} rejected", style="bold red")
    if p.bytes_total and p.bytes_done and p.elapsed > 0:
        left = p.elapsed * (p.bytes_total - p.bytes_done) / p.bytes_done
        text.append(f" · ~{left:,.0f} s left", style="dim")
    return text


class LoadingScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel loading"),
        Binding("w", "workbench", "Back to the workbench", tooltip="Loading goes on behind it"),
    ]

    def __init__(self, sources: list[str], over_workbench: bool = False) -> None:
        super().__init__()
        self.sources = sources
        self.over_workbench = over_workbench

    def compose(self) -> ComposeResult:
        with Vertical(id="loading-box"):
            yield Static(Text("Loading evidence", style="bold"), id="loading-title")
            for index, source in enumerate(self.sources):
                yield Static(Text(clean(source, 120), style="bold"), classes="source-name")
                yield ProgressBar(total=1, id=f"bar-{index}", show_eta=False)
                yield Static(Text("waiting…", style="dim"), id=f"stats-{index}", classes="source-stats")
            yield Static(
                Text(
                    "The case opens as soon as the first events are stored; loading then continues behind it.",
                    style="dim",
                ),
                id="loading-hint",
            )
        yield KeysFooter()

    def on_mount(self) -> None:
        for progress in getattr(self.app, "progress", {}).values():
            self.loading_news(LoadProgress(progress))

    def loading_news(self, message: LoadProgress | StoreChanged | LoadFinished) -> None:
        if not isinstance(message, LoadProgress):
            return
        p = message.progress
        if p.source not in self.sources:
            return
        index = self.sources.index(p.source)
        bar = self.query_one(f"#bar-{index}", ProgressBar)
        if p.bytes_total:
            bar.update(total=p.bytes_total, progress=p.bytes_done)
        elif p.files_total:
            bar.update(total=p.files_total, progress=p.files_done)
        self.query_one(f"#stats-{index}", Static).update(describe(p))

    def finished(self, message: LoadFinished) -> None:
        """Loading ended with nothing to browse: say why, and offer the way out."""
        report = message.report
        why = message.error or ("cancelled" if report and report.cancelled else "no events found in these sources")
        if report and report.rejected:
            first = report.rejected[0]
            why += f"; {report.rejected_total:,} inputs rejected, first: {first.path}: {first.reason}"
        self.query_one("#loading-hint", Static).update(Text(clean(why, 400) + " — press q to quit", style="bold red"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.over_workbench or action != "workbench"

    def action_workbench(self) -> None:
        self.dismiss()

    def action_cancel(self) -> None:
        self.app.cancel_loading.set()  # type: ignore[attr-defined]
        self.query_one("#loading-hint", Static).update(Text("cancelling after the current file…", style="yellow"))
