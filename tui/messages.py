"""Messages between workers, widgets and screens: small, and each says one thing happened.

Progress messages replace each other (each carries the whole snapshot), so a slow screen that
drops some never shows a stale total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the ingest machinery is heavy to import and only needed when loading
    from investigations.ingest import IngestReport, Progress


@dataclass
class LoadProgress(Message):
    """A snapshot of one source's ingest."""

    progress: Progress


@dataclass
class StoreChanged(Message):
    """Events were added and re-sorted: sequence numbers changed, views must reload."""

    events: int


@dataclass
class LoadFinished(Message):
    """Background loading ended: ``report`` totals every source; ``error`` says why it stopped."""

    report: IngestReport | None
    error: str | None = None


@dataclass
class Pivot(Message):
    """Open the view of one entity (``kind`` is a key of ``tui.pivots.LABELS``, or lineage)."""

    kind: str
    value: str


@dataclass
class CaseChanged(Message):
    """Bookmarks, notes or findings changed: marks and the case panel should refresh."""


@dataclass
class TextIndexing(Message):
    """The free-text indexer's progress ("" once it is idle), and the error that stopped it, if any."""

    status: str
    error: str | None = None
