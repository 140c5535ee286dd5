"""SQL against the case: the ``cloudtrail_logs`` view speaks Athena's column names.

Queries run in a worker on their own cursor, so a slow one never freezes the screen; errors show
under the editor. Results fill a table (the first ``LIMIT`` rows, every cell cleaned), so a query
that returns a million rows cannot take the terminal with it.
"""

from __future__ import annotations

from typing import ClassVar

import duckdb
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static, TextArea
from textual.worker import get_current_worker

from investigations.textsafe import clean
from tui.reader import Reader
from tui.screens.navigation import Location

LIMIT = 1000
CELL = 80
EXAMPLE = (
    "SELECT eventname, useridentity.arn, sourceipaddress, count(*) AS n\n"
    "FROM cloudtrail_logs GROUP BY ALL ORDER BY n DESC LIMIT 50"
)


class SqlConsole(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r,f5", "run", "Run SQL", tooltip="Run the query in the editor"),
    ]

    def __init__(self, reader: Reader, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reader = reader

    def compose(self) -> ComposeResult:
        yield Static(
            Text(
                "SQL · tables events, raw_events, files, rejections; view cloudtrail_logs (Athena names) · ctrl+r runs",
                style="dim",
            ),
            id="sql-title",
        )
        yield TextArea(EXAMPLE, id="sql-editor", soft_wrap=True, tab_behavior="indent")
        yield Static("", id="sql-status")
        yield DataTable(zebra_stripes=True, id="sql-results")

    def enter(self, location: Location) -> None:
        editor = self.query_one(TextArea)
        if editor.text == EXAMPLE:
            editor.select_all()  # the example runs as is, or typing replaces it
        editor.focus()

    def action_run(self) -> None:
        query = self.query_one(TextArea).text.strip()
        if query:
            self.query_one("#sql-status", Static).update(Text("running…", style="dim"))
            self._run(query)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def _run(self, query: str) -> None:
        try:
            relation = self.reader.con.sql(query)  # statements run here; queries return a relation
            columns = list(relation.columns) if relation is not None else []
            rows = relation.limit(LIMIT + 1).fetchall() if relation is not None else []
        except duckdb.Error as exc:
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._failed, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, columns, rows)

    def _failed(self, message: str) -> None:
        self.query_one("#sql-status", Static).update(Text(f"✗ {clean(message, 600)}", style="bold red"))

    def _show(self, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        more = len(rows) > LIMIT
        rows = rows[:LIMIT]
        if columns:
            table.add_columns(*(Text(clean(c, 40), style="bold") for c in columns))
            table.add_rows([[Text(clean(v, CELL)) for v in row] for row in rows])
        shown = f"first {LIMIT:,} rows" if more else f"{len(rows):,} rows"
        self.query_one("#sql-status", Static).update(Text(shown if columns else "done", style="green"))
