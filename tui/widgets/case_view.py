"""The case file at a glance: findings, bookmarks, notes, tags, IOCs and containment steps.

Items come from ``investigations.casefile`` (journalled and saved by the engine as they are made);
enter on any of them goes to what it is about: a finding's events, a bookmarked event, the entity
a note, tag or IOC names.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from investigations import casefile
from investigations.case import Case
from investigations.histogram import event_count
from investigations.textsafe import clean
from tui.messages import Pivot
from tui.screens.navigation import Location

#: Case-file entity kinds (and IOC kinds) to the workbench's pivot kinds.
PIVOT_KIND = {
    "principal": "principal",
    "arn": "principal",
    "access_key": "key",
    "session": "session",
    "ip": "ip",
    "user_agent": "ua",
    "resource": "resource",
    "account": "account",
    "region": "region",
}
SECTIONS = (
    ("finding", "Findings"),
    ("bookmark", "Bookmarks"),
    ("note", "Notes"),
    ("tag", "Tags"),
    ("ioc", "IOCs"),
    ("containment", "Containment"),
)


class CasePane(Vertical):
    class Jump(Message):
        """Show one event in the full timeline."""

        def __init__(self, event_id: str) -> None:
            super().__init__()
            self.event_id = event_id

    def __init__(self, case: Case, id: str | None = None) -> None:
        super().__init__(id=id)
        self.case = case
        self.targets: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="case-title")
        yield OptionList(id="case-items")

    def enter(self, location: Location) -> None:
        self.refresh_items()
        self.query_one(OptionList).focus()

    def refresh_items(self) -> None:
        counts = []
        options: list[Option] = []
        self.targets = []
        for kind, title in SECTIONS:
            found = casefile.items(self.case, kind)
            counts.append(f"{len(found)} {title.lower()}")
            options.append(Option(Text(f"{title} ({len(found)})", style="bold underline"), disabled=True))
            for item in found:
                label, target = _describe(item)
                options.append(Option(label, id=str(len(self.targets))))
                self.targets.append(target)
        title = Text(f"Case {clean(self.case.data.get('name', ''), 60)}", style="bold")
        title.append("   " + " · ".join(counts), style="dim")
        title.append("\n b bookmarks the selected event · n adds a note · f adds it to a finding", style="dim")
        self.query_one("#case-title", Static).update(title)
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)

    @on(OptionList.OptionSelected, "#case-items")
    def _open(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is None:
            return
        kind, value = self.targets[int(event.option.id)]
        if kind == "event":
            self.post_message(self.Jump(value))
        elif kind == "finding":
            self.post_message(Pivot("casefinding", value))
        elif kind in PIVOT_KIND:
            self.post_message(Pivot(PIVOT_KIND[kind], value))


def _describe(item: casefile.Item) -> tuple[Text, tuple[str, str]]:
    """One line for an item, and what enter on it opens: ``(kind, value)``."""
    text = Text(f"  {item.id:<6} ", style="bold")
    if isinstance(item, casefile.Finding):
        text.append(f"[{item.severity}] {item.status}  ", style="yellow")
        text.append(clean(item.title, 80))
        text.append(f"  {event_count(len(item.event_ids))}", style="dim")
        return text, ("finding", item.id)
    if isinstance(item, casefile.Bookmark):
        text.append(clean(item.event_id, 60))
        if item.note:
            text.append(f"  {clean(item.note, 80)}", style="dim")
        return text, ("event", item.event_id)
    if isinstance(item, casefile.Note):
        text.append(clean(item.text, 100))
        about = item.about or {}
        if about:
            text.append(f"  about {about.get('kind')}:{clean(about.get('value'), 60)}", style="dim")
        return text, (about.get("kind", ""), about.get("value", ""))
    if isinstance(item, casefile.Tag):
        text.append(f"{clean(item.label, 40)}  ", style="cyan")
        text.append(f"{item.target['kind']}:{clean(item.target['value'], 80)}", style="dim")
        return text, (item.target["kind"], item.target["value"])
    if isinstance(item, casefile.Ioc):
        text.append(f"{item.kind}  {clean(item.value, 80)}  {event_count(item.events)}", style="")
        return text, (item.kind, item.value)
    if isinstance(item, casefile.Containment):
        text.append(f"{item.action}  {clean(item.target, 80)}  at {item.at}")
        return text, ("", "")
    return text, ("", "")
