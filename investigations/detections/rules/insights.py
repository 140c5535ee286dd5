"""CloudTrail Insights events in the case, one finding per insight (its Start and End records).

Insights already did the statistics: an unusual rate of write calls or of errors against a
week-long baseline. Each becomes a finding attributed to the top identity in its attributions.
"""

from __future__ import annotations

from typing import Any

from investigations.detections.context import Context
from investigations.detections.fields import values_at
from investigations.detections.grouping import Group
from investigations.detections.registry import Match, Rule, Severity, eq, register


def _describe(details: dict[str, Any]) -> tuple[str, str | None]:
    """A one-line summary and the top attributed identity, from an insightDetails object."""
    kind = details.get("insightType", "Insight")
    api = f"{details.get('eventSource', '?')} {details.get('eventName', '?')}"
    stats = (
        details.get("insightContext", {}).get("statistics", {})
        if isinstance(details.get("insightContext"), dict)
        else {}
    )
    rate = values_at(stats, "insight.average")
    base = values_at(stats, "baseline.average")
    summary = f"{kind} on {api}"
    if rate and base:
        summary += f": {rate[0]} per minute against a baseline of {base[0]}"
    actor = None
    for attribution in values_at(details, "insightContext.attributions"):
        if isinstance(attribution, dict) and attribution.get("attribute") == "userIdentityArn":
            top = values_at(attribution, "insight.value")
            actor = str(top[0]) if top else None
    return summary, actor


def _insights(ctx: Context) -> list[Group]:
    rows = ctx.rows(
        "SELECT coalesce(shared_event_id, event_id), list(seq ORDER BY seq), list(rid ORDER BY seq) FROM events "
        "WHERE event_type = 'AwsCloudTrailInsight' GROUP BY 1 ORDER BY min(seq)"
    )
    records = ctx.records([rid for row in rows for rid in row[2]])
    hits = ctx.hits_for([seq for row in rows for seq in row[1]])
    groups = []
    for _, seqs, rids in rows:
        details = next((records[r].get("insightDetails") for r in rids if r in records), None)
        summary, actor = _describe(details if isinstance(details, dict) else {})
        groups.append(Group([hits[s] for s in seqs if s in hits], detail=summary, actor=actor or "CloudTrail Insights"))
    return groups


register(
    Rule(
        "TH-INSIGHTS",
        "CloudTrail Insights: unusual API activity",
        Severity.MEDIUM,
        "T1580",
        "Insights flags API call or error rates far above the account's own weekly baseline, the footprint of "
        "scripted enumeration, brute force, or a runaway resource spree.",
        match=Match(where=(eq("eventType", "AwsCloudTrailInsight"),)),
        detect=_insights,
        notes=("Insights events arrive through the trail's Insights selector, not EventBridge API-call events.",),
    )
)
