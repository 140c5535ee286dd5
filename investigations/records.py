"""One CloudTrail record (bytes) to one row of typed columns.

Two paths. The fast path decodes the record straight into small msgspec structs that name only
the fields the store keeps, which skips everything else without building Python objects. Anything
the fast path refuses (a number where a string belongs, a wrapper from an export, Athena's
lower-case names) takes the slow path: a full parse, unwrapping and lenient coercion. Either way
the record's own bytes are what is stored, minus session tokens, which never reach the case.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
import orjson

#: Records larger than this are rejected with a reason: CloudTrail truncates each field at
#: 100 KB, so a record this size is not something CloudTrail wrote.
MAX_RECORD_BYTES = 8 * 1024 * 1024

_SECRET_KEYS = ("sessionToken", "secretAccessKey")


class _Attrs(msgspec.Struct):
    creationDate: str | None = None
    mfaAuthenticated: str | bool | None = None


class _Issuer(msgspec.Struct):
    type: str | None = None
    arn: str | None = None


class _SessionContext(msgspec.Struct):
    sessionIssuer: _Issuer | None = None
    attributes: _Attrs | None = None
    sourceIdentity: str | None = None


class _Identity(msgspec.Struct):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: _SessionContext | None = None


class _KeyHolder(msgspec.Struct):
    accessKeyId: str | None = None


class _ArnHolder(msgspec.Struct):
    arn: str | None = None


class _Response(msgspec.Struct):
    credentials: _KeyHolder | None = None
    accessKey: _KeyHolder | None = None
    assumedRoleUser: _ArnHolder | None = None
    federatedUser: _ArnHolder | None = None


class _Request(msgspec.Struct):
    roleArn: str | None = None


class _Additional(msgspec.Struct):
    bytesTransferredOut: int | float | str | None = None


class _Resource(msgspec.Struct):
    ARN: str | None = None


class _Record(msgspec.Struct):
    eventTime: str | None = None
    eventID: str | None = None
    eventVersion: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    awsRegion: str | None = None
    recipientAccountId: str | None = None
    userIdentity: _Identity | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    readOnly: bool | str | None = None
    managementEvent: bool | str | None = None
    requestID: str | None = None
    sharedEventID: str | None = None
    vpcEndpointId: str | None = None
    sessionCredentialFromConsole: str | bool | None = None
    responseElements: _Response | None = None
    requestParameters: _Request | None = None
    additionalEventData: _Additional | None = None
    resources: list[_Resource] | None = None


_fast_decoder = msgspec.json.Decoder(_Record)

#: A row as the decoder emits it: the values of model.EVENT_COLUMNS up to (not including)
#: ``file_id``, with times still as text (they are parsed column-wise, in bulk).
Row = tuple[Any, ...]


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason shown to the responder."""


def _text(value: Any) -> str | None:
    """Lenient string coercion for the slow path: empty means absent, non-strings become JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _flag(value: Any) -> bool | None:
    """CloudTrail mixes JSON booleans with the strings "true"/"false"; read both."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes"):
            return True
        if lowered in ("false", "no"):
            return False
    return None


