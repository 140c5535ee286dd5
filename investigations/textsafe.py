"""Making attacker-controlled strings safe to show in a terminal.

CloudTrail fields (user agents, request parameters, even file names in an archive) are written by
whoever called AWS. Shown raw, an ESC sequence could move the cursor, retitle the window or hide
text; a bidi override could reorder what the responder reads. ``clean`` renders every such
character visibly instead (``\\x1b`` becomes ``\\x1b`` as text), and caps length so one value
cannot flood a screen.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the Unicode bidi / invisible formatting characters.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object, limit: int | None = None) -> str:
    """A printable rendering of ``value``: controls escaped, optionally shortened with an ellipsis."""
    text = "" if value is None else str(value)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(_visible, text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text
