"""CIS AWS Foundations Benchmark monitoring controls (section 4 in v1.4 to v3.0, 3 in v1.2).

The benchmark asks for a CloudWatch Logs metric filter and alarm for each of these; here each is a
rule over the case, and its alarm material is the benchmark's own filter, so a responder can check
whether the account would have alerted, and add the alarm if not.
"""

from __future__ import annotations

from investigations.detections.registry import Match, Rule, Severity, absent, eq, ne, register

_EC2 = "ec2.amazonaws.com"


def _cis(number: str, title: str, severity: Severity, technique: str, why: str, match: Match) -> Rule:
    return register(Rule(f"TH-CIS-{number}", f"CIS {number}: {title}", severity, technique, why, match=match))


_cis(
    "4.1",
    "unauthorized API calls",
    Severity.LOW,
    "T1580",
    "Denied calls are how stolen credentials show their limits: an intruder probing what a key may do "
    "leaves a trail of AccessDenied and UnauthorizedOperation errors.",
    Match(
        where=(
            eq("errorCode", "*UnauthorizedOperation", "AccessDenied*"),
            ne("sourceIPAddress", "delivery.logs.amazonaws.com"),
            ne("eventName", "HeadBucket"),
        )
    ),
)
_cis(
    "4.2",
    "console sign-in without MFA",
    Severity.MEDIUM,
    "T1078.004",
    "A password alone opened the console: a phished or reused password is enough to repeat it.",
    Match(
        "signin.amazonaws.com",
        ("ConsoleLogin",),
        (
            eq("userIdentity.type", "IAMUser"),
            ne("additionalEventData.MFAUsed", "Yes", "YES", "yes"),
            eq("responseElements.ConsoleLogin", "Success"),
        ),
    ),
)
_cis(
    "4.3",
    "root account used",
    Severity.HIGH,
    "T1078.004",
    "The root user cannot be restricted by IAM or SCPs; day-to-day work never needs it, an intruder does.",
    Match(
        where=(eq("userIdentity.type", "Root"), absent("userIdentity.invokedBy"), ne("eventType", "AwsServiceEvent"))
    ),
)
_cis(
    "4.4",
    "IAM policy changed",
    Severity.MEDIUM,
    "T1098",
    "Policy edits grant or widen access; intruders use them to give themselves or a backdoor identity more power.",
    Match(
        "iam.amazonaws.com",
        (
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "SetDefaultPolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
    ),
)
_cis(
    "4.5",
    "CloudTrail configuration changed",
    Severity.HIGH,
    "T1562.008",
    "Stopping, deleting or narrowing a trail blinds the evidence this investigation depends on.",
    Match(
        "cloudtrail.amazonaws.com",
        ("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", "PutEventSelectors"),
    ),
)
_cis(
    "4.6",
    "console authentication failures",
    Severity.LOW,
    "T1110",
    "Repeated failed console logins are password guessing or a stuffing run against known users.",
    Match("signin.amazonaws.com", ("ConsoleLogin",), (eq("errorMessage", "Failed authentication"),)),
)
_cis(
    "4.7",
    "KMS key disabled or scheduled for deletion",
    Severity.HIGH,
    "T1485",
    "Data encrypted under a deleted key is gone for good; disabling keys is also a ransom lever.",
    Match("kms.amazonaws.com", ("DisableKey", "ScheduleKeyDeletion")),
)
_cis(
    "4.8",
    "S3 bucket policy changed",
    Severity.MEDIUM,
    "T1530",
    "Bucket policies and ACLs decide who can read the data; one edit can expose a bucket to the world.",
    Match(
        "s3.amazonaws.com",
        (
            "PutBucketAcl",
            "PutBucketPolicy",
            "PutBucketCors",
            "PutBucketLifecycle",
            "PutBucketReplication",
            "DeleteBucketPolicy",
            "DeleteBucketCors",
            "DeleteBucketLifecycle",
            "DeleteBucketReplication",
        ),
    ),
)
_cis(
    "4.9",
    "AWS Config changed",
    Severity.MEDIUM,
    "T1562.001",
    "Config records how resources change; stopping it hides the intruder's changes from later review.",
    Match(
        "config.amazonaws.com",
        ("StopConfigurationRecorder", "DeleteDeliveryChannel", "PutDeliveryChannel", "PutConfigurationRecorder"),
    ),
)
_cis(
    "4.10",
    "security group changed",
    Severity.LOW,
    "T1562.007",
    "Security groups are the instance firewall; opening one is how an intruder gets a door in.",
    Match(
        _EC2,
        (
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
            "ModifySecurityGroupRules",
        ),
    ),
)
_cis(
    "4.11",
    "network ACL changed",
    Severity.LOW,
    "T1562.007",
    "Network ACLs filter whole subnets; a changed entry can open or cut off a network.",
    Match(
        _EC2,
        (
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ),
    ),
)
_cis(
    "4.12",
    "network gateway changed",
    Severity.LOW,
    "T1578",
    "Gateways decide what reaches the internet; a new one can be an exfiltration path.",
    Match(
        _EC2,
        (
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ),
    ),
)
_cis(
    "4.13",
    "route table changed",
    Severity.LOW,
    "T1578",
    "Routes steer traffic; a changed route can send a subnet's traffic somewhere it should not go.",
    Match(
        _EC2,
        (
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ),
    ),
)
_cis(
    "4.14",
    "VPC changed",
    Severity.LOW,
    "T1578",
    "New VPCs and peerings change which networks can talk to each other, inside and across accounts.",
    Match(
        _EC2,
        (
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ),
    ),
)
_cis(
    "4.15",
    "AWS Organizations changed",
    Severity.MEDIUM,
    "T1666",
    "Organization changes move accounts out from under guardrails (SCPs, org trails) or add accounts an "
    "intruder controls.",
    Match(
        "organizations.amazonaws.com",
        (
            "AcceptHandshake",
            "AttachPolicy",
            "CreateAccount",
            "CreateOrganizationalUnit",
            "CreatePolicy",
            "DeclineHandshake",
            "DeleteOrganization",
            "DeleteOrganizationalUnit",
            "DeletePolicy",
            "DetachPolicy",
            "DisablePolicyType",
            "EnablePolicyType",
            "InviteAccountToOrganization",
            "LeaveOrganization",
            "MoveAccount",
            "RemoveAccountFromOrganization",
            "UpdatePolicy",
            "UpdateOrganizationalUnit",
        ),
    ),
)
