"""Pulling LookupEvents into a case: all regions at once, checkpointed so a cut-off pull resumes.

Every region pages in its own thread into one bounded queue; this thread feeds the pages to the
ingest pipeline in rounds (a few hundred pages, or ten seconds). After each round the store is
finalised, progress reported, and ``lookup-state.json`` saved in the case folder: the query as
resolved, and per region the NextToken after the last page *the store holds* (read back from
the ``files`` table, so the checkpoint never runs ahead of the evidence, however the pull ends).
Running the same command again resumes each unfinished region from its token, with the same
resolved times even when the command said ``--start 7d``: AWS accepts a NextToken only with
identical parameters. A finished pull removes its checkpoint.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import orjson
from botocore.exceptions import BotoCoreError, ProfileNotFound

from investigations.case import Case, atomic_write, now_iso
from investigations.evidence import merge, record_report
from investigations.ingest import FileRecord, IngestReport, ingest_units
from investigations.sources.lookup import (
    CLIENT_CONFIG,
    PAGE_SIZE,
    LookupQuery,
    Page,
    RegionPager,
    RegionStats,
    enabled_regions,
)
from investigations.sources.ratelimit import Backoff, TokenBucket
from investigations.sources.units import RecordBatch

STATE_FILE = "lookup-state.json"
STATE_SCHEMA = "trailhound.lookup-state/1"


class LookupFailed(RuntimeError):
    """The pull cannot start (no credentials, unknown profile); the message says what to do."""


@dataclass(slots=True)
class LookupSettings:
    """Pacing; tests raise ``rate`` only where the limit is not what they check."""

    rate: float = 2.0
    backoff: Backoff = field(default_factory=Backoff)
    page_size: int = PAGE_SIZE
    #: A round ends after this many pages or seconds: the store is finalised, the checkpoint saved
    #: and progress reported. Finalising re-sorts the case, so rounds are not made too short.
    round_pages: int = 400
    round_seconds: float = 10.0


@dataclass(slots=True)
class LookupRequest:
    query: LookupQuery
    regions: list[str] | None = None  # None: every region enabled for the account
    profile: str | None = None
    asked: dict[str, Any] | None = None  # the command as typed: an equal ask resumes a cut-off pull

    def identity(self) -> dict[str, Any]:
        if self.asked is not None:
            return self.asked
        return {"query": self.query.as_dict(), "regions": self.regions or "all", "profile": self.profile}


@dataclass(slots=True)
class LookupReport:
    ingest: IngestReport
    regions: dict[str, RegionStats]
    notes: list[str] = field(default_factory=list)
    resumed: bool = False
    complete: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "events_added": self.ingest.events_added,
            "events_total": self.ingest.events_total,
            "duplicates": self.ingest.duplicates,
            "regions": {name: stats.as_dict() for name, stats in sorted(self.regions.items())},
            "rejected": [r.as_dict() for r in self.ingest.rejected],
            "rejected_total": self.ingest.rejected_total,
            "seconds": round(self.ingest.seconds, 3),
            "resumed": self.resumed,
            "complete": self.complete,
            "cancelled": self.ingest.cancelled,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class _Ended:
    region: str


class _Feed:
    """Hands queued pages to the ingest pipeline in rounds, and remembers which it took."""

    def __init__(self, pages: queue.Queue[Page | _Ended], live: set[str], stop: threading.Event) -> None:
        self.pages = pages
        self.live = live
        self.stop = stop
        self.taken: list[Page] = []

    def round(self, cancel: threading.Event | None, most: int, seconds: float) -> Iterator[RecordBatch]:
        """Pages until ``most`` or ``seconds`` are reached, or every region has ended.

        Cancelling stops the fetching, not the storing: pages already fetched still land.
        """
        ends = time.monotonic() + seconds
        count = 0
        while self.live and count < most and (self.stop.is_set() or time.monotonic() < ends):
            if cancel and cancel.is_set():
                self.stop.set()
            try:
                item = self.pages.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, _Ended):
                self.live.discard(item.region)
                continue
            self.taken.append(item)  # whether it landed is read back from the store afterwards
            count += 1
            yield RecordBatch(_display(item), item.records)


def _display(page: Page) -> str:
    return f"lookup:{page.region}:{page.number}"


def _load_state(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == STATE_SCHEMA else None


def _start(case: Case, request: LookupRequest, session: Any) -> tuple[dict[str, Any], bool, list[str]]:
    """The checkpoint to work from: the cut-off pull this request repeats, or a fresh one."""
    previous = _load_state(case.root / STATE_FILE)
    if previous and previous.get("asked") == request.identity():
        return previous, True, []
    notes = ["a cut-off pull with other parameters was set aside; this one starts afresh"] if previous else []
    regions = request.regions
    if regions:
        known = {r for p in session.get_available_partitions() for r in session.get_available_regions("cloudtrail", p)}
        unknown = [r for r in regions if r not in known]
        if unknown:
            notes.append(f"not among botocore's CloudTrail regions, tried anyway: {', '.join(unknown)}")
    else:
        regions, note = enabled_regions(session)
        notes.extend([note] if note else [])
    state = {
        "schema": STATE_SCHEMA,
        "asked": request.identity(),
        "query": request.query.as_dict(),
        "regions": {r: {"token": None, "pages": 0, "done": False} for r in regions},
    }
    return state, False, notes


def _stored(store: Any, source_id: int) -> list[FileRecord]:
    """What the store holds of this pull, page by page: the truth the checkpoint and case record follow."""
    _, rows = store.sql(
        "SELECT path, size, sha256, etag, kind, events, duplicates, rejected FROM files "
        "WHERE source_id = ? ORDER BY file_id",
        [source_id],
    )
    return [FileRecord(*row) for row in rows]


def _confirm(stored: list[FileRecord], feed: _Feed, regions: dict[str, dict[str, Any]]) -> None:
    """Advance each region's checkpoint over the pages taken that the store really holds."""
    held = {record.path for record in stored}
    blocked: set[str] = set()
    for page in feed.taken:
        if page.region in blocked or _display(page) not in held:
            blocked.add(page.region)
            continue
        regions[page.region].update(token=page.next_token, pages=page.number, done=page.next_token is None)
    feed.taken.clear()


