"""What each event touched: resource ARNs from ``resources[]`` and from well-known request fields.

CloudTrail's ``resources[]`` is sparse (S3 data events, STS, KMS...); most APIs name their
target only in ``requestParameters`` or, for creations, ``responseElements``. The derived table
``event_resources(seq, rid, resource, kind, write)`` is built in one SQL statement with DuckDB's
JSON functions (each record parsed once) and kept in the case store, rebuilt when the events
change, so pivots and the entity graph join against it instead of re-reading JSON.

Resource ids are ARNs. Where a request names a resource by bare id or name, the ARN is composed
from the event's account and region; S3 objects also yield their prefix
(``arn:aws:s3:::bucket/dir/``) so a graph can show where in a bucket someone read without a node
per object.
"""

from __future__ import annotations

import duckdb

from investigations.derived import ensure_derived
from investigations.store import EventStore

TABLE = "event_resources"

#: Kinds the entity graph shows as resource nodes; objects are summarised by their prefix.
GRAPH_KINDS = frozenset(
    {
        "s3_bucket",
        "s3_prefix",
        "ec2_instance",
        "security_group",
        "snapshot",
        "image",
        "volume",
        "iam_role",
        "iam_user",
        "iam_policy",
        "iam_group",
        "secret",
        "ssm_parameter",
        "kms_key",
        "trail",
        "lambda_function",
        "other",
    }
)

# (event source, JSON path, how to make an ARN of the value). "{r}"/"{a}" are region/account.
# A path ending in [*] yields a list. "arn:" values are kept as they are.
_RULES: tuple[tuple[str, str, str], ...] = (
    ("s3", "$.requestParameters.bucketName", "arn:aws:s3:::{v}"),
    ("ec2", "$.requestParameters.instanceId", "arn:aws:ec2:{r}:{a}:instance/{v}"),
    ("ec2", "$.requestParameters.instancesSet.items[*].instanceId", "arn:aws:ec2:{r}:{a}:instance/{v}"),
    ("ec2", "$.responseElements.instancesSet.items[*].instanceId", "arn:aws:ec2:{r}:{a}:instance/{v}"),
    ("ec2", "$.requestParameters.groupId", "arn:aws:ec2:{r}:{a}:security-group/{v}"),
    ("ec2", "$.responseElements.groupId", "arn:aws:ec2:{r}:{a}:security-group/{v}"),
    ("ec2", "$.requestParameters.snapshotId", "arn:aws:ec2:{r}::snapshot/{v}"),
    ("ec2", "$.responseElements.snapshotId", "arn:aws:ec2:{r}::snapshot/{v}"),
    ("ec2", "$.requestParameters.imageId", "arn:aws:ec2:{r}::image/{v}"),
    ("ec2", "$.responseElements.imageId", "arn:aws:ec2:{r}::image/{v}"),
    ("ec2", "$.requestParameters.volumeId", "arn:aws:ec2:{r}:{a}:volume/{v}"),
    ("iam", "$.requestParameters.roleName", "arn:aws:iam::{a}:role/{v}"),
    ("iam", "$.requestParameters.userName", "arn:aws:iam::{a}:user/{v}"),
    ("iam", "$.requestParameters.groupName", "arn:aws:iam::{a}:group/{v}"),
    ("iam", "$.requestParameters.policyArn", "{v}"),
    ("secretsmanager", "$.requestParameters.secretId", "arn:aws:secretsmanager:{r}:{a}:secret:{v}"),
    ("ssm", "$.requestParameters.name", "arn:aws:ssm:{r}:{a}:parameter/{v}"),
    ("ssm", "$.requestParameters.names[*]", "arn:aws:ssm:{r}:{a}:parameter/{v}"),
    ("kms", "$.requestParameters.keyId", "arn:aws:kms:{r}:{a}:key/{v}"),
    ("cloudtrail", "$.requestParameters.name", "arn:aws:cloudtrail:{r}:{a}:trail/{v}"),
    ("cloudtrail", "$.requestParameters.trailName", "arn:aws:cloudtrail:{r}:{a}:trail/{v}"),
    ("lambda", "$.requestParameters.functionName", "arn:aws:lambda:{r}:{a}:function:{v}"),
)

_KIND = """CASE
    WHEN resource LIKE 'arn:aws:s3:::%/' THEN 's3_prefix'
    WHEN resource LIKE 'arn:aws:s3:::%/%' THEN 's3_object'
    WHEN resource LIKE 'arn:aws:s3:::%' THEN 's3_bucket'
    WHEN resource LIKE 'arn:aws:ec2:%:instance/%' THEN 'ec2_instance'
    WHEN resource LIKE 'arn:aws:ec2:%:security-group/%' THEN 'security_group'
    WHEN resource LIKE 'arn:aws:ec2:%:snapshot/%' THEN 'snapshot'
    WHEN resource LIKE 'arn:aws:ec2:%:image/%' THEN 'image'
    WHEN resource LIKE 'arn:aws:ec2:%:volume/%' THEN 'volume'
    WHEN resource LIKE 'arn:aws:iam::%:role/%' THEN 'iam_role'
    WHEN resource LIKE 'arn:aws:iam::%:user/%' THEN 'iam_user'
    WHEN resource LIKE 'arn:aws:iam::%:group/%' THEN 'iam_group'
    WHEN resource LIKE 'arn:aws:iam::%:policy/%' THEN 'iam_policy'
    WHEN resource LIKE 'arn:aws:secretsmanager:%' THEN 'secret'
    WHEN resource LIKE 'arn:aws:ssm:%:parameter/%' THEN 'ssm_parameter'
    WHEN resource LIKE 'arn:aws:kms:%' THEN 'kms_key'
    WHEN resource LIKE 'arn:aws:cloudtrail:%:trail/%' THEN 'trail'
    WHEN resource LIKE 'arn:aws:lambda:%:function:%' THEN 'lambda_function'
    ELSE 'other' END"""

