"""The calls that mint credentials, as methods every actor has.

AssumeRole, CreateAccessKey, GetSessionToken and GetFederationToken are what credential lineage
is built from, so their records must carry exactly the fields the lineage walk reads: the issued
``accessKeyId`` in ``responseElements`` and, for role sessions, ``assumedRoleUser``. Each method
returns the record(s) and the actor that holds the new credential, or ``None`` for that actor
when the call was made to fail (``error=...``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from investigations.simulate.identities import assumed_role, aws_account, federated_user, iam_user
from investigations.simulate.ids import iso, java_time, utc

if TYPE_CHECKING:
    from investigations.simulate.actor import Actor, Record


class IssuingCalls:
    """Mixed into ``Actor``; holds no state of its own."""

    __slots__ = ()

    def assume_role(
        self: Actor,
        role_arn: str,
        session_name: str,
        t: datetime,
        *,
        duration: int | None = None,
        source_identity: str | None = None,
        external_id: str | None = None,
        mfa_serial: str | None = None,
        **kw: Any,
    ) -> tuple[list[Record], Actor | None]:
        """STS AssumeRole: the record(s) and the new role session (None when the call failed).

        Across accounts CloudTrail delivers two copies with one ``sharedEventID`` and
        ``requestID``: the caller's account sees this actor, the role's account sees an
        ``AWSAccount`` identity. A chained call (from a role session) is limited to one hour.
        """
        role = self.world.role_from_arn(role_arn)
        chained = self.identity["type"] == "AssumedRole"
        if chained and duration is not None and duration > 3600:
            raise ValueError("role chaining limits a session to 3600 seconds")
        request: dict[str, Any] = {"roleArn": role_arn, "roleSessionName": session_name}
        if duration is not None:
            request["durationSeconds"] = duration
        if external_id is not None:
            request["externalId"] = external_id
        if mfa_serial is not None:
            request["serialNumber"] = mfa_serial
        inherited = self.identity.get("sessionContext", {}).get("sourceIdentity")
        source_identity = inherited or source_identity
        if source_identity is not None:
            request["sourceIdentity"] = source_identity
        ids = self.world.ids
        key = ids.key("ASIA")
        session = assumed_role(
            role,
            session_name,
            key,
            iso(utc(t)),
            mfa=mfa_serial is not None,
            source_identity=source_identity,
        )
        response: dict[str, Any] = {
            "credentials": self._credentials(key, t, duration or 3600),
            "assumedRoleUser": {"assumedRoleId": session["principalId"], "arn": session["arn"]},
        }
        if source_identity is not None:
            response["sourceIdentity"] = source_identity
        resources = [{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role_arn}]
        cross = role.account != self.account_id and not kw.get("error")
        shared = ids.uuid() if cross else None
        request_id = ids.uuid()
        first = self.call(
            "sts.amazonaws.com",
            "AssumeRole",
            t,
            request=request,
            response=response,
            resources=resources,
            shared_event_id=shared,
            request_id=request_id,
            **kw,
        )
        if kw.get("error"):
            return [first], None
        records = [first]
        if cross:
            owner_copy = self.call(
                "sts.amazonaws.com",
                "AssumeRole",
                t,
                request=request,
                response=response,
                resources=resources,
                shared_event_id=shared,
                request_id=request_id,
                identity=aws_account(self.principal_id, self.account_id),
                recipient=role.account,
                **kw,
            )
            records.append(owner_copy)
        new = replace(
            self,
            identity=session,
            account_id=role.account,
            ip=first["sourceIPAddress"],
            user_agent=first["userAgent"],
            console=False,
        )
        return records, new

    def create_access_key(self: Actor, user_name: str | None, t: datetime, **kw: Any) -> tuple[Record, Actor | None]:
        """IAM CreateAccessKey for ``user_name`` (None: for the caller itself, as root does).
        Returns the record and an actor holding the new AKIA key, used from this actor's origin."""
        target = user_name or self.identity.get("userName")
        ids = self.world.ids
        key = ids.key("AKIA")
        access_key = {"accessKeyId": key, "status": "Active", "createDate": java_time(utc(t))}
        if target is not None:
            access_key = {"userName": target, **access_key}
        request = {"userName": user_name} if user_name is not None else None
        rec = self.call(
            "iam.amazonaws.com", "CreateAccessKey", t, request=request, response={"accessKey": access_key}, **kw
        )
        if kw.get("error"):
            return rec, None
        if target is None:
            new_identity = {**self.identity, "accessKeyId": key}
            new_identity.pop("sessionContext", None)
        else:
            new_identity = iam_user(self.world.user(self.account_id, target), key)
        return rec, replace(self, identity=new_identity, console=False)

    def get_session_token(
        self: Actor, t: datetime, *, duration: int = 43200, mfa_serial: str | None = None, **kw: Any
    ) -> tuple[Record, Actor | None]:
        """STS GetSessionToken: later calls show the same user (or root) with an ASIA key."""
        request: dict[str, Any] = {"durationSeconds": duration}
        if mfa_serial is not None:
            request["serialNumber"] = mfa_serial
        key = self.world.ids.key("ASIA")
        response = {"credentials": self._credentials(key, t, duration)}
        rec = self.call("sts.amazonaws.com", "GetSessionToken", t, request=request, response=response, **kw)
        if kw.get("error"):
            return rec, None
        ctx = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(utc(t)), "mfaAuthenticated": "true" if mfa_serial else "false"},
        }
        new_identity = {**self.identity, "accessKeyId": key, "sessionContext": ctx}
        return rec, replace(self, identity=new_identity)

    def get_federation_token(
        self: Actor, name: str, t: datetime, *, duration: int = 43200, **kw: Any
    ) -> tuple[Record, Actor | None]:
        """STS GetFederationToken: later calls are ``FederatedUser`` issued by this IAM user."""
        user = self.world.user(self.account_id, self.identity["userName"])
        key = self.world.ids.key("ASIA")
        created = iso(utc(t))
        new_identity = federated_user(user, name, key, created)
        response = {
            "credentials": self._credentials(key, t, duration),
            "federatedUser": {"federatedUserId": new_identity["principalId"], "arn": new_identity["arn"]},
            "packedPolicySize": 6,
        }
        request = {"name": name, "durationSeconds": duration}
        rec = self.call("sts.amazonaws.com", "GetFederationToken", t, request=request, response=response, **kw)
        if kw.get("error"):
            return rec, None
        return rec, replace(self, identity=new_identity)
