"""Adding evidence to a case: resolve each SOURCE, ingest it, and record it in the case.

This is the one call the CLI, the TUI and ``rebuild`` share, so a source added any of those ways
is recorded the same way: in ``case.json`` (where it came from, with what options), in its
manifest (every file with its SHA-256 or S3 ETag) and in the journal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from investigations.case import Case
from investigations.decode import DEFAULT_MAX_DECOMPRESSED
from investigations.ingest import IngestReport, Progress, ingest_units
from investigations.sources.files import narrow, scan_paths
from investigations.sources.s3layout import Narrowing
from investigations.timeparse import iso


@dataclass(slots=True)
class SourceOptions:
    """Narrowing and access options: accounts, regions and window narrow by the S3 layout's folders,
    in a bucket and in a local copy alike."""

    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    profile: str | None = None
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED
    workers: int | None = None
    land_early: bool = False  # show events while a long ingest goes on (the workbench sets it)

    def recorded(self) -> dict[str, object]:
        """What the case keeps: the options that shaped the pull (never credentials)."""
        out: dict[str, object] = {}
        if self.accounts:
            out["accounts"] = self.accounts
        if self.regions:
            out["regions"] = self.regions
        if self.start:
            out["start"] = iso(self.start)
        if self.end:
            out["end"] = iso(self.end)
        if self.profile:
            out["profile"] = self.profile
        return out


def merge(total: IngestReport, part: IngestReport) -> None:
    total.events_added += part.events_added
    total.events_total = part.events_total
    total.duplicates += part.duplicates
    total.files += part.files
    total.digests += part.digests
    total.rejected.extend(part.rejected)
    total.rejected_total += part.rejected_total
    total.skipped.extend(part.skipped)
    total.seconds += part.seconds
    total.cancelled = total.cancelled or part.cancelled


def record_report(
    case: Case,
    source_id: int,
    kind: str,
    uri: str,
    options: dict[str, object],
    report: IngestReport,
    extra: dict[str, object] | None = None,
) -> None:
    """Record a source in the case from its report: a summary, and a manifest line per file."""
    summary: dict[str, object] = {
        "events_added": report.events_added,
        "duplicates": report.duplicates,
        "files": report.files,
        "rejected": report.rejected_total,
        "cancelled": report.cancelled,
        **(extra or {}),
    }
    files = [
        {
            "path": m.path,
            "size": m.size,
            "sha256": m.sha256,
            "etag": m.etag,
            "kind": m.kind,
            "events": m.events,
            "duplicates": m.duplicates,
            "rejected": m.rejected,
        }
        for m in report.manifest
    ]
    case.record_source(source_id, kind, uri, options, summary, files)


def ingest_source(
    case: Case,
    uri: str,
    options: SourceOptions,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> IngestReport:
    """Ingest one SOURCE (a path or ``s3://bucket/prefix``) into the case and record it."""
    source_id = case.next_source_id()
    if uri.startswith("s3://"):
        from investigations.sources.s3 import s3_units  # boto3 is imported only when S3 is used

        pull = s3_units(uri, options, cancel=cancel)
        kind, units, files, size = "s3", pull.units, pull.total_files, pull.total_bytes
        digests, skipped = pull.digests, pull.skipped
    else:
        scan = scan_paths([uri])
        narrow(scan, Narrowing.of(options.accounts, options.regions, options.start, options.end))
        kind, units, files, size = "path", scan.units, len(scan.units), scan.total_bytes
        digests, skipped = len(scan.digests), scan.skipped
    report = ingest_units(case.store, units, source=uri, source_id=source_id, total_files=files, total_bytes=size,
                          workers=options.workers, max_decompressed=options.max_decompressed,
                          progress=progress, cancel=cancel, land_early=options.land_early)
    report.digests += digests
    report.skipped.extend(skipped)
    record_report(case, source_id, kind, uri, options.recorded(), report)
    return report


def ingest_sources(
    case: Case,
    uris: list[str],
    options: SourceOptions,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> IngestReport:
    total = IngestReport()
    for uri in uris:
        if cancel and cancel.is_set():
            break
        merge(total, ingest_source(case, uri, options, progress, cancel))
    total.events_total = case.store.count()
    return total
