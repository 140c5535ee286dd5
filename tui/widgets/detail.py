"""The selected event in full: the facts a responder reads first, then the record as JSON.

The record's JSON is re-indented from the stored text and every line is passed through
``textsafe.clean`` before highlighting, so a bidi override or control character shows as an escape
and markup in a value stays literal (``Text`` is never parsed as markup). Lines are capped, so a
50 KB user agent is a long line cut with an ellipsis rather than a screen of noise.
"""

from __future__ import annotations

from typing import Any

import orjson
from rich.highlighter import JSONHighlighter
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from investigations.textsafe import clean
from investigations.timeparse import iso

#: Longest line of JSON shown; the whole value is still in the case and in exports.
LINE_LIMIT = 2000
_FACT_LIMIT = 400
_highlight = JSONHighlighter()


def _value(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "strftime"):
        return iso(value) or ""
    return str(value)


def facts(row: dict[str, Any]) -> Table:
    """Who, what, where, result and any credentials issued, one labelled line each."""
    lines: list[tuple[str, str, str]] = []

    def add(label: str, *names: str, style: str = "") -> None:
        values = [v for v in (_value(row, n) for n in names) if v]
        if values:
            lines.append((label, "  ".join(values), style))

    add("who", "identity_arn", "identity_type")
    add("principal", "principal_id", "user_name")
    add("key", "access_key_id")
    add("session", "session_issuer_arn", "session_created")
    add("via", "invoked_by", "source_identity")
    add("what", "event_source", "event_name", "event_type")
    add("resources", "resources", "role_arn")
    add("where", "recipient_account_id", "aws_region", "vpc_endpoint_id")
    add("from", "source_ip")
    add("agent", "user_agent")
    if row.get("error_code") or row.get("error_message"):
        add("result", "error_code", "error_message", style="bold red")
    else:
        lines.append(("result", "success", "green"))
    add("issued", "issued_key", "issued_arn", style="bold yellow")
    add("when", "event_time")
    add("event", "event_id", "request_id")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value, style in lines:
        grid.add_row(label, Text(clean(value, _FACT_LIMIT), style=style))
    return grid


def pretty_json(raw: str) -> Text:
    """The stored record, indented and highlighted, with every line cleaned and capped."""
    try:
        body = orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        body = raw
    text = Text("\n".join(clean(line, LINE_LIMIT) for line in body.splitlines()), no_wrap=False)
    _highlight.highlight(text)
    return text


class DetailPane(VerticalScroll, can_focus=True):
    """Scrollable; shows nothing until a row is selected."""

    DEFAULT_CSS = """
    DetailPane > Static { width: 1fr; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Select an event to see it in full.", style="dim"), id="detail-facts")
        yield Static("", id="detail-json")

    def show(self, row: dict[str, Any] | None, raw: str | None) -> None:
        facts_box = self.query_one("#detail-facts", Static)
        json_box = self.query_one("#detail-json", Static)
        if row is None:
            facts_box.update(Text("No event selected.", style="dim"))
            json_box.update("")
            return
        facts_box.update(facts(row))
        json_box.update(pretty_json(raw) if raw else Text("(record not stored)", style="dim"))
        self.scroll_home(animate=False)
