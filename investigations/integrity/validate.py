"""A validation run: list, load digests, walk chains, judge digests, hash logs, find blind spots.

The per-step logic lives in chain.py (links, verdicts) and logs.py (hashing); this module owns the
order and the cross-file questions only a whole listing can answer: which logs no digest lists,
which listed logs moved, and whether the newest digests of a chain are gone while logs continue.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from investigations.integrity import result as r
from investigations.integrity.chain import OUTSIDE, Loaded, Walk, judge, orphans, walk
from investigations.integrity.digests import MAX_DIGEST_BYTES, DigestFormatError, gunzip_digest, parse_digest
from investigations.integrity.keys import KeyRing
from investigations.integrity.layout import (
    ChainId,
    LogName,
    basename,
    logical,
    parse_digest_key,
    parse_log_key,
)
from investigations.integrity.logs import DEFAULT_MAX_DECOMPRESSED, LogHash, hash_log
from investigations.integrity.objects import LocalTree, ObjectRef, S3Tree, Scope
from investigations.timeparse import iso

#: A digest arrives about hourly; past this, a missing one is overdue rather than pending.
_OVERDUE = timedelta(minutes=75)

Progress = Callable[[str], None]


@dataclass(slots=True)
class _Listing:
    digests: list[Loaded]
    logs: dict[str, tuple[LogName, ObjectRef]]  # by logical key
    by_name: dict[str, list[ObjectRef]]  # log refs by file name


def validate(
    source: LocalTree | S3Tree,
    ring: KeyRing,
    scope: Scope | None = None,
    *,
    workers: int = 4,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> r.ValidationResult:
    """Validate every digest chain and log file ``source`` holds within ``scope``."""
    say = progress or (lambda _msg: None)
    scope = scope or Scope()
    listing = _list(source, scope)
    say(f"found {len(listing.digests)} digest files and {len(listing.logs)} log files in {source.name}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda item: _load(source, item), listing.digests))
        _prefetch_keys(ring, listing.digests)
        result = r.ValidationResult(source.name, scope.start, scope.end, signatures_checked=False)
        verdicts = _walk_and_judge(source, ring, scope, listing, result, pool)
        say(f"checked {len(verdicts)} digests; hashing log files")
        listed = _check_logs(source, listing, verdicts, scope, result, pool, max_decompressed, workers)
    _blind_spots(source, listing, listed, scope, now, result)
    _summarise(listing, ring, result)
    return result


def _list(source: LocalTree | S3Tree, scope: Scope) -> _Listing:
    digests: list[Loaded] = []
    logs: dict[str, tuple[LogName, ObjectRef]] = {}
    by_name: dict[str, list[ObjectRef]] = defaultdict(list)
    late = scope.end + timedelta(hours=1) if scope.end else None
    for ref in source.scan(scope):
        name = parse_digest_key(ref.key)
        if name is not None:
            chain = name.chain
            if (scope.accounts and chain.account not in scope.accounts) or (
                scope.regions and chain.region not in scope.regions
            ):
                continue
            if (scope.start and name.end < scope.start) or (late and name.end > late):
                continue
            digests.append(Loaded(name, ref))
            continue
        log = parse_log_key(ref.key)
        if log is not None:
            logs[ref.logical] = (log, ref)
            by_name[basename(ref.key)].append(ref)
    return _Listing(digests, logs, by_name)


def _load(source: LocalTree | S3Tree, item: Loaded) -> None:
    """Read and parse one digest; any failure becomes the item's error, never an exception."""
    try:
        data, item.provenance = source.read_digest(item.ref, MAX_DIGEST_BYTES)
        raw = gunzip_digest(data)
        item.raw_sha256 = hashlib.sha256(raw).hexdigest()
        item.digest = parse_digest(raw)
    except DigestFormatError as exc:
        item.error = str(exc)
    except Exception as exc:  # OSError, botocore errors: the file is unreadable, the run goes on
        item.error = f"unreadable ({exc})"


def _prefetch_keys(ring: KeyRing, digests: list[Loaded]) -> None:
    """One ListPublicKeys call per region over the digests' span (plus aws-cli's 2 h margin)."""
    spans: dict[str, list[datetime]] = defaultdict(list)
    for item in digests:
        if item.digest is not None:
            spans[item.name.chain.region].append(item.digest.end)
    for region, ends in sorted(spans.items()):
        ring.prefetch(region, min(ends) - timedelta(hours=1), max(ends) + timedelta(hours=2))


def _resolver(source: LocalTree | S3Tree, listing: _Listing, scope: Scope) -> Callable[[str | None, str], Any]:
    by_key = {item.ref.logical: item for item in listing.digests}
    by_claim = {logical(item.digest.key): item for item in listing.digests if item.digest is not None}
    boundary = scope.start or _collection_start(source)

    def resolve(bucket: str | None, key: str) -> Loaded | str | None:
        want = logical(key)
        found = by_key.get(want) or by_claim.get(want)
        if found is not None:
            return found
        name = parse_digest_key(key)
        if boundary and name is not None and name.end < boundary:
            return OUTSIDE
        try:
            ref = source.lookup(bucket, key)
        except Exception:  # an unreachable bucket is reported like a missing digest
            ref = None
        if ref is None or name is None:
            return None
        extra = Loaded(name, ref)
        _load(source, extra)
        listing.digests.append(extra)
        by_key[want] = extra
        return extra

    return resolve


