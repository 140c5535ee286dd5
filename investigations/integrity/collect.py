"""A forensic copy of an S3 CloudTrail archive that can be validated fully offline.

``aws s3 sync`` drops the one thing offline validation needs: each digest's signature lives in
its S3 metadata. This copy keeps it. Layout of the output folder::

    <S3 key>                                 every object, at its full key (prefix included)
    <digest key>.sig.json                    sidecar: {"format", "bucket", "key", "etag",
                                             "last_modified", "metadata": {signature, ...}}
    trailhound-collection/collection.json    what was copied, from where, when it was listed
    trailhound-collection/progress.jsonl     one line per object landed: the resume journal
    trailhound-collection/public-keys/       ListPublicKeys results per region (keys.save_keys)
    trailhound-collection/manifest.sha256    `sha256sum -c` format over everything copied

Each object is streamed to a ``.part`` file while hashed, then renamed, then journalled; a rerun
skips objects journalled with the same ETag and size, so a cut-off collection resumes. Logs a
collected digest lists are fetched even outside the requested window, so the copy is complete
for every digest it holds. Only GetObject, ListObjectsV2, HeadObject and ListPublicKeys are used.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from investigations.integrity.digests import DigestFormatError, gunzip_digest, parse_digest
from investigations.integrity.keys import PublicKey, load_saved_keys, save_keys
from investigations.integrity.layout import COLLECTION_DIR, SIDECAR_SUFFIX, parse_digest_key, parse_log_key
from investigations.integrity.objects import ObjectRef, S3Tree, Scope
from investigations.integrity.signer import SIDECAR_FORMAT
from investigations.timeparse import iso

COLLECTION_FORMAT = "trailhound-collection/1"
_CHUNK = 1024 * 1024


class CollectError(RuntimeError):
    """The collection cannot proceed (e.g. the folder holds another source's copy)."""


@dataclass(slots=True)
class CollectReport:
    source: str
    out: str
    copied: int = 0
    already: int = 0
    bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    keys: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": self.out,
            "copied": self.copied,
            "already_present": self.already,
            "bytes": self.bytes,
            "public_keys": self.keys,
            "notes": self.notes,
            "absent": self.absent,
            "failures": [{"key": k, "reason": why} for k, why in self.failures],
        }


def safe_path(out: Path, key: str) -> Path | None:
    """Where ``key`` goes below ``out``, or None for a key that would escape it (``..``, absolute)."""
    parts = key.split("/")
    if any(p in ("..", ".", "") for p in parts) or parts[0] == COLLECTION_DIR:
        return None
    return out.joinpath(*parts)


