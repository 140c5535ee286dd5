"""The workbench: one screen, several views, and a trail of where the investigator has been.

Views (events, lineage, findings, case, SQL) live side by side in a content switcher so switching
is instant and each keeps its state. Every pivot, filter and time narrowing is a step in the
history; ``[`` and ``]`` walk it like a browser's back and forward.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, Protocol, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from investigations.case import Case
from investigations.derived import ensure_derived
from investigations.textsafe import clean
from tui.commands import Extra
from tui.messages import CaseChanged, LoadFinished, LoadProgress, Pivot, StoreChanged
from tui.pivots import LABELS, PROFILED, resources_of, scope, value_from_row
from tui.pivots import prepare as prepare_profiles
from tui.reader import Reader
from tui.screens.case_actions import CaseDesk, compute_marks
from tui.screens.navigation import HOME, History, Location, Place
from tui.widgets.case_view import CasePane
from tui.widgets.columns import ideal_widths
from tui.widgets.coverage_view import CoveragePane
from tui.widgets.events_pane import EVENTS_BINDINGS, EventsPane, Scope
from tui.widgets.findings_view import FindingsPane
from tui.widgets.footer import KeysFooter
from tui.widgets.lineage_view import LineagePane
from tui.widgets.sql_console import SqlConsole
from tui.widgets.timeline import Mark
from tui.widgets.topbar import TopBar


class View(Protocol):
    """A pane other than the events view: shown for a location, it loads and takes focus."""

    def enter(self, location: Location) -> None: ...


PANES = {
    "events": "events-pane",
    "lineage": "lineage-pane",
    "findings": "findings-pane",
    "case": "case-pane",
    "sql": "sql-pane",
    "coverage": "coverage-pane",
}


#: Actions about the selected event (or the events view itself).
EVENT_ACTIONS = frozenset({"pivot", "lineage", "bookmark", "note", "events"})


class WorkbenchScreen(Screen[None]):
    AUTO_FOCUS = "Timeline"
    BINDINGS: ClassVar[list[BindingType]] = [
        *EVENTS_BINDINGS,
        Binding("a", "pivot('principal')", "Actor", tooltip="Pivot to the actor (principal) of the selected event"),
        Binding("k", "pivot('key')", "Key", tooltip="Pivot to the access key of the selected event"),
        Binding("s", "pivot('session')", "Session", tooltip="Pivot to the role session of the selected event"),
        Binding("i", "pivot('ip')", "IP", tooltip="Pivot to the source IP of the selected event"),
        Binding("u", "pivot('ua')", "Agent", tooltip="Pivot to the user agent of the selected event"),
        Binding("r", "pivot('resource')", "Resource", tooltip="Pivot to the resource of the selected event"),
        Binding("l", "lineage", "Lineage", tooltip="Credential tree of the selected event's access key"),
        Binding("left_square_bracket,alt+left", "back", "Back", tooltip="Go back to the previous view"),
        Binding("right_square_bracket,alt+right", "forward", "Fwd", tooltip="Go forward again"),
        Binding("b", "bookmark", "Bookmark", tooltip="Bookmark the selected event in the case file"),
        Binding("n", "note", "Note", tooltip="Write a note about the selected event"),
        Binding("f", "add_finding", "Finding", tooltip="Add the selected event (or detection) to a case finding"),
        Binding("F", "view('findings')", "Detections", tooltip="Detections by severity; alarm patterns"),
        Binding("C", "view('case')", "Case", tooltip="Case file: findings, bookmarks, notes, tags, IOCs"),
        Binding("S", "view('sql')", "SQL", tooltip="SQL console over cloudtrail_logs"),
        Binding("V", "view('coverage')", "Coverage", show=False, tooltip="Log coverage and blind spots"),
        Binding("E", "home", "All events", show=False, tooltip="Every event in the case, unfiltered"),
    ]

    def __init__(self, reader: Reader, case: Case, history_file: Any) -> None:
        super().__init__()
        self.reader = reader
        self.case = case
        self.case_name = case.data.get("name", case.root.name)
        self.history_file = history_file
        self.history = History(Place(HOME))
        self.desk = CaseDesk(self, case, self._selected_row)

    def compose(self) -> ComposeResult:
        yield TopBar(self.case_name, id="topbar")
        with ContentSwitcher(initial="events-pane", id="views"):
            yield EventsPane(self.reader, self._resolve, self.history_file, id="events-pane")
            yield LineagePane(self.reader, id="lineage-pane")
            yield FindingsPane(self.case, id="findings-pane")
            yield CasePane(self.case, id="case-pane")
            yield SqlConsole(self.reader, id="sql-pane")
            yield CoveragePane(self.reader.store, id="coverage-pane")
        yield KeysFooter(compact=True)

    @property
    def events(self) -> EventsPane:
        return self.query_one(EventsPane)

    def on_mount(self) -> None:
        self.events.timeline.set_ideals(ideal_widths(self.reader.widths()))
        self._title()
        self.show(self.history.current)
        self.call_after_refresh(self.set_focus, self.events.timeline)  # nobody has asked for the filter yet
        if not getattr(self.app, "loading", False):
            self.index()
        self.refresh_marks()

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._keep_focus)

    def _keep_focus(self) -> None:
        """Keys act on the focused view: never leave the events view without a focused widget."""
        if self.focused is None and self.history.current.location.view == "events":
            self.set_focus(self.events.timeline)

    def _selected_row(self) -> dict[str, Any] | None:
        return self.events.timeline.current if self.history.current.location.view == "events" else None

    def _resolve(self, kind: str, value: str) -> tuple[str, list[Any]]:
        return scope(self.reader.store, kind, value, self.case)

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def index(self) -> None:
        """Build the engine's resource index, lineage table and key rollups, open what profiles read
        and read the positions free text needs, now: the first pivot or filter is then as quick as
        the next."""
        self.app.call_from_thread(self._set_indexing, True)
        try:
            from investigations.pivot import TABLES  # the pivot engine loads off the first frame's path

            ensure_derived(self.reader.store, TABLES)
            prepare_profiles(self.reader.store)
            self.reader.positions()  # for free-text filters (Reader.rid_matches)
        finally:
            self.app.call_from_thread(self._set_indexing, False)

    def _set_indexing(self, busy: bool) -> None:
        self.topbar.indexing = busy
        self.topbar.update_title()

    @property
    def topbar(self) -> TopBar:
        return self.query_one(TopBar)

    def _title(self) -> None:
        self.topbar.update_title(self.reader.count())

    # -- navigation ---------------------------------------------------------------------------
    def go(self, place: Place) -> None:
        self.show(self.history.go(place))

    def show(self, place: Place) -> None:
        location = place.location
        self.query_one(ContentSwitcher).current = PANES[location.view]
        if location.view == "events":
            panel = self.events.profile_panel()
            panel.display = location.entity and location.kind in PROFILED
            self.events.load(self.scope_of(location), place.filter, place.seq, place.event_id)
            if not panel.display:
                panel.forget()
            else:  # beside the events query, not after it: on 2 cores both are on screen sooner
                assert location.kind is not None and location.value is not None
                panel.follow(self.reader, location.kind, location.value)
            self.call_after_refresh(self._keep_focus)
        else:
            cast(View, self.query_one(f"#{PANES[location.view]}")).enter(location)
        self.topbar.update_trail(self.history)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys about the selected event are hidden where no event is selected."""
        if action in EVENT_ACTIONS:
            return self.history.current.location.view == "events"
        if action == "add_finding":
            return self.history.current.location.view in ("events", "findings")
        return True

    def action_events(self, action: str) -> None:
        """The events view's own keys (focus filter, histogram, timeline; toggle panes)."""
        getattr(self.events, f"action_{action}")()

    def action_view(self, view: str) -> None:
        self.go(Place(Location(view)))

    def action_bookmark(self) -> None:
        self.desk.bookmark()

    def action_note(self) -> None:
        self.desk.note()

    def action_add_finding(self) -> None:
        if self.history.current.location.view == "findings":
            detection = self.query_one(FindingsPane).current
            if detection is not None:
                self.desk.promote(detection)
        else:
            self.desk.add_event()

    @on(FindingsPane.Promote)
    def _promote(self, message: FindingsPane.Promote) -> None:
        message.stop()
        self.desk.promote(message.finding)

    @on(CasePane.Jump)
    def _jump(self, message: CasePane.Jump) -> None:
        message.stop()
        self.go(Place(HOME, event_id=message.event_id))

    @on(CaseChanged)
    def _case_changed(self, message: CaseChanged) -> None:
        message.stop()
        self.refresh_marks()
        if self.history.current.location.view == "case":
            self.query_one(CasePane).refresh_items()

    @work(thread=True, exclusive=True, group="marks", exit_on_error=False)
    def refresh_marks(self) -> None:
        marks = compute_marks(self.reader, self.case)
        self.app.call_from_thread(self._apply_marks, marks)

    def _apply_marks(self, marks: dict[int, Mark]) -> None:
        timeline = self.events.timeline
        timeline.mark = marks.get
        timeline.redraw()

    def palette_commands(self) -> list[Extra]:
        """Commands with no key of their own: loading progress, each resource of the selected event."""
        extras: list[Extra] = []
        if getattr(self.app, "loading", False):
            extras.append(
                ("Show loading progress", "files, events/s, rejections, time left", self.app.action_show_loading)
            )
        row = self._selected_row()
        if row is None:
            return extras
        return extras + [
            (
                f"Pivot to resource {r}",
                "every event that touched it",
                partial(self.open_entity, "resource", r, row["event_id"]),
            )
            for r in resources_of(self.reader, row["seq"])
        ]

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

    def open_entity(self, kind: str, value: str, event_id: str | None = None, seq: int | None = None) -> None:
        self.go(Place(Location("events", kind, value), seq=seq, event_id=event_id))

    @on(Pivot)
    def _pivot_message(self, message: Pivot) -> None:
        message.stop()
        self.open_entity(message.kind, message.value)

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
        found = resources_of(self.reader, row["seq"]) if kind == "resource" else []
        value = found[0] if found else value_from_row(kind, row)
        if not value:
            self.notify(f"This event has no {LABELS[kind]}", severity="warning", timeout=3)
            return
        self.open_entity(kind, value, row["event_id"], row["seq"])

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

    # -- status -------------------------------------------------------------------------------
    def loading_news(self, message: LoadProgress | StoreChanged | LoadFinished) -> None:
        """Background loading went on: show progress; reload views when the store re-sorted."""
        if isinstance(message, LoadProgress):
            p = message.progress
            rate = p.events / p.elapsed if p.elapsed else 0
            total = f"/{p.files_total}" if p.files_total else ""
            self.topbar.loading = f"loading {p.files_done}{total} files, {p.events:,} events ({rate:,.0f}/s)"
        elif isinstance(message, StoreChanged):
            self.refresh_marks()
            self.events.invalidate()
            self.events.profile_panel().forget()  # its figures are out of date: the next view redoes them
            self.events.timeline.set_ideals(ideal_widths(self.reader.widths()))
            if self.history.current.location.view == "events":
                self.events.reload()
        else:
            self.topbar.loading = ""
            self.index()
        self._title()
