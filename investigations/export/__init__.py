"""Exports: the case handed on to wherever the next person works.

``export(case, "csv", scope="findings")`` writes one file and journals it (format, scope, path,
SHA-256); ``FORMATS`` says what each format is and whether it takes a scope. Each format is one
module with ``write(case, selection, out) -> int``; files are written to a temporary name and
renamed, so a half-written export never sits where a colleague would pick it up.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from investigations.casefile.persist import now_iso
from investigations.export.scope import ScopeError, Selection, resolve

if TYPE_CHECKING:
    from investigations.case import Case


@dataclass(frozen=True, slots=True)
class Format:
    module: str
    suffix: str
    scoped: bool
    description: str


FORMATS: dict[str, Format] = {
    "csv": Format("csv_timeline", ".csv", True, "timeline for a spreadsheet (formula cells defused)"),
    "jsonl": Format("jsonl", ".jsonl", True, "timeline as JSON Lines with each original record"),
    "timesketch": Format("timesketch", ".timesketch.jsonl", True, "timeline in Timesketch's JSONL import format"),
    "markdown": Format("markdown", ".md", True, "incident report in Markdown (Mermaid lineage)"),
    "html": Format("html", ".html", True, "incident report as one self-contained HTML file"),
    "navigator": Format("navigator", ".layer.json", False, "ATT&CK Navigator layer of the findings' techniques"),
    "iocs-csv": Format("iocs_csv", ".iocs.csv", False, "indicators as CSV"),
    "stix": Format("stix", ".stix.json", False, "indicators as a STIX 2.1 bundle"),
}
REPORTS = frozenset({"markdown", "html"})


@dataclass(frozen=True, slots=True)
class ExportResult:
    format: str
    scope: str
    path: str
    items: int
    sha256: str | None


class _Hashing:
    """A binary sink that hashes what passes through, so the journal can name the file's SHA-256."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self.raw, name)


def default_path(case: Case, fmt: str, label: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:40] or "all"
    stamp = now_iso().replace(":", "").replace("-", "")
    return case.root / "exports" / f"{stamp}-{slug}{FORMATS[fmt].suffix}"


def selection_for(case: Case, fmt: str, scope: str | None) -> Selection | None:
    """The scope as events; reports default to what the responder marked, timelines to everything."""
    if fmt not in FORMATS:
        raise ScopeError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    if scope and not FORMATS[fmt].scoped:
        raise ScopeError(f"{fmt} exports the whole case's findings or indicators and takes no --scope")
    if fmt in REPORTS and not scope:
        return None
    return resolve(case, scope)


def export(case: Case, fmt: str, scope: str | None = None, out: Path | str | None = None) -> ExportResult:
    """Write one export (``out`` "-" means stdout) and journal it; returns where and what."""
    selection = selection_for(case, fmt, scope)
    label = selection.label if selection else ("findings and bookmarks" if fmt in REPORTS else "case")
    writer = importlib.import_module(f"investigations.export.{FORMATS[fmt].module}").write
    if out == "-":
        sink = _Hashing(sys.stdout.buffer)
        count = writer(case, selection, sink)
        sys.stdout.buffer.flush()
        path = "-"
    else:
        target = Path(out) if out else default_path(case, fmt, label)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                sink = _Hashing(handle)
                count = writer(case, selection, sink)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        path = str(target)
    result = ExportResult(fmt, label, path, count, sink.digest.hexdigest())
    case.commit("export", format=fmt, scope=label, path=path, items=count, sha256=result.sha256)
    return result
