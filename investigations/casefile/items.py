"""What a case holds besides evidence: findings, bookmarks, notes, tags, IOCs and containment.

Items are typed and validated here, once, so the TUI, the CLI and a promoted detection cannot
write a finding with severity "hgih" or an IOC that is not what its kind says. In ``case.json``
each item is a plain JSON object (``to_dict``); times are ISO 8601 UTC strings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from investigations.model import EntityKind

SEVERITIES = ("info", "low", "medium", "high", "critical")
FINDING_STATUSES = ("open", "confirmed", "false_positive", "closed")
IOC_KINDS = ("ip", "access_key", "arn", "user_agent", "account")
CONTAINMENT_ACTIONS = (
    "disable_key",
    "delete_key",
    "revoke_sessions",
    "attach_deny_policy",
    "reset_password",
    "delete_user",
    "other",
)
#: What a note or tag can be about: an event, a finding, or any entity the graph knows.
REF_KINDS = ("event", "finding", *(kind.value for kind in EntityKind))

_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_ACCESS_KEY = re.compile(r"^(AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{12,124}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_MAX_TEXT = 100_000


class ItemError(ValueError):
    """An item that cannot go into the case as given; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class Ref:
    """A pointer to what an item is about: ``event:<eventID>``, ``access_key:AKIA…``, ``finding:F-1``."""

    kind: str
    value: str

    @classmethod
    def parse(cls, value: Ref | dict[str, Any] | tuple[str, str] | str) -> Ref:
        if isinstance(value, Ref):
            ref = value
        elif isinstance(value, dict):
            ref = cls(str(value.get("kind", "")), str(value.get("value", "")))
        elif isinstance(value, tuple):
            ref = cls(str(value[0]), str(value[1]))
        else:
            kind, sep, rest = str(value).partition(":")
            if not sep:
                raise ItemError(f"{value!r} is not KIND:VALUE (kinds: {', '.join(REF_KINDS)})")
            ref = cls(kind, rest)
        if ref.kind not in REF_KINDS:
            raise ItemError(f"unknown kind {ref.kind!r} (kinds: {', '.join(REF_KINDS)})")
        if not ref.value:
            raise ItemError(f"{ref.kind} needs a value")
        return ref

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def _text(name: str, value: object, required: bool = False, limit: int = _MAX_TEXT) -> str:
    text = "" if value is None else str(value)
    if required and not text.strip():
        raise ItemError(f"{name} must not be empty")
    if len(text) > limit:
        raise ItemError(f"{name} is {len(text):,} characters; the limit is {limit:,}")
    return text


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in allowed:
        raise ItemError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return text


@dataclass(slots=True, kw_only=True)
class Item:
    """Fields every item carries; subclasses name their kind and validate their own fields."""

    KIND: ClassVar[str] = ""
    id: str
    created: str
    updated: str
    author: str

    def validate(self) -> None:
        """Normalise fields in place; raise ItemError when one is unusable."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def editable(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls)) - {"id", "created", "updated", "author"}


@dataclass(slots=True, kw_only=True)
class Finding(Item):
    KIND: ClassVar[str] = "finding"
    title: str
    severity: str
    status: str = "open"
    narrative: str = ""
    technique: str | None = None
    rule_id: str | None = None
    event_ids: list[str] = field(default_factory=list)
    entities: list[dict[str, str]] = field(default_factory=list)

    def validate(self) -> None:
        self.title = _text("title", self.title, required=True, limit=500)
        self.severity = _choice("severity", self.severity, SEVERITIES)
        self.status = _choice("status", self.status, FINDING_STATUSES)
        self.narrative = _text("narrative", self.narrative)
        if self.technique:
            self.technique = str(self.technique).strip().upper()
            if not _TECHNIQUE.match(self.technique):
                raise ItemError(f"technique {self.technique!r} is not an ATT&CK id like T1078 or T1078.004")
        self.technique = self.technique or None
        self.rule_id = _text("rule_id", self.rule_id, limit=200) or None
        self.event_ids = list(dict.fromkeys(_text("event id", e, required=True, limit=200) for e in self.event_ids))
        refs = [Ref.parse(e) for e in self.entities]
        self.entities = [{"kind": r.kind, "value": r.value} for r in dict.fromkeys(refs)]


@dataclass(slots=True, kw_only=True)
class Bookmark(Item):
    KIND: ClassVar[str] = "bookmark"
    event_id: str
    note: str = ""

    def validate(self) -> None:
        self.event_id = _text("event_id", self.event_id, required=True, limit=200)
        self.note = _text("note", self.note)


@dataclass(slots=True, kw_only=True)
class Note(Item):
    KIND: ClassVar[str] = "note"
    text: str
    about: dict[str, str] | None = None

    def validate(self) -> None:
        self.text = _text("text", self.text, required=True)
        if self.about:
            ref = Ref.parse(self.about)
            self.about = {"kind": ref.kind, "value": ref.value}
        else:
            self.about = None


@dataclass(slots=True, kw_only=True)
class Tag(Item):
    KIND: ClassVar[str] = "tag"
    target: dict[str, str]
    label: str

    def validate(self) -> None:
        ref = Ref.parse(self.target)
        if ref.kind == "finding":
            raise ItemError("tags go on events and entities; a finding has a status and severity instead")
        self.target = {"kind": ref.kind, "value": ref.value}
        self.label = _text("label", self.label, required=True, limit=100).strip()


@dataclass(slots=True, kw_only=True)
class Ioc(Item):
    KIND: ClassVar[str] = "ioc"
    kind: str
    value: str
    note: str = ""
    finding_id: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    events: int = 0

    def validate(self) -> None:
        self.kind = _choice("IOC kind", self.kind, IOC_KINDS)
        self.value = _text("value", self.value, required=True, limit=2000).strip()
        self.note = _text("note", self.note)
        check_ioc_value(self.kind, self.value)


def check_ioc_value(kind: str, value: str) -> None:
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ItemError(f"{value!r} is not an IP address") from None
    elif kind == "access_key" and not _ACCESS_KEY.match(value):
        raise ItemError(f"{value!r} is not an AWS access key id (AKIA…/ASIA…)")
    elif kind == "arn" and not value.startswith("arn:"):
        raise ItemError(f"{value!r} is not an ARN (arn:partition:service:...)")
    elif kind == "account" and not _ACCOUNT.match(value):
        raise ItemError(f"{value!r} is not a 12-digit AWS account id")


@dataclass(slots=True, kw_only=True)
class Containment(Item):
    """A step taken to stop the intruder; ``at`` is when it took effect, so later use stands out."""

    KIND: ClassVar[str] = "containment"
    action: str
    target: str
    at: str
    note: str = ""

    def validate(self) -> None:
        self.action = _choice("action", self.action, CONTAINMENT_ACTIONS)
        self.target = _text("target", self.target, required=True, limit=2000).strip()
        self.note = _text("note", self.note)
        if self.action in ("disable_key", "delete_key"):
            check_ioc_value("access_key", self.target)
        elif self.action in ("revoke_sessions", "attach_deny_policy", "reset_password", "delete_user"):
            check_ioc_value("arn", self.target)


ITEM_TYPES: dict[str, type[Item]] = {cls.KIND: cls for cls in (Finding, Bookmark, Note, Tag, Ioc, Containment)}
