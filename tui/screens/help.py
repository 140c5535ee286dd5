"""``?``: every key the current screen answers to, and the filter language's fields.

Built from the live bindings of the screen underneath (and of its focused widgets), so the help
can't drift from what the keys really do.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from investigations.query import FIELDS
from tui.commands import key_label

FILTER_HELP = (
    "Terms are ANDed; OR and parentheses group; a leading - negates; * is a wildcard; matching ignores case. "
    'field:a,b matches either value. A bare word or "quoted phrase" searches the raw records (slower). '
    "ip: takes CIDR blocks. after:/before: take ISO times or ages such as 7d, 12h."
)


def _bindings_table(screen: Screen[object]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("key", style="bold cyan", no_wrap=True)
    table.add_column("does")
    table.add_column("where", style="dim")
    rows: dict[tuple[str, str, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.description:
            where = type(active.node).__name__.removesuffix("Screen") or "App"
            does = binding.tooltip or binding.description
            rows.setdefault((does, where, binding.action), []).append(key_label(key))
    for (description, where, _), keys in rows.items():
        table.add_row(", ".join(keys), description, where)
    return table


def _fields_table() -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("field", style="bold cyan", no_wrap=True)
    table.add_column("matches")
    table.add_column("also", style="dim")
    for field in FIELDS:
        table.add_row(f"{field.name}:", field.help, " ".join(f"{a}:" for a in field.aliases))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q,f1", "dismiss", "Close help")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("Keys on this screen", style="bold underline"))
            yield Static(_bindings_table(self.under))
            yield Static(Text("\nFilter language ( / )", style="bold underline"))
            yield Static(Text(FILTER_HELP))
            yield Static(_fields_table())
            yield Static(Text("\nctrl+p opens the command palette: every action, by name; themes too.", style="dim"))
