"""The events view: a scope (all events, or one entity's) narrowed by the filter bar.

Queries run in a thread worker on its own DuckDB cursor and come back as the matching sequence
numbers plus the histogram, from one scan; the timeline then pages rows in as they scroll into
view. A newer query supersedes an older one: results carry a token and stale ones are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.worker import get_current_worker

from investigations.histogram import Histogram, axis, event_count, histogram
from investigations.query import QueryError, parse, time_bounds, with_time_range
from investigations.textsafe import clean
from tui.reader import Reader
from tui.widgets.detail import DetailPane
from tui.widgets.filter_bar import FilterBar, pointer
from tui.widgets.profile import ProfilePanel
from tui.widgets.timeline import Rows, Timeline
from tui.widgets.volume import VolumeChart


@dataclass(frozen=True, slots=True)
class Scope:
    """The events a view starts from, before the filter: every event, or one pivot target's."""

    title: str
    kind: str | None = None
    value: str | None = None


#: Turns a pivot target into a WHERE clause and its parameters; runs in the query worker.
Resolver = Callable[[str, str], tuple[str, list[Any]]]


#: Keys of the events view. The workbench screen binds them (a screen's bindings hold whatever has
#: focus) and hands the actions to the pane.
EVENTS_BINDINGS: list[BindingType] = [
    Binding("slash", "events('focus_filter')", "Filter", tooltip="Edit the filter (field:value, free text)"),
    Binding("v", "events('focus_volume')", "Volume", show=False, tooltip="Focus the volume histogram to narrow time"),
    Binding("t", "events('focus_timeline')", "Timeline", show=False, tooltip="Focus the timeline"),
    Binding("x", "events('clear_filter')", "Clear filter", show=False, tooltip="Remove the filter"),
    Binding("d", "events('toggle_detail')", "Detail", show=False, tooltip="Show or hide the event detail pane"),
    Binding("p", "events('toggle_profile')", "Profile", show=False, tooltip="Show or hide the entity profile"),
]


