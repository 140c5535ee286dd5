"""Event volume over time, following the filter; pick a bar (or a run of bars) to narrow time.

Two rows of eighth-blocks give sixteen levels per bar; the bottom line names the axis and the
bar under the cursor. Left/right move, shift extends a run, enter (or a click) narrows.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from investigations.histogram import Histogram, describe, event_count

_BLOCKS = " ▁▂▃▄▅▆▇█"
#: Columns a bar may take at most. Buckets are seconds at the finest, so a span of a few seconds
#: has only a few of them.
WIDEST = 8


class VolumeChart(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Earlier", show=False),
        Binding("right", "move(1)", "Later", show=False),
        Binding("shift+left", "move(-1, True)", "Extend", show=False),
        Binding("shift+right", "move(1, True)", "Extend", show=False),
        Binding("enter", "narrow", "Narrow time"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"volume--bar", "volume--cursor", "volume--axis"}
    DEFAULT_CSS = """
    VolumeChart { height: 3; }
    """

    cursor: reactive[int] = reactive(0)
    anchor: reactive[int | None] = reactive(None)

    class Narrow(Message):
        def __init__(self, start: datetime, end: datetime) -> None:
            super().__init__()
            self.start = start
            self.end = end

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data: Histogram | None = None

    def show(self, data: Histogram | None) -> None:
        self.data = data
        self.anchor = None
        self.cursor = max((i for i, c in enumerate(data.counts) if c), default=0) if data else 0
        self.refresh()

    @property
    def _cells(self) -> int:
        """Screen columns per bar: bars stretch when there are fewer buckets than columns, up to
        ``WIDEST``; one event in one bucket had filled the whole chart, reading as a flood."""
        if not self.data or not self.data.counts:
            return 1
        return max(1, min(WIDEST, self.size.width // len(self.data.counts)))

    def validate_cursor(self, value: int) -> int:
        n = len(self.data.counts) if self.data else 1
        return max(0, min(value, n - 1))

    def action_move(self, step: int, extend: bool = False) -> None:
        if extend and self.anchor is None:
            self.anchor = self.cursor
        elif not extend:
            self.anchor = None
        self.cursor += step

    def action_narrow(self) -> None:
        if not self.data:
            return
        low = min(self.cursor, self.anchor if self.anchor is not None else self.cursor)
        high = max(self.cursor, self.anchor if self.anchor is not None else self.cursor)
        self.post_message(self.Narrow(self.data.bucket_start(low), self.data.bucket_start(high + 1)))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if self.data and offset is not None and offset.y < 2:
            self.anchor = None
            self.cursor = offset.x // self._cells
            self.action_narrow()

    def render(self) -> Text:
        data = self.data
        width = self.size.width
        if not data or not data.counts:
            return Text("no events match", style="dim")
        top = max(data.counts) or 1
        cells = self._cells
        bar = self.get_component_rich_style("volume--bar")
        mark = self.get_component_rich_style("volume--cursor")
        low = min(self.cursor, self.anchor if self.anchor is not None else self.cursor)
        high = max(self.cursor, self.anchor if self.anchor is not None else self.cursor)
        rows = [Text(), Text()]
        for index, count in enumerate(data.counts):
            level = 0 if count == 0 else max(1, round(16 * count / top))
            upper, lower = max(0, level - 8), min(level, 8)
            style = mark if self.has_focus and low <= index <= high else bar
            rows[0].append(_BLOCKS[upper] * cells, style)
            rows[1].append(_BLOCKS[lower] * cells, style)
        start, end = data.bucket_range(low)
        if high != low:
            end = data.bucket_start(high + 1)
        picked = sum(data.counts[low : high + 1])
        axis = Text(style=self.get_component_rich_style("volume--axis"))
        axis.append(f"{data.start:%Y-%m-%d %H:%M} · {describe(data.bucket)}/bar · {event_count(data.total)} · ")
        axis.append(f"▸ {start:%m-%d %H:%M:%S}–{end:%m-%d %H:%M:%S} {picked:,}", style="bold")
        right = f" {data.end:%Y-%m-%d %H:%M}"
        axis.append(" " * max(1, width - len(axis.plain) - len(right)) + right)
        out = Text("\n").join([rows[0], rows[1], axis])
        out.no_wrap = True
        return out
