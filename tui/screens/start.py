"""The start screen (bare ``trailhound``): open evidence into a case, or reopen a recent case."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from investigations.textsafe import clean
from investigations.timeparse import parse_time
from tui.cli_common import csv_arg
from tui.cli_open import default_case_dir, normalise_source, recent_cases
from tui.widgets.footer import KeysFooter


class StartScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.quit", "Quit")]

    def __init__(self, data_dir: Path, error: str | None = None) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.error = error
        self.recent = recent_cases(data_dir)

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box"):
            yield Static(Text("Trailhound", style="bold") + Text(" · CloudTrail incident workbench", style="dim"))
            yield Static(Text(clean(self.error, 300), style="bold red") if self.error else "", id="start-error")
            yield Label("Open evidence: a folder or file of CloudTrail logs, or s3://bucket/prefix")
            yield Input(placeholder="/path/to/AWSLogs or s3://bucket/AWSLogs/…", id="start-source")
            with Horizontal(classes="start-row"):
                yield Input(placeholder="case folder (default: one per source under the data folder)", id="start-case")
                yield Input(placeholder="AWS profile for s3:// (default chain)", id="start-profile")
                yield Button("Open", id="start-open", variant="primary")
            yield Label("Or pull CloudTrail event history (LookupEvents, last 90 days) with your AWS credentials")
            with Horizontal(classes="start-row"):
                yield Input(placeholder="profile (default chain)", id="lookup-profile")
                yield Input(value="all", placeholder="regions: all or r1,r2", id="lookup-regions")
                yield Input(value="7d", placeholder="start: 7d or ISO time", id="lookup-start")
                yield Input(placeholder="end (default now)", id="lookup-end")
                yield Button("Pull", id="lookup-pull")
            yield Label("Recent cases (enter opens)")
            yield OptionList(
                *[Option(_recent_line(e), id=str(i)) for i, e in enumerate(self.recent)]
                or [Option(Text("none yet", style="dim"), disabled=True)],
                id="start-recent",
            )
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#start-recent" if self.recent else "#start-source").focus()

    def _error(self, message: str) -> None:
        self.query_one("#start-error", Static).update(Text(clean(message, 300), style="red"))

    @on(Button.Pressed, "#lookup-pull")
    def _pull(self) -> None:
        from investigations.sources.lookup import LookupQuery
        from investigations.sources.lookup_pull import LookupRequest

        typed = {
            name: self.query_one(f"#lookup-{name}", Input).value.strip()
            for name in ("profile", "regions", "start", "end")
        }
        try:
            start = parse_time(typed["start"]) if typed["start"] else None
            end = parse_time(typed["end"]) if typed["end"] else None
        except ValueError as exc:
            self._error(str(exc))
            return
        regions = None if typed["regions"].lower() in ("", "all") else csv_arg(typed["regions"])
        asked = {"regions": typed["regions"] or "all", "start": typed["start"] or None, "end": typed["end"] or None}
        asked |= {"attribute": None, "insights": False, "profile": typed["profile"] or None}
        request = LookupRequest(LookupQuery(start, end), regions, typed["profile"] or None, asked)
        case_typed = self.query_one("#start-case", Input).value.strip()
        name = f"lookup:{typed['profile'] or 'default'}"
        case_dir = Path(case_typed).expanduser().resolve() if case_typed else default_case_dir([name], self.data_dir)
        self.app.pop_screen()
        self.app.open_case(case_dir, [], lookup=request)  # type: ignore[attr-defined]

    @on(Input.Submitted, "#start-source, #start-case, #start-profile")
    @on(Button.Pressed, "#start-open")
    def _open(self) -> None:
        raw = self.query_one("#start-source", Input).value.strip()
        if not raw:
            self._error("Type a folder, a file or an s3:// prefix")
            return
        source = normalise_source(raw)
        if "://" not in source and not Path(source).exists():
            self._error(f"{source}: no such file or folder")
            return
        typed = self.query_one("#start-case", Input).value.strip()
        case_dir = Path(typed).expanduser().resolve() if typed else default_case_dir([source], self.data_dir)
        profile = self.query_one("#start-profile", Input).value.strip()
        if profile:
            from investigations.evidence import SourceOptions

            launch = self.app.launch  # type: ignore[attr-defined]
            launch.options = launch.options or SourceOptions()
            launch.options.profile = profile
        self.app.pop_screen()
        self.app.open_case(case_dir, [source])  # type: ignore[attr-defined]

    @on(OptionList.OptionSelected, "#start-recent")
    def _reopen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is None:
            return
        entry = self.recent[int(event.option.id)]
        self.app.pop_screen()
        self.app.open_case(Path(entry["path"]), [])  # type: ignore[attr-defined]


def _recent_line(entry: dict[str, object]) -> Text:
    text = Text(clean(entry.get("name", ""), 40).ljust(40), style="bold")
    text.append(f" {int(entry.get('events') or 0):>12,} events  ", style="dim")  # type: ignore[call-overload]
    text.append(clean(entry.get("path", ""), 100))
    text.append(f"  {clean(entry.get('opened', ''), 20)}", style="dim")
    return text
