"""Where the evidence is read from: a local tree or an S3 bucket, behind one small interface.

Validation needs four things from a source: a listing of log and digest objects, each digest's
bytes *with* the signature metadata S3 keeps beside them, a stream of each log, and a way to look
up one key that the listing did not include. A local tree answers the metadata question from the
sidecars ``trailhound collect`` writes; a plain ``aws s3 sync`` copy has none, and says so.
Only read-only S3 calls are made: ListObjectsV2, GetObject, HeadObject.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from investigations.integrity.layout import COLLECTION_DIR, SIDECAR_SUFFIX, day_prefixes
from investigations.integrity.layout import logical as logical_key

_FOLDERS = ("CloudTrail/", "CloudTrail-Digest/")


class SourceError(RuntimeError):
    """The source as a whole cannot be read; the message says why."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which part of the archive to look at; None means no limit."""

    accounts: frozenset[str] | None = None
    regions: frozenset[str] | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One object: ``key`` is its S3 key (for a local tree, its path below the root, '/'-separated)."""

    key: str
    location: str
    size: int | None = None
    etag: str | None = None

    @property
    def logical(self) -> str:
        return logical_key(self.key)


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a digest was found and the S3 metadata stored with it.

    ``metadata`` is None when the source keeps no metadata at all (a plain copy), and a dict,
    possibly without ``signature``, when it does. ``bucket`` is None when unknown.
    """

    bucket: str | None
    key: str
    etag: str | None
    metadata: dict[str, str] | None