class _Progress:
    """The resume journal: objects landed, keyed by S3 key."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if path.exists():
            for line in path.read_bytes().splitlines():
                try:
                    entry = orjson.loads(line)
                    self.done[str(entry["key"])] = entry
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by the interruption being resumed from

    def has(self, ref: ObjectRef, local: Path) -> bool:
        entry = self.done.get(ref.key)
        return (
            entry is not None
            and entry.get("etag") == ref.etag
            and local.is_file()
            and local.stat().st_size == entry.get("size")
        )

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.done[entry["key"]] = entry
            with open(self.path, "ab") as handle:
                handle.write(orjson.dumps(entry) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())


def _download(tree: S3Tree, bucket: str, key: str, local: Path) -> dict[str, Any]:
    """Stream one object to ``local`` (via a .part file), hashing as it goes; digests get a sidecar."""
    reply = tree.client.get_object(Bucket=bucket, Key=key)
    local.parent.mkdir(parents=True, exist_ok=True)
    part = local.with_name(local.name + ".part")
    digest = hashlib.sha256()
    size = 0
    body = reply["Body"]
    try:
        with open(part, "wb") as handle:
            while block := body.read(_CHUNK):
                digest.update(block)
                size += len(block)
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        body.close()
    expected = reply.get("ContentLength")
    if expected is not None and expected != size:
        part.unlink(missing_ok=True)
        raise OSError(f"short read: {size} of {expected} bytes")
    etag = (reply.get("ETag") or "").strip('"') or None
    modified = reply.get("LastModified")
    stamp = modified.isoformat() if modified else None
    if parse_digest_key(key) is not None:
        sidecar = {
            "format": SIDECAR_FORMAT,
            "bucket": bucket,
            "key": key,
            "etag": etag,
            "last_modified": stamp,
            "metadata": dict(reply.get("Metadata") or {}),
        }
        Path(str(local) + SIDECAR_SUFFIX).write_bytes(orjson.dumps(sidecar, option=orjson.OPT_INDENT_2))
    os.replace(part, local)
    return {
        "key": key,
        "bucket": bucket,
        "size": size,
        "etag": etag,
        "last_modified": stamp,
        "sha256": digest.hexdigest(),
    }


def _wanted(ref: ObjectRef, scope: Scope) -> bool:
    digest = parse_digest_key(ref.key)
    if digest is not None:
        moment, late = digest.end, timedelta(hours=2)
        account, region = digest.chain.account, digest.chain.region
    else:
        log = parse_log_key(ref.key)
        if log is None:
            return False
        moment, late, account, region = log.delivered, timedelta(0), log.account, log.region
    return not (
        (scope.accounts and account not in scope.accounts)
        or (scope.regions and region not in scope.regions)
        or (scope.start and moment < scope.start)
        or (scope.end and moment > scope.end + late)
    )


def collect(
    tree: S3Tree,
    out: Path,
    scope: Scope,
    fetch_keys: Callable[[str, datetime, datetime], list[PublicKey]],
    *,
    workers: int = 8,
    progress: Callable[[str], None] | None = None,
) -> CollectReport:
    """Copy ``tree``'s logs and digests within ``scope`` to ``out``; see the module docstring."""
    say = progress or (lambda _msg: None)
    meta_dir = out / COLLECTION_DIR
    meta_dir.mkdir(parents=True, exist_ok=True)
    info_path = meta_dir / "collection.json"
    info = _start(info_path, tree, scope)
    journal = _Progress(meta_dir / "progress.jsonl")
    report = CollectReport(tree.name, str(out))
    refs = [ref for ref in tree.scan(scope) if _wanted(ref, scope)]
    say(f"listed {len(refs)} objects in {tree.name}")

    counting = threading.Lock()

    def fetch(bucket: str, ref: ObjectRef) -> None:
        local = safe_path(out, ref.key)
        if local is None:
            report.failures.append((ref.key, "key would leave the output folder; not copied"))
            return
        if journal.has(ref, local):
            with counting:
                report.already += 1
            return
        try:
            entry = _download(tree, bucket, ref.key, local)
        except Exception as exc:  # network, permissions, disk: each failure is listed, the rest goes on
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "NoSuchKey":
                report.absent.append(ref.key)  # evidence for the validator ("missing"), not a copy failure
            else:
                report.failures.append((ref.key, str(exc)))
            return
        journal.add(entry)
        with counting:
            report.copied += 1
            report.bytes += entry["size"]
            if report.copied % 1000 == 0:
                say(f"copied {report.copied} objects ({report.bytes / 1e6:.0f} MB)")

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda ref: fetch(tree.bucket, ref), refs))
        have = {ref.key for ref in refs}
        extra = [ObjectRef(key, f"s3://{bucket}/{key}") for bucket, key in _listed_logs(out, refs) if key not in have]
        if extra:
            say(f"fetching {len(extra)} logs listed by collected digests outside the window")
        list(pool.map(lambda ref: fetch(ref.location[5:].split("/", 1)[0], ref), extra))
    if report.absent:
        report.notes.append(
            f"{len(report.absent)} log(s) listed by digests are not in the bucket; "
            "`trailhound validate` reports them as missing"
        )
    report.keys = _save_keys(meta_dir / "public-keys", refs, fetch_keys, report)
    _finish(out, info_path, info, journal, report)
    return report


