"""One CloudTrail record (bytes) to the typed facts the store keeps.

Two paths. The fast path decodes straight into small msgspec structs that name only the fields
the store keeps, which skips everything else without building Python objects (decode.py runs it
over a whole file in one call). Anything it refuses (a number where a string belongs, a wrapper
from an export, Athena's lower-case names) takes the slow path here: a full parse, unwrapping and
lenient coercion into the same structs. Either way the record's own bytes are what is stored,
minus session tokens, which never reach the case.
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


class Attrs(msgspec.Struct, gc=False):
    creationDate: str | None = None
    mfaAuthenticated: str | bool | None = None


class Issuer(msgspec.Struct, gc=False):
    type: str | None = None
    arn: str | None = None


class SessionContext(msgspec.Struct, gc=False):
    sessionIssuer: Issuer | None = None
    attributes: Attrs | None = None
    sourceIdentity: str | None = None


class Identity(msgspec.Struct, gc=False):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext | None = None


class KeyHolder(msgspec.Struct, gc=False):
    accessKeyId: str | None = None


class ArnHolder(msgspec.Struct, gc=False):
    arn: str | None = None


class Response(msgspec.Struct, gc=False):
    credentials: KeyHolder | None = None
    accessKey: KeyHolder | None = None
    assumedRoleUser: ArnHolder | None = None
    federatedUser: ArnHolder | None = None


class Request(msgspec.Struct, gc=False):
    roleArn: str | None = None


class Additional(msgspec.Struct, gc=False):
    bytesTransferredOut: int | float | str | None = None


class Resource(msgspec.Struct, gc=False):
    ARN: str | None = None


class Record(msgspec.Struct, gc=False):
    eventTime: str | None = None
    eventID: str | None = None
    eventVersion: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    eventType: str | None = None
    eventCategory: str | None = None
    awsRegion: str | None = None
    recipientAccountId: str | None = None
    userIdentity: Identity | None = None
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
    responseElements: Response | None = None
    requestParameters: Request | None = None
    additionalEventData: Additional | None = None
    resources: list[Resource] | None = None


record_decoder = msgspec.json.Decoder(Record)


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


def _scalar(value: Any) -> Any:
    """Keep str/bool/number as they are (the column builder reads them); anything else is absent."""
    return value if isinstance(value, str | bool | int | float) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def coerce(d: dict[str, Any]) -> Record:
    """Build the typed record from a parsed dict whatever its field types, never failing."""
    ident = _obj(d.get("userIdentity"))
    ctx = _obj(ident.get("sessionContext"))
    issuer = _obj(ctx.get("sessionIssuer"))
    attrs = _obj(ctx.get("attributes"))
    resp = _obj(d.get("responseElements"))
    resources = d.get("resources")
    return Record(
        eventTime=_text(d.get("eventTime")),
        eventID=_text(d.get("eventID")),
        eventVersion=_text(d.get("eventVersion")),
        eventSource=_text(d.get("eventSource")),
        eventName=_text(d.get("eventName")),
        eventType=_text(d.get("eventType")),
        eventCategory=_text(d.get("eventCategory")),
        awsRegion=_text(d.get("awsRegion")),
        recipientAccountId=_text(d.get("recipientAccountId")),
        userIdentity=Identity(
            type=_text(ident.get("type")),
            principalId=_text(ident.get("principalId")),
            arn=_text(ident.get("arn")),
            accountId=_text(ident.get("accountId")),
            accessKeyId=_text(ident.get("accessKeyId")),
            userName=_text(ident.get("userName")),
            invokedBy=_text(ident.get("invokedBy")),
            sessionContext=SessionContext(
                sessionIssuer=Issuer(type=_text(issuer.get("type")), arn=_text(issuer.get("arn"))),
                attributes=Attrs(
                    creationDate=_text(attrs.get("creationDate")),
                    mfaAuthenticated=_scalar(attrs.get("mfaAuthenticated")),
                ),
                sourceIdentity=_text(ctx.get("sourceIdentity")),
            ),
        )
        if ident
        else None,
        sourceIPAddress=_text(d.get("sourceIPAddress")),
        userAgent=_text(d.get("userAgent")),
        errorCode=_text(d.get("errorCode")),
        errorMessage=_text(d.get("errorMessage")),
        readOnly=_scalar(d.get("readOnly")),
        managementEvent=_scalar(d.get("managementEvent")),
        requestID=_text(d.get("requestID")),
        sharedEventID=_text(d.get("sharedEventID")),
        vpcEndpointId=_text(d.get("vpcEndpointId")),
        sessionCredentialFromConsole=_scalar(d.get("sessionCredentialFromConsole")),
        responseElements=Response(
            credentials=KeyHolder(_text(_obj(resp.get("credentials")).get("accessKeyId"))),
            accessKey=KeyHolder(_text(_obj(resp.get("accessKey")).get("accessKeyId"))),
            assumedRoleUser=ArnHolder(_text(_obj(resp.get("assumedRoleUser")).get("arn"))),
            federatedUser=ArnHolder(_text(_obj(resp.get("federatedUser")).get("arn"))),
        )
        if resp
        else None,
        requestParameters=Request(_text(_obj(d.get("requestParameters")).get("roleArn"))),
        additionalEventData=Additional(_scalar(_obj(d.get("additionalEventData")).get("bytesTransferredOut"))),
        resources=[Resource(_text(r.get("ARN"))) for r in resources if isinstance(r, dict)]
        if isinstance(resources, list)
        else None,
    )


def scrub(value: Any) -> Any:
    """Drop session tokens and secrets wherever they sit; nothing else is altered."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in _SECRET_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def has_secret(raw: bytes) -> bool:
    return b'"sessionToken"' in raw or b'"secretAccessKey"' in raw


def unwrap(d: dict[str, Any]) -> dict[str, Any] | bytes | None:
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
            return unwrap(inner)
    if "eventtime" in d or "eventid" in d:
        return camelize(d)
    return None


def check(raw: bytes) -> None:
    """Refuse what must not be stored: oversized records and invalid UTF-8."""
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


def from_bytes(raw: bytes, depth: int = 0) -> tuple[Record, bytes]:
    """The typed record and the bytes to store for one record, or RecordError with the reason."""
    check(raw)
    try:
        rec = record_decoder.decode(raw)
        if rec.eventTime is not None and rec.eventID is not None:
            if has_secret(raw):
                raw = orjson.dumps(scrub(orjson.loads(raw)))
            return rec, raw
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RecordError(f"not a JSON object (a {type(value).__name__})")
    inner = unwrap(value)
    if inner is None:
        raise RecordError("not a CloudTrail record (no eventTime, eventID or eventVersion)")
    if isinstance(inner, bytes):
        if depth > 2:
            raise RecordError("records nested in strings more than three deep")
        return from_bytes(inner, depth + 1)
    rec = coerce(inner)
    if rec.eventTime is None:
        raise RecordError("record has no eventTime")
    if inner is not value or has_secret(raw):
        raw = orjson.dumps(scrub(inner))
    return rec, raw


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
