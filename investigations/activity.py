"""Per-key activity rollups, so a pivot over a busy credential summarises hundreds of rows, not
tens of thousands of events.

A leaked long-term key is typically used all through a case by its owner: its lineage can hold
a twentieth of every event. Reading a dozen columns for each of them costs a scan of the whole
table (the rows touch every row group), and that, not the lineage walk, was most of a pivot's
time. A key whose every event is in the pivot's scope (any key when there is no scope, and any
key minted inside the scope) contributes the same aggregates whichever pivot asks, so they are
computed once, per key and per minute, when the events change:

``key_activity``: one row per key, minute and distinct (principal, identity ARN, source IP, user
agent, account, region, source identity, error, role assumed, key issued), with the event count,
the first event's ``seq``, first and last event time and bytes out. The minute serves the
"nearby" windows, which are whole minutes wide, exactly.

``key_resources``: one row per key and resource: writes, reads and errors (as ``blast`` counts
them) and the first event's ``seq``.

``key_events``: every keyed event's seq, time, address, agent and id, sorted by key, so a key's
events are a few contiguous row groups rather than a scan of the case.

``keyless_events`` and ``shared_events``: the few events without an access key, and those with
a ``sharedEventID``, which a pivot looks through whole (for neighbours and for the other
account's copy of a call).
"""

from __future__ import annotations

import duckdb

from investigations.lineage_build import ACTOR_SQL
from investigations.resources import TABLE as RESOURCES

ACTIVITY = "key_activity"
KEY_RESOURCES = "key_resources"
KEY_EVENTS = "key_events"
KEYLESS = "keyless_events"
SHARED = "shared_events"

#: Grouping columns of ``key_activity`` that describe who acted from where (the summary lists).
GROUPS = (
    "principal",
    "identity_arn",
    "source_ip",
    "user_agent",
    "recipient_account_id",
    "aws_region",
    "source_identity",
    "error_code",
    "role_assumed",
    "issued_key",
)

#: The same columns read from single events, so event rows and rollup rows can be unioned.
EVENT_GROUPS = (
    f"{ACTOR_SQL} AS principal, identity_arn, source_ip, user_agent, recipient_account_id, aws_region, "
    "source_identity, error_code, CASE WHEN event_name LIKE 'AssumeRole%' THEN role_arn END AS role_assumed, "
    "issued_key"
)


def sql_strings(values: list[str]) -> str:
    """``values`` as SQL string literals (quotes doubled), or NULL for none.

    A constant list reaches the table scan as a filter, which a key-sorted table answers from
    the few row groups holding those keys; a parameter list does not (measured).
    """
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values) or "NULL"


#: Up to this many keys are read one equality scan each (see ``key_rows``).
_UNION_KEYS = 64


def key_rows(columns: str, keys: list[str], table: str = KEY_EVENTS) -> str:
    """SQL for ``columns`` of ``table`` (a key-sorted derived table) on the rows of ``keys``.

    An equality on the sort key is a filter the scan applies before reading other columns, so
    each key costs the rows it has; an IN list only prunes row groups, and then every column of
    those groups is read (half the table for a handful of keys spread over the alphabet;
    measured 5 against 11 ms for a 56k-event lineage). Many keys would make a long plan, so
    beyond ``_UNION_KEYS`` the IN list serves.
    """
    if 0 < len(keys) <= _UNION_KEYS:
        return " UNION ALL ".join(
            f"SELECT {columns} FROM {table} WHERE access_key_id = {sql_strings([key])}" for key in keys
        )
    return f"SELECT {columns} FROM {table} WHERE access_key_id IN ({sql_strings(keys)})"


def _build_activity(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {ACTIVITY} AS "
        f"SELECT access_key_id, date_trunc('minute', event_time) AS minute, {EVENT_GROUPS}, "
        "count(*) AS n, min(seq) AS first_seq, min(event_time) AS first_time, max(event_time) AS last_time, "
        "coalesce(sum(bytes_out), 0) AS bytes_out "
        "FROM events WHERE access_key_id IS NOT NULL GROUP BY ALL ORDER BY access_key_id, minute"
    )


def _build_resources(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {KEY_RESOURCES} AS "
        "SELECT e.access_key_id, r.resource, r.kind, "
        "count(*) FILTER (WHERE r.write AND e.error_code IS NULL) AS writes, "
        "count(*) FILTER (WHERE NOT r.write AND e.error_code IS NULL) AS reads, "
        "count(*) FILTER (WHERE e.error_code IS NOT NULL) AS errors, min(e.seq) AS first_seq "
        f"FROM {RESOURCES} r JOIN events e ON e.seq = r.seq WHERE e.access_key_id IS NOT NULL "
        "GROUP BY ALL ORDER BY 1"
    )


def _build_events(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {KEY_EVENTS} AS SELECT access_key_id, seq, event_time, source_ip, user_agent, "
        "event_id FROM events WHERE access_key_id IS NOT NULL ORDER BY access_key_id, seq"
    )


def _build_keyless(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {KEYLESS} AS SELECT seq, event_time, source_ip, user_agent, "
        f"{ACTOR_SQL} AS principal, event_id FROM events WHERE access_key_id IS NULL ORDER BY seq"
    )


def _build_shared(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {SHARED} AS SELECT seq, shared_event_id, event_id FROM events "
        "WHERE shared_event_id IS NOT NULL ORDER BY shared_event_id"
    )


#: The derived tables this module keeps (see ``derived.ensure_derived``); ``key_resources`` reads
#: ``event_resources``, so ensure ``resources.DERIVED`` first.
DERIVED = {
    ACTIVITY: _build_activity,
    KEY_RESOURCES: _build_resources,
    KEY_EVENTS: _build_events,
    KEYLESS: _build_keyless,
    SHARED: _build_shared,
}
