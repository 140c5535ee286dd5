"""Small modal dialogs: a note's text, which finding an event joins, a block of text to read."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from investigations.casefile import SEVERITIES
from investigations.textsafe import clean


class NoteDialog(ModalScreen[str | None]):
    """Enter saves the note; escape drops it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, about: str) -> None:
        super().__init__()
        self.about = about

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"Note about {clean(self.about, 100)}", style="bold"))
            yield Input(placeholder="what you found, what to check next…", id="note-text")
            yield Static(Text("enter saves · escape cancels", style="dim"))

    @on(Input.Submitted, "#note-text")
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


#: What FindingDialog returns: ("existing", finding id) or ("new", title, severity).
FindingChoice = tuple[str, ...]


class FindingDialog(ModalScreen[FindingChoice | None]):
    """Add an event to one of the case's findings, or start a new finding with it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel")]

    def __init__(self, findings: list[tuple[str, str, str]], suggested_title: str, severity: str) -> None:
        super().__init__()
        self.findings = findings
        self.suggested_title = suggested_title
        self.severity = severity

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Add to a finding", style="bold"))
            if self.findings:
                yield OptionList(
                    *[
                        Option(Text(f"{fid}  [{severity}]  {clean(title, 100)}"), id=fid)
                        for fid, title, severity in self.findings
                    ],
                    id="finding-existing",
                )
            yield Label("or a new finding:")
            yield Input(value=self.suggested_title, placeholder="title", id="finding-title")
            yield Select([(s, s) for s in SEVERITIES], value=self.severity, allow_blank=False, id="finding-severity")
            yield Static(Text("enter on a finding adds to it · enter in the title creates one", style="dim"))

    @on(OptionList.OptionSelected, "#finding-existing")
    def _existing(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(("existing", event.option.id))

    @on(Input.Submitted, "#finding-title")
    def _new(self, event: Input.Submitted) -> None:
        title = event.value.strip()
        if title:
            severity = self.query_one("#finding-severity", Select).value
            self.dismiss(("new", title, str(severity)))


class TextDialog(ModalScreen[None]):
    """A block of text to read (an alarm pattern, a long value), scrollable; escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Label(Text(clean(self.title_text, 200), style="bold"))
            yield Static(Text("\n".join(clean(line, 2000) for line in self.body.splitlines())))
