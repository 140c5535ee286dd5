"""Event volume over time for a filter, in as many buckets as the screen has columns.

Bucket sizes come from a ladder of round durations (a minute, five minutes, an hour, a day...)
so bars line up with times a responder can name; the smallest size that fits the width wins.
Buckets start at a multiple of their size (in epoch seconds), so the same hour is the same bar
whichever filter is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
#: Candidate bucket sizes in seconds, smallest first.
LADDER: tuple[int, ...] = (
    1,
    5,
    10,
    30,
    _MINUTE,
    5 * _MINUTE,
    10 * _MINUTE,
    15 * _MINUTE,
    30 * _MINUTE,
    _HOUR,
    3 * _HOUR,
    6 * _HOUR,
    12 * _HOUR,
    _DAY,
    7 * _DAY,
    30 * _DAY,
    365 * _DAY,
)
_EPOCH = datetime(1970, 1, 1)


class _Sql(Protocol):
    def execute(self, query: str, parameters: Sequence[Any] = ...) -> Any: ...


@dataclass(frozen=True, slots=True)
class Histogram:
    """``counts[i]`` events fell in ``[bucket_start(i), bucket_start(i) + bucket)``."""

    start: datetime
    bucket: int
    counts: tuple[int, ...]

    def bucket_start(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.bucket * index)

    def bucket_range(self, index: int) -> tuple[datetime, datetime]:
        return self.bucket_start(index), self.bucket_start(index + 1)

    @property
    def end(self) -> datetime:
        return self.bucket_start(len(self.counts))

    @property
    def total(self) -> int:
        return sum(self.counts)


def bucket_size(low: datetime, high: datetime, width: int) -> int:
    """The smallest ladder size that shows ``[low, high]`` in at most ``width`` aligned buckets."""
    width = max(width, 1)
    for size in LADDER:
        first = _floor(low, size)
        if (_seconds(high) - first) // size + 1 <= width:
            return size
    return LADDER[-1]


@dataclass(frozen=True, slots=True)
class Axis:
    """``n`` buckets of ``size`` seconds from ``origin`` (epoch seconds, a multiple of ``size``)."""

    origin: int
    size: int
    n: int

    def histogram(self, counts: dict[int, int]) -> Histogram:
        """Place per-bucket counts (bucket index -> count) on this axis."""
        values = [0] * self.n
        for index, count in counts.items():
            if index is not None and 0 <= index < self.n:
                values[index] = count
        return Histogram(_EPOCH + timedelta(seconds=self.origin), self.size, tuple(values))

    @property
    def bucket_sql(self) -> str:
        """SQL for an event's bucket index on this axis."""
        return f"(CAST(epoch(event_time) AS BIGINT) - {self.origin}) // {self.size}"


def axis(low: datetime, high: datetime, width: int) -> Axis:
    """The axis that shows ``[low, high]`` in at most ``width`` round-sized buckets."""
    size = bucket_size(low, high, width)
    origin = _floor(low, size)
    return Axis(origin, size, (_seconds(high) - origin) // size + 1)


def histogram(
    con: _Sql,
    where: str = "TRUE",
    params: Sequence[Any] = (),
    width: int = 80,
    span: tuple[datetime, datetime] | None = None,
) -> Histogram | None:
    """Counts per bucket for events matching ``where``; None when nothing matches.

    ``span`` fixes the time axis (so bars keep their places while a filter changes); without it
    the axis covers the matching events.
    """
    if span is None:
        rows = con.execute(f"SELECT min(event_time), max(event_time) FROM events WHERE {where}", list(params))
        low, high = rows.fetchall()[0]
        if low is None:
            return None
    else:
        low, high = span
    frame = axis(low, high, width)
    rows = con.execute(
        f"SELECT {frame.bucket_sql} AS b, count(*) FROM events "
        f"WHERE ({where}) AND event_time >= ? AND event_time <= ? GROUP BY b",
        [*params, low, high],
    ).fetchall()
    return frame.histogram(dict(rows))


def _seconds(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds())


def _floor(moment: datetime, size: int) -> int:
    seconds = _seconds(moment)
    return seconds - seconds % size


def event_count(count: int) -> str:
    """``1 event``, ``2,448 events``: a count of events as the screen says it."""
    return f"{count:,} event{'' if count == 1 else 's'}"


def describe(seconds: int) -> str:
    """``3600`` -> ``1h``: the bucket size as the axis label shows it."""
    for unit, length in (("d", _DAY), ("h", _HOUR), ("m", _MINUTE)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds // length}{unit}"
    return f"{seconds}s"
