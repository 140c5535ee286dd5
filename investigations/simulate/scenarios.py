"""Named scenarios and the one function that turns a scenario into files on disk.

A scenario yields its records in time order plus, for an attack, its ground truth; ``generate``
feeds them to a writer (the S3 archive layout or JSON Lines), counts what passed through, and
writes ``scenario.json`` beside the logs. The CLI, the benchmark and tests all come through here,
so a dataset is described completely by (scenario, seed, start, days, events, layout).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from investigations.simulate import cast as c
from investigations.simulate.actor import Record
from investigations.simulate.background import background
from investigations.simulate.key_compromise import key_compromise
from investigations.simulate.truth import Attack, Truth
from investigations.simulate.world import World
from investigations.simulate.writer import DEFAULT_GZIP_LEVEL, ArchiveWriter, write_jsonl

Build = Callable[[World, datetime, int, int], tuple[Iterator[Record], Attack | None]]


def _background(world: World, start: datetime, days: int, events: int) -> tuple[Iterator[Record], None]:
    return background(world, start, days, events), None


def _key_compromise(world: World, start: datetime, days: int, events: int) -> tuple[Iterator[Record], Attack]:
    attack_records, attack = key_compromise(world, start)
    noise = background(world, start, days, max(0, events - len(attack_records)))
    return heapq.merge(attack_records, noise, key=lambda r: r["eventTime"]), attack


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    min_days: int
    build: Build


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "key-compromise",
            "a leaked IAM user key used across two accounts, amid background noise",
            3,
            _key_compromise,
        ),
        Scenario("background", "ordinary activity of people, workloads and AWS services", 1, _background),
    )
}


class _Tally:
    """Counts records and notes regions and the time range as they stream past."""

    def __init__(self, records: Iterator[Record]) -> None:
        self._records = records
        self.count = 0
        self.regions: set[str] = set()
        self.first: str | None = None
        self.last: str | None = None

    def __iter__(self) -> Iterator[Record]:
        for record in self._records:
            self.count += 1
            self.regions.add(record["awsRegion"])
            when = record["eventTime"]
            if self.first is None or when < self.first:
                self.first = when
            if self.last is None or when > self.last:
                self.last = when
            yield record


def generate(
    name: str,
    out: Path,
    *,
    events: int,
    seed: int,
    start: datetime,
    days: int,
    org_id: str | None = c.ORG_ID,
    layout: str = "s3",
    gzip_level: int = DEFAULT_GZIP_LEVEL,
    command: str = "",
) -> Truth:
    """Write scenario ``name`` under ``out`` and return (and save) its ground truth.

    ``layout`` is ``"s3"`` (CloudTrail's archive layout, ``org_id=None`` for an account trail)
    or ``"jsonl"`` (one ``events.jsonl``). Raises ValueError for an unknown name or too few days.
    """
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    if days < scenario.min_days:
        raise ValueError(f"scenario {name} needs at least {scenario.min_days} days")
    if layout not in ("s3", "jsonl"):
        raise ValueError(f"unknown layout {layout!r}; choose s3 or jsonl")
    records, attack = scenario.build(World(seed), start, days, events)
    tally = _Tally(records)
    out.mkdir(parents=True, exist_ok=True)
    if layout == "s3":
        with ArchiveWriter(out, seed=seed, org_id=org_id, gzip_level=gzip_level) as writer:
            writer.add_all(tally)
        files, json_bytes, stored = writer.stats.files, writer.stats.raw_bytes, writer.stats.gz_bytes
    else:
        write_jsonl(tally, out / "events.jsonl")
        files, json_bytes = 1, (out / "events.jsonl").stat().st_size
        stored = json_bytes
    truth = Truth(
        scenario=name,
        seed=seed,
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        days=days,
        events=tally.count,
        files=files,
        org_id=org_id if layout == "s3" else None,
        accounts=dict(c.ACCOUNTS),
        regions=sorted(tally.regions),
        first_event=tally.first,
        last_event=tally.last,
        json_bytes=json_bytes,
        stored_bytes=stored,
        command=command,
        attack=attack,
    )
    truth.write(out / "scenario.json")
    return truth
