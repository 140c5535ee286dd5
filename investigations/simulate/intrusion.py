"""The intruder's individual moves, each shaped as the real API call is logged.

Kept apart from the story that sequences them so each move can be reused by other tests (an
ingress rule opening SSH to 0.0.0.0/0, a snapshot shared with an outside account, a recon sweep
that ends in a burst of denials) without replaying the whole scenario.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from investigations.simulate import cast as c
from investigations.simulate.actor import Actor, Record

EC2_EMPTY = {"instancesSet": {}, "filterSet": {}}
RECON_REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2")


def recon(actor: Actor, t: datetime) -> list[Record]:
    """Enumeration from a script: what works, and a burst of denials on what does not."""
    plan: list[tuple[str, str, str | None, dict[str, Any] | None, bool]] = [
        ("iam.amazonaws.com", "ListUsers", None, None, False),
        ("iam.amazonaws.com", "ListRoles", None, None, False),
        ("iam.amazonaws.com", "GetAccountAuthorizationDetails", None, {"filter": ["User", "Role"]}, True),
        ("iam.amazonaws.com", "ListAttachedUserPolicies", None, {"userName": c.LEAKED_USER}, False),
        ("iam.amazonaws.com", "ListAccessKeys", None, {"userName": c.LEAKED_USER}, True),
        ("organizations.amazonaws.com", "DescribeOrganization", None, None, True),
        ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.amazonaws.com"}, False),
        ("cloudtrail.amazonaws.com", "DescribeTrails", "us-east-1", {"includeShadowTrails": True}, False),
    ]
    for region in RECON_REGIONS:
        plan.append(("ec2.amazonaws.com", "DescribeInstances", region, EC2_EMPTY, False))
    for region in c.REGIONS:
        plan.append(("lambda.amazonaws.com", "ListFunctions20150331", region, {}, False))
    for region in c.REGIONS:
        plan.append(("secretsmanager.amazonaws.com", "ListSecrets", region, {}, True))
        plan.append(("guardduty.amazonaws.com", "ListDetectors", region, {}, True))
        plan.append(("rds.amazonaws.com", "DescribeDBInstances", region, {}, True))
        plan.append(("kms.amazonaws.com", "ListKeys", region, {}, True))
    records = []
    rng = actor.world.ids.rng
    for source, name, region, request, denied in plan:
        t += timedelta(seconds=rng.randint(1, 3) if denied else rng.randint(3, 9))
        if denied:
            records.append(actor.deny(source, name, t, region=region, request=request))
        else:
            records.append(actor.call(source, name, t, region=region, request=request))
    return records


def open_ssh(actor: Actor, t: datetime) -> Record:
    request = {
        "groupId": c.SECURITY_GROUP_ID,
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "groups": {},
                    "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                    "ipv6Ranges": {},
                    "prefixListIds": {},
                }
            ]
        },
    }
    rule = {
        "groupOwnerId": c.PROD,
        "groupId": c.SECURITY_GROUP_ID,
        "securityGroupRuleId": "sgr-0e9d8c7b6a5f43210",
        "isEgress": False,
        "ipProtocol": "tcp",
        "fromPort": 22,
        "toPort": 22,
        "cidrIpv4": "0.0.0.0/0",
    }
    response = {"requestId": actor.world.ids.uuid(), "_return": True, "securityGroupRuleSet": {"items": [rule]}}
    return actor.call(
        "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", t, region="eu-west-1", request=request, response=response
    )


def share_snapshot(actor: Actor, t: datetime) -> Record:
    request = {
        "snapshotId": c.SNAPSHOT_ID,
        "attributeType": "CREATE_VOLUME_PERMISSION",
        "createVolumePermission": {"add": {"items": [{"userId": c.OUTSIDE_ACCOUNT}]}},
    }
    response = {"requestId": actor.world.ids.uuid(), "_return": True}
    return actor.call(
        "ec2.amazonaws.com", "ModifySnapshotAttribute", t, region="eu-west-1", request=request, response=response
    )
