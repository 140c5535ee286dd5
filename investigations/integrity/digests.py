"""One digest file: parsing its JSON strictly and checking its SHA256withRSA signature (reference §4.1-4.2).

The signature covers the digest's *decompressed bytes as stored* (through their SHA-256), so the
raw bytes are kept and hashed; the JSON is never re-serialised. Every field a check relies on is
type-checked here, so hostile digests fail with a reason instead of crashing a later step.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from investigations.integrity.keys import PublicKey

#: Digests list file names and hashes only; anything bigger than this is not a digest.
MAX_DIGEST_BYTES = 64 * 1024**2

_REQUIRED = (
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "previousDigestSignature",
)


class DigestFormatError(ValueError):
    """The object is not a well-formed digest; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ListedLog:
    """One ``logFiles[]`` entry: the log CloudTrail delivered and the SHA-256 of its content."""

    bucket: str
    key: str
    hash_value: str
    hash_algorithm: str


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed digest. ``sha256`` is the hex SHA-256 of the decompressed bytes (what the next
    digest's ``previousDigestHashValue`` must equal)."""

    sha256: str
    account: str | None
    start: datetime
    end: datetime
    end_text: str
    bucket: str
    key: str
    fingerprint: str
    signature_algorithm: str | None
    previous_bucket: str | None
    previous_key: str | None
    previous_hash: str | None
    previous_hash_algorithm: str | None
    previous_signature: str | None
    logs: tuple[ListedLog, ...]

    @property
    def is_start(self) -> bool:
        """A starting digest: the first after enabling validation or (re)starting logging."""
        return self.previous_bucket is None or self.previous_key is None


def gunzip_digest(data: bytes) -> bytes:
    """Decompress one gzip member, refusing oversize output and anything after the member."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(data, MAX_DIGEST_BYTES + 1)
    except zlib.error as exc:
        raise DigestFormatError(f"not gzip ({exc})") from None
    if len(raw) > MAX_DIGEST_BYTES or inflater.unconsumed_tail:
        raise DigestFormatError(f"decompresses to more than {MAX_DIGEST_BYTES // 2**20} MiB")
    if not inflater.eof:
        raise DigestFormatError("truncated gzip stream")
    if inflater.unused_data:
        raise DigestFormatError(f"{len(inflater.unused_data)} bytes of data after the gzip stream")
    return raw


def _text(doc: dict[str, Any], name: str, nullable: bool = True) -> str | None:
    value = doc.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise DigestFormatError(f"{name} is {type(value).__name__}, not a string")
    return value


def _time(text: str, name: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise DigestFormatError(f"{name} {text[:40]!r} is not YYYY-MM-DDTHH:MM:SSZ") from None


def parse_digest(raw: bytes) -> Digest:
    """A digest from its decompressed bytes; raises DigestFormatError."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DigestFormatError(f"not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise DigestFormatError("not a JSON object")
    missing = [name for name in _REQUIRED if name not in doc]
    if missing:
        raise DigestFormatError(f"missing field(s) {', '.join(missing)}")
    for name in ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint"):
        _text(doc, name, nullable=False)
    entries = doc.get("logFiles", [])
    if not isinstance(entries, list):
        raise DigestFormatError("logFiles is not a list")
    logs = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise DigestFormatError(f"logFiles[{number}] is not an object")
        try:
            logs.append(
                ListedLog(
                    str(_text(entry, "s3Bucket", False)),
                    str(_text(entry, "s3Object", False)),
                    str(_text(entry, "hashValue", False)).lower(),
                    _text(entry, "hashAlgorithm") or "SHA-256",
                )
            )
        except DigestFormatError as exc:
            raise DigestFormatError(f"logFiles[{number}]: {exc}") from None
    return Digest(
        sha256=hashlib.sha256(raw).hexdigest(),
        account=_text(doc, "awsAccountId"),
        start=_time(doc["digestStartTime"], "digestStartTime"),
        end=_time(doc["digestEndTime"], "digestEndTime"),
        end_text=doc["digestEndTime"],
        bucket=doc["digestS3Bucket"],
        key=doc["digestS3Object"],
        fingerprint=doc["digestPublicKeyFingerprint"].lower(),
        signature_algorithm=_text(doc, "digestSignatureAlgorithm"),
        previous_bucket=_text(doc, "previousDigestS3Bucket"),
        previous_key=_text(doc, "previousDigestS3Object"),
        previous_hash=(_text(doc, "previousDigestHashValue") or "").lower() or None,
        previous_hash_algorithm=_text(doc, "previousDigestHashAlgorithm"),
        previous_signature=_text(doc, "previousDigestSignature"),
        logs=tuple(logs),
    )


def string_to_sign(digest: Digest) -> bytes:
    """The four LF-joined lines CloudTrail signs; ``null`` stands for a missing previous signature."""
    return (
        f"{digest.end_text}\n{digest.bucket}/{digest.key}\n{digest.sha256}\n"
        f"{digest.previous_signature if digest.previous_signature is not None else 'null'}"
    ).encode()


def signature_matches(digest: Digest, signature_hex: str, key: PublicKey) -> bool:
    """Whether ``signature_hex`` is ``key``'s RSASSA-PKCS1-v1_5/SHA-256 signature of the digest."""
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    try:
        key.key.verify(signature, string_to_sign(digest), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
