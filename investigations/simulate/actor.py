"""An actor is one credential in use: an identity, its key, and where its calls come from.

Scenarios are written as actors making calls at given times. Each call returns the record
CloudTrail would deliver; calls that mint credentials (AssumeRole, CreateAccessKey,
GetSessionToken, GetFederationToken) also return the actor that holds the new credential, so a
chain of sessions reads as a chain of Python values and the records link up the way lineage
analysis expects (issued ``accessKeyId`` equals the next actor's ``userIdentity.accessKeyId``).

Records share nested objects (the identity, ``tlsDetails``) with the actor that made them, which
keeps generating millions of them cheap. Treat records as read-only, or deep-copy one before
editing its nested parts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from investigations.simulate import catalog
from investigations.simulate.identities import Identity
from investigations.simulate.ids import iso, java_time, utc
from investigations.simulate.issuing import IssuingCalls

if TYPE_CHECKING:
    from investigations.simulate.world import World

Record = dict[str, Any]

S3 = "s3.amazonaws.com"
_ERROR_TEXT = {"ThrottlingException": "Rate exceeded", "Client.RequestLimitExceeded": "Request limit exceeded."}


@dataclass(frozen=True, slots=True)
class Actor(IssuingCalls):
    """A credential in use. ``region`` is where its regional calls go unless a call says otherwise.

    ``console`` marks console-session credentials (calls carry ``sessionCredentialFromConsole``);
    ``in_aws`` marks calls an AWS service makes itself (no TLS details from a client).
    """

    world: World
    identity: Identity
    account_id: str
    ip: str
    user_agent: str
    region: str = "us-east-1"
    console: bool = False
    in_aws: bool = False

    @property
    def key(self) -> str | None:
        return self.identity.get("accessKeyId") or None

    @property
    def arn(self) -> str | None:
        return self.identity.get("arn")

    @property
    def principal_id(self) -> str:
        return self.identity["principalId"]

    def at(self, *, ip: str | None = None, user_agent: str | None = None, region: str | None = None) -> Actor:
        """The same credential used from elsewhere (another IP, tool or default region)."""
        return replace(self, ip=ip or self.ip, user_agent=user_agent or self.user_agent, region=region or self.region)

    def call(
        self,
        source: str,
        name: str,
        t: datetime,
        *,
        region: str | None = None,
        ip: str | None = None,
        ua: str | None = None,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        error: str | None = None,
        error_message: str | None = None,
        resources: list[dict[str, str]] | None = None,
        additional: dict[str, Any] | None = None,
        read_only: bool | None = None,
        recipient: str | None = None,
        category: str = "Management",
        event_type: str = "AwsApiCall",
        shared_event_id: str | None = None,
        request_id: str | None = None,
        identity: Identity | None = None,
        host: str | None = None,
    ) -> Record:
        """One API call as CloudTrail records it. An ``error`` drops ``responseElements``; an
        access-denied code without ``error_message`` gets the service's usual wording."""
        ids = self.world.ids
        where = catalog.record_region(source, region, self.region)
        rec: Record = {
            "eventVersion": catalog.event_version(source),
            "userIdentity": identity or self.identity,
            "eventTime": iso(utc(t)),
            "eventSource": source,
            "eventName": name,
            "awsRegion": where,
            "sourceIPAddress": ip or self.ip,
            "userAgent": ua or self.user_agent,
        }
        if error:
            rec["errorCode"] = error
            rec["errorMessage"] = error_message or self._error_text(source, name, error, resources)
            response = None
        rec["requestParameters"] = request
        rec["responseElements"] = response
        if source == S3:
            request_id = request_id or ids.s3_request_id()
            if additional is None:
                additional = s3_additional(ids.amz_id_2())
        if additional is not None:
            rec["additionalEventData"] = additional
        rec["requestID"] = request_id or ids.uuid()
        rec["eventID"] = ids.uuid()
        rec["readOnly"] = catalog.read_only(name) if read_only is None else read_only
        if resources:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = category == "Management"
        rec["recipientAccountId"] = recipient or self.account_id
        if shared_event_id:
            rec["sharedEventID"] = shared_event_id
        rec["eventCategory"] = category
        if self.console:
            rec["sessionCredentialFromConsole"] = "true"
        if not self.in_aws:
            rec["tlsDetails"] = catalog.tls_details(source, where, host)
        return rec

    def _error_text(self, source: str, name: str, code: str, resources: list[dict[str, str]] | None) -> str:
        if catalog.is_denial(code):
            target = resources[0].get("ARN", "*") if resources else "*"
            encoded = self.world.ids.hex(96)
            return catalog.denial_message(source, name, self.arn or self.principal_id, target, encoded)
        return _ERROR_TEXT.get(code, "An unknown error occurred")

    def deny(self, source: str, name: str, t: datetime, **kw: Any) -> Record:
        """A call IAM refused, with the error code this service uses for denials."""
        return self.call(source, name, t, error=catalog.denial_code(source), **kw)

    def s3_object(
        self,
        name: str,
        bucket: str,
        t: datetime,
        *,
        key: str | None = None,
        bytes_out: int = 0,
        bytes_in: int = 0,
        bucket_account: str | None = None,
        extra: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Record:
        """An S3 data event (GetObject, PutObject, ListObjects…): eventCategory ``Data``,
        ``bytesTransferredOut`` in additionalEventData, object and bucket in ``resources``."""
        where = kw.pop("region", None) or self.region
        owner = bucket_account or self.account_id
        host = f"{bucket}.s3.{where}.amazonaws.com"
        request: dict[str, Any] = {"bucketName": bucket, "Host": host}
        resources = []
        if key is not None:
            request["key"] = key
            resources.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
        if extra:
            request.update(extra)
        resources.append({"accountId": owner, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
        additional = s3_additional(self.world.ids.amz_id_2(), bytes_in=bytes_in, bytes_out=bytes_out)
        return self.call(
            S3,
            name,
            t,
            region=where,
            request=request,
            resources=resources,
            additional=additional,
            category="Data",
            host=host,
            **kw,
        )

    def _credentials(self, key: str, t: datetime, seconds: int) -> dict[str, str]:
        return {
            "accessKeyId": key,
            "sessionToken": self.world.ids.session_token(),
            "expiration": java_time(utc(t) + timedelta(seconds=seconds)),
        }


def s3_additional(amz_id_2: str, *, bytes_in: int = 0, bytes_out: int = 0) -> dict[str, Any]:
    """``additionalEventData`` as S3 writes it on every request it logs."""
    return {
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": bytes_in,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": amz_id_2,
        "bytesTransferredOut": bytes_out,
    }
