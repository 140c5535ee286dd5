"""Background noise at any volume: the cast's routines, scheduled over a span of days.

Activity is three independent streams: machines around the clock, people during office hours
(08:00-18:00 UTC), and the nightly backup (01:00-02:00 UTC). Each stream draws Poisson arrival
times at the rate that yields its share of the requested total, picks a routine by weight and
lets it act; the streams are merged in time order. Each stream has its own random generator, so
the result is deterministic for a seed.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from investigations.simulate.actor import Record
from investigations.simulate.people import nightly_backup, people
from investigations.simulate.routines import Routine
from investigations.simulate.workloads import machines
from investigations.simulate.world import World

DAY = 86400


@dataclass(frozen=True)
class Stream:
    """Routines sharing a schedule. ``hours`` is the active UTC window, ``None`` for always."""

    name: str
    share: float
    hours: tuple[int, int] | None


STREAMS = (
    Stream("machines", 0.72, None),
    Stream("people", 0.24, (8, 18)),
    Stream("nightly", 0.04, (1, 2)),
)


def _active_seconds(start: datetime, days: int, hours: tuple[int, int] | None) -> int:
    if hours is None:
        return days * DAY
    lo, hi = hours[0] * 3600, hours[1] * 3600
    begin = start.hour * 3600 + start.minute * 60 + start.second
    total = 0
    for day in range(days + 1):
        day_lo = day * DAY + lo - begin
        day_hi = day * DAY + hi - begin
        total += max(0, min(day_hi, days * DAY) - max(day_lo, 0))
    return total


def _arrivals(world: World, start: datetime, days: int, rate: float, hours: tuple[int, int] | None) -> Iterator[int]:
    """Seconds after ``start`` of each arrival, skipping time outside ``hours``."""
    rng = world.ids.rng
    end = days * DAY
    begin = start.hour * 3600 + start.minute * 60 + start.second
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        if hours is not None:
            of_day = (begin + t) % DAY
            lo, hi = hours[0] * 3600, hours[1] * 3600
            if of_day < lo or of_day >= hi:
                t += (lo - of_day) % DAY
                continue
        if t >= end:
            return
        yield int(t)


def _arrival_count(target: float, routines: Sequence[Routine], seconds: int) -> float:
    """Arrivals needed for ``target`` records, counting the session renewals they trigger.

    A routine renews on its first pick after its session expires: about once per ``ttl`` window
    that sees a pick at all, ``windows * (1 - exp(-picks / windows))``. The total grows with the
    arrivals, so a bisection finds the count that lands on the target.
    """
    total = sum(r.weight for r in routines)

    def records(arrivals: float) -> float:
        extra = 0.0
        for r in routines:
            if r.renew is not None:
                picks = arrivals * r.weight / total
                windows = seconds / r.ttl.total_seconds()
                extra += windows * -math.expm1(-picks / windows) * r.renewal_records
        return arrivals + extra

    lo, hi = 0.0, target
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if records(mid) < target else (lo, mid)
    return lo


def _run(
    world: World, routines: Sequence[Routine], start: datetime, days: int, rate: float, hours: tuple[int, int] | None
) -> Iterator[Record]:
    rng = world.ids.rng
    cum = list(accumulate(r.weight for r in routines))
    total = cum[-1]
    for offset in _arrivals(world, start, days, rate, hours):
        routine = routines[bisect(cum, rng.random() * total)]
        yield from routine.emit(start + timedelta(seconds=offset), rng)


def _routines(world: World, stream: str) -> list[Routine]:
    if stream == "machines":
        return machines(world)
    if stream == "people":
        return people(world)
    return nightly_backup(world)


def background(world: World, start: datetime, days: int, events: int) -> Iterator[Record]:
    """About ``events`` records in time order (the count is a Poisson draw around it)."""
    if events <= 0 or days <= 0:
        return iter(())
    parts = []
    for stream in STREAMS:
        seconds = _active_seconds(start, days, stream.hours)
        if seconds == 0:
            continue
        sub = world.fork(f"background/{stream.name}")
        routines = _routines(sub, stream.name)
        arrivals = _arrival_count(stream.share * events, routines, seconds)
        if arrivals > 0:
            parts.append(_run(sub, routines, start, days, arrivals / seconds, stream.hours))
    return heapq.merge(*parts, key=lambda r: r["eventTime"])
