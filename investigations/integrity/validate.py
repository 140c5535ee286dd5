"""A validation run: list, load digests, walk chains, judge digests, hash logs, find blind spots.

Each step lives in its own module: listing.py (what the source holds), chain.py (links and the
verdict on each digest), logcheck.py (the verdict on each listed log), blindspots.py (unlisted
logs, truncated chains). This module owns their order, the digest loading and key prefetching
they share, and the summary notes a responder reads first.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from investigations.integrity import result as r
from investigations.integrity.blindspots import blind_spots
from investigations.integrity.chain import OUTSIDE, Loaded, Walk, judge, orphans, walk
from investigations.integrity.digests import MAX_DIGEST_BYTES, DigestFormatError, gunzip_digest, parse_digest
from investigations.integrity.keys import KeyRing
from investigations.integrity.layout import ChainId, logical, parse_digest_key
from investigations.integrity.listing import Listing, list_source
from investigations.integrity.logcheck import check_logs
from investigations.integrity.logs import DEFAULT_MAX_DECOMPRESSED
from investigations.integrity.objects import LocalTree, S3Tree, Scope

Progress = Callable[[str], None]


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
    listing = list_source(source, scope)
    say(f"found {len(listing.digests)} digest files and {len(listing.logs)} log files in {source.name}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(lambda item: _load(source, item), listing.digests))
        _prefetch_keys(ring, listing.digests)
        result = r.ValidationResult(source.name, scope.start, scope.end, signatures_checked=False)
        verdicts = _walk_and_judge(source, ring, scope, listing, result, pool)
        say(f"checked {len(verdicts)} digests; hashing log files")
        listed = check_logs(source, listing, verdicts, scope, result, pool, max_decompressed, workers)
    blind_spots(source, listing, listed, scope, now, result)
    _summarise(listing, ring, result)
    return result


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


def _resolver(source: LocalTree | S3Tree, listing: Listing, scope: Scope) -> Callable[[str | None, str], Any]:
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
    listing: Listing,
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


def _summarise(listing: Listing, ring: KeyRing, result: r.ValidationResult) -> None:
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