class EventsPane(Vertical):
    class FilterChanged(Message):
        """The investigator applied a new filter (or narrowed time): a new step in history."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Selected(Message):
        def __init__(self, row: dict[str, Any] | None) -> None:
            super().__init__()
            self.row = row

    class _Loaded(Message):
        def __init__(
            self,
            token: int,
            rows: Rows | None,
            hist: Histogram | None,
            seconds: float,
            error: QueryError | str | None,
            keep: int | None = None,
        ) -> None:
            super().__init__()
            self.token = token
            self.rows = rows
            self.hist = hist
            self.seconds = seconds
            self.error = error
            #: The seq of the event to select (the one selected before, wherever it is now).
            self.keep = keep

    def __init__(self, reader: Reader, resolve: Resolver, history_file: Any, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reader = reader
        self.resolve = resolve
        self.history_file = history_file
        self.scope = Scope("All events")
        self.filter_text = ""
        self._last_status = Text("")
        self._token = 0
        #: The token of the query whose result is on screen (``_token`` is the newest asked for).
        self.shown = 0
        self._keep: tuple[int | None, str | None] = (None, None)
        self._detail_timer: Timer | None = None
        self._ips: list[str] | None = None
        self.last_seconds = 0.0

    def compose(self) -> ComposeResult:
        yield ProfilePanel(id="profile")
        yield FilterBar(self.history_file, values=self._first_value, id="filter")
        yield VolumeChart(id="volume")
        yield Timeline(id="timeline")
        yield DetailPane(id="detail")

    def on_mount(self) -> None:
        self.query_one(ProfilePanel).display = False

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    # -- loading ------------------------------------------------------------------------------
    def load(
        self, scope: Scope, text: str, seq: int | None = None, event_id: str | None = None, typed: bool = False
    ) -> None:
        """Show ``scope`` filtered by ``text``, selecting ``event_id`` (or ``seq``) when present.

        ``typed`` leaves the filter bar alone: a reload must not overwrite what is being typed.
        """
        self.scope = scope
        self.filter_text = text
        if not typed:
            self.query_one(FilterBar).set_text(text)
        self._keep = (seq, event_id)
        self._token += 1
        self._status(Text("querying…", style="dim"))
        width = max(self.query_one(VolumeChart).size.width, self.app.size.width - 2)
        self._run(self._token, scope, text, width, self._keep)

    def reload(self) -> None:
        """Re-run the current view after the store changed, keeping the selected event."""
        row = self.timeline.current
        self._ips = None
        seq, event_id = (row["seq"], row["event_id"]) if row else self._keep
        self.load(self.scope, self.filter_text, seq, event_id, typed=True)

    def invalidate(self) -> None:
        self._ips = None

    def _source_ips(self) -> list[str]:
        if self._ips is None:
            self._ips = self.reader.source_ips()
        return self._ips

    def _first_value(self, column: str, prefix: str) -> str | None:
        found = self.reader.fetch(
            f"SELECT {column} FROM events WHERE {column} ILIKE ? ESCAPE '\\' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
        )
        return found[0][0] if found else None

    @work(thread=True, exclusive=True, group="events", exit_on_error=False)
    def _run(self, token: int, scope: Scope, text: str, width: int, keep: tuple[int | None, str | None]) -> None:
        started = time.perf_counter()
        worker = get_current_worker()
        try:
            compiled = parse(text, ips=self._source_ips, search=self.reader.text_search)
        except QueryError as exc:
            self.post_message(self._Loaded(token, None, None, 0.0, exc))
            return
        reader = self.reader
        try:
            base, base_params = ("TRUE", []) if scope.kind is None else self.resolve(scope.kind, scope.value or "")
        except (ValueError, LookupError) as exc:  # the engine's PivotError / ItemError say what is wrong
            self.post_message(self._Loaded(token, None, None, 0.0, str(exc)))
            return
        low, high = time_bounds(text)
        bounds = " AND ".join(
            [f"({base})", *(["event_time >= ?"] if low else []), *(["event_time < ?"] if high else [])]
        )
        span = reader.span_of(bounds, [*base_params, *([low] if low else []), *([high] if high else [])])
        if span[0] is None:
            rows, hist = Rows(reader, 0, None), None
        elif base == "TRUE" and compiled.empty:
            rows = Rows(reader, reader.count())
            hist = histogram(reader.con, width=width, span=span)
        elif base == "TRUE" and compiled.rids is not None:  # one free-text term: no events scan
            seqs, hist = reader.rid_matches(compiled.rids, axis(span[0], span[1], width))
            rows = Rows(reader, len(seqs), seqs)
        else:
            where = f"({base}) AND ({compiled.where})"
            seqs, hist = reader.matches(where, [*base_params, *compiled.params], axis(span[0], span[1], width))
            rows = Rows(reader, len(seqs), seqs)
        seq, event_id = keep
        if event_id is not None:  # here, not on the UI thread: it may have to look the id up
            seq = reader.seq_of(event_id, seq)
        if len(rows):  # and the page the cursor lands on, which the first frame draws
            rows.get(rows.index_of(seq) if seq is not None else 0)
        if not worker.is_cancelled:
            self.post_message(self._Loaded(token, rows, hist, time.perf_counter() - started, None, seq))

    @on(_Loaded)
    def _loaded(self, message: _Loaded) -> None:
        message.stop()
        if message.token != self._token:
            return
        self.shown = message.token
        bar = self.query_one(FilterBar)
        if isinstance(message.error, QueryError):
            bar.status(pointer(self.filter_text, message.error))
            return
        if message.error is not None:
            bar.status(Text(f"✗ {clean(message.error, 300)}", style="red"))
            return
        rows = message.rows
        assert rows is not None
        seq = message.keep
        cursor = rows.index_of(seq) if seq is not None and len(rows) else 0
        self.timeline.show(rows, cursor)
        self.query_one(VolumeChart).show(message.hist)
        self.last_seconds = message.seconds
        status = Text(event_count(len(rows)), style="bold")
        status.append(f" · {self.scope.title}", style="dim")
        self._status(status)
        if not len(rows):
            self._show_detail()

    def _status(self, status: Text) -> None:
        """Progress and counts on the filter bar, unless the responder is typing there: a reload
        (loading landed more events) must not replace the typing hint under their cursor. Applying
        a filter moves the focus to the timeline first, so its own result always shows."""
        self._last_status = status
        bar = self.query_one(FilterBar)
        if not bar.input.has_focus:
            bar.status(status)

    # -- interaction --------------------------------------------------------------------------
    @on(FilterBar.Applied)
    def _applied(self, event: FilterBar.Applied) -> None:
        event.stop()
        self.screen.set_focus(self.timeline)
        self.post_message(self.FilterChanged(event.text))

    @on(FilterBar.Left)
    def _left(self, event: FilterBar.Left) -> None:
        event.stop()
        bar = self.query_one(FilterBar)
        bar.set_text(self.filter_text)
        self.screen.set_focus(self.timeline)
        bar.status(self._last_status)

    @on(VolumeChart.Narrow)
    def _narrow(self, event: VolumeChart.Narrow) -> None:
        event.stop()
        self.post_message(self.FilterChanged(with_time_range(self.filter_text, event.start, event.end)))

    @on(Timeline.Highlighted)
    def _highlighted(self, event: Timeline.Highlighted) -> None:
        event.stop()
        self.post_message(self.Selected(event.row))
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(0.08, self._show_detail)

    @on(Timeline.Chosen)
    def _chosen(self, event: Timeline.Chosen) -> None:
        event.stop()
        detail = self.query_one(DetailPane)
        detail.display = True
        self._show_detail()
        detail.focus()

    def _show_detail(self) -> None:
        row = self.timeline.current
        detail = self.query_one(DetailPane)
        if row is None or not detail.display:
            detail.show(None, None)
            return
        full = self.reader.row(row["seq"]) or row
        detail.show(full, self.reader.raw(row["rid"]))

    def action_toggle_detail(self) -> None:
        detail = self.query_one(DetailPane)
        detail.display = not detail.display
        if detail.display:
            self._show_detail()

    def action_focus_filter(self) -> None:
        # Focus now, not after the queue (as ``focus()`` does): keys typed right behind the ``/``
        # are already queued and must reach the filter, not the timeline's pivot keys.
        bar = self.query_one(FilterBar)
        self.screen.set_focus(bar.input)
        bar.on_descendant_focus()  # the hint, even when the bar already had the cursor

    def action_focus_volume(self) -> None:
        self.screen.set_focus(self.query_one(VolumeChart))

    def action_focus_timeline(self) -> None:
        self.screen.set_focus(self.timeline)

    def action_clear_filter(self) -> None:
        if self.filter_text:
            self.post_message(self.FilterChanged(""))

    def action_toggle_profile(self) -> None:
        panel = self.query_one(ProfilePanel)
        panel.display = not panel.display and panel.profile is not None

    def profile_panel(self) -> ProfilePanel:
        return self.query_one(ProfilePanel)