def _account(report: IngestReport, stored: list[FileRecord]) -> None:
    """Counts from the store, so a pull cut off mid-round still reports what landed."""
    report.manifest = stored
    report.files = len(stored)
    report.events_added = sum(r.events for r in stored)
    report.duplicates = sum(r.duplicates for r in stored)
    report.rejected_total = sum(r.rejected for r in stored)


def _session(profile: str | None) -> Any:
    try:
        session = boto3.Session(profile_name=profile)
        credentials = session.get_credentials()
    except (ProfileNotFound, BotoCoreError) as exc:
        raise LookupFailed(str(exc)) from None
    if credentials is None:
        raise LookupFailed("no AWS credentials found: set AWS_PROFILE, use --profile, or export AWS_ACCESS_KEY_ID")
    return session


def _page_thread(
    pager: RegionPager, checkpoint: dict[str, Any], page_size: int, out: queue.Queue[Page | _Ended]
) -> None:
    """A region's thread body: page into the queue until done, failed or stopped; always say so.

    Blocking on a full queue is safe: the consumer drains it to the end, however the pull ends.
    """
    try:
        for page in pager.pages(checkpoint["token"], checkpoint["pages"], page_size):
            out.put(page)
    except Exception as exc:  # a thread must report, not vanish: the region is marked failed
        pager.stats.failed = f"unexpected {exc.__class__.__name__}: {exc}"
    finally:
        out.put(_Ended(pager.region))


def pull_lookup(
    case: Case,
    request: LookupRequest,
    settings: LookupSettings | None = None,
    progress: Callable[[dict[str, RegionStats]], None] | None = None,
    cancel: threading.Event | None = None,
) -> LookupReport:
    """Pull event history from every region asked into the case; resumable if cut off."""
    settings = settings or LookupSettings()
    session = _session(request.profile)
    state, resumed, notes = _start(case, request, session)
    query = LookupQuery.from_dict(state["query"])
    todo = [r for r, s in state["regions"].items() if not s["done"]]
    stats = {region: RegionStats() for region in todo}
    stop = threading.Event()
    pages: queue.Queue[Page | _Ended] = queue.Queue(maxsize=4 * max(len(todo), 1))
    threads = []
    for region in todo:  # clients are made here: a boto3 session is not safe to share across threads
        client = session.client("cloudtrail", region_name=region, config=CLIENT_CONFIG)
        pager = RegionPager(client, region, query, TokenBucket(settings.rate), settings.backoff, stop, stats[region])
        args = (pager, state["regions"][region], settings.page_size, pages)
        threads.append(threading.Thread(target=_page_thread, args=args, name=f"lookup-{region}", daemon=True))
        threads[-1].start()
    feed = _Feed(pages, set(todo), stop)
    report = LookupReport(IngestReport(), stats, notes, resumed)
    source_id = case.next_source_id()
    uri = "lookup:" + ",".join(state["regions"])
    interrupted = True
    try:
        while feed.live:
            units = feed.round(cancel, settings.round_pages, settings.round_seconds)
            merge(report.ingest, ingest_units(case.store, units, source=uri, source_id=source_id, workers=0))
            _confirm(_stored(case.store, source_id), feed, state["regions"])
            _save(case, state)
            if progress:
                progress(stats)
        interrupted = False
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):
            _drain(pages)
            for thread in threads:
                thread.join(timeout=0.1)
        stored = _stored(case.store, source_id)
        _confirm(stored, feed, state["regions"])
        _account(report.ingest, stored)
        report.complete = all(s["done"] for s in state["regions"].values())
        _save(case, state, finished=report.complete)
        report.ingest.events_total = case.store.count()
        report.ingest.cancelled = interrupted or bool(cancel and cancel.is_set())
        options = {"regions": list(state["regions"]), **state["query"], "profile": request.profile}
        extra = {"resumed": resumed, "complete": report.complete}
        record_report(case, source_id, "lookup", uri, options, report.ingest, extra)
    return report


def _drain(pages: queue.Queue[Page | _Ended]) -> None:
    while True:
        try:
            pages.get_nowait()
        except queue.Empty:
            return


def _save(case: Case, state: dict[str, Any], finished: bool = False) -> None:
    path = case.root / STATE_FILE
    if finished:
        path.unlink(missing_ok=True)
        return
    state["updated"] = now_iso()
    atomic_write(path, orjson.dumps(state, option=orjson.OPT_INDENT_2))
