"""Tools in user agents: offensive frameworks and distributions, and audit tools run by a newcomer.

User agents are client-supplied, so a careful intruder changes them; the ones who do not give
themselves away (boto on Kali reports the kernel, Stratus Red Team and others name themselves).
Cloud auditing tools (Prowler, ScoutSuite, CloudMapper) are legitimate when the security team
runs them on a schedule, so they count only when the principal had not run one during its
learning period in the case.
"""

from __future__ import annotations

from investigations.baseline import PRINCIPAL_SQL, learning_window
from investigations.detections.context import Context
from investigations.detections.fields import cond_sql
from investigations.detections.grouping import Group, bursts
from investigations.detections.registry import Match, Rule, Severity, eq, register

OFFENSIVE = (
    "*kali*",
    "*Kali*",
    "*parrot*",
    "*Parrot*",
    "*pentoo*",
    "*Pentoo*",
    "*Pacu*",
    "*pacu*",
    "*stratus-red-team*",
    "*WeirdAAL*",
    "*weirdAAL*",
    "*enumerate-iam*",
    "*CloudFox*",
    "*cloudfox*",
    "*aws_pwn*",
    "*cloudgoat*",
)
AUDIT = (
    "*Prowler*",
    "*prowler*",
    "*APN_1826889*",
    "*Scout Suite*",
    "*ScoutSuite*",
    "*CloudMapper*",
    "*cloudmapper*",
    "*cloudsploit*",
    "*CloudSploit*",
    "*PMapper*",
)

register(
    Rule(
        "TH-TOOL-OFFENSIVE",
        "Offensive tooling in the user agent",
        Severity.HIGH,
        "T1588.002",
        "Calls made from Kali, Parrot or Pentoo, or by Pacu, Stratus Red Team and similar frameworks, are attack "
        "tooling at work; outside an announced test they mean an intruder.",
        match=Match(where=(eq("userAgent", *OFFENSIVE),)),
        check=lambda record, ctx: f"user agent {str(record.get('userAgent'))[:120]}",
    )
)


def _audit_by_newcomer(ctx: Context) -> list[Group]:
    ua_sql, params = cond_sql(eq("userAgent", *AUDIT))
    window = learning_window(ctx.store, ctx.options.learning)
    rows = ctx.rows(
        f"WITH p AS (SELECT {PRINCIPAL_SQL} AS principal, min(event_time) AS t0 FROM events e GROUP BY 1), "
        f"a AS (SELECT e.seq, {PRINCIPAL_SQL} AS principal, e.event_time FROM events e WHERE {ua_sql}), "
        "f AS (SELECT principal, min(event_time) AS first_audit FROM a GROUP BY 1) "
        "SELECT a.principal, list(a.seq ORDER BY a.seq) FROM a JOIN p USING (principal) JOIN f USING (principal) "
        "WHERE f.first_audit >= p.t0 + ? GROUP BY a.principal ORDER BY min(a.seq)",
        [*params, window],
    )
    groups = []
    for principal, seqs in rows:
        for burst in bursts(list(ctx.hits_for(seqs).values()), ctx.options.gap):
            groups.append(
                Group(burst, detail=f"audit tool run by {principal}, not seen running one before", actor=principal)
            )
    return groups


register(
    Rule(
        "TH-TOOL-AUDIT-NEWCOMER",
        "Cloud audit tool run by a principal not known to run it",
        Severity.MEDIUM,
        "T1580",
        "Prowler, ScoutSuite and CloudMapper map an account in minutes; run by a principal that never ran them "
        "before, that is reconnaissance with borrowed credentials.",
        match=Match(where=(eq("userAgent", *AUDIT),)),
        detect=_audit_by_newcomer,
    )
)
