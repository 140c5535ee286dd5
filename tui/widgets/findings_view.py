"""Detections, most severe first: enter opens a finding's events, ``a`` the alarm for next time.

Findings come from the engine's last detection run (``investigations.detections``); ``D`` runs
the rule pack again in a worker. When events were added after that run the stored event numbers
no longer match, and the view says so rather than opening the wrong events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from investigations.case import Case
from investigations.textsafe import clean
from tui.messages import CaseChanged, Pivot
from tui.screens.dialogs import TextDialog
from tui.screens.navigation import Location
from tui.widgets.columns import short_arn

#: Styles by ``Severity`` value, critical (4) to info (0).
if TYPE_CHECKING:  # the rule pack (and pySigma) load on first use, not with the workbench
    from investigations.detections import Finding

SEVERITY_STYLE = {4: "bold white on red", 3: "bold red", 2: "yellow", 1: "cyan", 0: "dim"}


class FindingsPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Events", tooltip="Show the events of the selected detection"),
        Binding("a", "alarm", "Alarm", tooltip="EventBridge, metric-filter and Sigma patterns for this behaviour"),
        Binding("D", "detect", "Run detections", tooltip="Run the rule pack over the case again"),
    ]

    class Promote(Message):
        """``f`` on a detection: make it (or add it to) a finding in the case file."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, case: Case, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case = case
        self.findings: list[Finding] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="findings-title")
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="findings-table")
        table.add_columns("SEVERITY", "DETECTION", "ACTOR", "EVENTS", "FIRST", "LAST", "ATT&CK")
        yield table
        yield Static("", id="findings-detail")

    def enter(self, location: Location) -> None:
        self.refresh_findings()
        self.query_one(DataTable).focus()

    def refresh_findings(self) -> None:
        from investigations.detections import findings_stale, load_findings

        store = self.case.store
        self.findings = sorted(load_findings(store), key=lambda f: -int(f.severity))
        stale = findings_stale(store)
        title = Text(f"Detections · {len(self.findings):,} findings", style="bold")
        if not self.findings:
            title.append("   none yet: press D to run the rule pack", style="dim")
        elif stale:
            title.append("   events were added since this run: press D to run again", style="bold yellow")
        else:
            title.append("   enter: events · a: alarm pattern · f: add to a case finding · D: run again", style="dim")
        self.query_one("#findings-title", Static).update(title)
        table = self.query_one(DataTable)
        table.clear()
        for finding in self.findings:
            table.add_row(
                Text(finding.severity.label.upper(), style=SEVERITY_STYLE[int(finding.severity)]),
                Text(clean(finding.title, 60)),
                Text(clean(short_arn(finding.actor).removeprefix("assumed-role/"), 36)),
                Text(f"{finding.count:,}", justify="right"),
                Text(f"{finding.first_seen:%m-%d %H:%M}"),
                Text(f"{finding.last_seen:%m-%d %H:%M}"),
                Text(clean(finding.technique, 12)),
                key=finding.id,
            )
        self._describe(0)

    @property
    def current(self) -> Finding | None:
        row = self.query_one(DataTable).cursor_row
        return self.findings[row] if 0 <= row < len(self.findings) else None

    @on(DataTable.RowHighlighted, "#findings-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(event.cursor_row)

    @on(DataTable.RowSelected, "#findings-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def _describe(self, row: int) -> None:
        if not 0 <= row < len(self.findings):
            self.query_one("#findings-detail", Static).update("")
            return
        f = self.findings[row]
        text = Text(f"{f.id} · {f.rule_id} · {f.origin}\n", style="bold")
        text.append(clean(f.why, 600) + "\n")
        if f.detail:
            text.append(clean(f.detail, 600) + "\n", style="dim")
        for label, values in (("keys", f.access_keys), ("accounts", f.accounts), ("regions", f.regions)):
            if values:
                text.append(f"{label}: {', '.join(clean(v, 40) for v in values[:8])}\n", style="dim")
        self.query_one("#findings-detail", Static).update(text)

    def action_open(self) -> None:
        from investigations.detections import findings_stale

        finding = self.current
        if finding is None:
            return
        if findings_stale(self.case.store):
            self.notify("Events changed since detection ran: press D first", severity="warning", markup=False)
            return
        self.post_message(Pivot("finding", finding.id))

    def action_alarm(self) -> None:
        from investigations.detections import alarm_for, render

        finding = self.current
        if finding is not None:
            patterns = render(alarm_for(self.case.store, finding))
            self.app.push_screen(TextDialog("Alarm for next time (escape closes)", patterns))

    def action_detect(self) -> None:
        self.query_one("#findings-title", Static).update(Text("running detections…", style="bold yellow"))
        self._detect()

    @work(thread=True, exclusive=True, group="detect", exit_on_error=False)
    def _detect(self) -> None:
        from investigations.detections import detect_case

        report = detect_case(self.case)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._detected, len(report.findings))

    def _detected(self, count: int) -> None:
        self.refresh_findings()
        self.notify(f"Detection found {count:,} findings", markup=False)
        self.post_message(CaseChanged())

    def promote(self) -> None:
        finding = self.current
        if finding is not None:
            self.post_message(self.Promote(finding))
