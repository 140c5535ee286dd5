"""Newly observed: a principal doing something from somewhere, or with something, for the first time.

These read the baseline (``investigations.baseline``): each finding is a principal's first
sightings of new values, grouped by burst, so "the deploy role, from a new network, with a new
tool, in a new region" reads as one cluster in time. Their alarms are specific to the principal:
its calls from anywhere but the values it had in its learning period.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace

from investigations.detections.context import Context
from investigations.detections.grouping import Finding, Group, Hit, bursts
from investigations.detections.registry import Cond, Match, Rule, Severity, eq, ne, register
from investigations.store import EventStore

#: dimension -> (rule suffix, title noun, severity, CloudTrail path the alarm watches)
DIMENSIONS: dict[str, tuple[str, str, Severity, str]] = {
    "ip": ("IP", "source IP", Severity.INFO, "sourceIPAddress"),
    "network": ("NETWORK", "network", Severity.LOW, "sourceIPAddress"),
    "asn": ("ASN", "autonomous system", Severity.MEDIUM, "sourceIPAddress"),
    "country": ("COUNTRY", "country", Severity.MEDIUM, "sourceIPAddress"),
    "user_agent": ("USER-AGENT", "user agent", Severity.LOW, "userAgent"),
    "region": ("REGION", "region", Severity.LOW, "awsRegion"),
    "api": ("API", "API call", Severity.INFO, "eventName"),
}
#: User-agent families whose marker is not simply "<family>/".
_UA_GLOBS = {"Terraform": "*Terraform*", "Pulumi": "*pulumi*", "browser": "Mozilla/*", "AWSPowerShell": "*PowerShell*"}
_MAX_ALARM_VALUES = 50


def _novel_hits(ctx: Context) -> dict[str, list[tuple[str, Hit]]]:
    """Every principal's newly observed values as (principal, labelled hit) per dimension, read once."""
    if "novelty" not in ctx.shared:
        rows = ctx.rows(
            "SELECT dimension, entity, value, seq FROM first_seen WHERE kind = 'principal' AND new ORDER BY seq"
        )
        hits = ctx.hits_for(sorted({r[3] for r in rows}))
        found: dict[str, list[tuple[str, Hit]]] = {}
        for dimension, principal, value, seq in rows:
            if seq in hits:
                noun = DIMENSIONS[dimension][1]
                labelled = replace(hits[seq], actor=principal, detail=f"new {noun} {value}")
                found.setdefault(dimension, []).append((principal, labelled))
        ctx.shared["novelty"] = found
    return ctx.shared["novelty"]


def _detector(dimension: str) -> Callable[[Context], list[Group]]:
    def detect(ctx: Context) -> list[Group]:
        by_principal: dict[str, list[Hit]] = {}
        for principal, hit in _novel_hits(ctx).get(dimension, []):
            by_principal.setdefault(principal, []).append(hit)
        return [
            Group(burst, actor=principal)
            for principal, hits in by_principal.items()
            for burst in bursts(hits, ctx.options.gap)
        ]

    return detect


def _principal_path(principal: str) -> str:
    if ":role/" in principal and principal.startswith("arn:"):
        return "userIdentity.sessionContext.sessionIssuer.arn"
    return "userIdentity.arn"


def _glob(dimension: str, value: str) -> str:
    if dimension == "network":
        net = ipaddress.ip_network(value, strict=False)
        if net.version == 4:
            return ".".join(str(net.network_address).split(".")[:3]) + ".*"
        return ":".join(format(int(h, 16), "x") for h in net.network_address.exploded.split(":")[:3]) + ":*"
    if dimension == "user_agent":
        return _UA_GLOBS.get(value, f"{value}/*" if "." not in value else value)
    if dimension == "api":
        return value.split(":", 1)[-1]
    return value


def _alarm(dimension: str) -> Callable[[Finding, EventStore], Match]:
    def alarm_for(finding: Finding, store: EventStore) -> Match:
        watched = "network" if dimension in ("asn", "country") else dimension
        _, rows = store.sql(
            "SELECT value FROM first_seen WHERE kind = 'principal' AND entity = ? AND dimension = ? AND NOT new "
            "ORDER BY count DESC LIMIT ?",
            [finding.actor, watched, _MAX_ALARM_VALUES],
        )
        known = sorted({_glob(watched, r[0]) for r in rows})
        where: list[Cond] = [eq(_principal_path(finding.actor), finding.actor)]
        if known:
            where.append(ne(DIMENSIONS[watched][3], *known))
        return Match(where=tuple(where))

    return alarm_for


for _dimension, (_suffix, _noun, _severity, _path) in DIMENSIONS.items():
    register(
        Rule(
            f"TH-NEW-{_suffix}",
            f"Newly observed {_noun} for a principal",
            _severity,
            "T1078.004",
            f"The principal used a {_noun} it had not used in its own earlier activity in this case; stolen "
            "credentials show up as the same identity in a new place or with a new tool.",
            detect=_detector(_dimension),
            alarm_for=_alarm(_dimension),
            notes=(
                "The alarm is specific to this principal: its calls with a value outside what it used during "
                "its learning period (at most 50 values are listed). IPv6 networks are matched on the "
                "address text, so a zero-compressed address can slip past.",
            ),
        )
    )
