"""Recreating ``events.duckdb`` from the sources a case recorded, and proving the evidence unchanged.

The store is derived; the evidence is not. A rebuild re-reads exactly the files each source's
manifest lists (a file that appeared in the folder since is reported, not ingested, because it
was never part of what was analysed), compares every file's SHA-256 or S3 ETag with the one
recorded, and lists each file that changed or went missing. The old store is moved aside and
put back if the rebuild fails or is cancelled, so a rebuild can never leave a case with less
than it had. The sources list in ``case.json`` is not touched: the same sources, read again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from investigations.ingest import IngestReport, Progress, ingest_units
from investigations.sources.units import Unit
from investigations.timeparse import parse_time

if TYPE_CHECKING:
    from investigations.case import Case

REBUILDABLE = ("path", "s3")


@dataclass(slots=True)
class SourceRebuild:
    """One source read again: what it yielded and how its files compare with the manifest."""

    source_id: int
    kind: str
    uri: str
    files: int = 0
    events_added: int = 0
    rejected: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    not_rebuilt: str | None = None

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.not_rebuilt)


@dataclass(slots=True)
class RebuildReport:
    sources: list[SourceRebuild] = field(default_factory=list)
    events_total: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.sources)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "events_total": self.events_total,
            "seconds": round(self.seconds, 3),
            "sources": [asdict(s) for s in self.sources],
        }


def _units(source: dict[str, Any], cancel: threading.Event | None) -> Iterable[Unit]:
    if source["kind"] == "s3":
        from investigations.evidence import SourceOptions
        from investigations.sources.s3 import s3_units  # boto3 only when an S3 source is rebuilt

        recorded = source.get("options") or {}
        options = SourceOptions(
            accounts=list(recorded.get("accounts", [])),
            regions=list(recorded.get("regions", [])),
            start=parse_time(recorded["start"]) if recorded.get("start") else None,
            end=parse_time(recorded["end"]) if recorded.get("end") else None,
            profile=recorded.get("profile"),
        )
        return s3_units(source["uri"], options, cancel=cancel).units
    from investigations.sources.files import scan_paths

    return scan_paths([source["uri"]]).units


def _compare(result: SourceRebuild, recorded: list[dict[str, Any]], report: IngestReport) -> None:
    found = {m.path: m for m in report.manifest}
    for old in recorded:
        new = found.get(old["path"])
        if new is None or (old.get("sha256") and not new.sha256):
            result.missing.append(old["path"])
            continue
        for key in ("sha256", "etag"):
            before, after = old.get(key), getattr(new, key)
            if before and after and before != after:
                result.changed.append({"path": old["path"], "hash": key, "recorded": before, "found": after})


def rebuild_source(
    case: Case,
    source: dict[str, Any],
    progress: Callable[[Progress], None] | None,
    cancel: threading.Event | None,
    workers: int | None = None,
) -> SourceRebuild:
    result = SourceRebuild(int(source["id"]), str(source["kind"]), str(source["uri"]))
    if result.kind not in REBUILDABLE:
        result.not_rebuilt = (
            f"{result.kind} sources cannot be read again offline (CloudTrail event history changes and rolls off "
            f"after 90 days); pull it again with the recorded parameters {source.get('options') or {}}"
        )
        return result
    recorded = case.manifest(source).get("files", [])
    wanted = {f["path"] for f in recorded}

    def listed(units: Iterable[Unit]) -> Iterable[Unit]:
        for unit in units:
            if unit.display in wanted:
                yield unit
            else:
                result.unlisted.append(unit.display)

    report = ingest_units(
        case.store,
        listed(_units(source, cancel)),
        source=result.uri,
        source_id=result.source_id,
        total_files=len(recorded),
        total_bytes=sum(f.get("size") or 0 for f in recorded),
        workers=workers,
        progress=progress,
        cancel=cancel,
    )
    result.files, result.events_added, result.rejected = report.files, report.events_added, report.rejected_total
    _compare(result, recorded, report)
    return result


def _store_files(root: Path) -> list[Path]:
    return [root / "events.duckdb", root / "events.duckdb.wal"]


def _move(paths: list[Path], suffix: str) -> None:
    for path in paths:
        if path.exists():
            os.replace(path, path.with_name(path.name + suffix))


def rebuild(
    case: Case,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> RebuildReport:
    """Re-ingest every recorded source into a fresh store; the old one returns if this fails."""
    started = time.perf_counter()
    case.close_store()
    files = _store_files(case.root)
    _move(files, ".before-rebuild")
    report = RebuildReport()
    try:
        for source in case.data["sources"]:
            if cancel and cancel.is_set():
                raise RebuildCancelled("rebuild cancelled; the previous event store was put back")
            report.sources.append(rebuild_source(case, source, progress, cancel, workers))
        if cancel and cancel.is_set():
            raise RebuildCancelled("rebuild cancelled; the previous event store was put back")
        report.events_total = case.store.count()
    except BaseException:
        case.close_store()
        for path in files:
            path.unlink(missing_ok=True)
        for path in files:
            aside = path.with_name(path.name + ".before-rebuild")
            if aside.exists():
                os.replace(aside, path)
        raise
    for path in files:
        path.with_name(path.name + ".before-rebuild").unlink(missing_ok=True)
    report.seconds = time.perf_counter() - started
    case.commit("case.rebuilt", **report.as_dict())
    return report


class RebuildCancelled(RuntimeError):
    """The rebuild stopped on request; the case is as it was."""
