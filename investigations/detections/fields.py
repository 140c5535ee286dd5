"""CloudTrail field paths, as rules and Sigma name them, to SQL over the store and to raw records.

Rules, Sigma rules and alarms all speak CloudTrail's own dotted paths (``userIdentity.arn``,
``requestParameters.bucketName``). A path with a typed column in ``events`` is read from it, which
is what keeps the rule pack fast; any other path is read from the raw record JSON, which costs a
join and a JSON parse, so the runner only does that for rows the typed conditions already chose.
"""

from __future__ import annotations

import re
from typing import Any

from investigations.detections.registry import Cond

#: CloudTrail path -> (typed column, kind). Kinds: text, bool, int, time.
TYPED: dict[str, tuple[str, str]] = {
    "eventTime": ("event_time", "time"),
    "eventID": ("event_id", "text"),
    "eventVersion": ("event_version", "text"),
    "eventSource": ("event_source", "text"),
    "eventName": ("event_name", "text"),
    "eventType": ("event_type", "text"),
    "eventCategory": ("event_category", "text"),
    "awsRegion": ("aws_region", "text"),
    "recipientAccountId": ("recipient_account_id", "text"),
    "userIdentity.type": ("identity_type", "text"),
    "userIdentity.arn": ("identity_arn", "text"),
    "userIdentity.accountId": ("identity_account_id", "text"),
    "userIdentity.principalId": ("principal_id", "text"),
    "userIdentity.userName": ("user_name", "text"),
    "userIdentity.accessKeyId": ("access_key_id", "text"),
    "userIdentity.invokedBy": ("invoked_by", "text"),
    "userIdentity.sessionContext.sessionIssuer.type": ("session_issuer_type", "text"),
    "userIdentity.sessionContext.sessionIssuer.arn": ("session_issuer_arn", "text"),
    "userIdentity.sessionContext.attributes.mfaAuthenticated": ("mfa_authenticated", "bool"),
    "userIdentity.sessionContext.sourceIdentity": ("source_identity", "text"),
    "sourceIPAddress": ("source_ip", "text"),
    "userAgent": ("user_agent", "text"),
    "errorCode": ("error_code", "text"),
    "errorMessage": ("error_message", "text"),
    "readOnly": ("read_only", "bool"),
    "managementEvent": ("management_event", "bool"),
    "requestID": ("request_id", "text"),
    "sharedEventID": ("shared_event_id", "text"),
    "vpcEndpointId": ("vpc_endpoint_id", "text"),
    "sessionCredentialFromConsole": ("console_credential", "bool"),
    "requestParameters.roleArn": ("role_arn", "text"),
    "additionalEventData.bytesTransferredOut": ("bytes_out", "int"),
}

#: Text paths with few distinct values per case: string tests on them run over the distinct values.
FEW_VALUES = frozenset(
    {
        "eventSource",
        "eventName",
        "eventType",
        "eventCategory",
        "awsRegion",
        "recipientAccountId",
        "userIdentity.type",
        "userIdentity.arn",
        "userIdentity.accountId",
        "userIdentity.userName",
        "userIdentity.invokedBy",
        "userIdentity.sessionContext.sessionIssuer.type",
        "userIdentity.sessionContext.sessionIssuer.arn",
        "sourceIPAddress",
        "userAgent",
        "errorCode",
        "vpcEndpointId",
    }
)

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_typed(path: str) -> bool:
    return path in TYPED


def json_path(path: str) -> str:
    """A DuckDB JSON path for a dotted CloudTrail path; keys like ``x-amz-acl`` are quoted."""
    parts = []
    for key in path.split("."):
        parts.append(key if _PLAIN_KEY.match(key) else '"' + key.replace('"', '\\"') + '"')
    return "$." + ".".join(parts)


def sql_expr(path: str, events: str = "e", raw: str = "r") -> tuple[str, str]:
    """SQL reading ``path`` and its kind; raw paths read ``{raw}.raw`` and need the raw join."""
    if path in TYPED:
        column, kind = TYPED[path]
        return f"{events}.{column}", kind
    quoted = json_path(path).replace("'", "''")
    return f"json_extract_string({raw}.raw, '{quoted}')", "text"


def text_expr(path: str, events: str = "e", raw: str = "r") -> str:
    """SQL giving the path's value as CloudTrail's text: ``true``/``false``, digits, ISO times."""
    expr, kind = sql_expr(path, events, raw)
    if kind == "bool":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if kind == "time":
        return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"
    if kind == "int":
        return f"CAST({expr} AS VARCHAR)"
    return expr


def values_at(record: Any, path: str) -> list[Any]:
    """Every value at a dotted path, looking through lists the way EventBridge patterns do."""
    current = [record]
    for key in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict):
                if key in item:
                    nxt.append(item[key])
            elif isinstance(item, list):
                nxt.extend(v[key] for v in item if isinstance(v, dict) and key in v)
        current = nxt
    out: list[Any] = []
    for value in current:
        out.extend(value if isinstance(value, list) else [value])
    return out


def as_text(value: Any) -> str | None:
    """CloudTrail mixes JSON booleans, numbers and strings for the same facts; compare as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return None
    return str(value)


def like_pattern(glob: str) -> str:
    """A ``*`` pattern as a LIKE pattern with ``\\`` as the escape character."""
    escaped = glob.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def glob_regex(glob: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in glob.split("*")), re.DOTALL)


def cond_sql(cond: Cond, events: str = "e", raw: str = "r") -> tuple[str, list[Any]]:
    """SQL for one condition, with its parameters."""
    expr = text_expr(cond.path, events, raw)
    if cond.op == "exists":
        return f"{expr} IS NOT NULL", []
    if cond.op == "absent":
        return f"{expr} IS NULL", []
    exact = [v for v in cond.values if "*" not in v]
    globs = [v for v in cond.values if "*" in v]
    parts: list[str] = []
    params: list[Any] = []
    if exact:
        parts.append(f"{expr} IN ({', '.join('?' for _ in exact)})")
        params += exact
    for glob in globs:
        parts.append(f"{expr} LIKE ? ESCAPE '\\'")
        params.append(like_pattern(glob))
    matched = "(" + " OR ".join(parts) + ")"
    if cond.op == "none":
        return f"({expr} IS NULL OR NOT {matched})", params
    return matched, params


def cond_holds(cond: Cond, record: dict[str, Any]) -> bool:
    """The same condition over a raw record (lists are looked through, any element may match)."""
    texts = [t for t in (as_text(v) for v in values_at(record, cond.path)) if t is not None]
    if cond.op == "exists":
        return bool(texts)
    if cond.op == "absent":
        return not texts
    patterns = [glob_regex(v) for v in cond.values]
    found = any(p.fullmatch(t) for p in patterns for t in texts)
    return found if cond.op == "any" else not found