class LocalTree:
    """A folder holding CloudTrail objects in their S3 layout (or flat), with optional sidecars."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(f"{root}: not a folder")
        self.root = root
        self.name = str(root)
        self.bucket: str | None = None
        self.has_sidecars = False
        self.collection: dict[str, Any] | None = None
        info = root / COLLECTION_DIR / "collection.json"
        if info.is_file():
            try:
                record = orjson.loads(info.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise SourceError(f"{info}: collection record unreadable ({exc})") from None
            if not isinstance(record, dict):
                raise SourceError(f"{info}: collection record is not a JSON object")
            self.collection = record
            bucket = record.get("bucket")
            self.bucket = bucket if isinstance(bucket, str) else None

    @property
    def keys_folder(self) -> Path:
        return self.root / COLLECTION_DIR / "public-keys"

    def scan(self, scope: Scope) -> Iterator[ObjectRef]:
        """Every ``.json.gz`` below the root; notes whether any digest sidecar exists.

        Plain strings and scandir rather than Path objects: archives hold hundreds of thousands of files.
        """
        root = str(self.root)
        stack = [root]
        seen: set[tuple[int, int]] = set()  # links are followed, each real folder read once
        while stack:
            folder = stack.pop()
            try:
                info = os.stat(folder)
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
                entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
            except OSError as exc:
                raise SourceError(f"cannot read folder {folder}: {exc.strerror or exc}") from None
            for entry in entries:
                name = entry.name
                if entry.is_dir():
                    if name != COLLECTION_DIR and not name.startswith("."):
                        stack.append(entry.path)
                elif name.endswith(SIDECAR_SUFFIX):
                    self.has_sidecars = True
                elif name.endswith(".json.gz"):
                    key = entry.path[len(root) + 1 :].replace(os.sep, "/")
                    try:
                        size: int | None = entry.stat().st_size
                    except OSError:  # a dangling link: reading it later reports why
                        size = None
                    yield ObjectRef(key, entry.path, size)

    def read_digest(self, ref: ObjectRef, limit: int) -> tuple[bytes, Provenance]:
        path = Path(ref.location)
        if (ref.size or 0) > limit:
            raise OSError(f"{ref.size} bytes, too big for a digest")
        data = path.read_bytes()
        sidecar = Path(ref.location + SIDECAR_SUFFIX)
        if not sidecar.is_file():
            return data, Provenance(self.bucket, ref.key, None, {} if self.has_sidecars else None)
        try:
            doc = orjson.loads(sidecar.read_bytes())
            meta = doc["metadata"]
            if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
                raise TypeError("metadata is not an object of strings")
            bucket, key, etag = (doc.get(k) for k in ("bucket", "key", "etag"))
            return data, Provenance(
                bucket if isinstance(bucket, str) else None,
                key if isinstance(key, str) and key else ref.key,
                etag if isinstance(etag, str) else None,
                meta,
            )
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise OSError(f"sidecar {sidecar} unreadable ({exc})") from None

    def open(self, ref: ObjectRef) -> BinaryIO:
        return open(ref.location, "rb")  # the caller closes it

    def lookup(self, bucket: str | None, key: str) -> ObjectRef | None:
        """Local trees are listed in full, so a key the listing lacks is not there."""
        return None


class S3Tree:
    """CloudTrail objects under ``s3://bucket/prefix``, found by walking the layout with delimiters."""

    kind = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.name = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}/"
        self.has_sidecars = True

    def _page(self, prefix: str, delimiter: bool) -> Iterator[dict[str, Any]]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            args["Delimiter"] = "/"
        yield from self.client.get_paginator("list_objects_v2").paginate(**args)

    def _children(self, prefix: str) -> list[str]:
        return [p["Prefix"] for page in self._page(prefix, True) for p in page.get("CommonPrefixes", [])]

    def _objects(self, prefix: str) -> Iterator[ObjectRef]:
        for page in self._page(prefix, False):
            for item in page.get("Contents", []):
                key = item["Key"]
                yield ObjectRef(
                    key, f"s3://{self.bucket}/{key}", item.get("Size"), (item.get("ETag") or "").strip('"') or None
                )

    def _awslogs_roots(self) -> list[str]:
        """``.../AWSLogs/`` folders at most three levels below the prefix (trail prefixes may nest)."""
        level = [f"{self.prefix}/" if self.prefix else ""]
        for _depth in range(4):
            found = [p for p in level if p.endswith("AWSLogs/")]
            if found:
                return found
            level = [child for parent in level for child in self._children(parent)]
        return []

    def scan(self, scope: Scope) -> Iterator[ObjectRef]:
        if "AWSLogs/" in f"{self.prefix}/":
            yield from self._objects(self.prefix)
            return
        for root in self._awslogs_roots():
            accounts = []
            for child in self._children(root):
                name = child[len(root) :].rstrip("/")
                if name.startswith("o-"):
                    accounts.extend(self._children(child))
                else:
                    accounts.append(child)
            for account in accounts:
                if scope.accounts and account.rstrip("/").rsplit("/", 1)[-1] not in scope.accounts:
                    continue
                for folder in _FOLDERS:
                    for region in self._children(account + folder):
                        if scope.regions and region.rstrip("/").rsplit("/", 1)[-1] not in scope.regions:
                            continue
                        yield from self._region_objects(region, scope)

    def _region_objects(self, region: str, scope: Scope) -> Iterator[ObjectRef]:
        if scope.start is None:
            yield from self._objects(region)
            return
        end = scope.end or datetime.now(UTC).replace(tzinfo=None)
        days = day_prefixes(scope.start, end)
        if len(days) > 400:
            yield from self._objects(region)
            return
        for day in days:
            yield from self._objects(region + day)

    def read_digest(self, ref: ObjectRef, limit: int) -> tuple[bytes, Provenance]:
        return self.get(self.bucket, ref.key, limit)

    def get(self, bucket: str, key: str, limit: int) -> tuple[bytes, Provenance]:
        reply = self.client.get_object(Bucket=bucket, Key=key)
        body = reply["Body"]
        try:
            data = body.read(limit + 1)
        finally:
            body.close()
        if len(data) > limit:
            raise OSError(f"more than {limit} bytes, too big for a digest")
        etag = (reply.get("ETag") or "").strip('"') or None
        return data, Provenance(bucket, key, etag, dict(reply.get("Metadata") or {}))

    def open(self, ref: ObjectRef) -> BinaryIO:
        bucket, key = ref.location[5:].split("/", 1)
        body: BinaryIO = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        return body

    def lookup(self, bucket: str | None, key: str) -> ObjectRef | None:
        """HEAD one key the listing did not cover (outside the listed days, or another bucket)."""
        from botocore.exceptions import ClientError

        target = bucket or self.bucket
        try:
            reply = self.client.head_object(Bucket=target, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectRef(
            key, f"s3://{target}/{key}", reply.get("ContentLength"), (reply.get("ETag") or "").strip('"') or None
        )


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of an ``s3://`` URL; raises SourceError for anything else."""
    if not url.startswith("s3://") or len(url) <= 5:
        raise SourceError(f"{url!r} is not an s3://bucket/prefix URL")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise SourceError(f"{url!r} names no bucket")
    return bucket, prefix


def s3_client(profile: str | None, region: str | None = None) -> Any:
    """An S3 client from boto3's standard chain; AWS_ENDPOINT_URL(_S3) are honoured by boto3 itself."""
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    return session.client("s3", region_name=region)


def open_source(spec: str, profile: str | None = None) -> LocalTree | S3Tree:
    """The source a command-line SOURCE names."""
    if spec.startswith("s3://"):
        bucket, prefix = parse_s3_url(spec)
        return S3Tree(s3_client(profile), bucket, prefix)
    return LocalTree(Path(spec))
