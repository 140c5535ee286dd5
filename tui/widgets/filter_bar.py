"""The filter bar: type a query, see it compiled or see exactly where it went wrong.

Field names complete inline (right arrow or tab accepts), and after ``field:`` the values present
in the case complete too. Up and down walk the history, which outlives the session. A query is
checked on every keystroke, but only applied on enter, since applying one means a store query.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static

from investigations.query import FIELDS, QueryError, complete, parse
from investigations.textsafe import clean

HISTORY_LIMIT = 200
_VALUE_TAIL = re.compile(r"(?:^|[\s(])-?([A-Za-z][A-Za-z_]*):([^\s\"(),]*)$")
_NAME_TAIL = re.compile(r"[A-Za-z_]*$")
_COLUMN = {alias: f.columns[0] for f in FIELDS if f.kind in ("text", "source", "ip") for alias in (f.name, *f.aliases)}

#: Given a column and a typed prefix, the first value in the case that starts with it.
ValueLookup = Callable[[str, str], str | None]


class QuerySuggester(Suggester):
    """Completes field names, then values the case actually holds for that field."""

    def __init__(self, values: ValueLookup | None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.values = values

    async def get_suggestion(self, value: str) -> str | None:
        names = complete(value)
        if names:
            typed = _NAME_TAIL.search(value).group()  # type: ignore[union-attr]
            return value[: len(value) - len(typed)] + names[0]
        match = _VALUE_TAIL.search(value)
        if match and match.group(2) and self.values is not None:
            column = _COLUMN.get(match.group(1).lower())
            if column:
                found = await asyncio.to_thread(self.values, column, match.group(2))
                if found and found != match.group(2) and " " not in found:
                    return value[: len(value) - len(match.group(2))] + found
        return None


class FilterInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Older", show=False),
        Binding("down", "history(1)", "Newer", show=False),
        Binding("tab", "accept", "Complete", show=False),
        Binding("escape", "leave", "Back to the timeline", show=False),
    ]

    def action_accept(self) -> None:
        if self._suggestion and self.cursor_at_end:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def action_history(self, step: int) -> None:
        self.post_message(FilterBar.Walk(step))

    def action_leave(self) -> None:
        self.post_message(FilterBar.Left())


class FilterBar(Vertical):
    """``/`` focuses it; enter applies; escape returns to the timeline."""

    class Applied(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Left(Message):
        """Escape: the typed text is dropped, the applied filter stays."""

    class Walk(Message):
        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, history_file: Path | None, values: ValueLookup | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history_file = history_file
        self.history = _load(history_file)
        self._walk = len(self.history)
        self._values = values

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-row"):
            yield Label("/", id="filter-slash")
            yield FilterInput(
                placeholder="filter: name:Put* ip:203.0.113.0/24 -readonly:true error:* or free text",
                suggester=QuerySuggester(self._values),
                select_on_focus=False,
                id="filter-input",
            )
        yield Static("", id="filter-status")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def set_text(self, text: str) -> None:
        with self.input.prevent(Input.Changed):
            self.input.value = text
        self.input.cursor_position = len(text)
        self.status("")

    def status(self, message: str | Text) -> None:
        self.query_one("#filter-status", Static).update(message)

    def on_descendant_focus(self) -> None:
        self.status(_hint(self.input.value))

    @on(Input.Changed, "#filter-input")
    def _check(self, event: Input.Changed) -> None:
        try:
            parse(event.value, ips=list)
        except QueryError as exc:
            if "CIDR matching needs" not in exc.message:
                self.status(pointer(event.value, exc))
                return
        self.status(_hint(event.value))

    @on(Input.Submitted, "#filter-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            parse(event.value, ips=list)
        except QueryError as exc:
            if "CIDR matching needs" not in exc.message:
                self.status(pointer(event.value, exc))
                self.input.cursor_position = exc.position
                return
        self.remember(event.value)
        self.post_message(self.Applied(event.value))

    @on(Walk)
    def _walk_history(self, event: Walk) -> None:
        event.stop()
        if not self.history:
            return
        self._walk = max(0, min(len(self.history), self._walk + event.step))
        self.set_text(self.history[self._walk] if self._walk < len(self.history) else "")

    def remember(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if text in self.history:
            self.history.remove(text)
        self.history.append(text)
        del self.history[:-HISTORY_LIMIT]
        self._walk = len(self.history)
        if self.history_file is not None:
            self.history_file.parent.mkdir(parents=True, exist_ok=True)
            self.history_file.write_text("\n".join(self.history) + "\n", encoding="utf-8")


def pointer(text: str, error: QueryError) -> Text:
    """The query with the mistake highlighted, then the message: where and what, on one line."""
    out = Text("✗ ", style="bold red")
    shown = clean(text)
    at = min(error.position, len(shown))
    out.append(shown[:at])
    out.append(shown[at : at + 1] or " ", style="reverse red")
    out.append(shown[at + 1 :])
    out.append(f"  col {error.position + 1}: {error.message}", style="red")
    return out


def _hint(text: str) -> Text:
    names = complete(text)
    if names:
        return Text("fields: " + "  ".join(names[:12]), style="dim")
    return Text(
        "typing a filter: enter applies · esc leaves · ↑↓ history · tab completes · ? lists fields", style="dim"
    )


def _load(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line for line in lines if line.strip()][-HISTORY_LIMIT:]