def _collection_start(source: LocalTree | S3Tree) -> datetime | None:
    """The start of the window a collection copied: its chains' older links were never fetched."""
    info = source.collection if isinstance(source, LocalTree) else None
    window = (info or {}).get("scope")
    start = window.get("start") if isinstance(window, dict) else None
    try:
        return datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ") if isinstance(start, str) else None
    except ValueError:
        return None


def _walk_and_judge(
    source: LocalTree | S3Tree,
    ring: KeyRing,
    scope: Scope,
    listing: _Listing,
    result: r.ValidationResult,
    pool: ThreadPoolExecutor,
) -> dict[str, r.FileResult]:
    groups: dict[tuple[ChainId, bool], list[Loaded]] = defaultdict(list)
    for item in listing.digests:
        groups[(item.name.chain, item.name.backfill)].append(item)
    out = Walk()
    resolve = _resolver(source, listing, scope)
    for (chain, backfill), items in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        walk(items, resolve, chain.label(), out, backfill)
    for (chain, _backfill), items in groups.items():
        orphans(items, chain.label(), out)
    result.findings.extend(out.findings)
    verdicts: dict[str, r.FileResult] = {}
    for item, (status, detail) in zip(
        listing.digests, pool.map(lambda i: judge(i, ring), listing.digests), strict=True
    ):
        chain = item.name.chain
        verdicts[item.ref.key] = r.FileResult(
            "digest",
            item.ref.key,
            item.ref.location,
            status,
            detail,
            chain.account,
            chain.region,
            item.name.end,
            item.name.backfill,
        )
    result.files.extend(sorted(verdicts.values(), key=lambda f: (f.account or "", f.region or "", f.key)))
    result.files.extend(out.missing)
    return verdicts


