"""Loading evidence behind the workbench: paths and s3:// prefixes, and LookupEvents pulls.

Runs in the app's worker thread and reports through ``post`` (thread-safe message posting). The
store is re-sorted whenever it has doubled since the last sort, so the first events become
browsable within seconds of arriving while the cost of re-sorting stays a small multiple of one
final sort. A pull from LookupEvents reports its pages as "files" on the same progress line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual.message import Message

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources, merge
from investigations.ingest import IngestReport, Progress
from tui.messages import LoadFinished, LoadProgress, StoreChanged

if TYPE_CHECKING:  # boto3 is imported only when a pull is asked for
    from investigations.sources.lookup import RegionStats
    from investigations.sources.lookup_pull import LookupRequest


@dataclass(slots=True)
class Job:
    """What to load: local or S3 sources, and optionally one LookupEvents pull."""

    sources: list[str]
    options: SourceOptions
    lookup: LookupRequest | None = None

    @property
    def labels(self) -> list[str]:
        """One progress line per source, named as ``Progress.source`` names it."""
        return [*self.sources, *([lookup_label(self.lookup)] if self.lookup else [])]


def lookup_label(request: LookupRequest) -> str:
    regions = ",".join(request.regions) if request.regions else "all regions"
    profile = f", profile {request.profile}" if request.profile else ""
    return f"LookupEvents ({regions}{profile})"


def load(case: Case, job: Job, post: Callable[[Message], None], cancel: threading.Event) -> None:
    """Load every source of ``job`` into ``case``; always ends by posting LoadFinished."""
    store = case.store
    shown = store.count()
    options = replace(job.options, land_early=True)  # the engine lands events while loading goes on

    def progress(snapshot: Progress) -> None:
        nonlocal shown
        post(LoadProgress(snapshot))
        stored = store.count()
        if stored != shown:
            shown = stored
            post(StoreChanged(stored))

    total = IngestReport()
    error = None
    try:
        for source in job.sources:
            if cancel.is_set():
                break
            merge(total, ingest_sources(case, [source], options, progress, cancel))
            post(StoreChanged(store.count()))
        if job.lookup is not None and not cancel.is_set():
            merge(total, _pull(case, job.lookup, post, cancel))
    except PullFailed as exc:
        error = str(exc)
    except Exception as exc:  # shown to the responder; what landed before stays in the case
        error = f"{exc.__class__.__name__}: {exc}"
    post(LoadFinished(total, error))


class PullFailed(Exception):
    """The pull could not start (no credentials, unknown profile): the engine's message, as is."""


def _pull(case: Case, request: LookupRequest, post: Callable[[Message], None], cancel: threading.Event) -> IngestReport:
    from investigations.sources.lookup_pull import LookupFailed, pull_lookup

    label = lookup_label(request)
    started = time.perf_counter()

    def progress(stats: dict[str, RegionStats]) -> None:
        pages = sum(s.pages for s in stats.values())
        events = sum(s.events for s in stats.values())
        failed = sum(1 for s in stats.values() if s.failed)
        post(LoadProgress(Progress(label, pages, None, events, failed, 0, None, time.perf_counter() - started)))
        post(StoreChanged(case.store.count()))  # each round of a pull ends with the store sorted

    try:
        return pull_lookup(case, request, progress=progress, cancel=cancel).ingest
    except LookupFailed as exc:
        raise PullFailed(str(exc)) from None
