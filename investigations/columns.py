"""Typed records to one Arrow table, column by column.

Building columns with one comprehension each (rather than a tuple per record) keeps the Python
work per record to a few attribute reads; empty strings become nulls and times are parsed in
bulk by Arrow's kernels. This is the second half of the decoder's hot path.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from investigations.model import EVENT_SCHEMA
from investigations.records import Record

_NULL_STRING = pa.scalar(None, pa.string())


def _flag(value: Any) -> bool | None:
    """CloudTrail mixes JSON booleans with the strings "true"/"false"; read both."""
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes"):
            return True
        if lowered in ("false", "no"):
            return False
    return None


def _count(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def parse_times(values: list[str | None]) -> pa.Array:
    """Parse times column-wise: CloudTrail's own form first, then the forms exports rewrite it to.

    Seen in the wild: ISO basic form (old ``creationDate``), a space instead of ``T`` and
    nanosecond fractions (SIEM exports), and explicit zero offsets.
    """
    arr = pa.array(values, pa.string())
    out = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    if out.null_count > arr.null_count:
        out = pc.coalesce(out, pc.strptime(arr, format="%Y%m%dT%H%M%SZ", unit="s", error_is_null=True))
    if out.null_count > arr.null_count:
        trimmed = pc.replace_substring_regex(arr, r"(\.\d+)?\s*(Z|UTC|[+-]00:?00)?$", "")
        trimmed = pc.replace_substring_regex(trimmed, r"^(\d{4}-\d{2}-\d{2}) ", r"\1T")
        out = pc.coalesce(out, pc.strptime(trimmed, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True))
    return out


def _strings(values: list[Any]) -> pa.Array:
    arr = pa.array(values, pa.string())
    return pc.if_else(pc.equal(arr, ""), _NULL_STRING, arr)


def _issued(rec: Record) -> tuple[str | None, str | None]:
    resp = rec.responseElements
    if resp is None or rec.errorCode:
        return None, None
    key = None
    if resp.credentials is not None:
        key = resp.credentials.accessKeyId
    if not key and resp.accessKey is not None:
        key = resp.accessKey.accessKeyId
    holder = resp.assumedRoleUser if resp.assumedRoleUser is not None else resp.federatedUser
    return key, holder.arn if holder is not None else None


def _raw_array(raws: list[Any]) -> pa.Array:
    """Concatenate record bytes once and point offsets into them: no per-record conversion."""
    data = b"".join(raws)
    offsets = pa.array([0, *accumulate(map(len, raws))], pa.int64())
    return pa.LargeStringArray.from_buffers(len(raws), offsets.buffers()[1], pa.py_buffer(data))


def to_table(recs: list[Record], raws: list[Any], file_ids: list[int]) -> pa.Table:
    """One row per record, in EVENT_SCHEMA's order; ``raws`` and ``file_ids`` run parallel to ``recs``."""
    ids = [r.userIdentity for r in recs]
    ctxs = [i.sessionContext if i is not None else None for i in ids]
    issuers = [c.sessionIssuer if c is not None else None for c in ctxs]
    attrs = [c.attributes if c is not None else None for c in ctxs]
    issued = [_issued(r) for r in recs]
    columns: dict[str, pa.Array] = {
        "event_time": parse_times([r.eventTime for r in recs]),
        "event_id": _strings([r.eventID for r in recs]),
        "event_version": _strings([r.eventVersion for r in recs]),
        "event_source": _strings([r.eventSource for r in recs]),
        "event_name": _strings([r.eventName for r in recs]),
        "event_type": _strings([r.eventType for r in recs]),
        "event_category": _strings([r.eventCategory for r in recs]),
        "aws_region": _strings([r.awsRegion for r in recs]),
        "recipient_account_id": _strings([r.recipientAccountId for r in recs]),
        "identity_type": _strings([i.type if i is not None else None for i in ids]),
        "identity_arn": _strings([i.arn if i is not None else None for i in ids]),
        "identity_account_id": _strings([i.accountId if i is not None else None for i in ids]),
        "principal_id": _strings([i.principalId if i is not None else None for i in ids]),
        "user_name": _strings([i.userName if i is not None else None for i in ids]),
        "access_key_id": _strings([i.accessKeyId if i is not None else None for i in ids]),
        "invoked_by": _strings([i.invokedBy if i is not None else None for i in ids]),
        "session_issuer_type": _strings([s.type if s is not None else None for s in issuers]),
        "session_issuer_arn": _strings([s.arn if s is not None else None for s in issuers]),
        "session_created": parse_times([a.creationDate if a is not None else None for a in attrs]),
        "mfa_authenticated": pa.array([_flag(a.mfaAuthenticated) if a is not None else None for a in attrs],
                                      pa.bool_()),
        "source_identity": _strings([c.sourceIdentity if c is not None else None for c in ctxs]),
        "source_ip": _strings([r.sourceIPAddress for r in recs]),
        "user_agent": _strings([r.userAgent for r in recs]),
        "error_code": _strings([r.errorCode for r in recs]),
        "error_message": _strings([r.errorMessage for r in recs]),
        "read_only": pa.array([_flag(r.readOnly) for r in recs], pa.bool_()),
        "management_event": pa.array([_flag(r.managementEvent) for r in recs], pa.bool_()),
        "request_id": _strings([r.requestID for r in recs]),
        "shared_event_id": _strings([r.sharedEventID for r in recs]),
        "vpc_endpoint_id": _strings([r.vpcEndpointId for r in recs]),
        "console_credential": pa.array([_flag(r.sessionCredentialFromConsole) for r in recs], pa.bool_()),
        "issued_key": _strings([k for k, _ in issued]),
        "issued_arn": _strings([a for _, a in issued]),
        "role_arn": _strings([r.requestParameters.roleArn if r.requestParameters is not None else None
                              for r in recs]),
        "bytes_out": pa.array([_count(r.additionalEventData.bytesTransferredOut)
                               if r.additionalEventData is not None else None for r in recs], pa.int64()),
        "resources": pa.array([[x.ARN for x in r.resources if x.ARN] or None if r.resources else None
                               for r in recs], pa.list_(pa.string())),
        "file_id": pa.array(file_ids, pa.int32()),
        "raw": _raw_array(raws),
    }
    return pa.Table.from_arrays([columns[name] for name in EVENT_SCHEMA.names], schema=EVENT_SCHEMA)
