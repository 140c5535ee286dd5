"""The credential tree of one key: where it came from above, everything it minted below.

Each node is a key with who held it, the accounts it acted in, how many events and over what
time, and the call that minted it (``inferred`` when the issuing event is not in the evidence and
the link was reconstructed). Enter on a node shows that key's events; ``e`` shows the events of
the whole lineage.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from investigations.textsafe import clean
from tui.messages import Pivot
from tui.pivots import KeyNode, LineageView, lineage
from tui.reader import Reader
from tui.screens.navigation import Location
from tui.widgets.columns import short_arn


def node_label(node: KeyNode, target: str) -> Text:
    text = Text(clean(node.key, 40), style="bold reverse" if node.key == target else "bold")
    if node.arn:
        text.append(f"  {clean(short_arn(node.arn), 60)}")
    if node.accounts:
        text.append(f"  {', '.join(clean(a, 14) for a in node.accounts)}", style="cyan")
    text.append(f"  {node.events:,} event{'s' if node.events != 1 else ''}", style="dim")
    if node.first and node.last:
        text.append(f"  {node.first:%m-%d %H:%M}→{node.last:%m-%d %H:%M}", style="dim")
    if node.minted_by:
        text.append(f"  via {clean(node.minted_by, 40)}", style="yellow")
    if node.inferred:
        text.append("  (inferred)", style="italic dim")
    return text


class LineagePane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "lineage_events", "Lineage events", tooltip="Every event of this key and all it minted"),
    ]

    def __init__(self, reader: Reader, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reader = reader
        self.key: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="lineage-title")
        yield Tree(Text("credentials"), id="lineage-tree")
        yield Static(
            Text("enter: events of the selected key · e: events of the whole lineage · [ back", style="dim"),
            id="lineage-hint",
        )

    def enter(self, location: Location) -> None:
        """Shown by the workbench for ``Location("lineage", "key", KEY)``."""
        assert location.value is not None
        self.load(self.reader, location.value)

    def load(self, reader: Reader, key: str) -> None:
        self.key = key
        self.query_one("#lineage-title", Static).update(Text(f"lineage of {clean(key, 60)} — tracing…", style="bold"))
        tree = self.query_one(Tree)
        tree.clear()
        self._trace(reader, key)

    @work(thread=True, exclusive=True, group="lineage", exit_on_error=False)
    def _trace(self, reader: Reader, key: str) -> None:
        view = lineage(reader.store, reader, key)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show, view)

    def show(self, view: LineageView) -> None:
        title = Text(f"lineage of {clean(view.key, 60)}", style="bold")
        title.append(f"   origin {clean(view.origin, 120)}", style="dim")
        below = sum(1 for n in view.nodes if n.depth > 0)
        above = sum(1 for n in view.nodes if n.depth < 0)
        title.append(f"   {above} above, {below} below", style="dim")
        self.query_one("#lineage-title", Static).update(title)
        tree = self.query_one(Tree)
        tree.clear()
        tree.root.set_label(Text(f"origin: {clean(view.origin, 120)}", style="italic"))
        placed: dict[str, TreeNode[str]] = {}
        for node in view.nodes:
            parent = placed.get(node.parent or "", tree.root)
            placed[node.key] = parent.add(node_label(node, view.key), data=node.key, expand=True)
        tree.root.expand_all()
        target = placed.get(view.key)
        if target is not None:
            self.call_after_refresh(tree.move_cursor, target)
        tree.focus()

    @on(Tree.NodeSelected, "#lineage-tree")
    def _selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data:
            self.post_message(Pivot("key", event.node.data))

    def action_lineage_events(self) -> None:
        if self.key:
            self.post_message(Pivot("lineage", self.key))
