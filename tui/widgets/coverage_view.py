"""How far the record can be trusted: per account and region, hour by hour, from the integrity engine.

Each cell is a run of hours (as many as fit the width): red when any file behind it was tampered
with, green when all were validated, grey when present but unvalidated, a dot when no logs came
at all. Windows where logging stopped, a trail was deleted or digests are missing are listed
below, since those are the hours a "nothing happened" conclusion cannot rest on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from investigations.integrity.coverage import coverage
from investigations.store import EventStore
from investigations.textsafe import clean
from tui.screens.navigation import Location

_RANK = {"no-logs": 0, "validated": 1, "unvalidated": 2, "tampered": 3}
_CELL = {
    "no-logs": ("·", "dim"),
    "validated": ("■", "green"),
    "unvalidated": ("■", "grey50"),
    "tampered": ("■", "bold red"),
}
_LABEL = 30


def grid(report: dict[str, Any], width: int) -> Text:
    """The coverage report as text: one line per account/region, hours folded to fit ``width``."""
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for bucket in report["buckets"]:
        rows.setdefault((bucket["account"], bucket["region"]), []).append(bucket)
    hours = max((len(b) for b in rows.values()), default=0)
    per_cell = max(1, -(-hours // max(width - _LABEL - 1, 1)))
    out = Text()
    rng = report["range"]
    out.append(f"{rng['start']} → {rng['end']} · {per_cell} h per cell · ", style="dim")
    for state, (glyph, style) in _CELL.items():
        out.append(glyph, style=style)
        out.append(f" {state}  ", style="dim")
    out.append("! incomplete-record window\n", style="dim")
    for (account, region), buckets in sorted(rows.items()):
        out.append(f"{clean(account, 12)} {clean(region, 16)}".ljust(_LABEL), style="bold")
        for start in range(0, len(buckets), per_cell):
            chunk = buckets[start : start + per_cell]
            state = max((b["state"] for b in chunk), key=lambda s: _RANK.get(s, 0))
            glyph, style = _CELL.get(state, ("?", ""))
            if any(b["windows"] for b in chunk):
                glyph, style = "!", "bold yellow"
            out.append(glyph, style=style)
        out.append("\n")
    totals = ", ".join(f"{k} {v:,}" for k, v in sorted(report["totals"].items()))
    out.append(f"\naccount-region-hours: {totals}\n", style="dim")
    return out


def windows(report: dict[str, Any]) -> Text:
    out = Text("Incomplete-record windows\n", style="bold underline")
    if not report["windows"]:
        out.append("none found in the events or the last validation\n", style="dim")
    for w in report["windows"]:
        where = f"{w['account'] or 'all accounts'} {w['region'] or 'all regions'}"
        out.append(f"{w['kind']:<18}", style="bold yellow")
        out.append(f"{w['start']} → {w['end']}  {clean(where, 40)}  {clean(w['detail'], 160)}\n")
    return out


class CoveragePane(VerticalScroll):
    def __init__(self, store: EventStore, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store

    def compose(self) -> ComposeResult:
        yield Static(Text("Coverage", style="bold"), id="coverage-title")
        yield Static("", id="coverage-grid")
        yield Static("", id="coverage-windows")

    def enter(self, location: Location) -> None:
        self.load()
        self.focus()

    def load(self, start: datetime | None = None, end: datetime | None = None) -> None:
        self.query_one("#coverage-grid", Static).update(Text("computing coverage…", style="dim"))
        self._compute(start, end, self.size.width or 120)

    @work(thread=True, exclusive=True, group="coverage", exit_on_error=False)
    def _compute(self, start: datetime | None, end: datetime | None, width: int) -> None:
        report = coverage(self.store, start, end)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, report, width)

    def _show(self, report: dict[str, Any], width: int) -> None:
        self.query_one("#coverage-grid", Static).update(grid(report, width))
        self.query_one("#coverage-windows", Static).update(windows(report))
