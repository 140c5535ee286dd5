"""S3 evidence: ``s3://bucket/prefix`` listed folder by folder, fetched by a pool of threads.

Credentials come from boto3's standard chain (or ``--profile``), and the endpoint from boto3's own
configuration, so ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` point it at MinIO, LocalStack or
a test server with no code here. Only ``ListObjectsV2`` and ``GetObject`` are called.

The listing is done first (its totals drive progress bars) and narrowed by folder names (see
``s3layout``). Fetching is I/O-bound, so it runs in threads while the ingest pipeline decodes;
at most two objects per thread are held in memory, however many the listing found. An object
that cannot be fetched becomes a ``Refused`` unit carrying its key and the reason (which
permission, which KMS key) while the rest continue; so does a folder that cannot be listed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from investigations.integrity.layout import parse_log_key
from investigations.sources.files import is_digest
from investigations.sources.s3layout import Folder, Level, Narrowing, children, evidence_name, locate, split_uri
from investigations.sources.units import FetchedObject, Refused, Unit

if TYPE_CHECKING:
    from investigations.evidence import SourceOptions

THREADS = 16
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=THREADS)
#: Errors after which no further call can succeed: stop rather than report every folder.
_FATAL_CODES = {"NoSuchBucket", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "AllAccessDisabled"}


@dataclass(slots=True)
class S3Pull:
    """A listed S3 source: units to ingest (fetched lazily), and what the listing found."""

    units: Iterator[Unit]
    total_files: int = 0
    total_bytes: int = 0
    digests: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Object:
    key: str
    size: int
    etag: str | None


class _Fatal(Exception):
    """The source as a whole cannot be read (no bucket, no credentials, no endpoint)."""


def _code(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def list_refusal(exc: Exception, bucket: str, prefix: str) -> str:
    """Why a folder could not be listed, naming the permission that was missing."""
    where = f"s3://{bucket}/{prefix}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE, use --profile, or export AWS_ACCESS_KEY_ID"
    if not isinstance(exc, ClientError):
        return f"cannot list {where}: {exc}"
    code, message = _code(exc)
    if code == "NoSuchBucket":
        return f"no such bucket {bucket!r}: check the name and that these credentials' account can see it"
    if code in ("AccessDenied", "AllAccessDisabled"):
        return f"access denied listing {where}: needs s3:ListBucket on arn:aws:s3:::{bucket} for prefix {prefix!r}"
    return f"cannot list {where}: {code}: {message}"


def object_refusal(code: str, message: str, bucket: str, key: str) -> str:
    """Why an object could not be fetched, in terms of what to grant or do."""
    if code.startswith("KMS.") or (code == "AccessDenied" and "kms" in message.lower()):
        return (
            f"KMS refused to decrypt it ({code}: {message}); the object is SSE-KMS encrypted: "
            "needs kms:Decrypt on the key that encrypted it, and that key enabled"
        )
    if code == "AccessDenied":
        return f"access denied: needs s3:GetObject on arn:aws:s3:::{bucket}/{key}"
    if code == "NoSuchKey":
        return "the object was deleted between listing and fetching"
    if code == "InvalidObjectState":
        return "the object is archived (Glacier / Deep Archive): restore it first"
    return f"{code}: {message}" if message else code


class _Lister:
    """ListObjectsV2 calls, folder by folder, level by level, several at a time."""

    def __init__(self, client: Any, bucket: str, narrowing: Narrowing, cancel: threading.Event | None) -> None:
        self.client = client
        self.bucket = bucket
        self.narrowing = narrowing
        self.cancel = cancel
        self.refused: list[Unit] = []

    def _pages(self, prefix: str, delimiter: str | None) -> Iterator[dict[str, Any]]:
        args = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            args["Delimiter"] = delimiter
        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(**args)
        except (ClientError, BotoCoreError) as exc:
            reason = list_refusal(exc, self.bucket, prefix)
            fatal = not isinstance(exc, ClientError) or _code(exc)[0] in _FATAL_CODES
            if fatal:
                raise _Fatal(reason) from None
            self.refused.append(Refused(f"s3://{self.bucket}/{prefix}", reason))

    def subfolders(self, folder: Folder) -> list[str]:
        names: list[str] = []
        for page in self._pages(folder.prefix, "/"):
            names.extend(p["Prefix"][len(folder.prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
        return names

    def objects(self, folder: Folder) -> list[_Object]:
        found: list[_Object] = []
        for page in self._pages(folder.prefix, None):
            for item in page.get("Contents", []):
                etag = item.get("ETag")
                found.append(_Object(item["Key"], int(item.get("Size", 0)), etag.strip('"') if etag else None))
        return found

    def walk(self, root: Folder, whole_bucket: bool) -> list[_Object]:
        """Every object under ``root`` that the layout filters keep, sorted by key."""
        leaves: list[Folder] = []
        layout = root.level is not Level.ABOVE
        frontier = [root]
        with ThreadPoolExecutor(THREADS) as pool:
            while frontier and not (self.cancel and self.cancel.is_set()):
                leaves.extend(f for f in frontier if f.level is Level.LEAF)
                inner = [f for f in frontier if f.level is not Level.LEAF]
                frontier = []
                for folder, names in zip(inner, pool.map(self.subfolders, inner), strict=True):
                    found = children(folder, names, self.narrowing)
                    layout = layout or any(f.level is Level.LOGS for f in found)
                    frontier.extend(found)
            if self.cancel and self.cancel.is_set():
                return []
            if not layout and not self.refused:  # a denied listing does not mean there is no layout
                if whole_bucket and self.narrowing.windowed:
                    raise _Fatal(
                        f"no AWSLogs/ folders in s3://{self.bucket}/ within a few levels, so --start/--end "
                        "cannot narrow the listing: give the prefix that holds the log files"
                    )
                leaves = [Folder(root.prefix, Level.LEAF)]
            listed = [obj for batch in pool.map(self.objects, leaves) for obj in batch]
        return sorted(listed, key=lambda o: o.key)


def _wanted(key: str, narrowing: Narrowing, options: SourceOptions) -> bool:
    """Filters on the file name, for files outside the layout and for delivery time within a day."""
    name = parse_log_key(key)
    if name is None:
        return True
    if narrowing.accounts and name.account not in narrowing.accounts:
        return False
    if narrowing.regions and name.region not in narrowing.regions:
        return False
    # A file holds only events from before its delivery (minute precision, rounded down).
    if options.start and name.delivered + timedelta(minutes=1) <= options.start:
        return False
    return not (options.end and name.delivered > options.end + timedelta(days=1))


def _fetch(client: Any, bucket: str, obj: _Object) -> Unit:
    display = f"s3://{bucket}/{obj.key}"
    try:
        response = client.get_object(Bucket=bucket, Key=obj.key)
        data = response["Body"].read()
    except ClientError as exc:
        return Refused(display, object_refusal(*_code(exc), bucket, obj.key))
    except (BotoCoreError, OSError) as exc:
        return Refused(display, f"fetch failed: {exc}")
    etag = response.get("ETag")
    return FetchedObject(display, data, etag.strip('"') if etag else obj.etag)


def _fetch_all(client: Any, bucket: str, objects: list[_Object], cancel: threading.Event | None) -> Iterator[Unit]:
    """Fetched objects in completion order, with at most two per thread in flight."""
    pending: set[Future[Unit]] = set()
    queue = iter(objects)
    with ThreadPoolExecutor(THREADS, thread_name_prefix="s3-fetch") as pool:
        try:
            while True:
                while len(pending) < 2 * THREADS and not (cancel and cancel.is_set()):
                    obj = next(queue, None)
                    if obj is None:
                        break
                    pending.add(pool.submit(_fetch, client, bucket, obj))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


def _chain(first: Iterable[Unit], rest: Iterator[Unit]) -> Iterator[Unit]:
    yield from first
    yield from rest


def s3_units(uri: str, options: SourceOptions, cancel: threading.Event | None = None) -> S3Pull:
    """List ``uri`` (narrowed by ``options``) and return its units, fetched lazily."""
    bucket, prefix = split_uri(uri)
    if not bucket:
        return S3Pull(iter([Refused(uri, "no bucket name: write s3://bucket/prefix")]))
    narrowing = Narrowing.of(options.accounts, options.regions, options.start, options.end)
    root = locate(prefix, narrowing)
    if root is None:
        return S3Pull(iter([]), skipped=[(uri, "outside the --accounts/--regions asked for")])
    try:
        client = boto3.Session(profile_name=options.profile).client("s3", config=_CONFIG)
        lister = _Lister(client, bucket, narrowing, cancel)
        listed = lister.walk(root, whole_bucket=not prefix)
    except _Fatal as exc:
        return S3Pull(iter([Refused(uri, str(exc))]))
    except (ProfileNotFound, BotoCoreError) as exc:
        return S3Pull(iter([Refused(uri, list_refusal(exc, bucket, prefix))]))
    pull = S3Pull(iter([]))
    fetch: list[_Object] = []
    refused = list(lister.refused)
    for obj in listed:
        display = f"s3://{bucket}/{obj.key}"
        if obj.key.endswith("/"):
            continue  # a folder marker made by the console
        if is_digest(obj.key):
            pull.digests += 1
        elif not evidence_name(obj.key):
            pull.skipped.append((display, "not a CloudTrail file type (.json.gz, .json, .jsonl, .ndjson)"))
        elif not _wanted(obj.key, narrowing, options):
            continue
        elif obj.size > options.max_decompressed:
            refused.append(
                Refused(display, f"larger than {options.max_decompressed / 2**20:.0f} MiB (raise --max-decompressed)")
            )
        else:
            fetch.append(obj)
    pull.total_files = len(fetch) + len(refused)
    pull.total_bytes = sum(o.size for o in fetch)
    pull.units = _chain(refused, _fetch_all(client, bucket, fetch, cancel))
    return pull
