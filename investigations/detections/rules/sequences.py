"""Credentials in the wrong place: patterns over several events of one key or session.

- A long-term key (AKIA) seen from two far-apart networks within minutes: one person cannot be in
  both places, so the key is in two hands. "Far apart" is a different country or a different ASN
  where the geo data knows both addresses (two /16s of one ASN in one country are one network),
  else a different /16 (IPv4) or /32 (IPv6). Like is compared with like: a known country is never
  compared with a bare /16.
- GetCallerIdentity from a network new to the key or its principal, followed by a sweep of
  List/Describe/Get calls: the first thing anyone does with a found key.
- Instance-profile credentials (session named after an instance id) used from a public address
  in another /16 than the one the instance itself first used: credentials taken off the instance.
"""

from __future__ import annotations

from investigations.baseline import PRINCIPAL_SQL
from investigations.detections.context import Context
from investigations.detections.grouping import Group, bursts
from investigations.detections.registry import Match, Rule, Severity, absent, eq, register


def _distant_key_use(ctx: Context) -> list[Group]:
    rows = ctx.rows(
        "WITH k AS (SELECT e.seq, e.event_time, e.access_key_id AS k, e.source_ip, i.country, i.asn, i.wide "
        "FROM events e JOIN ip_info i ON i.ip = e.source_ip "
        "WHERE e.access_key_id LIKE 'AKIA%' AND NOT i.internal AND e.invoked_by IS NULL), "
        "moved AS (SELECT k FROM k GROUP BY k "
        "HAVING count(DISTINCT wide) > 1 OR count(DISTINCT asn) > 1 OR count(DISTINCT country) > 1), "
        "c AS (SELECT *, lag(country) OVER w AS prev_country, lag(asn) OVER w AS prev_asn, "
        "lag(wide) OVER w AS prev_wide, lag(event_time) OVER w AS prev_time, "
        "lag(seq) OVER w AS prev_seq, lag(source_ip) OVER w AS prev_ip FROM k SEMI JOIN moved USING (k) "
        "WINDOW w AS (PARTITION BY k ORDER BY seq)) "
        "SELECT k, prev_seq, seq, prev_ip, source_ip FROM c "
        "WHERE CASE WHEN prev_country IS NOT NULL AND country IS NOT NULL AND prev_country <> country THEN TRUE "
        "WHEN prev_asn IS NOT NULL AND asn IS NOT NULL THEN prev_asn <> asn "
        "WHEN prev_country IS NOT NULL AND country IS NOT NULL THEN FALSE "
        "ELSE prev_wide <> wide END "
        "AND event_time - prev_time <= to_minutes(?::BIGINT) ORDER BY seq",
        [ctx.thresholds.distant_minutes],
    )
    seqs = {s for row in rows for s in row[1:3]}
    hits = ctx.hits_for(sorted(seqs))
    places: dict[int, str] = {}
    for _, prev_seq, seq, prev_ip, ip in rows:
        places[prev_seq] = f"{prev_ip} and {ip}"
        places[seq] = f"{prev_ip} and {ip}"
    groups = []
    for burst in bursts([hits[s] for s in sorted(seqs) if s in hits], ctx.options.gap):
        pairs = sorted({places[h.seq] for h in burst})
        detail = f"key used from {'; '.join(pairs[:3])} within {ctx.thresholds.distant_minutes} minutes"
        groups.append(Group(burst, detail=detail))
    return groups


register(
    Rule(
        "TH-KEY-DISTANT-NETWORKS",
        "Long-term key used from two distant networks within minutes",
        Severity.HIGH,
        "T1078.004",
        "An access key used from two far-apart networks minutes apart is being used by two parties: the owner "
        "and whoever copied it.",
        match=Match(where=(eq("userIdentity.accessKeyId", "AKIA*"),)),
        detect=_distant_key_use,
        notes=(
            "CloudTrail alone cannot alarm on distance; the alarm watches the key's calls so a metric can be drawn.",
        ),
    )
)


