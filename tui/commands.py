"""Command palette providers: every action the current screen offers, found by name.

The list is built from the live key bindings (so a new binding is in the palette without anyone
remembering to add it) plus commands a screen offers that have no key of their own, such as
pivoting to the second resource of an event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from investigations.textsafe import clean

#: A command without a key: title, help text, what to run.
Extra = tuple[str, str, Callable[[], Any]]


def key_label(key: str) -> str:
    names = {"left_square_bracket": "[", "right_square_bracket": "]", "slash": "/", "question_mark": "?"}
    return names.get(key, key)


class ActionCommands(Provider):
    """Every described binding of the screen (and its focused widgets), plus the screen's extras."""

    def _commands(self) -> Iterable[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            run = partial(self.app.run_action, binding.action, active.node)
            yield binding.description, f"{binding.tooltip or binding.description} (key {key_label(key)})", run
        extras: Callable[[], Iterable[Extra]] | None = getattr(screen, "palette_commands", None)
        if extras is not None:
            yield from extras()

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            shown = clean(title, 120)
            yield DiscoveryHit(Content(shown), run, text=shown, help=escape(clean(help_text, 120)))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            shown = clean(title, 120)
            score = matcher.match(f"{shown} {help_text}")
            if score > 0:
                yield Hit(score, _highlight(matcher, shown), run, text=shown, help=escape(clean(help_text, 120)))


def _highlight(matcher: Any, text: str) -> Content:
    """Matched letters emphasised; unlike ``Matcher.highlight`` the text is never read as markup."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if score:
        for offset in offsets:
            if not text[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
