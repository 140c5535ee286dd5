"""Making log-derived text harmless in each output language.

Every string in an export may have been written by the intruder (a user agent, a session name, a
bucket name). A spreadsheet runs a cell that starts with ``=``; HTML runs ``<script>``; Markdown
turns ``[x](javascript:...)`` into a link and ``|`` into a new table column; a terminal obeys
``ESC`` sequences when someone ``cat``s a file. Each function here makes a value inert in one
of those languages and is the only place that language's escaping is done.
"""

from __future__ import annotations

import html
import re
from typing import Any

from investigations.textsafe import clean

#: First characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_INLINE = re.compile(r"([\\`*_{}\[\]()<>!|~&:])")
_MARKDOWN_BLOCK = re.compile(r"^([#+\-=>])")
_MARKDOWN_ORDERED = re.compile(r"^(\d+)\.")
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def text(value: Any) -> str:
    """A value as display text: lists joined, booleans lower-case, None empty, controls visible."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(text(v) for v in value)
    return clean(value)


def csv_cell(value: Any) -> str:
    """A spreadsheet-safe cell: controls visible, and a leading formula character defused with ``'``."""
    raw = "" if value is None else str(value)
    shown = text(value)
    if raw.lstrip(" ").startswith(FORMULA_TRIGGERS) or shown.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + shown
    return shown


def html_text(value: Any) -> str:
    """Text for an HTML element or a quoted attribute: every markup character escaped."""
    return html.escape(text(value), quote=True)


def html_prose(value: Any) -> str:
    """Multi-line prose for a ``pre-wrap`` block: escaped like ``html_text``, line breaks kept."""
    raw = "" if value is None else str(value)
    return "\n".join(html.escape(clean(line), quote=True) for line in raw.splitlines())


def md_text(value: Any, multiline: bool = False) -> str:
    """Markdown prose (titles, narratives): what Markdown or HTML would act on is backslash-escaped.

    Each line is escaped on its own, including the characters that start a heading, list, quote
    or table row, so pasted log text stays text; ``:`` is escaped so no URL becomes a link. Lines
    are kept (as hard breaks) only when ``multiline``; otherwise they are joined with spaces.
    """
    raw = value if isinstance(value, str) else text(value)
    out = []
    for line in raw.splitlines() or [""]:
        line = _MARKDOWN_INLINE.sub(r"\\\1", " ".join(clean(line).split()))
        line = _MARKDOWN_BLOCK.sub(r"\\\1", _WWW.sub(r"\1\\.", line))
        out.append(_MARKDOWN_ORDERED.sub(r"\1\\.", line))
    return "  \n".join(out) if multiline else " ".join(part for part in out if part)


def md_code(value: Any, in_table: bool = False) -> str:
    """A log value as inline code, where Markdown does no links, emphasis or HTML.

    The fence is longer than any backtick run inside; in a table, pipes are escaped (GFM splits
    cells before it reads code spans). Newlines become spaces.
    """
    flat = " ".join(text(value).split())
    if not flat:
        return ""
    run = max((len(m) for m in re.findall(r"`+", flat)), default=0)
    fence = "`" * (run + 1)
    if in_table:
        flat = flat.replace("|", "\\|")
    return f"{fence} {flat} {fence}"


def mermaid_label(value: Any) -> str:
    """A Mermaid node label (inside double quotes): quotes, brackets and markup as entity codes."""
    flat = " ".join(text(value).split())
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        flat = flat.replace(char, code)
    for char in "[](){}|":
        flat = flat.replace(char, f"#{ord(char)};")
    return flat
