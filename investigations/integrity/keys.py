"""CloudTrail's public signing keys: from files, from ListPublicKeys, and saved with a collection.

A digest names its key by fingerprint, the lower-case MD5 of the DER bytes *as AWS returns
them* (reference §4.3). AWS has returned both PKCS#1 and SubjectPublicKeyInfo DER, and a key a
responder saved may be either, PEM or DER; so every key is fingerprinted in both encodings and
matches a digest that names either. Keys are per region: a key from ListPublicKeys only answers
for the region it was fetched in, while a key given on the command line answers for any region.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
    load_pem_public_key,
)

from investigations.timeparse import iso


class KeyFileError(ValueError):
    """A key file cannot be used; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One RSA public key and where it may be used."""

    key: RSAPublicKey
    der: bytes
    fingerprints: frozenset[str]
    origin: str
    region: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @property
    def fingerprint(self) -> str:
        return hashlib.md5(self.der).hexdigest()


def from_der(
    der: bytes,
    origin: str,
    region: str | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    fingerprint: str | None = None,
) -> PublicKey:
    """A key from DER bytes (PKCS#1 or SubjectPublicKeyInfo); raises KeyFileError."""
    try:
        key = load_der_public_key(der)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{origin}: not a DER public key ({exc})") from None
    return _wrap(key, der, origin, region, valid_from, valid_to, fingerprint)


def _wrap(
    key: object,
    der: bytes,
    origin: str,
    region: str | None,
    valid_from: datetime | None,
    valid_to: datetime | None,
    fingerprint: str | None,
) -> PublicKey:
    if not isinstance(key, RSAPublicKey):
        raise KeyFileError(f"{origin}: not an RSA key (CloudTrail signs with SHA256withRSA)")
    encodings = {
        der,
        key.public_bytes(Encoding.DER, PublicFormat.PKCS1),
        key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
    }
    prints = {hashlib.md5(blob).hexdigest() for blob in encodings}
    if fingerprint:
        prints.add(fingerprint.lower())
    return PublicKey(key, der, frozenset(prints), origin, region, valid_from, valid_to)


def load_key_file(path: Path) -> list[PublicKey]:
    """Keys in one file: PEM, DER, base64 DER, or the JSON `aws cloudtrail list-public-keys` prints."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    origin = str(path)
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = load_pem_public_key(text)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path}: not a PEM public key ({exc})") from None
        if not isinstance(key, RSAPublicKey):
            raise KeyFileError(f"{path}: not an RSA key (CloudTrail signs with SHA256withRSA)")
        der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return [_wrap(key, der, origin, None, None, None, None)]
    if text.startswith(b"{"):
        return _from_cli_json(text, origin)
    if data[:1] == b"\x30":
        return [from_der(data, origin)]
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{path}: not a PEM, DER or base64 public key") from None
    return [from_der(der, origin)]


def _from_cli_json(text: bytes, origin: str) -> list[PublicKey]:
    """Keys from saved `aws cloudtrail list-public-keys` output, where Value is base64 text."""
    try:
        doc = orjson.loads(text)
        entries = [
            (
                base64.b64decode(e["Value"], validate=True),
                _time(e.get("ValidityStartTime")),
                _time(e.get("ValidityEndTime")),
                e.get("Fingerprint"),
            )
            for e in doc["PublicKeyList"]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error, ValueError) as exc:
        raise KeyFileError(f"{origin}: not list-public-keys JSON ({exc!r})") from None
    return [from_der(der, f"{origin} [{i}]", None, start, end, fp) for i, (der, start, end, fp) in enumerate(entries)]


def _time(value: Any) -> datetime | None:
    """A validity time from boto3 (aware datetime), CLI JSON (ISO text) or our saved index."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def list_public_keys(client: Any, start: datetime, end: datetime) -> list[PublicKey]:
    """ListPublicKeys in the client's region over [start, end]; boto3 hands ``Value`` over as DER.

    Paginated although AWS reserves NextToken today, so a future change cannot silently drop keys.
    """
    region = client.meta.region_name
    out: list[PublicKey] = []
    for page in client.get_paginator("list_public_keys").paginate(StartTime=start, EndTime=end):
        for entry in page.get("PublicKeyList", []):
            out.append(
                from_der(
                    entry["Value"],
                    f"ListPublicKeys {region}",
                    region,
                    _time(entry.get("ValidityStartTime")),
                    _time(entry.get("ValidityEndTime")),
                    entry.get("Fingerprint"),
                )
            )
    return out


class KeyRing:
    """Keys by fingerprint; lazily asks ListPublicKeys per region when a fetcher is given."""

    def __init__(
        self, keys: Iterable[PublicKey] = (), fetch: Callable[[str, datetime, datetime], list[PublicKey]] | None = None
    ) -> None:
        self._keys: list[PublicKey] = []
        self._fetch = fetch
        self._fetched: set[tuple[str, datetime, datetime]] = set()
        self._lock = threading.Lock()
        self.errors: dict[str, str] = {}
        for key in keys:
            self.add(key)

    def add(self, key: PublicKey) -> None:
        self._keys.append(key)

    @property
    def can_verify(self) -> bool:
        """Whether any key source exists; without one, signatures are 'not checked', not 'invalid'."""
        return bool(self._keys) or self._fetch is not None

    def prefetch(self, region: str, start: datetime, end: datetime) -> None:
        """Fetch one region's keys for a window (once); a failure is remembered, not raised."""
        window = (region, start, end)
        with self._lock:
            if self._fetch is None or window in self._fetched:
                return
            self._fetched.add(window)
            try:
                for key in self._fetch(region, start, end):
                    self.add(key)
            except Exception as exc:  # boto3 raises many types; each becomes a reported reason
                self.errors[region] = f"ListPublicKeys in {region} failed: {exc}"

    def find(self, fingerprint: str, region: str) -> PublicKey | None:
        """The key with this fingerprint usable in ``region`` (region-bound keys first)."""
        wanted = fingerprint.lower()
        loose = None
        for key in self._keys:
            if wanted in key.fingerprints:
                if key.region == region:
                    return key
                if key.region is None:
                    loose = loose or key
        return loose

    def find_or_fetch(self, fingerprint: str, region: str, around: datetime) -> PublicKey | None:
        """find(); on a miss, one more ListPublicKeys call around ``around`` (the digest's end, or
        a backfill digest's generation time, as aws-cli does)."""
        found = self.find(fingerprint, region)
        if found is None:
            self.prefetch(region, around - timedelta(hours=1), around + timedelta(hours=2))
            found = self.find(fingerprint, region)
        return found


def fetcher(profile: str | None) -> Callable[[str, datetime, datetime], list[PublicKey]]:
    """A ListPublicKeys caller for any region, with boto3's standard credential chain.

    AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDTRAIL are honoured by boto3 itself.
    """
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def fetch(region: str, start: datetime, end: datetime) -> list[PublicKey]:
        with lock:
            client = clients.get(region) or clients.setdefault(region, session.client("cloudtrail", region_name=region))
        return list_public_keys(client, start, end)

    return fetch


def save_keys(folder: Path, keys: Iterable[PublicKey]) -> None:
    """Write region-bound keys as ``<region>/<fingerprint>.der`` plus an index with validity."""
    index: list[dict[str, Any]] = []
    for key in keys:
        region = key.region or "any"
        target = folder / region / f"{key.fingerprint}.der"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(key.der)
        index.append(
            {
                "file": f"{region}/{target.name}",
                "region": key.region,
                "fingerprint": key.fingerprint,
                "valid_from": iso(key.valid_from),
                "valid_to": iso(key.valid_to),
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "public-keys.json").write_bytes(orjson.dumps(index, option=orjson.OPT_INDENT_2))


def load_saved_keys(folder: Path) -> list[PublicKey]:
    """Keys a collection saved (see save_keys); raises KeyFileError naming a broken entry."""
    index_path = folder / "public-keys.json"
    try:
        index = orjson.loads(index_path.read_bytes())
        entries = [
            (folder / e["file"], e.get("region"), _time(e.get("valid_from")), _time(e.get("valid_to"))) for e in index
        ]
        blobs = [(path.read_bytes(), str(path), *rest) for path, *rest in entries]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(f"{index_path}: saved public keys unreadable ({exc!r})") from None
    return [from_der(der, origin, region, start, end) for der, origin, region, start, end in blobs]