#: Reads and writes: CloudTrail's readOnly, else the verb of the API name.
WRITE_SQL = "coalesce(NOT e.read_only, NOT regexp_matches(e.event_name, '^(Get|List|Describe|Head|Lookup|BatchGet)'))"


def _arn(template: str, value: str) -> str:
    """SQL composing an ARN from a value, unless the value already is one."""
    parts = template.replace("{r}", "' || coalesce(region, '') || '").replace("{a}", "' || coalesce(acct, '') || '")
    before, _, after = parts.partition("{v}")
    value_sql = f"ltrim({value}, '/')" if ":parameter/" in template else value
    composed = f"'{before}' || {value_sql} || '{after}'"
    return f"CASE WHEN {value} = '' THEN NULL WHEN {value} LIKE 'arn:%' THEN {value} ELSE {composed} END"


def _derived_sql() -> str:
    # Each record is parsed once: every path below is read in one json_extract_string call (a
    # path with [*] reads its array as JSON text there, walked cheaply after), and each row's
    # candidates are gathered into one list, unnested once. S3 data events name their bucket and
    # object in resources[] already, so their JSON is not parsed at all.
    bases = list(dict.fromkeys([*(p.split("[*]")[0] for _, p, _ in _RULES), "$.requestParameters.key"]))
    services = sorted({f"{s}.amazonaws.com" for s, _, _ in _RULES})
    bucket = f"v[{bases.index('$.requestParameters.bucketName') + 1}]"
    key = f"v[{bases.index('$.requestParameters.key') + 1}]"
    scalars = [
        f"'arn:aws:s3:::' || nullif({bucket}, '') || '/' || nullif({key}, '')",
        f"CASE WHEN {key} LIKE '%/%' THEN 'arn:aws:s3:::' || nullif({bucket}, '') || '/' "
        f"|| regexp_replace({key}, '[^/]*$', '') END",
    ]
    lists = []
    for service, path, template in _RULES:
        base, star, rest = path.partition("[*]")
        slot = f"v[{bases.index(base) + 1}]"
        when = f"src = '{service}.amazonaws.com'"
        if star:
            items = f"json_extract_string({slot}, '$[*]{rest}')"
            lists.append(f"CASE WHEN {when} THEN list_transform({items}, lambda x: {_arn(template, 'x')}) END")
        else:
            scalars.append(f"CASE WHEN {when} THEN {_arn(template, slot)} END")
    candidates = f"list_concat([{', '.join(scalars)}], " + ", ".join(f"coalesce({x}, [])" for x in lists) + ")"
    paths = ", ".join(f"'{p}'" for p in bases)
    service_list = ", ".join(f"'{s}'" for s in services)
    return f"""
        WITH ev AS (
            SELECT e.seq, e.rid, e.event_source AS src, e.aws_region AS region, e.recipient_account_id AS acct,
                   {WRITE_SQL} AS write, e.resources, e.role_arn
            FROM events e
        ),
        params AS (
            SELECT ev.seq, ev.rid, ev.src, ev.region, ev.acct, ev.write,
                   json_extract_string(r.raw, [{paths}]) AS v
            FROM ev JOIN raw_events r ON r.rid = ev.rid
            WHERE ev.src IN ({service_list}) AND NOT (ev.src = 's3.amazonaws.com' AND ev.resources IS NOT NULL)
        ),
        found AS (
            SELECT seq, rid, write, unnest({candidates}) AS resource FROM params
            UNION ALL SELECT seq, rid, write, unnest(list_concat(resources, list_transform(
                list_filter(resources, lambda a: regexp_matches(a, '^arn:aws:s3:::[^/]+/.+/')),
                lambda a: regexp_replace(a, '[^/]*$', '')))) AS resource FROM ev WHERE resources IS NOT NULL
            UNION ALL SELECT seq, rid, write, role_arn AS resource FROM ev WHERE role_arn IS NOT NULL
        )
        SELECT DISTINCT seq, rid, resource, {_KIND} AS kind, coalesce(write, false) AS write
        FROM found WHERE resource IS NOT NULL AND resource <> '' ORDER BY seq
    """


def _build(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {_derived_sql()}")


#: The derived table this module keeps (see ``derived.ensure_derived``).
DERIVED = {TABLE: _build}


def ensure_resources(store: EventStore) -> None:
    """Build ``event_resources`` unless it already matches the stored events.

    The first build on a large case reads every raw record once (seconds per million events);
    later calls cost two cheap aggregates. Ingest may call this so the first pivot is quick.
    """
    ensure_derived(store, DERIVED)


def resource_where(value: str) -> tuple[str, list[str]]:
    """SQL over ``event_resources`` for a pivot target: exact, or a prefix when it ends in ``*``."""
    if value.endswith("*"):
        return "starts_with(resource, ?)", [value[:-1]]
    return "resource = ?", [value]
