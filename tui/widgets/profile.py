"""An entity's profile, Amazon Detective style: when it was active, where, how, with what.

Every value listed is a pivot (enter opens its own view); values first used after the entity's
learning period are flagged NEW, the usual sign of a credential in someone else's hands. Addresses
carry their ASN and country (or "internal"), rendered as data like every value.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from investigations.histogram import event_count
from investigations.textsafe import clean
from investigations.timeparse import iso
from tui.messages import Pivot
from tui.pivots import LABELS, Item, Profile, profile
from tui.reader import Reader

_VALUE_WIDTH = 64


class ProfilePanel(Horizontal):
    DEFAULT_CSS = """
    ProfilePanel { height: 12; }
    ProfilePanel > #profile-summary { width: 46; padding: 0 1; }
    ProfilePanel > OptionList { width: 1fr; }
    """

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[Item] = []
        self.profile: Profile | None = None
        self.subject: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="profile-summary")
        yield OptionList(id="profile-items")

    def follow(self, reader: Reader, kind: str, value: str) -> None:
        """Profile the entity in a worker, naming it at once; nothing to do when it is the one
        already shown (a filter applied within an entity's view leaves its profile as it is)."""
        if self.subject == (kind, value):
            return
        self.subject = (kind, value)
        summary = Text(f"{LABELS.get(kind, kind)}\n", style="bold")
        summary.append(clean(value, 200))
        summary.append("\n\nprofiling…", style="dim")
        self.query_one("#profile-summary", Static).update(summary)
        self.query_one(OptionList).clear_options()
        self._profile(reader, kind, value)

    def forget(self) -> None:
        """The next entity shown, even this one, is profiled afresh (the panel was hidden, or the
        events changed under it)."""
        self.profile = self.subject = None

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _profile(self, reader: Reader, kind: str, value: str) -> None:
        result = profile(reader.store, reader, kind, value)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show, result)

    def show(self, profile: Profile) -> None:
        self.profile = profile
        summary = Text(f"{LABELS.get(profile.kind, profile.kind)}\n", style="bold")
        summary.append(clean(profile.value, 200) + "\n")
        if profile.note:
            summary.append(clean(profile.note, 80) + "\n", style="cyan")
        summary.append("\n")
        summary.append(f"{event_count(profile.events)}\n")
        summary.append(f"first {iso(profile.first) or '-'}\n")
        summary.append(f"last  {iso(profile.last) or '-'}\n")
        new = sum(1 for _, _, items in profile.sections for i in items if i.new)
        if new:
            summary.append(f"\n{new} newly observed values", style="bold yellow")
        self.query_one("#profile-summary", Static).update(summary)
        options: list[Option | None] = []
        self.items = []
        for title, total, items in profile.sections:
            more = f" (top {len(items)} of {total})" if total > len(items) else ""
            options.append(Option(Text(f"{title}{more}", style="bold underline"), disabled=True))
            for item in items:
                options.append(Option(_line(item), id=str(len(self.items))))
                self.items.append(item)
        listing = self.query_one(OptionList)
        listing.clear_options()
        listing.add_options(options)

    @on(OptionList.OptionSelected, "#profile-items")
    def _pivot(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            item = self.items[int(event.option.id)]
            self.post_message(Pivot(item.kind, item.value))


def _line(item: Item) -> Text:
    text = Text("  ")
    value = clean(item.value, _VALUE_WIDTH)
    text.append(value)
    room = _VALUE_WIDTH - len(value) - 2
    if item.note and room > 0:
        text.append("  " + clean(item.note, room), style="cyan")
    text.append(" " * (2 + _VALUE_WIDTH - text.cell_len))
    text.append(f" {item.count:>9,}  ", style="bold")
    text.append(f"{item.first:%m-%d %H:%M}→{item.last:%m-%d %H:%M}", style="dim")
    if item.new:
        text.append("  NEW", style="bold yellow")
    return text
