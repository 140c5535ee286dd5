"""Deriving one lineage row per access key from the store: the part of lineage that reads events.

Three small queries feed it: the successful issuing events (issued_key or issued_arn set, no
errorCode), one row per key with its session context, and successful console logins. Everything
else is a walk over those rows in Python, which stays small because only issuing events and
distinct keys ever leave DuckDB.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import duckdb

from investigations.timeparse import iso

#: How far an issuing event's time may sit from a session's creationDate for an inferred link.
ISSUE_SKEW = timedelta(seconds=1)
#: Console credentials are minted just after the sign-in; allow for the browser's round trips.
CONSOLE_SKEW = timedelta(seconds=60)

_ISSUER_KINDS = {
    "AWSService": "service",
    "AWSAccount": "account",
    "SAMLUser": "saml",
    "WebIdentityUser": "web_identity",
}


class Issue(NamedTuple):
    seq: int
    event_id: str
    event_time: datetime
    event_name: str | None
    signer: str | None
    identity_type: str | None
    identity_arn: str | None
    account: str | None
    principal_id: str | None
    user_name: str | None
    invoked_by: str | None
    issued_key: str | None
    issued_arn: str | None
    source_identity: str | None


class Usage(NamedTuple):
    key: str
    arn: str | None
    created: datetime | None
    identity_type: str | None
    source_identity: str | None
    first_seen: datetime
    last_seen: datetime
    events: int


def _issues(con: duckdb.DuckDBPyConnection) -> list[Issue]:
    rows = con.execute(
        "SELECT seq, event_id, event_time, event_name, access_key_id, identity_type, identity_arn, "
        "identity_account_id, principal_id, user_name, invoked_by, issued_key, issued_arn, source_identity "
        "FROM events WHERE (issued_key IS NOT NULL OR issued_arn IS NOT NULL) AND error_code IS NULL ORDER BY seq"
    ).fetchall()
    return [Issue(*r) for r in rows]


def _usages(con: duckdb.DuckDBPyConnection) -> list[Usage]:
    rows = con.execute(
        "SELECT access_key_id, arg_min(identity_arn, seq), arg_min(session_created, seq), "
        "arg_min(identity_type, seq), max(source_identity), min(event_time), max(event_time), count(*) "
        "FROM events WHERE access_key_id IS NOT NULL GROUP BY access_key_id"
    ).fetchall()
    return [Usage(*r) for r in rows]


def _console_logins(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[datetime, str, int]]]:
    rows = con.execute(
        "SELECT identity_arn, event_time, event_id, seq FROM events WHERE event_name = 'ConsoleLogin' "
        "AND identity_arn IS NOT NULL AND error_code IS NULL AND error_message IS NULL"
    ).fetchall()
    out: dict[str, list[tuple[datetime, str, int]]] = defaultdict(list)
    for arn, when, event_id, seq in rows:
        out[arn].append((when, event_id, seq))
    return out


#: The name of whoever acted, as the entity graph and pivots show it; ``actor_label`` in SQL.
ACTOR_SQL = """CASE
    WHEN identity_arn IS NOT NULL THEN identity_arn
    WHEN identity_type = 'AWSService' THEN coalesce(invoked_by, principal_id, 'AWSService')
    WHEN identity_type = 'AWSAccount' THEN 'account ' || coalesce(identity_account_id, '?')
        || ' (' || coalesce(principal_id, 'unknown principal') || ')'
    ELSE coalesce(user_name, principal_id, invoked_by, identity_type, 'unknown') END"""


def actor_label(issue: Issue) -> str:
    """Python twin of ``ACTOR_SQL``, so an issuer and its own events name the same node."""
    if issue.identity_arn:
        return issue.identity_arn
    if issue.identity_type == "AWSService":
        return issue.invoked_by or issue.principal_id or "AWSService"
    if issue.identity_type == "AWSAccount":
        return f"account {issue.account or '?'} ({issue.principal_id or 'unknown principal'})"
    return issue.user_name or issue.principal_id or issue.invoked_by or issue.identity_type or "unknown"


def issuer_of(issue: Issue) -> tuple[str, str]:
    """(issuer_kind, label) for the identity that signed an issuing event."""
    if issue.signer:
        return "key", issue.identity_arn or issue.signer
    kind = _ISSUER_KINDS.get(issue.identity_type or "", (issue.identity_type or "unknown").lower())
    return kind, actor_label(issue)


def _best_copy(copies: list[Issue]) -> Issue:
    """Of one issuance's copies (a cross-account call is logged twice), the one with the signer."""
    keyed = [c for c in copies if c.signer]
    return (keyed or copies)[0]


def _row(
    key: str, session: str, issue: Issue | None, kind: str, issuer: str | None, inferred: bool, use: Usage | None
) -> tuple[Any, ...]:
    arn = use.arn if use else (issue.issued_arn if issue else None)
    created = use.created if use else (issue.event_time if issue and issue.issued_arn else None)
    source_identity = (use.source_identity if use else None) or (issue.source_identity if issue else None)
    return (
        key,
        session,
        issue.signer if issue else None,
        issue.seq if issue else None,
        issue.event_id if issue else None,
        issue.event_name if issue else None,
        issue.event_time if issue else None,
        kind,
        issuer,
        inferred,
        arn,
        created,
        source_identity,
        use.first_seen if use else None,
        use.last_seen if use else None,
        use.events if use else 0,
    )


def build_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """One row per key, in ``lineage.TABLE`` column order."""
    issued: dict[str, list[Issue]] = defaultdict(list)
    by_arn: dict[str, list[Issue]] = defaultdict(list)
    for issue in _issues(con):
        if issue.issued_key:
            issued[issue.issued_key].append(issue)
        if issue.issued_arn:
            by_arn[issue.issued_arn].append(issue)
    usages = {u.key: u for u in _usages(con)}
    logins = _console_logins(con)
    rows = []
    for key, copies in issued.items():
        copy = _best_copy(copies)
        kind, label = issuer_of(copy)
        rows.append(_row(key, key, copy, kind, label, False, usages.get(key)))
    for key, use in usages.items():
        if key not in issued:
            rows.append(_orphan(use, by_arn, logins, usages))
    return rows


def _orphan(
    use: Usage,
    by_arn: dict[str, list[Issue]],
    logins: dict[str, list[tuple[datetime, str, int]]],
    usages: dict[str, Usage],
) -> tuple[Any, ...]:
    """A key no issuing event names: long-term, or a session known only by (arn, creationDate)."""
    if use.created is None or use.arn is None:
        long_term = use.key.startswith("AKIA")
        return _row(use.key, use.key, None, "long_term" if long_term else "unknown", use.arn, not long_term, use)
    session = f"{use.arn}@{iso(use.created)}"
    near = [i for i in by_arn.get(use.arn, ()) if abs(i.event_time - use.created) <= ISSUE_SKEW]
    if near:
        # An issuance that named no key, or a key never used, is the likelier parent.
        near.sort(key=lambda i: (i.issued_key in usages, abs(i.event_time - use.created), i.seq))
        kind, label = issuer_of(near[0])
        return _row(use.key, session, near[0], kind, label, True, use)
    for when, event_id, seq in logins.get(use.arn, ()):
        if abs(when - use.created) <= CONSOLE_SKEW:
            login = Issue(seq, event_id, when, "ConsoleLogin", *(None,) * 10)
            return _row(use.key, session, login, "console", use.arn, True, use)
    label = f"sourceIdentity {use.source_identity}" if use.source_identity else use.arn
    return _row(use.key, session, None, "unknown", label, True, use)
