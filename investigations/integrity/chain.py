"""Walking a digest chain newest to oldest, and the verdict on each digest (reference §4.5-4.6).

The walk follows aws-cli's (start at the newest listed digest, follow ``previousDigestS3Object``,
on a dead pointer carry on with the next older listed digest) and adds the checks aws-cli skips:
``previousDigestHashValue`` against the previous digest's bytes, ``previousDigestSignature``
against its stored signature, digests no pointer reaches, and links whose times do not abut.
A digest's signature may come from its own S3 metadata or, in a plain copy that lost the
metadata, from the ``previousDigestSignature`` its successor carries (reference §4.7): that is
how every digest but the newest is still verified from an ``aws s3 sync`` copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from investigations.integrity import result as r
from investigations.integrity.digests import Digest, signature_matches
from investigations.integrity.keys import KeyRing
from investigations.integrity.layout import DigestName, logical
from investigations.integrity.objects import ObjectRef, Provenance
from investigations.timeparse import iso

#: How far apart a digest's start and its predecessor's end may be before the link is questioned.
_ABUT = timedelta(minutes=2)


@dataclass(slots=True, eq=False)
class Loaded:
    """One digest as read: its name, where it was, its parsed content or why it has none."""

    name: DigestName
    ref: ObjectRef
    digest: Digest | None = None
    provenance: Provenance | None = None
    raw_sha256: str | None = None
    error: str | None = None
    carried_signature: str | None = None  # previousDigestSignature of the digest pointing here
    carried_by: str | None = None

    @property
    def signature(self) -> str | None:
        meta = self.provenance.metadata if self.provenance else None
        return meta.get("signature") if meta else None


#: Resolves a previous-digest pointer to a loaded digest; None means not found,
#: OUTSIDE means it lies before the requested range (the walk ends there, quietly).
Resolver = Callable[[str | None, str], "Loaded | str | None"]
OUTSIDE = "outside"


@dataclass(slots=True)
class Walk:
    """What walking the chains found; ``visited`` is shared so a digest reached from any chain
    counts as reached."""

    findings: list[r.Finding] = field(default_factory=list)
    missing: list[r.FileResult] = field(default_factory=list)
    visited: set[int] = field(default_factory=set)


def walk(items: list[Loaded], resolve: Resolver, label: str, out: Walk, backfill: bool = False) -> None:
    """Walk one chain's digests (standard or backfill), newest first, recording findings."""
    order = sorted(items, key=lambda item: (item.name.end, item.ref.key))
    index = {id(item): i for i, item in enumerate(order)}

    def older_than(item: Loaded) -> Loaded | None:
        for candidate in reversed(order[: index.get(id(item), 0)]):
            if id(candidate) not in out.visited:
                return candidate
        return None

    current = order[-1] if order else None
    while current is not None:
        out.visited.add(id(current))
        digest = current.digest
        if digest is None:
            current = older_than(current)
            continue
        if digest.is_start:
            older = older_than(current)
            if older is not None and not backfill:
                out.findings.append(
                    r.Finding(
                        "gap",
                        r.INFO,
                        label,
                        f"starting digest {current.ref.key}: no digests between {iso(older.name.end)} and "
                        f"{iso(digest.start)} (validation or logging was off, or the trail was re-created)",
                        current.ref.key,
                        older.name.end,
                        digest.start,
                    )
                )
            current = older
            continue
        target = resolve(digest.previous_bucket, str(digest.previous_key))
        if target == OUTSIDE:
            current = None
        elif target is None or isinstance(target, str):
            out.missing.append(
                r.FileResult(
                    "digest",
                    str(digest.previous_key),
                    f"s3://{digest.previous_bucket}/{digest.previous_key}",
                    r.MISSING,
                    f"named as previous digest by {current.ref.key}, not found",
                    current.name.chain.account,
                    current.name.chain.region,
                    None,
                    backfill,
                )
            )
            out.findings.append(
                r.Finding(
                    "not-found",
                    r.ERROR,
                    label,
                    f"previous digest {digest.previous_key} (named by {current.ref.key}) not found: "
                    "the chain is broken, a digest was deleted",
                    digest.previous_key,
                    None,
                    digest.start,
                )
            )
            current = older_than(current)
        else:
            _check_link(current, digest, target, label, out)
            if id(target) in out.visited:
                out.findings.append(
                    r.Finding(
                        "loop",
                        r.ERROR,
                        label,
                        f"{current.ref.key} points back to {target.ref.key}, already walked: the chain loops",
                        current.ref.key,
                    )
                )
                current = older_than(current)
            else:
                current = target


