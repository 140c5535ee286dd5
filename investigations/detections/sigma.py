"""Sigma rules from a folder, evaluated against the case store.

Only rules for ``logsource: {product: aws, service: cloudtrail}`` apply; others are skipped and
listed. Every rule that cannot be evaluated (a correlation rule, the retired ``| count()`` pipe
syntax, a modifier this engine does not evaluate, a regex RE2 refuses) is listed by title, id
and reason: a responder must know which of their rules did not run, never assume it ran clean.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from investigations.detections.context import Context
from investigations.detections.grouping import Hit
from investigations.detections.registry import Severity
from investigations.detections.sigma_sql import Translator, Unsupported

_LEVELS = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$")


@dataclass(frozen=True, slots=True)
class SigmaProblem:
    """A rule (or file) that was not evaluated. ``kind``: skipped, unsupported, invalid, failed."""

    path: str
    title: str
    rule_id: str | None
    kind: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "title": self.title, "id": self.rule_id, "kind": self.kind, "reason": self.reason}


@dataclass(slots=True)
class SigmaRuleInfo:
    """A loaded Sigma rule in the shape findings need (it satisfies grouping.RuleMeta)."""

    id: str
    title: str
    severity: Severity
    technique: str
    why: str
    path: str
    text: str
    condition: Any


@dataclass(slots=True)
class SigmaPack:
    rules: list[SigmaRuleInfo] = field(default_factory=list)
    problems: list[SigmaProblem] = field(default_factory=list)
    files: int = 0


def _rule_id(rule: SigmaRule | SigmaCorrelationRule) -> str | None:
    if rule.id:
        return f"SIGMA-{rule.id}"
    slug = re.sub(r"[^a-z0-9]+", "-", (rule.title or "").lower()).strip("-")
    return f"SIGMA-{slug}" if slug else None


def _technique(rule: SigmaRule) -> str:
    for tag in rule.tags:
        if tag.namespace == "attack" and _TECHNIQUE.match(tag.name.lower()):
            return tag.name.upper()
    return ""


def _condition(rule: SigmaRule) -> Any:
    parsed = [c.parsed for c in rule.detection.parsed_condition]
    return parsed[0] if len(parsed) == 1 else ConditionOR(parsed)


def _info(rule: SigmaRule, path: str) -> SigmaRuleInfo:
    level = str(rule.level).lower() if rule.level else "medium"
    return SigmaRuleInfo(
        id=_rule_id(rule) or "SIGMA-untitled",
        title=rule.title,
        severity=_LEVELS.get(level, Severity.MEDIUM),
        technique=_technique(rule),
        why=(rule.description or rule.title).strip(),
        path=path,
        text=yaml.safe_dump(rule.to_dict(), sort_keys=False, allow_unicode=True),
        condition=_condition(rule),
    )


def _applies(rule: SigmaRule) -> bool:
    source = rule.logsource
    return (source.product or "").lower() == "aws" and (source.service or "").lower() == "cloudtrail"


def load(directory: Path) -> SigmaPack:
    """Every ``.yml``/``.yaml`` under ``directory``: rules to evaluate and problems to report."""
    pack = SigmaPack()
    for path in sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()):
        pack.files += 1
        name = str(path.relative_to(directory))
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"), collect_errors=True)
        except (SigmaError, yaml.YAMLError, UnicodeDecodeError) as exc:
            pack.problems.append(SigmaProblem(name, path.name, None, "invalid", str(exc).splitlines()[0]))
            continue
        for rule in collection.rules:
            title, rule_id = rule.title or path.name, _rule_id(rule)
            if isinstance(rule, SigmaCorrelationRule):
                reason = f"correlation rule ({rule.type}) is not evaluated"
                pack.problems.append(SigmaProblem(name, title, rule_id, "unsupported", reason))
                continue
            if rule.errors:
                pack.problems.append(SigmaProblem(name, title, rule_id, "invalid", str(rule.errors[0])))
                continue
            if not _applies(rule):
                source = rule.logsource
                where = "/".join(str(x) for x in (source.product, source.service, source.category) if x)
                reason = f"logsource {where or 'unspecified'} is not aws/cloudtrail"
                pack.problems.append(SigmaProblem(name, title, rule_id, "skipped", reason))
                continue
            try:
                info = _info(rule, name)
                Translator(lambda expr, nets: []).translate(info.condition)  # raises for what cannot run
            except Unsupported as exc:
                pack.problems.append(SigmaProblem(name, title, rule_id, "unsupported", str(exc)))
                continue
            except SigmaError as exc:
                pack.problems.append(SigmaProblem(name, title, rule_id, "unsupported", str(exc)))
                continue
            pack.rules.append(info)
    return pack


def _cidr_resolver(ctx: Context) -> Any:
    def resolve(expr: str, networks: list[Any]) -> list[str]:
        join = "JOIN raw_events r ON r.rid = e.rid" if "r.raw" in expr else ""
        values = [r[0] for r in ctx.rows(f"SELECT DISTINCT {expr} FROM events e {join} WHERE {expr} IS NOT NULL")]
        inside = []
        for value in values:
            try:
                addr = ipaddress.ip_address(str(value).strip())
            except ValueError:
                continue
            if any(addr.version == n.version and addr in n for n in networks):
                inside.append(value)
        return inside

    return resolve


#: Above this many candidate rows, reading every raw record is cheaper than looking them up by id.
_LOOKUP_LIMIT = 50_000


def evaluate(ctx: Context, rule: SigmaRuleInfo) -> list[Hit]:
    """Hits for one loaded rule; raises Unsupported when the store's SQL engine refuses it.

    Conditions on raw fields are read from the raw records of the rows the typed part of the
    condition allows, when it narrows them down: a join against every raw record costs seconds
    on a million events, a lookup of a few thousand by id milliseconds.
    """
    resolve = _cidr_resolver(ctx)
    full = Translator(resolve).translate(rule.condition)
    assert full is not None
    joins, where, params = "", full.sql, list(full.params)
    if full.raw:
        joins = "JOIN raw_events r ON r.rid = e.rid"
        narrow = Translator(resolve, typed_only=True).translate(rule.condition)
        if narrow is not None:
            rids = [r[0] for r in ctx.rows(f"SELECT e.rid FROM events e WHERE {narrow.sql}", narrow.params)]
            if len(rids) <= _LOOKUP_LIMIT:
                # both sides restricted, or the planner may evaluate the raw fields on every event
                joins = "JOIN (SELECT rid, raw FROM raw_events WHERE rid = ANY(?::BIGINT[])) r ON r.rid = e.rid"
                where = f"e.rid = ANY(?::BIGINT[]) AND {full.sql}"
                params = [rids, rids, *params]
    try:
        return ctx.hits(where, params, joins)
    except duckdb.Error as exc:
        raise Unsupported(f"the query engine refused it: {str(exc).splitlines()[0]}") from None
