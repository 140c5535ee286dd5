"""An alarm for next time: what would catch a finding's behaviour in the live account.

Three forms, all built from the rule's one description of what it matches: an EventBridge event
pattern (real-time, per event), a CloudWatch Logs metric filter pattern for a trail delivered to
CloudWatch Logs (the CIS way, with an alarm threshold where the rule counts events), and a Sigma
rule for whatever SIEM reads the trail. Findings from a responder's own Sigma rules get that rule
back, plus a pattern for the event names the finding holds.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from investigations.detections.grouping import Finding
from investigations.detections.registry import Cond, Match, Threshold, eq, get_rule
from investigations.store import EventStore

SIGN_IN = frozenset({"ConsoleLogin", "CheckMfa", "SwitchRole", "ExitRole", "PasswordUpdated"})
_SOURCE_ALIASES = {"monitoring": "cloudwatch"}


@dataclass(slots=True)
class Alarm:
    finding_id: str
    rule_id: str
    title: str
    eventbridge: dict[str, Any]
    metric_filter: str
    sigma: str
    threshold: Threshold | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "finding_id": self.finding_id,
            "rule_id": self.rule_id,
            "title": self.title,
            "eventbridge_pattern": self.eventbridge,
            "metric_filter_pattern": self.metric_filter,
            "metric_alarm": {"threshold": self.threshold.count, "period_minutes": self.threshold.minutes}
            if self.threshold
            else {"threshold": 1, "period_minutes": 5},
            "sigma": self.sigma,
            "notes": self.notes,
        }


def _exact(cond: Cond) -> list[str]:
    return [v for v in cond.values if "*" not in v] if cond.op == "any" else []


def _matcher(glob: str) -> Any:
    if "*" not in glob:
        return glob
    inner = glob.strip("*")
    if "*" not in inner:
        if glob.endswith("*") and not glob.startswith("*"):
            return {"prefix": inner}
        if glob.startswith("*") and not glob.endswith("*"):
            return {"suffix": inner}
    return {"wildcard": glob}


def eventbridge(match: Match) -> dict[str, Any]:
    """An EventBridge pattern for CloudTrail events delivered to the default bus."""
    conds = [c for c in match.conditions() if not (c.op == "any" and c.values == ("*",))]
    detail: dict[str, Any] = {}
    sources: list[str] = []
    names: list[str] = []
    for cond in conds:
        if cond.path == "eventSource":
            sources += _exact(cond)
        if cond.path == "eventName":
            names += _exact(cond)
        node = detail
        *parents, leaf = cond.path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if cond.op == "any":
            node[leaf] = [_matcher(v) for v in cond.values]
        elif cond.op == "none":
            exact = [v for v in cond.values if "*" not in v]
            node[leaf] = (
                [{"anything-but": exact}]
                if len(exact) == len(cond.values)
                else [{"anything-but": {"wildcard": list(cond.values)}}]
            )
        else:
            node[leaf] = [{"exists": cond.op == "exists"}]
    pattern: dict[str, Any] = {}
    if sources:
        pattern["source"] = sorted({"aws." + _SOURCE_ALIASES.get(s.split(".")[0], s.split(".")[0]) for s in sources})
    if names and set(names) <= SIGN_IN:
        pattern["detail-type"] = ["AWS Console Sign In via CloudTrail"]
    elif names:
        pattern["detail-type"] = ["AWS API Call via CloudTrail"]
    else:
        pattern["detail-type"] = [
            "AWS API Call via CloudTrail",
            "AWS Console Sign In via CloudTrail",
            "AWS Console Action via CloudTrail",
        ]
    pattern["detail"] = detail
    return pattern


def _cw_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def metric_filter(match: Match) -> str:
    """A CloudWatch Logs metric filter pattern over the trail's JSON records."""
    terms: list[str] = []
    for cond in match.conditions():
        if cond.op == "any" and cond.values == ("*",):
            continue
        selector = "$." + cond.path
        if cond.op == "any":
            alts = [f"({selector} = {_cw_text(v)})" for v in cond.values]
            terms.append(alts[0] if len(alts) == 1 else "(" + " || ".join(alts) + ")")
        elif cond.op == "none":
            terms += [f"({selector} != {_cw_text(v)})" for v in cond.values]
        else:
            terms.append(f"({selector} {'EXISTS' if cond.op == 'exists' else 'NOT EXISTS'})")
    return "{ " + " && ".join(terms) + " }" if terms else "{ $.eventVersion = * }"


