"""One CloudTrail record (bytes): is it storable, and what are its time and id?

The decoder settles only what decides whether a record is stored: a time, an id, valid UTF-8, a
sane size, no secrets. Its other columns are read later from the stored JSON by DuckDB
(extract.py). The fast path decodes a whole file's times and ids in one msgspec call (decode.py);
anything it refuses comes here one record at a time: a full parse, unwrapping of the wrappers
exports put around records, Athena's lower-case names. Whatever is stored is canonical CloudTrail
JSON, minus session tokens, which never reach the case.
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


class Key(msgspec.Struct, gc=False):
    """The two fields every stored record needs; msgspec skips the rest without building objects.

    Not tracked by the garbage collector: a million of these alive at once made collections a
    third of decode time (measured).
    """

    eventTime: str | None = None
    eventID: str | None = None


key_decoder = msgspec.json.Decoder(Key)


class RecordError(ValueError):
    """A record that cannot be stored; the message is the reason shown to the responder."""


def _text(value: Any) -> str | None:
    """Lenient string coercion: empty means absent, non-strings become their JSON text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


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


def from_bytes(raw: bytes, depth: int = 0) -> tuple[str, str | None, bytes]:
    """(eventTime text, eventID or None, bytes to store) for one record, or RecordError."""
    check(raw)
    try:
        key = key_decoder.decode(raw)
        if key.eventTime is not None and key.eventID is not None:
            if has_secret(raw):
                raw = orjson.dumps(scrub(orjson.loads(raw)))
            return key.eventTime, key.eventID, raw
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
    when = _text(inner.get("eventTime"))
    if when is None:
        raise RecordError("record has no eventTime")
    if inner is not value or has_secret(raw):
        raw = orjson.dumps(scrub(inner))
    return when, _text(inner.get("eventID")), raw


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
