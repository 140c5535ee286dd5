"""The shape of an event once it is in the store, and the entity kinds analysis speaks of.

The column list lives here, not in the store or the decoder, because three parties must agree on
it: the decoder fills it, the store creates it, and the query language names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

#: Typed columns of the ``events`` table, in order. ``seq`` (time order) and ``rid`` (the raw
#: record's id) are assigned by the store; the decoder fills the rest.
EVENT_SCHEMA = pa.schema(
    [
        ("event_time", pa.timestamp("s")),
        ("event_id", pa.string()),
        ("event_version", pa.string()),
        ("event_source", pa.string()),
        ("event_name", pa.string()),
        ("event_type", pa.string()),
        ("event_category", pa.string()),
        ("aws_region", pa.string()),
        ("recipient_account_id", pa.string()),
        ("identity_type", pa.string()),
        ("identity_arn", pa.string()),
        ("identity_account_id", pa.string()),
        ("principal_id", pa.string()),
        ("user_name", pa.string()),
        ("access_key_id", pa.string()),
        ("invoked_by", pa.string()),
        ("session_issuer_type", pa.string()),
        ("session_issuer_arn", pa.string()),
        ("session_created", pa.timestamp("s")),
        ("mfa_authenticated", pa.bool_()),
        ("source_identity", pa.string()),
        ("source_ip", pa.string()),
        ("user_agent", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("read_only", pa.bool_()),
        ("management_event", pa.bool_()),
        ("request_id", pa.string()),
        ("shared_event_id", pa.string()),
        ("vpc_endpoint_id", pa.string()),
        ("console_credential", pa.bool_()),
        ("issued_key", pa.string()),
        ("issued_arn", pa.string()),
        ("role_arn", pa.string()),
        ("bytes_out", pa.int64()),
        ("resources", pa.list_(pa.string())),
        ("file_id", pa.int32()),
        ("raw", pa.large_string()),
    ]
)

#: Columns the decoder produces, without ``raw`` (stored apart so re-sorting never rewrites it).
EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in EVENT_SCHEMA if f.name != "raw")

#: DuckDB types for the same columns, in the same order.
DUCKDB_TYPES: dict[str, str] = {
    "event_time": "TIMESTAMP",
    "session_created": "TIMESTAMP",
    "mfa_authenticated": "BOOLEAN",
    "read_only": "BOOLEAN",
    "management_event": "BOOLEAN",
    "console_credential": "BOOLEAN",
    "bytes_out": "BIGINT",
    "resources": "VARCHAR[]",
    "file_id": "INTEGER",
}


def duckdb_type(column: str) -> str:
    return DUCKDB_TYPES.get(column, "VARCHAR")


class EntityKind(StrEnum):
    """Kinds of node in the entity graph and of pivot target."""

    ACCOUNT = "account"
    PRINCIPAL = "principal"
    ACCESS_KEY = "access_key"
    SESSION = "session"
    IP = "ip"
    USER_AGENT = "user_agent"
    REGION = "region"
    RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event as the engine hands it out: typed facts plus the untouched record."""

    seq: int
    event_time: datetime
    event_id: str
    event_source: str | None
    event_name: str | None
    event_type: str | None
    aws_region: str | None
    recipient_account_id: str | None
    identity_type: str | None
    identity_arn: str | None
    identity_account_id: str | None
    principal_id: str | None
    user_name: str | None
    access_key_id: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None
    error_message: str | None
    read_only: bool | None
    issued_key: str | None
    issued_arn: str | None
    shared_event_id: str | None
    resources: tuple[str, ...]
    row: dict[str, Any]

    @property
    def actor(self) -> str:
        """The best human name for who acted: ARN, else the account or service behind it."""
        if self.identity_arn:
            return self.identity_arn
        if self.invoked_by_service:
            return self.invoked_by_service
        if self.identity_type and self.identity_account_id:
            return f"{self.identity_type}:{self.identity_account_id}"
        return self.principal_id or self.user_name or self.identity_type or "unknown"

    @property
    def invoked_by_service(self) -> str | None:
        value = self.row.get("invoked_by")
        return value if isinstance(value, str) and value else None

    @property
    def failed(self) -> bool:
        return bool(self.error_code or self.error_message)
