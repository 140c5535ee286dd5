"""The responder's own settings, kept in the data folder beside the recent cases: for now, the theme.

A day-long investigation picks a theme once (Textual's command palette: "Change theme"); it should
not be picked again at every start. The file is small JSON, written whole and atomically; a
missing or damaged file means the defaults, never an error at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from investigations.casefile.persist import atomic_write

FILE = "settings.json"


def load(root: Path) -> dict[str, Any]:
    try:
        found = orjson.loads((root / FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def save(root: Path, **changes: Any) -> None:
    """Merge ``changes`` into the file (created with its folder if need be)."""
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / FILE, orjson.dumps({**load(root), **changes}, option=orjson.OPT_INDENT_2))