def _check_logs(
    source: LocalTree | S3Tree,
    listing: _Listing,
    verdicts: dict[str, r.FileResult],
    scope: Scope,
    result: r.ValidationResult,
    pool: ThreadPoolExecutor,
    limit: int,
    workers: int,
) -> set[str]:
    """Hash every listed log (and every unlisted one in scope, to recognise moved files)."""
    listed: dict[str, tuple[str, str, Loaded]] = {}
    for item in listing.digests:
        if item.digest is not None:
            for entry in item.digest.logs:
                listed.setdefault(logical(entry.key), (entry.key, entry.hash_value, item))
    present: dict[str, ObjectRef] = {}
    for want, (key, _expected, _item) in listed.items():
        hit = listing.logs.get(want)
        ref = hit[1] if hit else _lookup(source, key)
        if ref is not None:
            present[want] = ref
    unlisted = [
        ref
        for want, (name, ref) in listing.logs.items()
        if want not in listed and _in_scope(name, scope) and name.folder in ("CloudTrail", None)
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
    for want, (key, expected, item) in sorted(listed.items()):
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
            row.status, row.detail = _log_verdict(hashes[ref.key], expected, item, digest_verdict)
        else:
            elsewhere = [c for c in listing.by_name.get(basename(key), []) if c.logical != want]
            moved = elsewhere[0] if elsewhere else unlisted_by_hash.get(expected)
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


def _log_verdict(found: LogHash, expected: str, item: Loaded, digest_verdict: r.FileResult) -> tuple[str, str]:
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


def _in_scope(name: LogName, scope: Scope) -> bool:
    return not (
        (scope.accounts and name.account not in scope.accounts)
        or (scope.regions and name.region not in scope.regions)
        or (scope.start and name.delivered < scope.start)
        or (scope.end and name.delivered > scope.end)
    )


def _windows(digests: Iterable[Loaded]) -> dict[tuple[Any, ...], list[tuple[datetime, datetime]]]:
    out: dict[tuple[Any, ...], list[tuple[datetime, datetime]]] = defaultdict(list)
    for item in digests:
        if item.digest is not None:
            out[item.name.chain.folder].append((item.digest.start, item.digest.end))
    return out


def _blind_spots(
    source: LocalTree | S3Tree,
    listing: _Listing,
    listed: set[str],
    scope: Scope,
    now: datetime | None,
    result: r.ValidationResult,
) -> None:
    """Unlisted logs (extra or undigested) and chains whose newest digests are gone."""
    windows = _windows(listing.digests)
    newest_log: dict[tuple[Any, ...], datetime] = {}
    for want, (name, ref) in sorted(listing.logs.items()):
        if name.folder not in ("CloudTrail", None) or not _in_scope(name, scope):
            continue
        newest_log[name.folder_id] = max(newest_log.get(name.folder_id, name.delivered), name.delivered)
        if want in listed:
            continue
        covered = any(
            start <= name.delivered and name.delivered + timedelta(minutes=1) <= end
            for start, end in windows.get(name.folder_id, [])
        )
        status, detail = (
            (r.EXTRA, "delivered inside a digested period but listed by no digest")
            if covered
            else (r.UNDIGESTED, "delivered outside every digest's period: never covered by a digest")
        )
        result.files.append(
            r.FileResult("log", ref.key, ref.location, status, detail, name.account, name.region, name.delivered)
        )
    observed = _observation_time(source, scope, now, newest_log)
    chains: dict[ChainId, datetime] = {}
    for item in listing.digests:
        if not item.name.backfill:
            chain = item.name.chain
            chains[chain] = max(chains.get(chain, item.name.end), item.name.end)
    for chain, last in sorted(chains.items(), key=lambda kv: str(kv[0])):
        _newest_check(chain, last, newest_log.get(chain.folder), observed, chains, result)


def _observation_time(
    source: LocalTree | S3Tree, scope: Scope, now: datetime | None, newest_log: dict[tuple[Any, ...], datetime]
) -> datetime | None:
    """When the archive was looked at: the range end, the collection time, or now for S3."""
    if scope.end is not None:
        return scope.end
    if isinstance(source, LocalTree):
        # A collection was looked at when it was listed, or at the end of the window it copied.
        info = source.collection or {}
        scoped = info.get("scope", {}).get("end") if isinstance(info.get("scope"), dict) else None
        stamp = scoped or info.get("listed_at")
        if isinstance(stamp, str):
            try:
                return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
            except ValueError:
                return None
        return max(newest_log.values(), default=None)
    return now or datetime.now(UTC).replace(tzinfo=None)


def _newest_check(
    chain: ChainId,
    last: datetime,
    newest: datetime | None,
    observed: datetime | None,
    chains: dict[ChainId, datetime],
    result: r.ValidationResult,
) -> None:
    siblings = [end for other, end in chains.items() if other != chain and other.folder == chain.folder]
    sibling_continues = any(end > last + _OVERDUE for end in siblings)
    label = chain.label()
    if newest is not None and newest > last:
        if observed is not None and observed - last > _OVERDUE:
            severity = r.WARNING if sibling_continues else r.ERROR
            result.findings.append(
                r.Finding(
                    "newest-digest-missing",
                    severity,
                    label,
                    f"the newest digest ends at {iso(last)} but logs were delivered until {iso(newest)}: "
                    f"digests after {iso(last)} are missing (deleted, or the trail stopped digesting)",
                    None,
                    last,
                    newest,
                )
            )
        else:
            result.findings.append(
                r.Finding(
                    "pending",
                    r.INFO,
                    label,
                    f"logs delivered after the newest digest ({iso(last)}) are not "
                    "covered yet: digests arrive about hourly",
                    None,
                    last,
                    newest,
                )
            )
    elif observed is not None and observed - last > _OVERDUE:
        result.findings.append(
            r.Finding(
                "chain-ends",
                r.INFO if sibling_continues else r.WARNING,
                label,
                f"the chain ends at {iso(last)}, {(observed - last) / timedelta(hours=1):.1f} h before "
                f"{iso(observed)}: logging or validation stopped, or the newest digests were deleted",
                None,
                last,
                observed,
            )
        )


def _summarise(listing: _Listing, ring: KeyRing, result: r.ValidationResult) -> None:
    by_chain: dict[ChainId, r.ChainSummary] = {}
    for item in listing.digests:
        chain = item.name.chain
        summary = by_chain.setdefault(chain, r.ChainSummary(chain.label(), chain.as_dict()))
        summary.digests += 1
        start = item.digest.start if item.digest else item.name.end
        summary.first = min(summary.first or start, start)
        summary.last = max(summary.last or item.name.end, item.name.end)
        if item.name.backfill:
            result.findings.append(
                r.Finding("backfill", r.INFO, chain.label(), f"backfill digest {item.ref.key}", item.ref.key)
            )
    result.chains = [by_chain[c] for c in sorted(by_chain, key=str)]
    statuses = [f.status for f in result.files if f.kind == "digest"]
    result.signatures_checked = any(s in (r.VALID, r.BAD_SIGNATURE, r.UNKNOWN_KEY) for s in statuses)
    plain = bool(listing.digests) and all(
        item.provenance is None or item.provenance.metadata is None for item in listing.digests
    )
    if plain:
        carried = (
            "Digests other than the newest of each chain were verified with the signature their successor carries."
            if ring.can_verify
            else "With --public-key FILE, all but the newest digest of each chain can be verified from "
            "the signatures the chain carries."
        )
        result.notes.append(
            "signatures not checked: no signature metadata (a plain copy). Use `trailhound "
            f"collect` or validate against s3://. {carried}"
        )
    elif listing.digests and not ring.can_verify:
        result.notes.append(
            "signatures not checked: no public key. Give --public-key FILE, validate against "
            "s3://, or `trailhound collect` (which saves the keys)."
        )
    for region, error in sorted(ring.errors.items()):
        result.notes.append(f"{error}: signatures in {region} not checked")