def _bytes_out(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _empty(value: str | None) -> str | None:
    return value or None


def _fast_row(rec: _Record) -> Row:
    ident = rec.userIdentity
    ctx = ident.sessionContext if ident else None
    issuer = ctx.sessionIssuer if ctx else None
    attrs = ctx.attributes if ctx else None
    resp = rec.responseElements
    issued_key = None
    issued_arn = None
    if resp is not None and not rec.errorCode:
        if resp.credentials is not None:
            issued_key = resp.credentials.accessKeyId
        elif resp.accessKey is not None:
            issued_key = resp.accessKey.accessKeyId
        holder = resp.assumedRoleUser or resp.federatedUser
        issued_arn = holder.arn if holder else None
    add = rec.additionalEventData
    return (
        rec.eventTime,
        rec.eventID,
        rec.eventVersion,
        _empty(rec.eventSource),
        _empty(rec.eventName),
        _empty(rec.eventType),
        _empty(rec.eventCategory),
        _empty(rec.awsRegion),
        _empty(rec.recipientAccountId),
        _empty(ident.type) if ident else None,
        _empty(ident.arn) if ident else None,
        _empty(ident.accountId) if ident else None,
        _empty(ident.principalId) if ident else None,
        _empty(ident.userName) if ident else None,
        _empty(ident.accessKeyId) if ident else None,
        _empty(ident.invokedBy) if ident else None,
        _empty(issuer.type) if issuer else None,
        _empty(issuer.arn) if issuer else None,
        attrs.creationDate if attrs else None,
        _flag(attrs.mfaAuthenticated) if attrs else None,
        _empty(ctx.sourceIdentity) if ctx else None,
        _empty(rec.sourceIPAddress),
        _empty(rec.userAgent),
        _empty(rec.errorCode),
        _empty(rec.errorMessage),
        _flag(rec.readOnly),
        _flag(rec.managementEvent),
        _empty(rec.requestID),
        _empty(rec.sharedEventID),
        _empty(rec.vpcEndpointId),
        _flag(rec.sessionCredentialFromConsole),
        _empty(issued_key),
        _empty(issued_arn),
        _empty(rec.requestParameters.roleArn) if rec.requestParameters else None,
        _bytes_out(add.bytesTransferredOut) if add else None,
        [r.ARN for r in rec.resources if r.ARN] if rec.resources else None,
    )


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _slow_row(d: dict[str, Any]) -> Row:
    ident = d.get("userIdentity")
    ident = ident if isinstance(ident, dict) else {}
    error = _text(d.get("errorCode"))
    resp = d.get("responseElements")
    issued_key = issued_arn = None
    if isinstance(resp, dict) and not error:
        issued_key = _text(_get(resp, "credentials", "accessKeyId")) or _text(_get(resp, "accessKey", "accessKeyId"))
        issued_arn = _text(_get(resp, "assumedRoleUser", "arn")) or _text(_get(resp, "federatedUser", "arn"))
    resources = d.get("resources")
    arns = None
    if isinstance(resources, list):
        arns = [a for r in resources if isinstance(r, dict) and (a := _text(r.get("ARN")))] or None
    return (
        _text(d.get("eventTime")),
        _text(d.get("eventID")),
        _text(d.get("eventVersion")),
        _text(d.get("eventSource")),
        _text(d.get("eventName")),
        _text(d.get("eventType")),
        _text(d.get("eventCategory")),
        _text(d.get("awsRegion")),
        _text(d.get("recipientAccountId")),
        _text(ident.get("type")),
        _text(ident.get("arn")),
        _text(ident.get("accountId")),
        _text(ident.get("principalId")),
        _text(ident.get("userName")),
        _text(ident.get("accessKeyId")),
        _text(ident.get("invokedBy")),
        _text(_get(ident, "sessionContext", "sessionIssuer", "type")),
        _text(_get(ident, "sessionContext", "sessionIssuer", "arn")),
        _text(_get(ident, "sessionContext", "attributes", "creationDate")),
        _flag(_get(ident, "sessionContext", "attributes", "mfaAuthenticated")),
        _text(_get(ident, "sessionContext", "sourceIdentity")),
        _text(d.get("sourceIPAddress")),
        _text(d.get("userAgent")),
        error,
        _text(d.get("errorMessage")),
        _flag(d.get("readOnly")),
        _flag(d.get("managementEvent")),
        _text(d.get("requestID")),
        _text(d.get("sharedEventID")),
        _text(d.get("vpcEndpointId")),
        _flag(d.get("sessionCredentialFromConsole")),
        issued_key,
        issued_arn,
        _text(_get(d, "requestParameters", "roleArn")),
        _bytes_out(_get(d, "additionalEventData", "bytesTransferredOut")),
        arns,
    )


def _scrub(value: Any) -> Any:
    """Drop session tokens and secrets wherever they sit; nothing else is altered."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _has_secret(raw: bytes) -> bool:
    return any(f'"{key}"'.encode() in raw for key in _SECRET_KEYS)


def _unwrap(d: dict[str, Any]) -> dict[str, Any] | bytes | None:
    """Find the CloudTrail record inside the wrappers exports put around it.

    Returns the record dict, the record's own bytes (when it sat in a JSON string), or None when
    the object is not recognisably CloudTrail.
    """
    if "eventTime" in d or "eventID" in d or "eventVersion" in d:
        return d
    for key in ("CloudTrailEvent", "message", "_raw"):
        inner = d.get(key)
        if isinstance(inner, str) and inner.lstrip().startswith("{"):
            return inner.encode("utf-8", "surrogatepass")
    for key in ("detail", "event", "result"):
        inner = d.get(key)
        if isinstance(inner, dict):
            return _unwrap(inner)
    if "eventtime" in d or "eventid" in d:
        return camelize(d)
    return None


def extract(raw: bytes, depth: int = 0) -> tuple[Row, bytes]:
    """Typed columns and the bytes to store for one record, or RecordError with the reason."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(
            f"record is {len(raw) / 1e6:.1f} MB, over the {MAX_RECORD_BYTES // 2**20} MiB limit "
            "(CloudTrail truncates fields at 100 KB); not stored"
        )
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(f"invalid UTF-8 at byte {exc.start} of the record") from None
    try:
        row = _fast_row(_fast_decoder.decode(raw))
        if row[0] is not None and row[1] is not None:
            if _has_secret(raw):
                raw = orjson.dumps(_scrub(orjson.loads(raw)))
            return row, raw
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RecordError(f"not a JSON object (a {type(value).__name__})")
    inner = _unwrap(value)
    if inner is None:
        raise RecordError("not a CloudTrail record (no eventTime, eventID or eventVersion)")
    if isinstance(inner, bytes):
        if depth > 2:
            raise RecordError("records nested in strings more than three deep")
        return extract(inner, depth + 1)
    row = _slow_row(inner)
    if row[0] is None:
        raise RecordError("record has no eventTime")
    if inner is not value or _has_secret(raw):
        raw = orjson.dumps(_scrub(inner))
    return row, raw


