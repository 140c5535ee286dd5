"""The line above every view: the case, its size, background work, and the trail of views."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from investigations.histogram import event_count
from investigations.textsafe import clean
from tui.pivots import LABELS
from tui.screens.navigation import History, Place

VIEW_TITLES = {
    "events": "Events",
    "lineage": "Lineage",
    "findings": "Detections",
    "case": "Case",
    "sql": "SQL",
    "coverage": "Coverage",
}


def label(place: Place) -> str:
    """How a place reads in the trail: view or entity, then the filter if any."""
    location = place.location
    if location.view != "events":
        base = VIEW_TITLES[location.view]
        if location.value:
            base += f" {clean(location.value, 28)}"
    elif location.entity:
        assert location.kind is not None
        base = f"{LABELS[location.kind]} {clean(location.value, 28)}"
    else:
        base = "all events"
    if place.filter:
        base += f" [{clean(place.filter, 24)}]"
    return base


class TopBar(Horizontal):
    def __init__(self, case_name: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case_name = case_name
        self.events = 0
        self.indexing = False
        self.loading = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        yield Static("", id="crumbs")

    def update_title(self, events: int | None = None) -> None:
        if events is not None:
            self.events = events
        text = Text("trailhound ", style="bold")
        text.append(clean(self.case_name, 40))
        text.append(f" · {event_count(self.events)}", style="dim")
        if self.indexing:
            text.append(" · indexing resources and lineage…", style="dim italic")
        text_indexing = getattr(self.app, "text_indexing", "")  # the app's worker keeps it
        if text_indexing:
            text.append(f" · {text_indexing}", style="dim italic")
        if self.loading:
            text.append(f" · {self.loading}", style="bold yellow")
        self.query_one("#title", Static).update(text)

    def update_trail(self, history: History) -> None:
        """The current place and as many before it as fit, oldest dropped first."""
        crumbs = self.query_one("#crumbs", Static)
        room = (crumbs.size.width or self.app.size.width // 2) - 4
        labels = [label(place) for place in history.trail[-6:]]
        while len(labels) > 1 and sum(len(x) + 3 for x in labels) > room:
            labels.pop(0)
        text = Text("◀ " if history.can_back else "  ", style="dim")
        for i, name in enumerate(labels):
            if i:
                text.append(" › ", style="dim")
            text.append(name, style="bold" if i == len(labels) - 1 else "dim")
        if history.can_forward:
            text.append(" ▶", style="dim")
        crumbs.update(text)
