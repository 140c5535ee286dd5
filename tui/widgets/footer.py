"""Textual's footer, recomposed only when the keys it shows change.

Every focus change and every view switch tells the footer its screen's bindings changed, and
Textual's footer then rebuilds all its key widgets: 20-30 ms, and again as much to style and lay
them out. Switching to the lineage view did that four times (measured), mostly to show the keys
already on screen. This footer compares what it would show with what it shows first.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """A ``Footer`` that skips rebuilding when its keys, labels and enabled states are unchanged."""

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._shown: tuple[tuple[str, str, str, bool], ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        keys = tuple(
            (binding.key, binding.action, binding.description, enabled)
            for _, binding, enabled, _ in screen.active_bindings.values()
            if binding.show
        )
        if keys == self._shown and self._bindings_ready:
            return
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._shown = keys  # only once a rebuild is on its way (Footer skips it without focus)
        super().bindings_changed(screen)
