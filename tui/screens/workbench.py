"""The workbench: one screen, several views, and a trail of where the investigator has been.

Views (events, lineage, findings, case, SQL) live side by side in a content switcher so switching
is instant and each keeps its state. Every pivot, filter and time narrowing is a step in the
history; ``[`` and ``]`` walk it like a browser's back and forward.
"""

from __future__ import annotations

from typing import Any, ClassVar

import duckdb
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static

from investigations.case import Case
from investigations.derived import ensure_derived
from investigations.lineage import DERIVED as LINKS_DERIVED
from investigations.resources import DERIVED as RESOURCES_DERIVED
from investigations.textsafe import clean
from tui.messages import LoadFinished, LoadProgress, Pivot, StoreChanged
from tui.pivots import LABELS, PROFILED, resources_of, scope, value_from_row
from tui.reader import Reader
from tui.screens.navigation import HOME, History, Location, Place
from tui.widgets.columns import ideal_widths
from tui.widgets.events_pane import EventsPane, Scope
from tui.widgets.lineage_view import LineagePane

PANES = {"events": "events-pane", "lineage": "lineage-pane"}
VIEW_TITLES = {"events": "Events", "lineage": "Lineage"}


class WorkbenchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", tooltip="Edit the filter (field:value, free text)"),
        Binding("a", "pivot('principal')", "Actor", tooltip="Pivot to the actor (principal) of the selected event"),
        Binding("k", "pivot('key')", "Key", tooltip="Pivot to the access key of the selected event"),
        Binding("s", "pivot('session')", "Session", tooltip="Pivot to the role session of the selected event"),
        Binding("i", "pivot('ip')", "IP", tooltip="Pivot to the source IP of the selected event"),
        Binding("u", "pivot('ua')", "Agent", tooltip="Pivot to the user agent of the selected event"),
        Binding("r", "pivot('resource')", "Resource", tooltip="Pivot to the resource of the selected event"),
        Binding("l", "lineage", "Lineage", tooltip="Credential tree of the selected event's access key"),
        Binding("left_square_bracket,alt+left", "back", "Back", tooltip="Go back to the previous view"),
        Binding("right_square_bracket,alt+right", "forward", "Fwd", tooltip="Go forward again"),
        Binding("E", "home", "All events", show=False, tooltip="Every event in the case, unfiltered"),
        Binding("v", "focus_volume", "Volume", show=False, tooltip="Focus the volume histogram to narrow time"),
        Binding("t", "focus_timeline", "Timeline", show=False, tooltip="Focus the timeline"),
        Binding("x", "clear_filter", "Clear filter", show=False, tooltip="Remove the filter"),
        Binding("d", "toggle_detail", "Detail", show=False, tooltip="Show or hide the event detail pane"),
        Binding("p", "toggle_profile", "Profile", show=False, tooltip="Show or hide the entity profile"),
    ]

    def __init__(self, reader: Reader, case: Case, history_file: Any) -> None:
        super().__init__()
        self.reader = reader
        self.case = case
        self.case_name = case.data.get("name", case.root.name)
        self.history_file = history_file
        self.history = History(Place(HOME))
        self.loading_line = ""
        self.indexing = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static("", id="title")
            yield Static("", id="crumbs")
        with ContentSwitcher(initial="events-pane", id="views"):
            yield EventsPane(self.reader, self._resolve, self.history_file, id="events-pane")
            yield LineagePane(id="lineage-pane")
        yield Footer(compact=True)

    @property
    def events(self) -> EventsPane:
        return self.query_one(EventsPane)

    def on_mount(self) -> None:
        self.events.timeline.set_ideals(ideal_widths(self.reader.widths()))
        self._title()
        self.show(self.history.current)
        self.events.timeline.focus()
        if not getattr(self.app, "loading", False):
            self.index()

    def _resolve(self, kind: str, value: str) -> tuple[str, list[Any]]:
        return scope(self.reader.store, kind, value, self.case)

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def index(self) -> None:
        """Build the engine's resource index and lineage table now, so the first pivot is quick."""
        self.app.call_from_thread(self._set_indexing, True)
        try:
            ensure_derived(self.reader.store, {**RESOURCES_DERIVED, **LINKS_DERIVED})
        finally:
            self.app.call_from_thread(self._set_indexing, False)

    def _set_indexing(self, busy: bool) -> None:
        self.indexing = busy
        self._title()

    # -- navigation ---------------------------------------------------------------------------
    def go(self, place: Place) -> None:
        self.show(self.history.go(place))

    def show(self, place: Place) -> None:
        location = place.location
        self.query_one(ContentSwitcher).current = PANES[location.view]
        if location.view == "events":
            panel = self.events.profile_panel()
            panel.display = location.entity and location.kind in PROFILED
            if panel.display:
                assert location.kind is not None and location.value is not None
                panel.load(self.reader, location.kind, location.value)
            self.events.load(self.scope_of(location), place.filter, place.seq, place.event_id)
        elif location.view == "lineage":
            assert location.value is not None
            self.query_one(LineagePane).load(self.reader, location.value)
        self._crumbs()

    def scope_of(self, location: Location) -> Scope:
        if not location.entity:
            return Scope("all events")
        assert location.kind is not None and location.value is not None
        return Scope(f"{LABELS[location.kind]} {clean(location.value, 60)}", location.kind, location.value)

    def action_back(self) -> None:
        place = self.history.back()
        if place is None:
            self.notify("Nothing to go back to", timeout=2)
        else:
            self.show(place)

    def action_forward(self) -> None:
        place = self.history.forward()
        if place is None:
            self.notify("Nothing ahead", timeout=2)
        else:
            self.show(place)

    def action_home(self) -> None:
        self.go(Place(HOME))

    def open_entity(self, kind: str, value: str, event_id: str | None = None) -> None:
        self.go(Place(Location("events", kind, value), event_id=event_id))

    @on(Pivot)
    def _pivot_message(self, message: Pivot) -> None:
        message.stop()
        self.open_entity(message.kind, message.value)

    def _resource_of(self, row: dict[str, Any]) -> str | None:
        """The event's first resource from the engine's index (request fields too), else its own list."""
        try:
            found = resources_of(self.reader, row["seq"])
        except duckdb.CatalogException:  # the index is still being built
            found = []
        return found[0] if found else value_from_row("resource", row)

    def action_lineage(self) -> None:
        row = self.events.timeline.current
        key = value_from_row("lineage", row) if row else None
        if not key:
            self.notify("Select an event made with (or issuing) an access key", severity="warning", timeout=3)
            return
        self.go(Place(Location("lineage", "key", key)))

    def action_pivot(self, kind: str) -> None:
        row = self.events.timeline.current
        if row is None:
            self.notify("Select an event first", severity="warning", timeout=3)
            return
        value = self._resource_of(row) if kind == "resource" else value_from_row(kind, row)
        if not value:
            self.notify(f"This event has no {LABELS[kind]}", severity="warning", timeout=3)
            return
        self.open_entity(kind, value, row["event_id"])

    @on(EventsPane.FilterChanged)
    def _filter_changed(self, message: EventsPane.FilterChanged) -> None:
        message.stop()
        self.go(self.history.current.but(filter=message.text, seq=None, event_id=None))

    @on(EventsPane.Selected)
    def _selected(self, message: EventsPane.Selected) -> None:
        message.stop()
        row = message.row
        current = self.history.current
        if row is not None and current.location.view == "events":
            self.history.update(current.but(seq=row["seq"], event_id=row["event_id"]))

    # -- small actions ------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        self.events.focus_filter()

    def action_focus_volume(self) -> None:
        self.query_one("#volume").focus()

    def action_focus_timeline(self) -> None:
        self.events.timeline.focus()

    def action_clear_filter(self) -> None:
        if self.history.current.filter:
            self.go(self.history.current.but(filter="", seq=None))

    def action_toggle_detail(self) -> None:
        self.events.toggle_detail()

    def action_toggle_profile(self) -> None:
        panel = self.events.profile_panel()
        panel.display = not panel.display and self.history.current.location.entity

    # -- status -------------------------------------------------------------------------------
    def _title(self) -> None:
        text = Text("trailhound ", style="bold")
        text.append(clean(self.case_name, 40))
        text.append(f" · {self.reader.count():,} events", style="dim")
        if self.indexing:
            text.append(" · indexing resources and lineage…", style="dim italic")
        if self.loading_line:
            text.append(f" · {self.loading_line}", style="bold yellow")
        self.query_one("#title", Static).update(text)

    def _crumbs(self) -> None:
        trail = self.history.trail[-4:]
        text = Text("◀ " if self.history.can_back else "  ", style="dim")
        for i, place in enumerate(trail):
            if i:
                text.append(" › ", style="dim")
            text.append(_label(place), style="bold" if i == len(trail) - 1 else "dim")
        if self.history.can_forward:
            text.append(" ▶", style="dim")
        self.query_one("#crumbs", Static).update(text)

    def loading_news(self, message: LoadProgress | StoreChanged | LoadFinished) -> None:
        """Background loading went on: show progress; reload views when the store re-sorted."""
        if isinstance(message, LoadProgress):
            p = message.progress
            rate = p.events / p.elapsed if p.elapsed else 0
            total = f"/{p.files_total}" if p.files_total else ""
            self.loading_line = f"loading {p.files_done}{total} files, {p.events:,} events ({rate:,.0f}/s)"
        elif isinstance(message, StoreChanged):
            self.events.invalidate()
            self.events.timeline.set_ideals(ideal_widths(self.reader.widths()))
            if self.history.current.location.view == "events":
                self.events.reload()
        else:
            self.loading_line = ""
            self.index()
        self._title()


def _label(place: Place) -> str:
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