def _start(info_path: Path, tree: S3Tree, scope: Scope) -> dict[str, Any]:
    info: dict[str, Any] = {}
    if info_path.exists():
        try:
            info = orjson.loads(info_path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise CollectError(f"{info_path} is damaged ({exc}); collect into a new folder") from None
        if (info.get("bucket"), info.get("prefix")) != (tree.bucket, tree.prefix):
            raise CollectError(
                f"{info_path.parent.parent} holds a copy of s3://{info.get('bucket')}/"
                f"{info.get('prefix')}; collect {tree.name} into another folder"
            )
    now = iso(datetime.now(UTC).replace(tzinfo=None))
    info.update(
        {
            "format": COLLECTION_FORMAT,
            "source": tree.name,
            "bucket": tree.bucket,
            "prefix": tree.prefix,
            "scope": {
                "accounts": sorted(scope.accounts or []),
                "regions": sorted(scope.regions or []),
                "start": iso(scope.start),
                "end": iso(scope.end),
            },
            "listed_at": now,
            "complete": False,
        }
    )
    info.setdefault("started_at", now)
    info_path.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return info


def _listed_logs(out: Path, refs: list[ObjectRef]) -> set[tuple[str, str]]:
    """(bucket, key) of every log the collected digests list."""
    listed: set[tuple[str, str]] = set()
    for ref in refs:
        local = safe_path(out, ref.key)
        if parse_digest_key(ref.key) is None or local is None or not local.is_file():
            continue
        try:
            digest = parse_digest(gunzip_digest(local.read_bytes()))
        except DigestFormatError:
            continue  # the validator reports it; the copy keeps it as found
        listed.update((entry.bucket, entry.key) for entry in digest.logs)
    return listed


def _save_keys(
    folder: Path,
    refs: list[ObjectRef],
    fetch_keys: Callable[[str, datetime, datetime], list[PublicKey]],
    report: CollectReport,
) -> int:
    spans: dict[str, list[datetime]] = {}
    for ref in refs:
        name = parse_digest_key(ref.key)
        if name is not None:
            spans.setdefault(name.chain.region, []).append(name.end)
    keys = {(k.region, k.fingerprint): k for k in (load_saved_keys(folder) if folder.is_dir() else [])}
    for region, ends in sorted(spans.items()):
        try:
            for key in fetch_keys(region, min(ends) - timedelta(hours=1), max(ends) + timedelta(hours=2)):
                keys[(key.region, key.fingerprint)] = key
        except Exception as exc:  # reported: the copy is still useful with --public-key
            report.notes.append(f"ListPublicKeys in {region} failed ({exc}); signatures need --public-key")
            report.failures.append((f"public keys for {region}", str(exc)))
    if keys:
        save_keys(folder, keys.values())
    return len(keys)


def _finish(out: Path, info_path: Path, info: dict[str, Any], journal: _Progress, report: CollectReport) -> None:
    """Write the manifest over objects, sidecars and keys; mark the collection complete if nothing failed."""
    lines = [(entry["sha256"], entry["key"]) for entry in journal.done.values()]
    extras = list(out.rglob(f"*{SIDECAR_SUFFIX}"))
    extras += [p for p in (out / COLLECTION_DIR / "public-keys").rglob("*") if p.is_file()]
    for path in extras:
        lines.append((hashlib.sha256(path.read_bytes()).hexdigest(), path.relative_to(out).as_posix()))
    manifest = "".join(f"{sha}  {name}\n" for sha, name in sorted(lines, key=lambda line: line[1])).encode()
    (out / COLLECTION_DIR / "manifest.sha256").write_bytes(manifest)
    info.update(
        {
            "complete": not report.failures,
            "finished_at": iso(datetime.now(UTC).replace(tzinfo=None)),
            "objects": len(journal.done),
            "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        }
    )
    info_path.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
