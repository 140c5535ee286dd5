"""What a rule sees while it runs: the store, the options, and helpers for the usual queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import orjson

from investigations.baseline import ACTOR_SQL
from investigations.detections.grouping import DEFAULT_GAP, Hit
from investigations.geo import geo_from
from investigations.netinfo import GeoProvider
from investigations.store import EventStore

#: The columns every Hit is built from, in Hit's order. The events table is aliased ``e``; the
#: actor expression names its columns bare, so joined tables must not reuse event column names.
HIT_COLUMNS = f"e.seq, e.event_time, e.event_id, {ACTOR_SQL}, e.access_key_id, e.recipient_account_id, e.aws_region"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Numbers behind the volume and sequence rules; tune per environment."""

    #: Different secrets, parameters or keys read by one actor in one burst, and the burst's longest span.
    secrets_distinct: int = 5
    secrets_minutes: int = 60
    #: Quiet gap (minutes) that ends a burst of secret reads or object downloads.
    burst_gap_minutes: int = 10
    #: GetObject calls, or bytes out, by one session in one burst.
    s3_objects: int = 500
    s3_bytes: int = 1024**3
    #: Distinct List/Describe/Get calls after a GetCallerIdentity, and the window for them.
    enumeration_calls: int = 10
    enumeration_minutes: int = 60
    #: Minutes within which one long-term key seen from two far-apart networks is suspicious.
    distant_minutes: int = 10


@dataclass(slots=True)
class DetectOptions:
    gap: timedelta = DEFAULT_GAP
    learning: timedelta | None = None
    #: ASN and country: the shipped databases unless ``TRAILHOUND_MMDB`` names others; None for none.
    geo: GeoProvider | None = field(default_factory=geo_from)
    #: Accounts of the organization beyond those whose events are in the case.
    org_accounts: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)


def hit_from_row(row: Sequence[Any], detail: str | None = None) -> Hit:
    return Hit(row[0], row[1], row[2], row[3], row[4], row[5], row[6], detail)


class Context:
    """One detection run over one store; ``con`` is a cursor owned by the run."""

    def __init__(self, store: EventStore, options: DetectOptions) -> None:
        self.store = store
        self.options = options
        self.thresholds = options.thresholds
        self.con = store.cursor()
        #: Results several rules share within one run (e.g. every newly observed value).
        self.shared: dict[str, Any] = {}

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def hits(self, where: str, params: Sequence[Any] = (), joins: str = "") -> list[Hit]:
        """Hits for events matching a condition over ``events e`` (plus any joins given)."""
        sql = f"SELECT {HIT_COLUMNS} FROM events e {joins} WHERE {where} ORDER BY e.seq"
        return [hit_from_row(r) for r in self.rows(sql, params)]

    def burst_hits(
        self, where: str, params: Sequence[Any], partition: str, part: Any, first: int, last: int
    ) -> list[Hit]:
        """The events of one burst found by ``burst_sql`` (same ``where`` and ``partition``)."""
        return self.hits(f"({where}) AND {partition} = ? AND e.seq BETWEEN ? AND ?", [*params, part, first, last])

    def hits_for(self, seqs: Sequence[int]) -> dict[int, Hit]:
        if not seqs:
            return {}
        sql = f"SELECT {HIT_COLUMNS} FROM events e WHERE e.seq IN (SELECT unnest(?::BIGINT[]))"
        return {r[0]: hit_from_row(r) for r in self.rows(sql, [list(seqs)])}

    def records(self, rids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Parsed raw records by rid; unparseable ones are left out (ingest already vetted them)."""
        if not rids:
            return {}
        rows = self.rows("SELECT rid, raw FROM raw_events WHERE rid IN (SELECT unnest(?::BIGINT[]))", [list(rids)])
        out: dict[int, dict[str, Any]] = {}
        for rid, raw in rows:
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                out[rid] = value
        return out

    @cached_property
    def known_accounts(self) -> frozenset[str]:
        """Accounts taken as the organization's: every account whose trail is in the case, plus any given."""
        found = {r[0] for r in self.rows("SELECT DISTINCT recipient_account_id FROM events") if r[0]}
        return frozenset(found | set(self.options.org_accounts))

    def external(self, account: str | None) -> bool:
        return bool(account) and account not in self.known_accounts


def burst_sql(
    where: str, partition: str, gap_minutes: int, aggregates: str = "", having: str = "TRUE", part_having: str = "TRUE"
) -> str:
    """Bursts of matching events per ``partition`` value, split by quiet gaps, as one SQL query.

    Returns rows of (partition value, first seq, last seq, count, *aggregates), first bursts first
    (``burst_hits`` fetches a burst's events). ``part_having`` first drops whole
    partitions (it must hold for the partition if it can hold for any of its bursts), which keeps
    the window functions off the bulk of the rows. ``where``, ``part_having`` and ``having`` may
    hold ``?`` parameters, in that order.
    """
    extra = f", {aggregates}" if aggregates else ""
    return (
        f"WITH a AS (SELECT e.*, {partition} AS part FROM events e WHERE {where}), "
        f"keep AS (SELECT part FROM a GROUP BY part HAVING {part_having}), "
        "m AS (SELECT a.* FROM a SEMI JOIN keep USING (part)), "
        "g AS (SELECT *, CASE WHEN event_time - lag(event_time) OVER (PARTITION BY part ORDER BY seq) "
        f"> INTERVAL {int(gap_minutes)} MINUTE THEN 1 ELSE 0 END AS brk FROM m), "
        "b AS (SELECT *, sum(brk) OVER (PARTITION BY part ORDER BY seq ROWS UNBOUNDED PRECEDING) AS burst FROM g) "
        f"SELECT part, min(seq), max(seq), count(*){extra} FROM b GROUP BY part, burst HAVING {having} "
        "ORDER BY min(seq)"
    )
