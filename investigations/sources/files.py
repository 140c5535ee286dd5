"""Local evidence: a file or a folder at any depth, zip archives included.

The walk follows symbolic links (evidence folders are often assembled from links) but visits each
real directory once, so a link loop ends the branch instead of the walk. Files that are clearly
not CloudTrail (a README, a public key) are listed as skipped, with the reason, never dropped
silently; digest files are counted for the integrity check, not decoded as events.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from investigations.integrity.layout import COLLECTION_DIR, SIDECAR_SUFFIX
from investigations.sources.s3layout import Narrowing
from investigations.sources.units import LocalFile, Refused, Unit

_EVIDENCE_SUFFIXES = (".json", ".gz", ".jsonl", ".ndjson", ".zip", ".log")


@dataclass(slots=True)
class LocalScan:
    """What a walk found: units to decode, digests set aside, and files passed over (with why)."""

    units: list[Unit] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    sidecars: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(u.size for u in self.units)


def is_digest(path: str) -> bool:
    return "CloudTrail-Digest" in path.replace("\\", "/").split("/") or "_CloudTrail-Digest_" in path


def _evidence_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(_EVIDENCE_SUFFIXES)


def _looks_like_evidence(path: str) -> bool:
    """Sniff a file with an unfamiliar name: gzip, zip or JSON text is worth decoding."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return True  # let the decoder report why it cannot be read
    return head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04" or head.lstrip()[:1] in (b"{", b"[")


def _add_file(scan: LocalScan, path: str, size: int, explicit: bool) -> None:
    if is_digest(path):
        if path.endswith(SIDECAR_SUFFIX):
            scan.sidecars += 1  # a collected digest's signature: validate reads it, ingest has no use
        else:
            scan.digests.append(path)
        return
    if not explicit and not _evidence_name(os.path.basename(path)) and not _looks_like_evidence(path):
        scan.skipped.append((path, "not CloudTrail evidence (neither JSON, gzip nor zip)"))
        return
    if path.lower().endswith(".zip"):
        _add_zip(scan, path)
        return
    scan.units.append(LocalFile(path, None, size, explicit))


def _add_zip(scan: LocalScan, path: str) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        scan.units.append(Refused(path, f"not a readable zip archive: {exc}"))
        return
    for member in members:
        inner = f"{path}!{member.filename}"
        if is_digest(member.filename):
            scan.digests.append(inner)
        elif member.flag_bits & 0x1:
            scan.units.append(Refused(inner, "encrypted zip member; extract it with its password first"))
        elif _evidence_name(member.filename) or member.filename.lower().endswith(".zip"):
            scan.units.append(LocalFile(path, member.filename, member.file_size))
        else:
            scan.skipped.append((inner, "not a CloudTrail file type (.json, .json.gz, .jsonl, .ndjson, .zip)"))


def _walk(root: str, seen: set[tuple[int, int]], scan: LocalScan) -> Iterator[tuple[str, int]]:
    try:
        stat = os.stat(root)
    except OSError as exc:
        scan.units.append(Refused(root, f"cannot read folder: {exc.strerror}"))
        return
    ident = (stat.st_dev, stat.st_ino)
    if ident in seen:
        scan.skipped.append((root, "folder already visited (a symbolic link loop or a second link to it)"))
        return
    seen.add(ident)
    if os.path.exists(os.path.join(root, "case.json")) and os.path.exists(os.path.join(root, "journal.jsonl")):
        scan.skipped.append((root, "a Trailhound case folder, not evidence"))
        return
    if os.path.basename(root) == COLLECTION_DIR:
        scan.skipped.append((root, "trailhound collect's bookkeeping (manifest, keys), not evidence"))
        return
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        scan.units.append(Refused(root, f"cannot list folder: {exc.strerror}"))
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=True):
                yield from _walk(entry.path, seen, scan)
            elif entry.is_file(follow_symlinks=True):
                yield entry.path, entry.stat(follow_symlinks=True).st_size
            elif entry.is_symlink():
                scan.units.append(Refused(entry.path, "broken symbolic link"))
        except OSError as exc:
            scan.units.append(Refused(entry.path, f"cannot read: {exc.strerror}"))


_LAYOUT = re.compile(
    r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?(?P<account>\d{12})/CloudTrail[A-Za-z-]*/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
)


def narrow(scan: LocalScan, narrowing: Narrowing) -> None:
    """Keep only files whose place in the CloudTrail layout fits the accounts, regions and window.

    Files outside the layout (exports, single files) are kept: only the layout says where a
    file belongs. What is left out is summarised in one skipped line, so the count is visible.
    """
    if not (narrowing.accounts or narrowing.regions or narrowing.windowed):
        return
    kept: list[Unit] = []
    dropped = 0
    for unit in scan.units:
        match = _LAYOUT.search(unit.display.replace("\\", "/"))
        if match and (
            (narrowing.accounts and match["account"] not in narrowing.accounts)
            or (narrowing.regions and match["region"] not in narrowing.regions)
            or not narrowing.overlaps((int(match["y"]), int(match["m"]), int(match["d"])))
        ):
            dropped += 1
            continue
        kept.append(unit)
    scan.units = kept
    if dropped:
        scan.skipped.append(("(layout)", f"{dropped} files outside the requested accounts, regions or dates"))


def scan_paths(paths: list[str]) -> LocalScan:
    """Enumerate local evidence under each path, in a stable (sorted) order."""
    scan = LocalScan()
    _walk_all(paths, scan)
    if scan.sidecars:
        scan.skipped.append(("(digests)", f"{scan.sidecars} digest signature files, for `trailhound validate`"))
    return scan


def _walk_all(paths: list[str], scan: LocalScan) -> None:
    seen: set[tuple[int, int]] = set()
    for raw in paths:
        path = str(Path(raw).expanduser())
        if os.path.isdir(path):
            for file_path, size in _walk(path, seen, scan):
                _add_file(scan, file_path, size, explicit=False)
        elif os.path.isfile(path):
            _add_file(scan, path, os.path.getsize(path), explicit=True)
        elif os.path.islink(path):
            scan.units.append(Refused(path, "broken symbolic link"))
        else:
            scan.units.append(Refused(path, "no such file or folder"))