def sigma_rule(
    rule_id: str,
    title: str,
    why: str,
    level: str,
    technique: str,
    match: Match,
    threshold: Threshold | None,
    scope: str = "",
) -> str:
    """A Sigma rule (and, for volume rules, an event_count correlation on top of it)."""
    selections: list[dict[str, Any]] = [{}]
    filters: list[dict[str, Any]] = []
    for cond in match.conditions():
        if cond.op == "any" and cond.values == ("*",):
            continue
        if cond.op == "none":
            filters.append({cond.path: list(cond.values) if len(cond.values) > 1 else cond.values[0]})
            continue
        key = cond.path if cond.op == "any" else f"{cond.path}|exists"
        value: Any = (
            (list(cond.values) if len(cond.values) > 1 else cond.values[0]) if cond.op == "any" else cond.op == "exists"
        )
        target = next((s for s in selections if key not in s), None)
        if target is None:
            target = {}
            selections.append(target)
        target[key] = value
    detection: dict[str, Any] = {}
    names = ["selection"] if len(selections) == 1 else [f"selection_{i + 1}" for i in range(len(selections))]
    for name, sel in zip(names, selections, strict=True):
        detection[name] = sel
    for i, flt in enumerate(filters, 1):
        detection[f"filter_{i}"] = flt
    condition = "selection" if len(names) == 1 else "all of selection_*"
    if filters:
        condition += " and not 1 of filter_*"
    detection["condition"] = condition
    slug = re.sub(r"[^a-z0-9]+", "_", f"{rule_id} {scope}".lower()).strip("_")
    doc: dict[str, Any] = {
        "title": title,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailhound:{rule_id}:{scope}")),
        "name": slug,
        "status": "experimental",
        "description": why,
        "author": "Trailhound",
        "tags": [f"attack.{technique.lower()}"] if technique else [],
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "detection": detection,
        "level": "informational" if level == "info" else level,
    }
    docs = [doc]
    if threshold is not None:
        docs.append(
            {
                "title": f"{title} (volume)",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"trailhound:{rule_id}:{scope}:volume")),
                "status": "experimental",
                "correlation": {
                    "type": "event_count",
                    "rules": [slug],
                    "group-by": ["userIdentity.arn"],
                    "timespan": f"{threshold.minutes}m",
                    "condition": {"gte": threshold.count},
                },
                "level": doc["level"],
            }
        )
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def _events_match(store: EventStore, finding: Finding) -> Match:
    _, rows = store.sql(
        "SELECT DISTINCT event_source, event_name FROM events WHERE seq IN (SELECT unnest(?::BIGINT[])) "
        "AND event_name IS NOT NULL",
        [finding.seqs],
    )
    sources = sorted({r[0] for r in rows if r[0]})
    names = sorted({r[1] for r in rows})
    where = tuple(
        c for c in (eq("eventSource", *sources) if sources else None, eq("eventName", *names) if names else None) if c
    )
    return Match(where=where)


def alarm_for(store: EventStore, finding: Finding) -> Alarm:
    rule = get_rule(finding.rule_id) if finding.origin == "builtin" else None
    if rule is None:
        match = _events_match(store, finding)
        _, rows = store.sql("SELECT yaml FROM sigma_rules WHERE rule_id = ?", [finding.rule_id])
        sigma = (
            rows[0][0]
            if rows
            else sigma_rule(
                finding.rule_id, finding.title, finding.why, finding.severity.label, finding.technique, match, None
            )
        )
        notes = [
            "The EventBridge pattern and metric filter cover the event names in this finding; "
            "the Sigma rule is the exact form."
        ]
        return Alarm(
            finding.id, finding.rule_id, finding.title, eventbridge(match), metric_filter(match), sigma, None, notes
        )
    if rule.alarm_for is not None:
        match, scope = rule.alarm_for(finding, store), finding.actor
    else:
        assert rule.match is not None
        match, scope = Match(rule.match.source, rule.match.names, (*rule.match.where, *rule.alarm_where)), ""
    notes = list(rule.notes)
    if match.names and all(n.startswith(("Get", "List", "Describe")) for n in match.names):
        notes.append(
            "Read-only calls reach EventBridge only on a rule in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."
        )
    sigma = sigma_rule(rule.id, rule.title, rule.why, rule.severity.label, rule.technique, match, rule.threshold, scope)
    pattern = eventbridge(match)
    return Alarm(
        finding.id,
        rule.id,
        rule.title,
        pattern,
        rule.metric_filter or metric_filter(match),
        sigma,
        rule.threshold,
        notes,
    )


def render(alarm: Alarm) -> str:
    """The alarm as text for a terminal or a ticket."""
    threshold = alarm.threshold
    lines = [
        f"Alarm for {alarm.finding_id}: {alarm.title} ({alarm.rule_id})",
        "",
        "EventBridge event pattern:",
        orjson.dumps(alarm.eventbridge, option=orjson.OPT_INDENT_2).decode(),
        "",
        "CloudWatch Logs metric filter pattern (trail delivered to CloudWatch Logs):",
        alarm.metric_filter,
        f"  alarm when the metric sums to >= {threshold.count} within {threshold.minutes} minutes"
        if threshold
        else "  alarm when the metric sums to >= 1 within 5 minutes",
        "",
        "Sigma rule:",
        alarm.sigma.rstrip(),
    ]
    if alarm.notes:
        lines += ["", "Notes:", *(f"- {n}" for n in alarm.notes)]
    return "\n".join(lines)
