"""What a validation run found, as plain data: per-file results, per-chain findings, a summary.

The vocabulary is fixed here because three consumers read it: the CLI summary, the ``--json``
object scripts parse, and the store table the timeline and coverage join on. A status says what
is wrong with one file; a finding says what is wrong *between* files (a broken or truncated chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from investigations.timeparse import iso

# Digest statuses.
VALID = "valid"
UNVERIFIED = "unverified"  # content checks passed; no signature or no key to check it with
MOVED = "moved"  # not at the key the digest (or the pointing digest) names
NO_SIGNATURE = "no-signature"  # signature metadata deleted where signatures are kept
UNKNOWN_KEY = "unknown-key"  # fingerprint matches no public key for the region
BAD_SIGNATURE = "bad-signature"
INVALID_FORMAT = "invalid-format"
BACKFILL_UNTIMED = "backfill-untimed"  # backfill digest without backfill-generation-timestamp
MISSING = "missing"  # named (by a digest) but not present
# Log statuses (VALID, UNVERIFIED, MISSING and MOVED as above).
TAMPERED = "tampered"  # SHA-256 differs from the digest's hashValue
APPENDED = "appended"  # data after the end of the gzip stream
UNREADABLE = "unreadable"  # not gzip, truncated, or too big
EXTRA = "extra"  # delivered inside a digested period but listed by no digest
UNDIGESTED = "undigested"  # delivered outside every digested period: never covered

INVALID_STATUSES = frozenset(
    {
        MOVED,
        NO_SIGNATURE,
        UNKNOWN_KEY,
        BAD_SIGNATURE,
        INVALID_FORMAT,
        BACKFILL_UNTIMED,
        MISSING,
        TAMPERED,
        APPENDED,
        UNREADABLE,
        EXTRA,
    }
)

# Finding severities: ERROR makes the run invalid; WARNING needs a look; INFO explains.
ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass(slots=True)
class FileResult:
    """One digest or log file's verdict. ``key`` is its S3 key as CloudTrail named it."""

    kind: str  # "digest" | "log"
    key: str
    location: str
    status: str
    detail: str = ""
    account: str | None = None
    region: str | None = None
    time: datetime | None = None  # digest end time, or log delivery time
    backfill: bool = False
    digest: str | None = None  # for a log: the digest that lists it

    @property
    def invalid(self) -> bool:
        return self.status in INVALID_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "location": self.location,
            "status": self.status,
            "detail": self.detail,
            "account": self.account,
            "region": self.region,
            "time": iso(self.time),
            "backfill": self.backfill,
            "digest": self.digest,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong or notable about a chain rather than one file."""

    kind: str
    severity: str
    chain: str
    detail: str
    key: str | None = None
    start: datetime | None = None  # for gaps and truncations: the uncovered window
    end: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "chain": self.chain,
            "detail": self.detail,
            "key": self.key,
            "start": iso(self.start),
            "end": iso(self.end),
        }


@dataclass(slots=True)
class ChainSummary:
    """One chain's extent: the digests read, and the period they cover."""

    chain: str
    ident: dict[str, str | None]
    digests: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            **self.ident,
            "digests": self.digests,
            "first": iso(self.first),
            "last": iso(self.last),
        }


@dataclass(slots=True)
class ValidationResult:
    """Everything one run found. ``notes`` are plain sentences for the responder."""

    source: str
    start: datetime | None
    end: datetime | None
    signatures_checked: bool
    files: list[FileResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    chains: list[ChainSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.invalid for f in self.files) and not any(f.severity == ERROR for f in self.findings)

    def counts(self, kind: str, backfill: bool | None = None) -> dict[str, int]:
        """Per-status counts for digests or logs (optionally only backfill / standard digests)."""
        out: dict[str, int] = {}
        for item in self.files:
            if item.kind == kind and (backfill is None or item.backfill == backfill):
                out[item.status] = out.get(item.status, 0) + 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "requested": {"start": iso(self.start), "end": iso(self.end)},
            "valid": self.ok,
            "signatures_checked": self.signatures_checked,
            "notes": self.notes,
            "summary": {
                "digests": self.counts("digest", False),
                "backfill_digests": self.counts("digest", True),
                "logs": self.counts("log"),
            },
            "chains": [c.as_dict() for c in self.chains],
            "findings": [f.as_dict() for f in self.findings],
            "files": [f.as_dict() for f in self.files],
        }
