"""The world a scenario happens in: the seed, the named principals, and where actors come from.

A ``World`` hands out actors (IAM users with long-term keys, root, AWS services, console and
service-issued role sessions) whose identities are consistent across a whole dataset: the same
user always has the same ``AIDA…`` ID and long-term key for a given seed, whichever part of a
scenario mentions it first. Random-looking values come from the world's own stream; ``fork``
gives an independent stream so that, for example, the size of the background noise does not
change the event IDs of an attack.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from investigations.simulate.actor import Actor, Record
from investigations.simulate.identities import (
    Principal,
    assumed_role,
    aws_service,
    console_user,
    iam_user,
    parse_role_arn,
    root,
)
from investigations.simulate.ids import Ids, iso, java_time, stable_id, utc

_CONSOLE_HOME = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB"


class World:
    """Identities and identifiers for one seed."""

    def __init__(self, seed: int = 0, *, stream: str = "main") -> None:
        self.seed = seed
        self.stream = stream
        self.ids = Ids(random.Random(f"{seed}:{stream}"))

    def fork(self, stream: str) -> World:
        """A world with the same principals and an independent random stream."""
        return World(self.seed, stream=f"{self.stream}/{stream}")

    def user(self, account: str, name: str, path: str = "/") -> Principal:
        return Principal("user", account, name, stable_id(self.seed, "AIDA", account, name), path)

    def role(self, account: str, name: str, path: str = "/") -> Principal:
        return Principal("role", account, name, stable_id(self.seed, "AROA", account, name), path)

    def role_from_arn(self, role_arn: str) -> Principal:
        account, path, name = parse_role_arn(role_arn)
        return self.role(account, name, path)

    def access_key(self, account: str, user: str, number: int = 1) -> str:
        """The long-term key a user has had since before the dataset starts."""
        return stable_id(self.seed, "AKIA", account, user, str(number))

    def iam_user(
        self,
        account: str,
        name: str,
        *,
        ip: str,
        user_agent: str,
        key: str | None = None,
        region: str = "us-east-1",
    ) -> Actor:
        """An IAM user calling with a long-term key (its first key unless ``key`` is given)."""
        identity = iam_user(self.user(account, name), key or self.access_key(account, name))
        return Actor(self, identity, account, ip, user_agent, region)

    def root(self, account: str, *, ip: str, user_agent: str, key: str | None = None) -> Actor:
        return Actor(self, root(account, key or self.access_key(account, "root")), account, ip, user_agent)

    def service(self, service: str, account: str, region: str = "us-east-1") -> Actor:
        """An AWS service acting in ``account``: ``AWSService`` identity, its name as IP and agent."""
        return Actor(self, aws_service(service), account, service, service, region, in_aws=True)

    def service_session(
        self,
        service: str,
        role_arn: str,
        session_name: str,
        t: datetime,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        region: str = "us-east-1",
        duration: int = 3600,
        instance_arn: str | None = None,
    ) -> tuple[Record, Actor]:
        """A service assumes a role for a workload (instance profile, Lambda, service-linked role).

        The AssumeRole is logged in the role's account with an ``AWSService`` caller. Without
        ``ip`` the session's calls are made by the service itself (``invokedBy``, the service
        name as IP and agent); with it they come from the workload at that address.
        """
        role = self.role_from_arn(role_arn)
        key = self.ids.key("ASIA")
        t = utc(t)
        own = ip is None
        identity = assumed_role(
            role,
            session_name,
            key,
            iso(t),
            invoked_by=service if own else None,
            instance_arn=instance_arn,
        )
        response: dict[str, object] = {
            "credentials": {
                "accessKeyId": key,
                "sessionToken": self.ids.session_token(),
                "expiration": java_time(t + timedelta(seconds=duration)),
            }
        }
        if instance_arn is None:
            response["assumedRoleUser"] = {"assumedRoleId": identity["principalId"], "arn": identity["arn"]}
        record = self.service(service, role.account, region).call(
            "sts.amazonaws.com",
            "AssumeRole",
            t,
            region=region,
            request={"roleArn": role_arn, "roleSessionName": session_name},
            response=response,
            resources=[{"accountId": role.account, "type": "AWS::IAM::Role", "ARN": role_arn}],
            shared_event_id=self.ids.uuid(),
        )
        session = Actor(
            self,
            identity,
            role.account,
            ip or service,
            user_agent or service,
            region,
            in_aws=own,
        )
        return record, session

    def instance_session(
        self, role_arn: str, instance_id: str, t: datetime, *, ip: str, user_agent: str, region: str
    ) -> tuple[Record, Actor]:
        """Instance-profile credentials: session name = instance ID, calls from the instance."""
        account = parse_role_arn(role_arn)[0]
        instance_arn = f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"
        return self.service_session(
            "ec2.amazonaws.com",
            role_arn,
            instance_id,
            t,
            ip=ip,
            user_agent=user_agent,
            region=region,
            duration=6 * 3600,
            instance_arn=instance_arn,
        )

    def lambda_session(
        self, role_arn: str, function: str, t: datetime, *, ip: str, user_agent: str, region: str
    ) -> tuple[Record, Actor]:
        """A Lambda execution role: session name = function name, calls from the Lambda fleet."""
        return self.service_session(
            "lambda.amazonaws.com",
            role_arn,
            function,
            t,
            ip=ip,
            user_agent=user_agent,
            region=region,
            duration=12 * 3600,
        )

    def console_login(
        self,
        account: str,
        user_name: str | None,
        t: datetime,
        *,
        ip: str,
        browser: str,
        mfa: bool = False,
        success: bool = True,
    ) -> tuple[Record, Actor | None]:
        """ConsoleLogin for an IAM user (``user_name=None``: root) and the console session.

        The sign-in record carries no key; the session's API calls carry a temporary ASIA key
        and ``creationDate`` = the login time, which is how responders tie them together.
        """
        t = utc(t)
        if user_name is None:
            identity = root(account, "")
            principal = None
        else:
            principal = self.user(account, user_name)
            identity = console_user(principal)
        additional: dict[str, str] = {"LoginTo": _CONSOLE_HOME, "MobileVersion": "No"}
        additional["MFAUsed"] = "Yes" if mfa else "No"
        if mfa and principal is not None:
            additional["MFAIdentifier"] = f"arn:aws:iam::{account}:mfa/{principal.name}"
        signer = Actor(self, identity, account, ip, browser)
        record = signer.call(
            "signin.amazonaws.com",
            "ConsoleLogin",
            t,
            response={"ConsoleLogin": "Success" if success else "Failure"},
            additional=additional,
            event_type="AwsConsoleSignIn",
            read_only=False,
        )
        del record["requestID"]
        if not success:
            record["errorMessage"] = "Failed authentication"
            return record, None
        key = self.ids.key("ASIA")
        created = iso(t)
        if principal is None:
            session_identity = root(account, key, created=created, mfa=mfa)
        else:
            session_identity = iam_user(principal, key, created=created, mfa=mfa)
        return record, Actor(self, session_identity, account, ip, browser, console=True)