def _check_link(current: Loaded, digest: Digest, target: Loaded, label: str, out: Walk) -> None:
    """The checks on one link that aws-cli leaves out."""
    target.carried_signature = digest.previous_signature
    target.carried_by = current.ref.key
    if target.raw_sha256 is not None and digest.previous_hash != target.raw_sha256:
        out.findings.append(
            r.Finding(
                "previous-hash-mismatch",
                r.ERROR,
                label,
                f"{current.ref.key} says the previous digest's SHA-256 is {digest.previous_hash}, but "
                f"{target.ref.key} hashes to {target.raw_sha256}: the previous digest was altered or replaced",
                current.ref.key,
            )
        )
    stored = target.signature
    if stored is not None and (digest.previous_signature or "").lower() != stored.lower():
        out.findings.append(
            r.Finding(
                "previous-signature-mismatch",
                r.ERROR,
                label,
                f"{current.ref.key} carries a previousDigestSignature that differs from the signature stored "
                f"with {target.ref.key}",
                current.ref.key,
            )
        )
    if target.digest is not None and abs(target.digest.end - digest.start) > _ABUT:
        out.findings.append(
            r.Finding(
                "link-time-gap",
                r.WARNING,
                label,
                f"{target.ref.key} ends at {iso(target.digest.end)} but the digest pointing to it starts at "
                f"{iso(digest.start)}",
                current.ref.key,
                target.digest.end,
                digest.start,
            )
        )


def orphans(items: list[Loaded], label: str, out: Walk) -> None:
    """Digests no walk reached: nothing newer points to them, yet they sit in the chain's folder."""
    for item in items:
        if id(item) not in out.visited:
            out.findings.append(
                r.Finding(
                    "orphan",
                    r.WARNING,
                    label,
                    f"{item.ref.key} is not on the chain: no newer digest points "
                    "to it (inserted, or its successors were replaced)",
                    item.ref.key,
                )
            )


def judge(item: Loaded, ring: KeyRing) -> tuple[str, str]:
    """The status of one digest and the reason, after the walk (which supplies carried signatures)."""
    if item.error is not None or item.digest is None:
        return r.INVALID_FORMAT, f"invalid format: {item.error}"
    digest, prov = item.digest, item.provenance
    if prov and prov.bucket and digest.bucket != prov.bucket:
        return r.MOVED, f"has been moved from its original location s3://{digest.bucket}/{digest.key}"
    # Where it was fetched from S3 (exact), and where it lies now (a local copy: the AWSLogs/ part).
    if (prov and prov.bucket and digest.key != prov.key) or logical(digest.key) != logical(item.ref.key):
        return r.MOVED, f"has been moved from its original location {digest.key}"
    meta = prov.metadata if prov else None
    backfill_time = None
    if meta is not None and item.name.backfill:
        stamp = meta.get("backfill-generation-timestamp")
        if not stamp:
            return r.BACKFILL_UNTIMED, "backfill digest without backfill-generation-timestamp metadata"
        backfill_time = _stamp(stamp)
    if meta is not None and "signature" not in meta:
        return r.NO_SIGNATURE, "signature metadata deleted (no x-amz-meta-signature)"
    algorithm = (meta or {}).get("signature-algorithm", digest.signature_algorithm)
    if meta is not None and algorithm is None:
        return r.NO_SIGNATURE, "signature-algorithm metadata missing"
    if algorithm not in (None, "SHA256withRSA"):
        return r.BAD_SIGNATURE, f"unsupported signature algorithm {algorithm!r}"
    signature = item.signature or item.carried_signature
    if signature is None:
        return r.UNVERIFIED, (
            "signature not checked: no signature metadata (a plain copy), and no newer digest carries it"
        )
    if not ring.can_verify:
        return r.UNVERIFIED, "signature not checked: no public key (give --public-key, or collect with keys)"
    region = item.name.chain.region
    key = ring.find_or_fetch(digest.fingerprint, region, backfill_time or digest.end)
    if key is None:
        if region in ring.errors:
            return r.UNVERIFIED, f"signature not checked: {ring.errors[region]}"
        return r.UNKNOWN_KEY, f"public key not found in region {region} for fingerprint {digest.fingerprint}"
    if not signature_matches(digest, signature, key):
        return r.BAD_SIGNATURE, "signature verification failed"
    source = "S3 metadata" if item.signature else f"signature carried by {item.carried_by}"
    return r.VALID, f"signature verified ({source}; key {key.fingerprint})"


def _stamp(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))
