"""Habits: what one background actor does, over and over, with a realistic mix of calls.

A ``Routine`` is a credential holder plus a weighted repertoire of actions. When it is picked
at time ``t`` it first renews its session if needed (an instance refreshing its role
credentials, a person logging in to the console in the morning, a pipeline re-assuming its
deploy role) and then makes one call. Renewals are emitted as real issuing events, so every
temporary key in the background can be traced to where it came from, except console sessions,
which CloudTrail never links to a key either.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from investigations.simulate import catalog
from investigations.simulate.actor import Actor, Record

#: One call: given the actor, the time and the generator, the record.
Action = Callable[[Actor, datetime, random.Random], Record]
#: Start or renew a session at time t: the issuing records and the session's actor.
Renewal = Callable[[datetime], tuple[list[Record], Actor]]


def api(
    source: str,
    name: str,
    request: dict[str, Any] | None = None,
    *,
    regions: Sequence[str] | None = None,
    response: dict[str, Any] | None = None,
    error: str | None = None,
    error_rate: float = 0.0,
    resources: list[dict[str, str]] | None = None,
    ua: str | None = None,
) -> Action:
    """A management call; ``regions`` spreads it over several, ``error_rate`` fails some,
    ``ua`` names another agent on the same credential (the SSM agent on an instance)."""
    code = error or catalog.denial_code(source)

    def act(actor: Actor, t: datetime, rng: random.Random) -> Record:
        region = rng.choice(regions) if regions else None
        failed = error_rate and rng.random() < error_rate
        return actor.call(
            source,
            name,
            t,
            region=region,
            request=request,
            response=response,
            resources=resources,
            error=code if failed else None,
            ua=ua,
        )

    return act


def s3_object(
    name: str,
    bucket: str,
    keys: Sequence[str],
    *,
    size: tuple[int, int] = (1_000, 200_000),
    bucket_account: str | None = None,
    region: str | None = None,
    missing_rate: float = 0.0,
) -> Action:
    """An S3 data event on one of ``keys``; a ``missing_rate`` share fail with NoSuchKey."""
    writes = name.startswith("Put")

    def act(actor: Actor, t: datetime, rng: random.Random) -> Record:
        key = rng.choice(keys)
        amount = rng.randint(*size)
        if missing_rate and rng.random() < missing_rate:
            return actor.s3_object(
                name,
                bucket,
                t,
                key=key,
                bucket_account=bucket_account,
                region=region,
                error="NoSuchKey",
                error_message="The specified key does not exist.",
            )
        return actor.s3_object(
            name,
            bucket,
            t,
            key=key,
            bytes_in=amount if writes else 0,
            bytes_out=0 if writes else amount,
            bucket_account=bucket_account,
            region=region,
        )

    return act


@dataclass
class Routine:
    """A background actor. ``renew`` (with ``ttl``) makes it session-based; ``renewal_records``
    is how many records one renewal writes (two for a cross-account AssumeRole)."""

    name: str
    weight: float
    actions: Sequence[tuple[float, Action]]
    actor: Actor | None = None
    renew: Renewal | None = None
    ttl: timedelta = timedelta(hours=1)
    renewal_records: int = 1
    _renew_at: datetime | None = field(default=None, init=False)
    _cum: list[float] = field(default_factory=list, init=False)
    _acts: list[Action] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._cum = list(accumulate(w for w, _ in self.actions))
        self._acts = [a for _, a in self.actions]

    def emit(self, t: datetime, rng: random.Random) -> list[Record]:
        out: list[Record] = []
        if self.renew is not None and (self._renew_at is None or t >= self._renew_at):
            out, self.actor = self.renew(t)
            self._renew_at = t + self.ttl
        if self.actor is None:
            raise ValueError(f"routine {self.name} has neither an actor nor a way to start a session")
        act = self._acts[bisect(self._cum, rng.random() * self._cum[-1])]
        out.append(act(self.actor, t, rng))
        return out
