"""What a credential left behind and what it tried to hide: persistence and defence evasion.

The calls are few in any case, so they are kept once, with their targets, in a small derived
table that every pivot matches against its in-scope events (see ``blast``).
"""

from __future__ import annotations

from typing import Any

import duckdb

from investigations.resources import TABLE as RESOURCES

#: Successful calls that leave a way back in: keys, users, passwords, policies, trust.
PERSISTENCE = frozenset(
    {
        "CreateAccessKey",
        "CreateUser",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "AttachUserPolicy",
        "PutUserPolicy",
        "AttachRolePolicy",
        "PutRolePolicy",
        "AttachGroupPolicy",
        "PutGroupPolicy",
        "AddUserToGroup",
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "CreatePolicyVersion",
        "SetDefaultPolicyVersion",
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "UploadSSHPublicKey",
        "CreateServiceSpecificCredential",
        "ImportKeyPair",
        "CreateKeyPair",
        "UpdateFunctionCode20150331v2",
        "AddPermission20150331v2",
    }
)

#: Calls (successful or not) that blind or weaken the defenders' view.
DEFENSE_EVASION = frozenset(
    {
        "StopLogging",
        "DeleteTrail",
        "UpdateTrail",
        "PutEventSelectors",
        "PutInsightSelectors",
        "DeleteEventDataStore",
        "DeleteFlowLogs",
        "DeleteDetector",
        "UpdateDetector",
        "DisassociateFromMasterAccount",
        "DeleteConfigurationRecorder",
        "StopConfigurationRecorder",
        "DeleteDeliveryChannel",
        "DisableSecurityHub",
        "DeleteLogGroup",
        "DeleteLogStream",
        "PutBucketLogging",
        "DeleteBucketPolicy",
    }
)

NOTABLE = "notable_events"


def _build_notable(con: duckdb.DuckDBPyConnection) -> None:
    """The case's persistence (successful calls only) and defence evasion (attempts too), with
    their targets: a few rows that every pivot then matches against its in-scope events."""
    con.execute(
        f"CREATE OR REPLACE TABLE {NOTABLE} AS SELECT s.seq, list_contains($evasion, s.event_name) AS evasion, "
        "s.event_id, s.event_time, s.event_name, s.recipient_account_id, s.identity_arn, s.error_code, s.issued_key, "
        "list(r.resource ORDER BY r.resource) FILTER (WHERE r.resource IS NOT NULL) AS resources "
        f"FROM events s LEFT JOIN {RESOURCES} r ON r.seq = s.seq "
        "WHERE s.event_name IN (SELECT unnest($names::VARCHAR[])) "
        "AND (list_contains($evasion, s.event_name) OR s.error_code IS NULL) "
        "GROUP BY ALL ORDER BY s.seq",
        {"evasion": sorted(DEFENSE_EVASION), "names": sorted(DEFENSE_EVASION | PERSISTENCE)},
    )


#: The derived table this module keeps (see ``derived.ensure_derived``); it reads ``event_resources``.
DERIVED = {NOTABLE: _build_notable}


def notable(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """Persistence and defence evasion among the pivot's in-scope events, in time order."""
    rows = con.execute(
        "SELECT evasion, event_id, event_time, event_name, recipient_account_id, identity_arn, error_code, "
        f"issued_key, resources FROM {NOTABLE} WHERE seq IN (SELECT seq FROM pv WHERE in_scope) ORDER BY seq"
    ).fetchall()
    keys = ("event_id", "event_time", "event_name", "account", "principal", "error_code", "issued_key", "resources")
    out: dict[str, list[dict[str, Any]]] = {"persistence": [], "defense_evasion": []}
    for evasion, *row in rows:
        out["defense_evasion" if evasion else "persistence"].append(dict(zip(keys, row, strict=True)))
    return out
