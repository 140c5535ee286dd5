"""The shape of an event once it is in the store, and the entity kinds analysis speaks of.

The column list lives here, not in the store or the decoder, because several parties must agree
on it: the decoder and the extractor fill it, the store creates it, and the query language names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

#: Typed columns of the ``events`` table, in order. ``seq`` (time order) and ``rid`` (the raw
#: record's id) are assigned by the store; event_time, event_id and file_id come from the decoder,
#: the rest are read from the stored JSON (extract.py).
EVENT_COLUMNS: tuple[str, ...] = (
    "event_time", "event_id", "event_version", "event_source", "event_name", "event_type", "event_category",
    "aws_region", "recipient_account_id", "identity_type", "identity_arn", "identity_account_id", "principal_id",
    "user_name", "access_key_id", "invoked_by", "session_issuer_type", "session_issuer_arn", "session_created",
    "mfa_authenticated", "source_identity", "source_ip", "user_agent", "error_code", "error_message", "read_only",
    "management_event", "request_id", "shared_event_id", "vpc_endpoint_id", "console_credential", "issued_key",
    "issued_arn", "role_arn", "bytes_out", "resources", "file_id",
)  # fmt: skip

#: What the decoder hands the store for each record: what it had to check, and the record itself.
DECODED_SCHEMA = pa.schema(
    [
        ("event_time", pa.timestamp("s")),
        ("event_id", pa.string()),
        ("file_id", pa.int32()),
        ("raw", pa.large_string()),
    ]
)

#: Columns read from the stored JSON rather than handed over by the decoder.
EXTRACTED_COLUMNS: tuple[str, ...] = tuple(c for c in EVENT_COLUMNS if c not in DECODED_SCHEMA.names)

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
