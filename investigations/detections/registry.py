"""The rule pack: what a rule is, and the one place rules register themselves.

Most rules are one event matching a fixed shape, so they are written as data (``Match``): the
same description becomes a SQL predicate for the shared scan, an EventBridge pattern, a
CloudWatch Logs metric filter and a Sigma rule, which keeps what is detected here and what the
alarm catches in the live account from drifting apart. Rules that need a look inside the request
add a ``check`` over the raw record; rules about sequences or volumes supply ``detect`` instead.
Modules under ``rules/`` register on import, like timesketch's analyzer manager.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from investigations.detections.context import Context
    from investigations.detections.grouping import Finding, Group
    from investigations.store import EventStore


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        aliases = {"informational": "info", "information": "info"}
        return cls[aliases.get(text.lower(), text.lower()).upper()]


@dataclass(frozen=True, slots=True)
class Cond:
    """One condition on a CloudTrail path.

    ``op`` is ``any`` (some value matches one of the patterns), ``none`` (no value does; an absent
    field counts as none), ``exists`` or ``absent``. Patterns are exact text where ``*`` matches
    any run of characters, the one wildcard SQL LIKE, EventBridge, CloudWatch Logs and Sigma share.
    """

    path: str
    op: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in ("any", "none", "exists", "absent"):
            raise ValueError(f"unknown condition op {self.op!r}")


def eq(path: str, *patterns: str) -> Cond:
    return Cond(path, "any", patterns)


def ne(path: str, *patterns: str) -> Cond:
    return Cond(path, "none", patterns)


def exists(path: str) -> Cond:
    return Cond(path, "exists")


def absent(path: str) -> Cond:
    return Cond(path, "absent")


@dataclass(frozen=True, slots=True)
class Match:
    """A single-event shape: eventSource, eventName (any of), and further conditions (all of)."""

    source: str | None = None
    names: tuple[str, ...] = ()
    where: tuple[Cond, ...] = ()

    def conditions(self) -> tuple[Cond, ...]:
        base: list[Cond] = []
        if self.source:
            base.append(eq("eventSource", self.source))
        if self.names:
            base.append(eq("eventName", *self.names))
        return (*base, *self.where)


@dataclass(frozen=True, slots=True)
class Threshold:
    """For alarms on volumes: at least ``count`` matching events within ``minutes``."""

    count: int
    minutes: int


#: A raw-record test: returns a detail text when the record matches, None when it does not.
Check = Callable[[dict[str, Any], "Context"], str | None]
Detect = Callable[["Context"], list["Group"]]
#: Builds a finding-specific alarm shape (e.g. "this principal, from anywhere but its known networks").
AlarmFor = Callable[["Finding", "EventStore"], Match]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    technique: str
    why: str
    #: Single-event shape. With ``detect`` set it only describes the events the alarm watches.
    match: Match | None = None
    check: Check | None = None
    detect: Detect | None = None
    #: Conditions the alarm adds to ``match`` to express what ``check`` or ``detect`` verifies.
    alarm_where: tuple[Cond, ...] = ()
    threshold: Threshold | None = None
    alarm_for: AlarmFor | None = None
    #: A CloudWatch Logs filter written by hand, where the generated one cannot reach (arrays).
    metric_filter: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.match is None and self.detect is None:
            raise ValueError(f"{self.id}: a rule needs a match (single events) or a detect function")


_RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.id in _RULES and _RULES[rule.id] is not rule:
        raise ValueError(f"rule id {rule.id} registered twice")
    _RULES[rule.id] = rule
    return rule


def _load() -> None:
    from investigations.detections import rules

    for module in pkgutil.iter_modules(rules.__path__):
        importlib.import_module(f"{rules.__name__}.{module.name}")


def _natural(rule_id: str) -> list[tuple[int, str]]:
    """Sort key that puts TH-CIS-4.2 before TH-CIS-4.10."""
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", rule_id)]


def all_rules() -> list[Rule]:
    """Every built-in rule, in id order."""
    if not _RULES:
        _load()
    return [_RULES[k] for k in sorted(_RULES, key=_natural)]


def get_rule(rule_id: str) -> Rule | None:
    if not _RULES:
        _load()
    return _RULES.get(rule_id)
