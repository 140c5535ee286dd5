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
import pyarrow as pa

from investigations.model import EVENT_COLUMNS, EXTRACTED_COLUMNS

#: (column, JSON path) for plain text columns, in the order of model.EVENT_COLUMNS.
_TEXT = [
    ("event_version", "$.eventVersion"),
    ("event_source", "$.eventSource"),
    ("event_name", "$.eventName"),
    ("event_type", "$.eventType"),
    ("event_category", "$.eventCategory"),
    ("aws_region", "$.awsRegion"),
    ("recipient_account_id", "$.recipientAccountId"),
    ("identity_type", "$.userIdentity.type"),
    ("identity_arn", "$.userIdentity.arn"),
    ("identity_account_id", "$.userIdentity.accountId"),
    ("principal_id", "$.userIdentity.principalId"),
    ("user_name", "$.userIdentity.userName"),
    ("access_key_id", "$.userIdentity.accessKeyId"),
    ("invoked_by", "$.userIdentity.invokedBy"),
    ("session_issuer_type", "$.userIdentity.sessionContext.sessionIssuer.type"),
    ("session_issuer_arn", "$.userIdentity.sessionContext.sessionIssuer.arn"),
    ("source_identity", "$.userIdentity.sessionContext.sourceIdentity"),
    ("source_ip", "$.sourceIPAddress"),
    ("user_agent", "$.userAgent"),
    ("error_code", "$.errorCode"),
    ("error_message", "$.errorMessage"),
    ("request_id", "$.requestID"),
    ("shared_event_id", "$.sharedEventID"),
    ("vpc_endpoint_id", "$.vpcEndpointId"),
    ("role_arn", "$.requestParameters.roleArn"),
]
#: Fields read as something else than text, extracted in the same pass.
_OTHER = [
    ("session_created", "$.userIdentity.sessionContext.attributes.creationDate"),
    ("mfa_authenticated", "$.userIdentity.sessionContext.attributes.mfaAuthenticated"),
    ("read_only", "$.readOnly"),
    ("management_event", "$.managementEvent"),
    ("console_credential", "$.sessionCredentialFromConsole"),
    ("credentials_key", "$.responseElements.credentials.accessKeyId"),
    ("created_key", "$.responseElements.accessKey.accessKeyId"),
    ("assumed_arn", "$.responseElements.assumedRoleUser.arn"),
    ("federated_arn", "$.responseElements.federatedUser.arn"),
    ("bytes_out", "$.additionalEventData.bytesTransferredOut"),
]
_PATHS = _TEXT + _OTHER
_AT = {name: index + 1 for index, (name, _) in enumerate(_PATHS)}


def _v(name: str) -> str:
    return f"nullif(j[{_AT[name]}], '')"


def _flag(name: str) -> str:
    return (f"CASE lower(trim(j[{_AT[name]}])) WHEN 'true' THEN true WHEN 'yes' THEN true "
            "WHEN 'false' THEN false WHEN 'no' THEN false END")


def _time(name: str) -> str:
    value = f"j[{_AT[name]}]"
    return (f"coalesce(try_strptime({value}, '%Y-%m-%dT%H:%M:%SZ'), try_strptime({value}, '%Y%m%dT%H%M%SZ'), "
            f"try_strptime({value}, '%Y-%m-%dT%H:%M:%S.%fZ'))::TIMESTAMP")


_ISSUED_KEY = (f"CASE WHEN {_v('error_code')} IS NULL THEN coalesce({_v('credentials_key')}, {_v('created_key')}) END")
_ISSUED_ARN = f"CASE WHEN {_v('error_code')} IS NULL THEN coalesce({_v('assumed_arn')}, {_v('federated_arn')}) END"
_RESOURCES = (
    "nullif(list_filter(json_extract_string(raw, '$.resources[*].ARN'), lambda a: a IS NOT NULL AND a <> ''), [])"
)

#: Expression per typed column, keyed by the events table's column names.
EXPRESSIONS: dict[str, str] = {
    **{name: _v(name) for name, _ in _TEXT},
    "session_created": _time("session_created"),
    "mfa_authenticated": _flag("mfa_authenticated"),
    "read_only": _flag("read_only"),
    "management_event": _flag("management_event"),
    "console_credential": _flag("console_credential"),
    "issued_key": _ISSUED_KEY,
    "issued_arn": _ISSUED_ARN,
    "bytes_out": f"TRY_CAST(TRY_CAST({_v('bytes_out')} AS DOUBLE) AS BIGINT)",
    "resources": _RESOURCES,
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
    """SQL reading ``columns`` out of ``source``'s ``raw`` column, keeping its ``rid`` and order.

    The paths are extracted in one call per record (``json_extract_string`` with a list of paths
    parses each document once).
    """
    paths = ", ".join(f"'{path}'" for _, path in _PATHS)
    wanted = ", ".join(f"{EXPRESSIONS[c]} AS {c}" for c in columns)
    return (
        f"SELECT rid, {wanted} FROM (SELECT rid, raw, json_extract_string(raw, [{paths}]) AS j FROM {source}) "
        "ORDER BY rid"
    )