_CANONICAL = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "resources",
    "eventType",
    "apiVersion",
    "readOnly",
    "recipientAccountId",
    "serviceEventDetails",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "eventCategory",
    "addendum",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
    "tlsDetails",
    "managementEvent",
    "insightDetails",
    "type",
    "principalId",
    "arn",
    "accountId",
    "invokedBy",
    "accessKeyId",
    "userName",
    "onBehalfOf",
    "userId",
    "identityStoreArn",
    "sessionContext",
    "attributes",
    "mfaAuthenticated",
    "creationDate",
    "sessionIssuer",
    "ec2RoleDelivery",
    "webIdFederationData",
    "federatedProvider",
    "sourceIdentity",
    "identityProvider",
    "ARN",
    "tlsVersion",
    "cipherSuite",
    "clientProvidedHostHeader",
    "reason",
    "updatedFields",
    "originalRequestID",
    "originalEventID",
]
_BY_LOWER = {name.lower(): name for name in _CANONICAL}
_JSON_TEXT = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")


def camelize(d: dict[str, Any]) -> dict[str, Any]:
    """Athena and Lake exports lower-case every name and hold some objects as JSON text.

    Map the known names back to CloudTrail's spelling (the ARN key of resources included), parse
    the JSON-text columns, and leave unknown names as they are.
    """
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = _BY_LOWER.get(key, key)
        if isinstance(value, dict):
            value = camelize(value)
        elif isinstance(value, list):
            value = [camelize(v) if isinstance(v, dict) else v for v in value]
        if name in _JSON_TEXT and isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(value)
        out[name] = value
    if out.get("resources") and isinstance(out["resources"], list):
        out["resources"] = [
            {("ARN" if k.lower() == "arn" else k): v for k, v in r.items()} if isinstance(r, dict) else r
            for r in out["resources"]
        ]
    return out