def _recon_from_new_network(ctx: Context) -> list[Group]:
    t = ctx.thresholds
    rows = ctx.rows(
        f"WITH g AS (SELECT e.seq AS gseq, e.event_time AS gtime, e.access_key_id AS gkey, {PRINCIPAL_SQL} AS gp, "
        "i.network AS gnet FROM events e JOIN ip_info i ON i.ip = e.source_ip "
        "WHERE e.event_name = 'GetCallerIdentity' AND e.error_code IS NULL AND e.access_key_id IS NOT NULL), "
        "n AS (SELECT DISTINCT g.* FROM g JOIN first_seen f ON f.dimension = 'network' AND f.new AND f.value = g.gnet "
        "AND ((f.kind = 'key' AND f.entity = g.gkey) OR (f.kind = 'principal' AND f.entity = g.gp)) "
        "AND f.event_time BETWEEN g.gtime - INTERVAL 10 MINUTE AND g.gtime) "
        "SELECT n.gseq, n.gnet, list(e.seq ORDER BY e.seq), count(DISTINCT e.event_name) FROM n JOIN events e "
        "ON e.access_key_id = n.gkey AND e.event_time >= n.gtime AND e.event_time <= n.gtime + to_minutes(?::BIGINT) "
        "AND e.seq > n.gseq AND regexp_matches(e.event_name, '^(List|Describe|Get)') "
        "GROUP BY n.gseq, n.gnet HAVING count(DISTINCT e.event_name) >= ? ORDER BY n.gseq",
        [t.enumeration_minutes, t.enumeration_calls],
    )
    groups = []
    for gseq, network, seqs, names in rows:
        hits = ctx.hits_for([gseq, *seqs])
        detail = f"GetCallerIdentity from new network {network}, then {names} kinds of List/Describe/Get calls"
        groups.append(Group(list(hits.values()), detail=detail, actor=hits[gseq].actor if gseq in hits else None))
    return groups


register(
    Rule(
        "TH-RECON-NEW-NETWORK",
        "GetCallerIdentity from a new network, then enumeration",
        Severity.HIGH,
        "T1087.004",
        "Whoever finds a key first asks whose it is, then lists what it can reach. From a network the key or its "
        "principal never used, that sequence is a stranger taking stock.",
        match=Match("sts.amazonaws.com", ("GetCallerIdentity",), (absent("errorCode"),)),
        detect=_recon_from_new_network,
    )
)

_INSTANCE_SESSION = r"assumed-role/[^/]+/i-[0-9a-f]{8,17}$"


def _instance_creds_outside(ctx: Context) -> list[Group]:
    rows = ctx.rows(
        "WITH s AS (SELECT e.seq, e.identity_arn AS arn, e.source_ip, i.wide FROM events e "
        "JOIN ip_info i ON i.ip = e.source_ip WHERE e.identity_type = 'AssumedRole' "
        "AND e.identity_arn LIKE '%/i-%' AND regexp_matches(e.identity_arn, ?) AND NOT i.internal), "
        "h AS (SELECT arn, arg_min(wide, seq) AS home, arg_min(source_ip, seq) AS home_ip FROM s GROUP BY arn) "
        "SELECT s.arn, h.home_ip, list(s.seq ORDER BY s.seq), list(DISTINCT s.source_ip) FROM s JOIN h USING (arn) "
        "WHERE s.wide <> h.home GROUP BY s.arn, h.home_ip ORDER BY min(s.seq)",
        [_INSTANCE_SESSION],
    )
    groups = []
    for arn, home_ip, seqs, ips in rows:
        for burst in bursts(list(ctx.hits_for(seqs).values()), ctx.options.gap):
            detail = f"instance credentials used from {', '.join(sorted(ips)[:5])}; the instance itself used {home_ip}"
            groups.append(Group(burst, detail=detail, actor=arn))
    return groups


register(
    Rule(
        "TH-CRED-INSTANCE-OUTSIDE",
        "Instance-profile credentials used from outside their instance",
        Severity.HIGH,
        "T1552.005",
        "Instance role credentials are meant to stay on the instance; used from an unrelated public address they "
        "were taken through the metadata service (SSRF, a compromised host) and are being replayed elsewhere.",
        match=Match(where=(eq("userIdentity.type", "AssumedRole"), eq("userIdentity.arn", "*/i-*"))),
        detect=_instance_creds_outside,
        notes=(
            "EventBridge and metric filters cannot compare with the instance's own address; pair the alarm with "
            "GuardDuty's InstanceCredentialExfiltration findings.",
        ),
    )
)
