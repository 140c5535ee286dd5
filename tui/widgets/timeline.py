"""The timeline: a virtual grid over the case's events that never holds more than a few pages.

Modelled on toolong's log view: a ``ScrollView`` whose ``render_line`` asks for one row at a time.
Rows come from the store a page at a time (by sequence number, so any page is a range scan) and
stay in a small LRU; rendered lines stay in another, so scrolling back over what was just seen
costs nothing. Line 0 is a fixed header. Every value from a log is cleaned and cut to its column
before it is drawn, as plain segments: nothing from a record is ever parsed as markup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable
from typing import ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from investigations.textsafe import clean
from tui.reader import Reader
from tui.widgets.columns import DEFAULT_WIDTHS, Column, Row, layout

PAGE = 128
#: Marks drawn in the two-cell gutter: ``(glyph, component class)``.
Mark = tuple[str, str]


class Rows:
    """The events one timeline shows: every event (a dense run of seqs) or a list of matches."""

    def __init__(self, reader: Reader, total: int, seqs: array[int] | None = None) -> None:
        self.reader = reader
        self.seqs = seqs
        self.total = len(seqs) if seqs is not None else total
        self._pages: LRUCache[int, list[Row]] = LRUCache(48)

    def __len__(self) -> int:
        return self.total

    def seq_at(self, index: int) -> int:
        return self.seqs[index] if self.seqs is not None else index

    def index_of(self, seq: int) -> int:
        """Index of ``seq``, or of the first event after it when it is not shown."""
        index = bisect_left(self.seqs, seq) if self.seqs is not None else seq
        return max(0, min(index, self.total - 1))

    def get(self, index: int) -> Row | None:
        if not 0 <= index < self.total:
            return None
        page_no, offset = divmod(index, PAGE)
        page = self._pages.get(page_no)
        if page is None:
            page = self._load(page_no)
            self._pages[page_no] = page
        return page[offset] if offset < len(page) else None

    def _load(self, page_no: int) -> list[Row]:
        low = page_no * PAGE
        high = min(low + PAGE, self.total)
        if self.seqs is None:
            return self.reader.span(low, high)
        return self.reader.rows(self.seqs[low:high])


class Timeline(ScrollView, can_focus=True, inherit_bindings=False):
    """Scrolls any number of events; ``cursor`` is the selected row's index."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--header",
        "timeline--cursor",
        "timeline--error",
        "timeline--write",
        "timeline--dim",
        "timeline--finding",
        "timeline--bookmark",
        "timeline--tampered",
        "timeline--unvalidated",
    }
    DEFAULT_CSS = """
    Timeline { scrollbar-gutter: stable; overflow-x: hidden; }
    Timeline > .timeline--tampered { color: $error; text-style: bold reverse; }
    Timeline > .timeline--unvalidated { color: $warning; }
    """

    cursor: reactive[int] = reactive(0, repaint=False, always_update=True)

    class Highlighted(Message):
        """The selected row changed (posted once per move; the detail pane debounces)."""

        def __init__(self, timeline: Timeline, row: Row | None) -> None:
            super().__init__()
            self.timeline = timeline
            self.row = row

    class Chosen(Message):
        """Enter was pressed on a row."""

        def __init__(self, row: Row) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: Rows | None = None
        self.ideals: dict[str, int] = dict(DEFAULT_WIDTHS)
        self.mark: Callable[[int], Mark | None] = lambda seq: None
        self._strips: LRUCache[tuple[int, int, bool], Strip] = LRUCache(400)
        self._layout: list[tuple[Column, int]] = []
        self._layout_width = -1

    # -- data ---------------------------------------------------------------------------------
    def show(self, rows: Rows, cursor: int = 0) -> None:
        """Display ``rows`` with the cursor on index ``cursor``."""
        self.rows = rows
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        self.cursor = max(0, min(cursor, len(rows) - 1))
        self.refresh()

    def set_ideals(self, ideals: dict[str, int]) -> None:
        self.ideals = ideals
        self._layout_width = -1
        self._strips.clear()
        self.refresh()

    def redraw(self) -> None:
        """Drop rendered lines (marks or theme changed) without refetching rows."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    @property
    def current(self) -> Row | None:
        return self.rows.get(self.cursor) if self.rows else None

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    # -- movement -----------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        total = len(self.rows) if self.rows else 0
        return max(0, min(value, total - 1)) if total else 0

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + self.visible_rows:
            self.scroll_to(y=new - self.visible_rows + 1, animate=False, immediate=True)
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self.post_message(self.Highlighted(self, self.current))

    def action_move(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        step = self.visible_rows * direction
        self.scroll_to(y=self.scroll_y + step, animate=False, immediate=True)
        self.cursor += step

    def action_jump(self, index: int) -> None:
        total = len(self.rows) if self.rows else 0
        self.cursor = index if index >= 0 else total - 1

    def key_enter(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Chosen(row))

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.cursor = int(self.scroll_y) + event.y - 1

    # -- drawing ------------------------------------------------------------------------------
    def _columns(self, width: int) -> list[tuple[Column, int]]:
        if width != self._layout_width:
            self._layout = layout(max(width - 2, 10), self.ideals)
            self._layout_width = width
            self._strips.clear()
        return self._layout

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns = self._columns(width)
        if y == 0:
            return self._header(columns, width)
        index = int(self.scroll_y) + y - 1
        rows = self.rows
        if rows is None or index >= len(rows):
            return Strip.blank(width, self.rich_style)
        selected = index == self.cursor
        key = (index, width, selected)
        strip = self._strips.get(key)
        if strip is None:
            row = rows.get(index)
            strip = self._row(row, columns, width, selected) if row else Strip.blank(width, self.rich_style)
            self._strips[key] = strip
        return strip

    def _header(self, columns: list[tuple[Column, int]], width: int) -> Strip:
        style = self.get_component_rich_style("timeline--header")
        text = "  " + " ".join(set_cell_size(c.title, w) for c, w in columns)
        return Strip([Segment(set_cell_size(text, width), style)], width)

    def _row(self, row: Row, columns: list[tuple[Column, int]], width: int, selected: bool) -> Strip:
        component = self.get_component_rich_style
        base = self.rich_style + component("timeline--cursor") if selected else self.rich_style
        mark = self.mark(row["seq"])
        segments = [Segment(set_cell_size(mark[0], 2), base + component(mark[1])) if mark else Segment("  ", base)]
        failed = bool(row.get("error_code"))
        write = row.get("read_only") is False
        for column, size in columns:
            style = base
            if column.key in ("error", "event") and failed:
                style = base + component("timeline--error")
            elif column.key == "event" and write:
                style = base + component("timeline--write")
            elif column.key in ("time", "account", "region"):
                style = base + component("timeline--dim")
            segments.append(Segment(set_cell_size(clean(column.value(row), size), size), style))
            segments.append(Segment(" ", base))
        return Strip(segments).adjust_cell_length(width, base)
