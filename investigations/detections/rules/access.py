"""Credential access and execution: secret harvesting, instance passwords, commands on instances."""

from __future__ import annotations

from typing import Any

from investigations.detections.context import Context, burst_sql
from investigations.detections.fields import values_at
from investigations.detections.grouping import Group
from investigations.detections.registry import Match, Rule, Severity, Threshold, absent, eq, exists, register

SECRET_READS = (
    ("secretsmanager.amazonaws.com", "GetSecretValue"),
    ("secretsmanager.amazonaws.com", "BatchGetSecretValue"),
    ("ssm.amazonaws.com", "GetParameter"),
    ("ssm.amazonaws.com", "GetParameters"),
    ("ssm.amazonaws.com", "GetParametersByPath"),
    ("kms.amazonaws.com", "Decrypt"),
)
#: Where each read names what it read; Decrypt names its key in ``resources``.
_ITEM_PATHS = (
    "requestParameters.secretId",
    "requestParameters.secretIdList",
    "requestParameters.name",
    "requestParameters.names",
    "requestParameters.path",
    "resources.ARN",
)


def _items(record: dict[str, Any]) -> set[str]:
    return {str(v) for path in _ITEM_PATHS for v in values_at(record, path) if isinstance(v, str | int)}


def _secret_bursts(ctx: Context) -> list[Group]:
    """Many different secrets read by one actor in a short sitting.

    Workloads read the same few secrets all day long, which makes bursts that never end and
    name one or two items; harvesting reads many different ones in minutes. So: bursts no
    longer than ``secrets_minutes``, with at least ``secrets_distinct`` different items. Only
    the events of such short bursts are read from the raw records, to name the items.
    """
    t = ctx.thresholds
    pairs = " OR ".join("(e.event_source = ? AND e.event_name = ?)" for _ in SECRET_READS)
    where = f"({pairs}) AND e.invoked_by IS NULL AND e.identity_type IS DISTINCT FROM 'AWSService'"
    partition = "coalesce(e.identity_arn, e.principal_id, e.access_key_id)"
    sql = burst_sql(
        where,
        partition,
        t.burst_gap_minutes,
        "list(rid ORDER BY seq)",
        "count(*) >= ? AND max(event_time) - min(event_time) <= to_minutes(?::BIGINT)",
        "count(*) >= ?",
    )
    names = [p for pair in SECRET_READS for p in pair]
    params = [*names, t.secrets_distinct, t.secrets_distinct, t.secrets_minutes]
    groups = []
    for actor, first, last, count, rids in ctx.rows(sql, params):
        records = ctx.records(rids)
        items = set().union(*(_items(r) for r in records.values())) if records else set()
        if len(items) >= t.secrets_distinct:
            hits = ctx.burst_hits(where, names, partition, actor, first, last)
            groups.append(Group(hits, detail=f"{count} reads of {len(items)} different secrets, parameters or keys"))
    return groups


register(
    Rule(
        "TH-CRED-SECRET-BURST",
        "Burst of secret, parameter or key reads",
        Severity.HIGH,
        "T1555.006",
        "Reading many different secrets, SSM parameters or KMS keys in one sitting is credential harvesting: "
        "one stolen key becomes every password and API token the account stores.",
        match=Match(
            names=tuple(name for _, name in SECRET_READS),
            where=(eq("eventSource", *sorted({s for s, _ in SECRET_READS})), absent("userIdentity.invokedBy")),
        ),
        detect=_secret_bursts,
        threshold=Threshold(20, 10),
        notes=(
            "The alarm counts reads per identity; Trailhound's rule also asks for many different items, which "
            "a metric cannot, so set the threshold above your workloads' steady rate.",
        ),
    )
)
register(
    Rule(
        "TH-CRED-EC2-PASSWORD",
        "Windows instance password retrieved",
        Severity.MEDIUM,
        "T1552",
        "GetPasswordData returns the encrypted local Administrator password of a Windows instance; with the key "
        "pair it is a login to the machine.",
        match=Match("ec2.amazonaws.com", ("GetPasswordData",)),
    )
)


def _user_data_changed(record: dict[str, Any], ctx: Context) -> str | None:
    params = record.get("requestParameters")
    if not isinstance(params, dict):
        return None
    if str(params.get("attribute", "")).lower() == "userdata" or values_at(params, "userData"):
        return f"user data of {params.get('instanceId', '?')} replaced"
    return None


register(
    Rule(
        "TH-EXEC-USERDATA",
        "Instance user data modified",
        Severity.HIGH,
        "T1059.009",
        "User data runs as root at the next start; replacing it is a way to run code on an instance without "
        "logging into it.",
        match=Match("ec2.amazonaws.com", ("ModifyInstanceAttribute",), (absent("errorCode"),)),
        check=_user_data_changed,
        alarm_where=(exists("requestParameters.userData"),),
    )
)
register(
    Rule(
        "TH-EXEC-SSM",
        "Command run or session opened on an instance through SSM",
        Severity.MEDIUM,
        "T1651",
        "SendCommand and StartSession run code or open a shell on managed instances with no network path "
        "and no SSH key; from an unexpected principal they are lateral movement.",
        match=Match("ssm.amazonaws.com", ("SendCommand", "StartSession"), (absent("errorCode"),)),
    )
)
register(
    Rule(
        "TH-EXEC-LAMBDA-URL-PUBLIC",
        "Lambda function URL with no authentication",
        Severity.HIGH,
        "T1133",
        "A function URL with AuthType NONE lets anyone on the internet invoke the function, with its role's "
        "permissions: a ready-made backdoor.",
        match=Match(
            "lambda.amazonaws.com",
            ("CreateFunctionUrlConfig*", "UpdateFunctionUrlConfig*"),
            (eq("requestParameters.authType", "NONE"), absent("errorCode")),
        ),
    )
)
