"""The per-log verdicts: each listed log found, hashed and compared; moved and missing told apart.

A listed log absent from its key is looked for elsewhere, by file name and then by content
(unlisted logs in scope are hashed too), so a renamed or relocated file is reported as moved
rather than as one missing file plus one unexplained extra.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from investigations.integrity import result as r
from investigations.integrity.chain import Loaded
from investigations.integrity.digests import ListedLog
from investigations.integrity.layout import basename, logical, parse_log_key
from investigations.integrity.listing import Listing, in_scope
from investigations.integrity.logs import LogHash, hash_log
from investigations.integrity.objects import LocalTree, ObjectRef, S3Tree, Scope


def check_logs(
    source: LocalTree | S3Tree,
    listing: Listing,
    verdicts: dict[str, r.FileResult],
    scope: Scope,
    result: r.ValidationResult,
    pool: ThreadPoolExecutor,
    limit: int,
    workers: int,
) -> set[str]:
    """Hash every listed log (and every unlisted one in scope, to recognise moved files)."""
    listed: dict[str, tuple[ListedLog, Loaded]] = {}
    for item in listing.digests:
        if item.digest is not None:
            for entry in item.digest.logs:
                listed.setdefault(logical(entry.key), (entry, item))
    present: dict[str, ObjectRef] = {}
    for want, (entry, _item) in listed.items():
        hit = listing.logs.get(want)
        ref = hit[1] if hit else _lookup(source, entry.key)
        if ref is not None:
            present[want] = ref
    unlisted = [
        ref
        for want, (name, ref) in listing.logs.items()
        if want not in listed and in_scope(name, scope) and name.folder in ("CloudTrail", None)
    ]
    refs = list(present.values()) + unlisted
    # One task per worker over an interleaved share of the files: per-task overhead would
    # otherwise rival the hashing of small CloudTrail files.
    workers = max(1, min(workers, len(refs)))
    shares = [refs[i::workers] for i in range(workers)]
    hashes: dict[str, LogHash] = {}
    for share, found in zip(
        shares, pool.map(lambda part: [_hash_one(source, ref, limit) for ref in part], shares), strict=True
    ):
        hashes.update(zip((ref.key for ref in share), found, strict=True))
    unlisted_by_hash = {hashes[ref.key].sha256: ref for ref in unlisted if hashes[ref.key].sha256}
    moved_from: set[str] = set()
    for want, (entry, item) in sorted(listed.items(), key=lambda kv: kv[0]):
        key = entry.key
        digest_verdict = verdicts[item.ref.key]
        ref = present.get(want)
        chain = item.name.chain
        row = r.FileResult(
            "log",
            key,
            ref.location if ref else key,
            r.MISSING,
            "not found",
            chain.account,
            chain.region,
            listing.logs[want][0].delivered if want in listing.logs else _delivered(key),
            item.name.backfill,
            item.ref.key,
        )
        if ref is not None:
            row.status, row.detail = _log_verdict(hashes[ref.key], entry, digest_verdict)
        else:
            elsewhere = [c for c in listing.by_name.get(basename(key), []) if c.logical != want]
            moved = elsewhere[0] if elsewhere else unlisted_by_hash.get(entry.hash_value)
            if moved is not None:
                row.status, row.detail, row.location = (
                    r.MOVED,
                    f"not at its key; found at {moved.location}",
                    moved.location,
                )
                moved_from.add(moved.key)
        result.files.append(row)
    return set(listed) | {logical(k) for k in moved_from}


def _lookup(source: LocalTree | S3Tree, key: str) -> ObjectRef | None:
    try:
        return source.lookup(None, key)
    except Exception:  # unreachable is reported as missing, with the listing as the authority
        return None


def _hash_one(source: LocalTree | S3Tree, ref: ObjectRef, limit: int) -> LogHash:
    try:
        with source.open(ref) as stream:
            return hash_log(stream, limit)
    except Exception as exc:  # OSError, botocore errors: unreadable, reported per file
        return LogHash(None, 0, 0, f"cannot read ({exc})")


def _log_verdict(found: LogHash, entry: ListedLog, digest_verdict: r.FileResult) -> tuple[str, str]:
    expected = entry.hash_value
    if entry.hash_algorithm != "SHA-256":
        return r.UNREADABLE, f"hashAlgorithm {entry.hash_algorithm!r} is not SHA-256: cannot be checked"
    if found.error is not None:
        return r.UNREADABLE, f"invalid format: {found.error}"
    if found.appended:
        same = "matches" if found.sha256 == expected else "does not match either"
        return r.APPENDED, (
            f"unexpected data after end of compressed stream ({found.appended} bytes; the first gzip member {same})"
        )
    if found.sha256 != expected:
        return r.TAMPERED, f"hash value doesn't match (digest {expected}, file {found.sha256})"
    if digest_verdict.status == r.VALID:
        return r.VALID, "hash matches a verified digest"
    return r.UNVERIFIED, f"hash matches, but its digest is {digest_verdict.status}"


def _delivered(key: str) -> datetime | None:
    name = parse_log_key(key)
    return name.delivered if name else None
