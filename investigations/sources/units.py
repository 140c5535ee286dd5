"""Units of evidence: what a source hands the ingest pipeline, one per file, object or page.

A unit knows how to load and decode itself, so the pipeline stays ignorant of where bytes come
from. Units are small and picklable: a local file unit carries only its path and is read inside
the worker process that decodes it; an S3 object arrives already fetched (fetching is I/O-bound
and runs in threads); a LookupEvents page carries its records.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field

from investigations.decode import Decoded, Rejection, parse_bytes, parse_records


@dataclass(slots=True)
class UnitResult:
    """A decoded unit plus what the case records about its origin."""

    decoded: Decoded
    size: int | None = None
    sha256: str | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file on disk, or one member of a zip archive on disk (``member``)."""

    path: str
    member: str | None = None
    size: int = 0
    explicit: bool = False

    @property
    def display(self) -> str:
        return f"{self.path}!{self.member}" if self.member else self.path

    def load(self, limit: int) -> bytes:
        if self.member is None:
            with open(self.path, "rb") as handle:
                return handle.read()
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"zip member inflates past {limit / 2**20:.0f} MiB (raise --max-decompressed)")
        return data

    def parse(self, limit: int) -> UnitResult:
        try:
            data = self.load(limit)
        except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            decoded = Decoded(self.display, "rejected", rejections=[Rejection(self.display, f"unreadable: {reason}")])
            return UnitResult(decoded)
        if data[:4] == b"PK\x03\x04":
            reason = "a zip inside a zip is not opened; extract the inner archive first"
            return UnitResult(
                Decoded(self.display, "rejected", rejections=[Rejection(self.display, reason)]), len(data)
            )
        decoded = parse_bytes(data, self.display, limit)
        if decoded.kind == "other" and not self.explicit:
            decoded.kind = "skipped"  # found by a folder walk: listed as skipped, not as bad evidence
        return UnitResult(decoded, len(data), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True, slots=True)
class FetchedObject:
    """An object whose bytes were fetched already (S3), with the identity S3 gave it."""

    display: str
    data: bytes
    etag: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def parse(self, limit: int) -> UnitResult:
        decoded = parse_bytes(self.data, self.display, limit)
        return UnitResult(decoded, len(self.data), hashlib.sha256(self.data).hexdigest(), self.etag)


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Records that arrive already split, e.g. one LookupEvents page."""

    display: str
    records: list[bytes] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.records)

    def parse(self, limit: int) -> UnitResult:
        return UnitResult(parse_records(self.records, self.display), self.size)


@dataclass(frozen=True, slots=True)
class Refused:
    """Something a source could not turn into bytes (AccessDenied, KMS, a dead link)."""

    display: str
    reason: str
    size: int = 0

    def parse(self, limit: int) -> UnitResult:
        return UnitResult(Decoded(self.display, "rejected", rejections=[Rejection(self.display, self.reason)]))


Unit = LocalFile | FetchedObject | RecordBatch | Refused
