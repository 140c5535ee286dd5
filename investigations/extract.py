"""The typed columns of ``events``, read out of each record's JSON by DuckDB.

Why in SQL: building 30-odd Python strings per record and converting them to Arrow cost about
10 µs a record on this hardware (cache misses on scattered objects, measured), the largest part of
ingest. DuckDB's JSON reader does the same extraction in C++ on both cores at about 3 µs a record
per core, straight from the raw text the store keeps anyway. The decoder (decode.py) only checks
what must hold for a record to be stored at all: a time, an id, valid UTF-8, a sane size.

Extraction is lenient the way CloudTrail needs: empty strings, ``null`` and missing fields are all
"no value"; the booleans CloudTrail writes as strings (``"true"``) read as booleans; a value of the
wrong JSON type is kept as its JSON text rather than dropped. An issuing call that failed (it has
an ``errorCode``) issued nothing, whatever its response says.
"""

from __future__ import annotations

import threading

import duckdb
import orjson
import pyarrow as pa

from investigations.model import EVENT_COLUMNS, EXTRACTED_COLUMNS

#: The part of a record that becomes columns: a JSON structure for DuckDB's ``from_json``, which
#: parses each record once and skips everything else (measured 4.6 µs a record here, against 8.4
#: for a list of JSON paths). A value of the wrong shape reads as NULL, a scalar where text is
#: expected as its text, an object as its JSON.
_V = "VARCHAR"
STRUCTURE = orjson.dumps({
    "eventVersion": _V, "eventSource": _V, "eventName": _V, "eventType": _V, "eventCategory": _V,
    "awsRegion": _V, "recipientAccountId": _V, "sourceIPAddress": _V, "userAgent": _V, "errorCode": _V,
    "errorMessage": _V, "readOnly": _V, "managementEvent": _V, "requestID": _V, "sharedEventID": _V,
    "vpcEndpointId": _V, "sessionCredentialFromConsole": _V,
    "userIdentity": {
        "type": _V, "principalId": _V, "arn": _V, "accountId": _V, "accessKeyId": _V, "userName": _V,
        "invokedBy": _V,
        "sessionContext": {
            "sessionIssuer": {"type": _V, "arn": _V},
            "attributes": {"creationDate": _V, "mfaAuthenticated": _V},
            "sourceIdentity": _V,
        },
    },
    "responseElements": {
        "credentials": {"accessKeyId": _V}, "accessKey": {"accessKeyId": _V},
        "assumedRoleUser": {"arn": _V}, "federatedUser": {"arn": _V},
    },
    "requestParameters": {"roleArn": _V},
    "additionalEventData": {"bytesTransferredOut": _V},
    "resources": [{"ARN": _V}],
}).decode()  # fmt: skip

#: Column -> field path inside the structure, for plain text columns.
_TEXT = {
    "event_version": "eventVersion", "event_source": "eventSource", "event_name": "eventName",
    "event_type": "eventType", "event_category": "eventCategory", "aws_region": "awsRegion",
    "recipient_account_id": "recipientAccountId", "identity_type": "userIdentity.type",
    "identity_arn": "userIdentity.arn", "identity_account_id": "userIdentity.accountId",
    "principal_id": "userIdentity.principalId", "user_name": "userIdentity.userName",
    "access_key_id": "userIdentity.accessKeyId", "invoked_by": "userIdentity.invokedBy",
    "session_issuer_type": "userIdentity.sessionContext.sessionIssuer.type",
    "session_issuer_arn": "userIdentity.sessionContext.sessionIssuer.arn",
    "source_identity": "userIdentity.sessionContext.sourceIdentity", "source_ip": "sourceIPAddress",
    "user_agent": "userAgent", "error_code": "errorCode", "error_message": "errorMessage",
    "request_id": "requestID", "shared_event_id": "sharedEventID", "vpc_endpoint_id": "vpcEndpointId",
    "role_arn": "requestParameters.roleArn",
}  # fmt: skip


def _v(path: str) -> str:
    return f"nullif(s.{path}, '')"


def _flag(path: str) -> str:
    return (f"CASE lower(trim(s.{path})) WHEN 'true' THEN true WHEN 'yes' THEN true "
            "WHEN 'false' THEN false WHEN 'no' THEN false END")


def _time(path: str) -> str:
    value = f"s.{path}"
    return (f"coalesce(try_strptime({value}, '%Y-%m-%dT%H:%M:%SZ'), try_strptime({value}, '%Y%m%dT%H%M%SZ'), "
            f"try_strptime({value}, '%Y-%m-%dT%H:%M:%S.%fZ'))::TIMESTAMP")


_FAILED = "nullif(s.errorCode, '') IS NOT NULL"

#: Expression per typed column, keyed by the events table's column names.
EXPRESSIONS: dict[str, str] = {
    **{name: _v(path) for name, path in _TEXT.items()},
    "session_created": _time("userIdentity.sessionContext.attributes.creationDate"),
    "mfa_authenticated": _flag("userIdentity.sessionContext.attributes.mfaAuthenticated"),
    "read_only": _flag("readOnly"),
    "management_event": _flag("managementEvent"),
    "console_credential": _flag("sessionCredentialFromConsole"),
    "issued_key": f"CASE WHEN NOT {_FAILED} THEN coalesce({_v('responseElements.credentials.accessKeyId')}, "
                  f"{_v('responseElements.accessKey.accessKeyId')}) END",
    "issued_arn": f"CASE WHEN NOT {_FAILED} THEN coalesce({_v('responseElements.assumedRoleUser.arn')}, "
                  f"{_v('responseElements.federatedUser.arn')}) END",
    "bytes_out": f"TRY_CAST(TRY_CAST({_v('additionalEventData.bytesTransferredOut')} AS DOUBLE) AS BIGINT)",
    "resources": "nullif(list_filter(list_transform(s.resources, lambda r: r.ARN), "
                 "lambda a: a IS NOT NULL AND a <> ''), [])",
}


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB per thread (and so per worker process), used only for extraction."""
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET threads = 1")  # one per worker process; the processes are the parallelism
    return con


def with_typed_columns(table: pa.Table) -> pa.Table:
    """The decoder's table (time, id, file, raw) widened to every column of ``events`` plus raw.

    Runs where the table was decoded (a worker process), so the writer only writes.
    """
    con = _connection()
    source = table.append_column("rid", pa.array(range(table.num_rows), pa.int64()))
    con.register("decoded", source)
    try:
        typed = con.sql(select_typed("decoded", list(EXTRACTED_COLUMNS))).to_arrow_table()
    finally:
        con.unregister("decoded")
    for name in ("event_time", "event_id", "file_id", "raw"):
        typed = typed.append_column(name, table.column(name))
    return typed.select([*EVENT_COLUMNS, "raw"])


def select_typed(source: str, columns: list[str]) -> str:
    """SQL reading ``columns`` out of ``source``'s ``raw`` column, keeping its ``rid`` and order."""
    wanted = ", ".join(f"{EXPRESSIONS[c]} AS {c}" for c in columns)
    return (
        f"SELECT rid, {wanted} FROM (SELECT rid, from_json(raw, '{STRUCTURE}') AS s FROM {source}) ORDER BY rid"
    )
