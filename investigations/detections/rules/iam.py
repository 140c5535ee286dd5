"""IAM persistence: backdoor credentials, backdoor trust, and admin users made on the spot."""

from __future__ import annotations

from typing import Any

from investigations.detections import policy
from investigations.detections.context import Context
from investigations.detections.grouping import Group
from investigations.detections.registry import Match, Rule, Severity, absent, eq, exists, register

IAM = "iam.amazonaws.com"
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess",)


def request(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("requestParameters")
    return value if isinstance(value, dict) else {}


def _for_another_user(record: dict[str, Any], ctx: Context) -> str | None:
    target = request(record).get("userName")
    if not isinstance(target, str) or not target:
        return None
    identity = record.get("userIdentity") or {}
    arn = identity.get("arn") if isinstance(identity.get("arn"), str) else ""
    if target in (identity.get("userName"), arn.rsplit("/", 1)[-1]):
        return None
    return f"{record.get('eventName')} for user {target}"


register(
    Rule(
        "TH-IAM-BACKDOOR-KEY",
        "Access key created for another user",
        Severity.HIGH,
        "T1098.001",
        "A second access key on someone else's user is a classic backdoor: it survives the intruder's own "
        "key being disabled, and looks like the victim's activity afterwards.",
        match=Match(IAM, ("CreateAccessKey",), (absent("errorCode"),)),
        check=_for_another_user,
        alarm_where=(exists("requestParameters.userName"),),
    )
)
register(
    Rule(
        "TH-IAM-BACKDOOR-LOGIN",
        "Console password set for another user",
        Severity.HIGH,
        "T1098",
        "Creating or resetting another user's login profile gives console access as that user.",
        match=Match(IAM, ("CreateLoginProfile", "UpdateLoginProfile"), (absent("errorCode"),)),
        check=_for_another_user,
        alarm_where=(exists("requestParameters.userName"),),
    )
)


def _outside_trust(record: dict[str, Any], ctx: Context) -> str | None:
    document = policy.parse(request(record).get("policyDocument"))
    if document is None:
        return None
    outsiders: list[str] = []
    for statement in policy.statements(document):
        if not policy.allows(statement):
            continue
        for principal in policy.aws_principals(statement):
            account = policy.account_of(principal)
            if principal == "*" or ctx.external(account):
                outsiders.append(principal)
    if not outsiders:
        return None
    role = request(record).get("roleName", "?")
    return f"role {role} now trusts {', '.join(sorted(set(outsiders)))}"


register(
    Rule(
        "TH-IAM-TRUST-BACKDOOR",
        "Role trust policy opened to an outside account",
        Severity.HIGH,
        "T1098.003",
        "Adding an outside account (or anyone) to a role's trust policy lets that account assume the role "
        "at will, with no credential in this account to revoke.",
        match=Match(IAM, ("UpdateAssumeRolePolicy",), (absent("errorCode"),)),
        check=_outside_trust,
    )
)


def _grants_admin(record: dict[str, Any], admin_groups: set[str]) -> bool:
    params = request(record)
    name = record.get("eventName")
    if name in ("AttachUserPolicy", "AttachGroupPolicy"):
        return params.get("policyArn") in ADMIN_POLICIES
    if name in ("PutUserPolicy", "PutGroupPolicy"):
        document = policy.parse(params.get("policyDocument"))
        return document is not None and policy.is_admin(document)
    return name == "AddUserToGroup" and params.get("groupName") in admin_groups


def _new_admin_users(ctx: Context) -> list[Group]:
    """CreateUser, then that same user given admin rights (directly, inline, or via an admin group)."""
    names = ("CreateUser", "AttachUserPolicy", "PutUserPolicy", "AddUserToGroup", "AttachGroupPolicy", "PutGroupPolicy")
    rows = ctx.rows(
        "SELECT seq, rid FROM events WHERE event_source = ? AND event_name IN (SELECT unnest(?)) "
        "AND error_code IS NULL ORDER BY seq",
        [IAM, list(names)],
    )
    records = ctx.records([r[1] for r in rows])
    created: dict[str, int] = {}
    admin_groups: set[str] = set()
    pairs: list[tuple[int, int, str]] = []
    for seq, rid in rows:
        record = records.get(rid)
        if record is None:
            continue
        params = request(record)
        name = record.get("eventName")
        if name == "CreateUser" and isinstance(params.get("userName"), str):
            created[params["userName"]] = seq
        elif name in ("AttachGroupPolicy", "PutGroupPolicy") and _grants_admin(record, admin_groups):
            admin_groups.add(str(params.get("groupName")))
        elif params.get("userName") in created and _grants_admin(record, admin_groups):
            pairs.append((created[params["userName"]], seq, str(params["userName"])))
    hits = ctx.hits_for([s for pair in pairs for s in pair[:2]])
    return [
        Group([hits[a], hits[b]], detail=f"user {user} created and given administrator rights", actor=hits[b].actor)
        for a, b, user in pairs
        if a in hits and b in hits
    ]


register(
    Rule(
        "TH-IAM-NEW-ADMIN-USER",
        "New IAM user given administrator rights",
        Severity.CRITICAL,
        "T1136.003",
        "A fresh user with AdministratorAccess is the most common way an intruder keeps full control after "
        "the first credential is found and revoked.",
        match=Match(
            IAM, ("AttachUserPolicy",), (eq("requestParameters.policyArn", *ADMIN_POLICIES), absent("errorCode"))
        ),
        detect=_new_admin_users,
        notes=("The alarm watches AdministratorAccess attached to any user; pair it with a CreateUser alarm.",),
    )
)
