"""Blind spots only the whole listing reveals: logs no digest lists, and chains cut short.

A log delivered inside a digested period but listed by no digest was added (``extra``); one
outside every period was never covered (``undigested``). A chain whose newest digest is older
than logs still arriving, by more than the hour a digest takes, lost its newest digests; that is
the deletion aws-cli cannot see, because it starts its walk at the newest surviving digest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from investigations.integrity import result as r
from investigations.integrity.chain import Loaded
from investigations.integrity.layout import ChainId
from investigations.integrity.listing import Listing, in_scope
from investigations.integrity.objects import LocalTree, S3Tree, Scope
from investigations.timeparse import iso

#: A digest arrives about hourly; past this, a missing one is overdue rather than pending.
_OVERDUE = timedelta(minutes=75)


def _windows(digests: Iterable[Loaded]) -> dict[tuple[Any, ...], list[tuple[datetime, datetime]]]:
    out: dict[tuple[Any, ...], list[tuple[datetime, datetime]]] = defaultdict(list)
    for item in digests:
        if item.digest is not None:
            out[item.name.chain.folder].append((item.digest.start, item.digest.end))
    return out


def blind_spots(
    source: LocalTree | S3Tree,
    listing: Listing,
    listed: set[str],
    scope: Scope,
    now: datetime | None,
    result: r.ValidationResult,
) -> None:
    """Unlisted logs (extra or undigested) and chains whose newest digests are gone."""
    windows = _windows(listing.digests)
    newest_log: dict[tuple[Any, ...], datetime] = {}
    for want, (name, ref) in sorted(listing.logs.items()):
        if name.folder not in ("CloudTrail", None) or not in_scope(name, scope):
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
