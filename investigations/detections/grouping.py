"""Matched events to findings: one per rule, actor and burst of activity.

A responder needs "this role ran 500 GetSecretValue calls between 03:10 and 03:40", not 500 rows.
A burst ends after a quiet gap (30 minutes unless told otherwise), so the same actor tripping the
same rule on two different days gives two findings with their own first and last times.
Finding ids hash the rule, the actor and the first event id, so they stay the same across runs
and ``trailhound detect --alarm ID`` can name one from an earlier listing.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from investigations.detections.registry import Severity

DEFAULT_GAP = timedelta(minutes=30)


class RuleMeta(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def technique(self) -> str: ...
    @property
    def why(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Hit:
    """One event that matched, with the facts findings are built from."""

    seq: int
    time: datetime
    event_id: str
    actor: str
    key: str | None
    account: str | None
    region: str | None
    detail: str | None = None


@dataclass(slots=True)
class Group:
    """Hits a stateful rule already grouped (one burst, one sequence); ``actor`` overrides the hits'."""

    hits: list[Hit]
    detail: str | None = None
    actor: str | None = None


@dataclass(slots=True)
class Finding:
    id: str
    rule_id: str
    title: str
    severity: Severity
    technique: str
    why: str
    actor: str
    access_key: str | None
    first_seen: datetime
    last_seen: datetime
    event_ids: list[str]
    seqs: list[int]
    access_keys: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    detail: str | None = None
    origin: str = "builtin"

    @property
    def count(self) -> int:
        return len(self.event_ids)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.label,
            "technique": self.technique,
            "why": self.why,
            "actor": self.actor,
            "access_key": self.access_key,
            "access_keys": self.access_keys,
            "accounts": self.accounts,
            "regions": self.regions,
            "first_seen": self.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_seen": self.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": self.count,
            "detail": self.detail,
            "origin": self.origin,
            "event_ids": self.event_ids,
        }


def finding_id(rule_id: str, actor: str, first_event_id: str) -> str:
    digest = hashlib.sha256(f"{rule_id}\0{actor}\0{first_event_id}".encode()).hexdigest()
    return "F-" + digest[:10]


def _distinct(values: list[str | None]) -> list[str]:
    return sorted({v for v in values if v})


def build(
    rule: RuleMeta, hits: list[Hit], detail: str | None = None, actor: str | None = None, origin: str = "builtin"
) -> Finding:
    """One finding from hits that belong together (sorted here by time order)."""
    hits = sorted(hits, key=lambda h: h.seq)
    who = actor or Counter(h.actor for h in hits).most_common(1)[0][0]
    keys = [h.key for h in hits if h.key]
    details = _distinct([h.detail for h in hits])
    if detail is None and details:
        detail = "; ".join(details[:5]) + (f"; and {len(details) - 5} more" if len(details) > 5 else "")
    return Finding(
        id=finding_id(rule.id, who, hits[0].event_id),
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        technique=rule.technique,
        why=rule.why,
        actor=who,
        access_key=keys[0] if keys else None,
        access_keys=_distinct(list(keys)),
        accounts=_distinct([h.account for h in hits]),
        regions=_distinct([h.region for h in hits]),
        first_seen=hits[0].time,
        last_seen=hits[-1].time,
        event_ids=[h.event_id for h in hits],
        seqs=[h.seq for h in hits],
        detail=detail,
        origin=origin,
    )


def bursts(hits: list[Hit], gap: timedelta = DEFAULT_GAP) -> list[list[Hit]]:
    """Split hits per actor wherever the actor was quiet for longer than ``gap``."""
    by_actor: dict[str, list[Hit]] = {}
    for hit in hits:
        by_actor.setdefault(hit.actor, []).append(hit)
    out: list[list[Hit]] = []
    for actor_hits in by_actor.values():
        actor_hits.sort(key=lambda h: h.seq)
        current = [actor_hits[0]]
        for hit in actor_hits[1:]:
            if hit.time - current[-1].time > gap:
                out.append(current)
                current = []
            current.append(hit)
        out.append(current)
    return out


def findings_for(
    rule: RuleMeta, hits: list[Hit], gap: timedelta = DEFAULT_GAP, origin: str = "builtin"
) -> list[Finding]:
    return [build(rule, burst, origin=origin) for burst in bursts(hits, gap)] if hits else []


def rank(findings: list[Finding]) -> list[Finding]:
    """Most severe first; within a severity, in the order things happened."""
    return sorted(findings, key=lambda f: (-int(f.severity), f.first_seen, f.rule_id, f.id))
