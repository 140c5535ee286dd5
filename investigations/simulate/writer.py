"""Records to files: CloudTrail's S3 archive layout, and JSON Lines.

The archive writer groups records the way CloudTrail delivers them: one gzipped
``{"Records":[...]}`` object per account, region and roughly five minutes, named for its
delivery time a few minutes after the newest event in it, with the records shuffled (CloudTrail
does not sort them). It takes records in roughly time order and keeps only the last few delivery
windows open, so memory stays flat however many records pass through; a record older than the
open windows becomes a late delivery of its own, as real late events do.

Records are serialised as they arrive (orjson), and compression is handed to a worker thread
(zlib releases the GIL), so generating and compressing overlap on two cores.
"""

from __future__ import annotations

import calendar
import gzip
import random
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from investigations.simulate.ids import Ids

WINDOW_SECONDS = 300
#: zlib levels 1-4 use its fast matcher: level 4 compresses CloudTrail JSON about 2.5 times
#: faster than the default 6 for about 16% more bytes, which decides the 1M-event benchmark.
DEFAULT_GZIP_LEVEL = 4
#: Windows kept open behind the newest one before they are delivered.
OPEN_WINDOWS = 3


@dataclass(slots=True)
class WriteStats:
    """What a writer produced: files, records, uncompressed JSON bytes and bytes on disk."""

    files: int = 0
    records: int = 0
    raw_bytes: int = 0
    gz_bytes: int = 0


class _Window:
    __slots__ = ("newest", "records")

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.newest = 0


class ArchiveWriter:
    """Writes ``<out>/[<prefix>/]AWSLogs/[<org_id>/]<acct>/CloudTrail/<region>/YYYY/MM/DD/…``.

    Use as a context manager, or call ``close()``: the last windows are written then.
    """

    def __init__(
        self,
        out: Path,
        *,
        seed: int = 0,
        org_id: str | None = None,
        prefix: str = "",
        gzip_level: int = DEFAULT_GZIP_LEVEL,
    ) -> None:
        root = out / prefix if prefix else out
        self._root = root / "AWSLogs" / org_id if org_id else root / "AWSLogs"
        self._ids = Ids(random.Random(f"{seed}:archive"))
        self._level = gzip_level
        self._open: dict[tuple[str, str, int], _Window] = {}
        self._horizon = 0
        self._hours: dict[str, int] = {}
        self._dirs: set[Path] = set()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: deque[Future[int]] = deque()
        self.stats = WriteStats()

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _epoch(self, event_time: str) -> int:
        hour = self._hours.get(event_time[:13])
        if hour is None:
            hour = calendar.timegm(
                (int(event_time[:4]), int(event_time[5:7]), int(event_time[8:10]), int(event_time[11:13]), 0, 0)
            )
            self._hours[event_time[:13]] = hour
        return hour + int(event_time[14:16]) * 60 + int(event_time[17:19])

    def add(self, record: dict[str, Any]) -> None:
        epoch = self._epoch(record["eventTime"])
        window = epoch // WINDOW_SECONDS
        slot = (record["recipientAccountId"], record["awsRegion"], window)
        bucket = self._open.get(slot)
        if bucket is None:
            bucket = self._open[slot] = _Window()
        bucket.records.append(orjson.dumps(record))
        if epoch > bucket.newest:
            bucket.newest = epoch
        if window > self._horizon:
            self._horizon = window
            self._deliver(window - OPEN_WINDOWS)

    def add_all(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def _deliver(self, before: int) -> None:
        for slot in [s for s in self._open if s[2] < before]:
            self._write(slot, self._open.pop(slot))
        while len(self._pending) > 64:
            self.stats.gz_bytes += self._pending.popleft().result()

    def _write(self, slot: tuple[str, str, int], bucket: _Window) -> None:
        account, region, window = slot
        rng = self._ids.rng
        rng.shuffle(bucket.records)
        delivered = max((window + 1) * WINDOW_SECONDS, bucket.newest) + rng.randint(60, 300)
        key = log_object_key(account, region, time.gmtime(delivered), self._ids.file_suffix())
        path = self._root / key
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        body = b'{"Records":[' + b",".join(bucket.records) + b"]}"
        self.stats.files += 1
        self.stats.records += len(bucket.records)
        self.stats.raw_bytes += len(body)
        self._pending.append(self._pool.submit(_compress_to, path, body, self._level))

    def _drain(self) -> None:
        while self._pending:
            self.stats.gz_bytes += self._pending.popleft().result()

    def close(self) -> WriteStats:
        """Deliver every open window and wait for the files; returns the totals."""
        self._deliver(self._horizon + OPEN_WINDOWS + 1)
        self._drain()
        self._pool.shutdown()
        return self.stats


def log_object_key(account: str, region: str, delivered: time.struct_time, unique: str) -> str:
    """A log file's key below ``AWSLogs/[<o-id>/]``: date folders and name time are the delivery time."""
    day = time.strftime("%Y/%m/%d", delivered)
    stamp = time.strftime("%Y%m%dT%H%MZ", delivered)
    return f"{account}/CloudTrail/{region}/{day}/{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"


def _compress_to(path: Path, body: bytes, level: int) -> int:
    data = gzip.compress(body, compresslevel=level, mtime=0)
    path.write_bytes(data)
    return len(data)


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> int:
    """One record per line (gzipped when the name ends in ``.gz``); returns the count."""
    lines = [orjson.dumps(record) for record in records]
    body = b"\n".join(lines) + (b"\n" if lines else b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    path.write_bytes(body)
    return len(lines)
