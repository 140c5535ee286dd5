"""``userIdentity`` objects for each kind of caller, shaped as CloudTrail writes them.

Kept apart from the actors so that a test can build one identity by hand (say, an AWSAccount
copy) without going through a whole call. Temporary credentials carry a ``sessionContext`` whose
``creationDate`` and ``mfaAuthenticated`` are strings, exactly as in real logs; lineage code
falls back on ``(arn, creationDate)`` when a key is missing, so the two must agree with the
issuing event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Identity = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Principal:
    """A long-lived IAM principal: a user (``AIDA…``) or a role (``AROA…``)."""

    kind: str  # "user" or "role"
    account: str
    name: str
    id: str
    path: str = "/"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:{self.kind}{self.path}{self.name}"


def parse_role_arn(role_arn: str) -> tuple[str, str, str]:
    """``(account, path, name)`` of ``arn:aws:iam::<acct>:role[/path]/<name>``."""
    parts = role_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ValueError(f"not an IAM role ARN: {role_arn!r}")
    resource = parts[5][len("role") :]
    path, _, name = resource.rpartition("/")
    return parts[4], path + "/", name


def _context(created: str, mfa: bool, issuer: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "sessionIssuer": issuer or {},
        "webIdFederationData": {},
        "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"},
    }


def iam_user(user: Principal, key: str, *, created: str | None = None, mfa: bool = False) -> Identity:
    """An IAM user; ``created`` marks a session (console login or GetSessionToken, ASIA key)."""
    ident: Identity = {
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": user.account,
        "accessKeyId": key,
        "userName": user.name,
    }
    if created is not None:
        ident["sessionContext"] = _context(created, mfa)
    return ident


def root(account: str, key: str, *, created: str | None = None, mfa: bool = False) -> Identity:
    ident: Identity = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": key,
    }
    if created is not None:
        ident["sessionContext"] = _context(created, mfa)
    return ident


def role_issuer(role: Principal) -> dict[str, str]:
    return {
        "type": "Role",
        "principalId": role.id,
        "arn": role.arn,
        "accountId": role.account,
        "userName": role.name,
    }


def assumed_role(
    role: Principal,
    session: str,
    key: str,
    created: str,
    *,
    mfa: bool = False,
    source_identity: str | None = None,
    invoked_by: str | None = None,
    instance_arn: str | None = None,
) -> Identity:
    """A role session. ``instance_arn`` marks instance-profile credentials (IMDSv2)."""
    ctx = _context(created, mfa, role_issuer(role))
    if source_identity is not None:
        ctx["sourceIdentity"] = source_identity
    if instance_arn is not None:
        ctx["ec2RoleDelivery"] = "2.0"
    ident: Identity = {
        "type": "AssumedRole",
        "principalId": f"{role.id}:{session}",
        "arn": f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{session}",
        "accountId": role.account,
        "accessKeyId": key,
        "sessionContext": ctx,
    }
    if invoked_by is not None:
        ident["invokedBy"] = invoked_by
    if instance_arn is not None:
        ident["inScopeOf"] = {"issuerType": "AWS::EC2::Instance", "credentialsIssuedTo": instance_arn}
    return ident


def federated_user(issuer: Principal, name: str, key: str, created: str) -> Identity:
    """A GetFederationToken session; its issuer is the IAM user that asked for it."""
    return {
        "type": "FederatedUser",
        "principalId": f"{issuer.account}:{name}",
        "arn": f"arn:aws:sts::{issuer.account}:federated-user/{name}",
        "accountId": issuer.account,
        "accessKeyId": key,
        "sessionContext": _context(
            created,
            False,
            {
                "type": "IAMUser",
                "principalId": issuer.id,
                "arn": issuer.arn,
                "accountId": issuer.account,
                "userName": issuer.name,
            },
        ),
    }


def aws_account(principal_id: str, account: str) -> Identity:
    """The caller as the role owner's copy of a cross-account AssumeRole shows it: no ARN, no key."""
    return {"type": "AWSAccount", "principalId": principal_id, "accountId": account}


def aws_service(service: str) -> Identity:
    """An AWS service acting in the account (for example assuming an instance-profile role)."""
    return {"type": "AWSService", "invokedBy": service}


def console_user(user: Principal) -> Identity:
    """The identity on an IAM user's ConsoleLogin: no key yet, the session starts here."""
    return {
        "type": "IAMUser",
        "principalId": user.id,
        "arn": user.arn,
        "accountId": user.account,
        "accessKeyId": "",
        "userName": user.name,
    }
