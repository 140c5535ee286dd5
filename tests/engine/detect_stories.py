"""One story per built-in rule: events that must fire it and look-alikes that must not.

Every story has its own actors, so stories do not feed each other's baselines. The case runs
from day 0 to day 4 (learning period 24 h); actors with a history act on days 0-2 and do the
thing that matters on day 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from investigations.simulate.actor import Actor
from investigations.simulate.world import World
from tests.engine.detect_records import (
    ACCOUNT,
    BOTO,
    CLI,
    EC2,
    IAM,
    INTRUDER_IP,
    OFFICE_IP,
    OTHER_ACCOUNT,
    OUTSIDER,
    S3,
    at,
)

Record = dict[str, Any]
SSH = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22}


@dataclass
class Story:
    fire: list[Record] = field(default_factory=list)
    quiet: list[Record] = field(default_factory=list)
    #: Events that set the scene (history, issuing calls) and are judged by neither side.
    scene: list[Record] = field(default_factory=list)


def _user(w: World, name: str, ip: str = OFFICE_IP, ua: str = CLI) -> Actor:
    return w.iam_user(ACCOUNT, name, ip=ip, user_agent=ua)


def _history(actor: Actor, days: int = 3) -> list[Record]:
    return [actor.call(S3, "ListBuckets", at(days=d)) for d in range(days)]


def _ingress(actor: Actor, when: Any, perm: dict[str, Any], **kw: Any) -> Record:
    request = {"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [perm]}}
    return actor.call(EC2, "AuthorizeSecurityGroupIngress", when, request=request, **kw)


def _world_range(cidr: str) -> dict[str, Any]:
    key = "ipv6Ranges" if ":" in cidr else "ipRanges"
    return {key: {"items": [{"cidrIpv6" if ":" in cidr else "cidrIp": cidr}]}}


def cis(w: World) -> dict[str, Story]:
    u = _user(w, "cis-user")
    day3 = at(days=3)
    login, _ = w.console_login(ACCOUNT, "cis-console", day3, ip=OFFICE_IP, browser="Mozilla/5.0 Firefox/125.0")
    mfa_login, _ = w.console_login(ACCOUNT, "cis-console", day3, ip=OFFICE_IP, browser="Mozilla/5.0", mfa=True)
    failed, _ = w.console_login(ACCOUNT, "cis-console", day3, ip=OFFICE_IP, browser="Mozilla/5.0", success=False)
    root = w.root(ACCOUNT, ip=OFFICE_IP, user_agent=CLI)
    delegated = {**root.identity, "invokedBy": "support.amazonaws.com"}
    simple = {
        "TH-CIS-4.4": (IAM, "PutUserPolicy", "ListPolicies"),
        "TH-CIS-4.5": ("cloudtrail.amazonaws.com", "StopLogging", "DescribeTrails"),
        "TH-CIS-4.7": ("kms.amazonaws.com", "ScheduleKeyDeletion", "CreateKey"),
        "TH-CIS-4.8": (S3, "PutBucketPolicy", "GetBucketPolicy"),
        "TH-CIS-4.9": ("config.amazonaws.com", "StopConfigurationRecorder", "DescribeConfigurationRecorders"),
        "TH-CIS-4.10": (EC2, "CreateSecurityGroup", "DescribeSecurityGroups"),
        "TH-CIS-4.11": (EC2, "CreateNetworkAclEntry", "DescribeNetworkAcls"),
        "TH-CIS-4.12": (EC2, "AttachInternetGateway", "DescribeInternetGateways"),
        "TH-CIS-4.13": (EC2, "CreateRoute", "DescribeRouteTables"),
        "TH-CIS-4.14": (EC2, "CreateVpcPeeringConnection", "DescribeVpcs"),
        "TH-CIS-4.15": ("organizations.amazonaws.com", "InviteAccountToOrganization", "ListAccounts"),
    }
    out = {
        rule: Story([u.call(source, yes, day3)], [u.call(source, no, day3)])
        for rule, (source, yes, no) in simple.items()
    }
    out["TH-CIS-4.1"] = Story(
        [
            u.call(S3, "ListBuckets", day3, error="AccessDenied"),
            u.call(EC2, "RunInstances", day3, error="Client.UnauthorizedOperation"),
        ],
        [
            u.call(IAM, "GetUser", day3, error="NoSuchEntity"),
            u.call(S3, "HeadBucket", day3, error="AccessDenied"),
            u.call(S3, "PutObject", day3, error="AccessDenied", ip="delivery.logs.amazonaws.com"),
        ],
    )
    out["TH-CIS-4.2"] = Story([login], [mfa_login, failed])
    out["TH-CIS-4.3"] = Story(
        [root.call(S3, "ListBuckets", day3)],
        [
            root.call(S3, "ListBuckets", day3, identity=delegated),
            root.call(S3, "PutObject", day3, event_type="AwsServiceEvent"),
        ],
    )
    out["TH-CIS-4.6"] = Story([failed], [login])
    return out


def iam(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    a = _user(w, "iam-admin")
    own_key, _ = a.create_access_key("iam-admin", day3)
    denied_key, _ = a.create_access_key("bob", day3, error="AccessDenied")
    backdoor_key, _ = a.create_access_key("bob", day3)
    profile = a.call(IAM, "CreateLoginProfile", day3, request={"userName": "bob", "passwordResetRequired": False})
    own_profile = a.call(IAM, "UpdateLoginProfile", day3, request={"userName": "iam-admin"})

    def trust(account_principal: str) -> Record:
        doc = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'
            + account_principal
            + '"},"Action":"sts:AssumeRole"}]}'
        )
        return a.call(IAM, "UpdateAssumeRolePolicy", day3, request={"roleName": "Deploy", "policyDocument": doc})

    admin = {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
    created_eve = a.call(IAM, "CreateUser", day3, request={"userName": "eve"})
    eve_admin = a.call(IAM, "AttachUserPolicy", at(days=3, minutes=2), request={"userName": "eve", **admin})
    created_gina = a.call(IAM, "CreateUser", day3, request={"userName": "gina"})
    admins_group = a.call(IAM, "AttachGroupPolicy", day3, request={"groupName": "admins", **admin})
    gina_joins = a.call(
        IAM, "AddUserToGroup", at(days=3, minutes=3), request={"groupName": "admins", "userName": "gina"}
    )
    created_frank = a.call(IAM, "CreateUser", day3, request={"userName": "frank"})
    frank_ro = a.call(
        IAM,
        "AttachUserPolicy",
        day3,
        request={"userName": "frank", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    )
    ops_admin = a.call(IAM, "AttachUserPolicy", day3, request={"userName": "ops", **admin})
    analytics = w.iam_user(OTHER_ACCOUNT, "analyst", ip=OFFICE_IP, user_agent=CLI)
    return {
        "TH-IAM-BACKDOOR-KEY": Story([backdoor_key], [own_key, denied_key]),
        "TH-IAM-BACKDOOR-LOGIN": Story([profile], [own_profile]),
        "TH-IAM-TRUST-BACKDOOR": Story(
            [trust(f"arn:aws:iam::{OUTSIDER}:root"), trust("*")],
            [trust(f"arn:aws:iam::{OTHER_ACCOUNT}:root")],
            scene=[analytics.call(S3, "ListBuckets", day3)],
        ),
        "TH-IAM-NEW-ADMIN-USER": Story(
            [created_eve, eve_admin, created_gina, gina_joins],
            [created_frank, frank_ro, ops_admin],
            scene=[admins_group],
        ),
    }


def network(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    a = _user(w, "net-admin")
    modify = a.call(
        EC2,
        "ModifySecurityGroupRules",
        day3,
        request={
            "ModifySecurityGroupRulesRequest": {
                "GroupId": "sg-0123456789abcdef0",
                "SecurityGroupRule": {
                    "SecurityGroupRuleId": "sgr-0123456789abcdef0",
                    "SecurityGroupRule": {
                        "IpProtocol": "tcp",
                        "FromPort": 3389,
                        "ToPort": 3389,
                        "CidrIpv4": "0.0.0.0/0",
                    },
                },
            }
        },
    )
    ssh_world = _ingress(a, day3, {**SSH, **_world_range("0.0.0.0/0")})
    all_v6 = _ingress(a, day3, {"ipProtocol": "-1", **_world_range("::/0")})
    https_world = _ingress(a, day3, {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, **_world_range("0.0.0.0/0")})
    ssh_inside = _ingress(a, day3, {**SSH, **_world_range("10.0.0.0/8")})
    ssh_denied = _ingress(a, day3, {**SSH, **_world_range("0.0.0.0/0")}, error="Client.UnauthorizedOperation")
    return {
        "TH-NET-SG-OPEN-ADMIN": Story([ssh_world, all_v6, modify], [ssh_inside, https_world, ssh_denied]),
        "TH-NET-SG-OPEN-WORLD": Story([https_world], [ssh_world, ssh_inside]),
    }


def exfil(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    a = _user(w, "data-admin")

    def snapshot(account: str, op: str = "add") -> Record:
        request = {
            "snapshotId": "snap-0123456789abcdef0",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {op: {"items": [{"userId": account}]}},
        }
        return a.call(EC2, "ModifySnapshotAttribute", day3, request=request)

    ami = a.call(
        EC2,
        "ModifyImageAttribute",
        day3,
        request={"imageId": "ami-0123456789abcdef0", "launchPermission": {"add": {"items": [{"group": "all"}]}}},
    )
    rds = a.call(
        "rds.amazonaws.com",
        "ModifyDBSnapshotAttribute",
        day3,
        request={"dBSnapshotIdentifier": "prod-db", "attributeName": "restore", "valuesToAdd": [OUTSIDER]},
    )
    public_policy = (
        '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::web/*"}]}'
    )
    vpce_policy = (
        '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::web/*",'
        '"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-0123"}}}]}'
    )
    acl = a.call(S3, "PutBucketAcl", day3, request={"bucketName": "web", "x-amz-acl": ["public-read"], "acl": ""})
    private = a.call(S3, "PutBucketAcl", day3, request={"bucketName": "web", "x-amz-acl": ["private"], "acl": ""})
    policy = a.call(S3, "PutBucketPolicy", day3, request={"bucketName": "web", "bucketPolicy": public_policy})
    vpce = a.call(S3, "PutBucketPolicy", day3, request={"bucketName": "web", "bucketPolicy": vpce_policy})
    unblock = a.call(S3, "DeleteBucketPublicAccessBlock", day3, request={"bucketName": "web"})
    replication = a.call(
        S3,
        "PutBucketReplication",
        day3,
        request={
            "bucketName": "prod-data",
            "ReplicationConfiguration": {
                "Role": f"arn:aws:iam::{ACCOUNT}:role/replication",
                "Rule": {"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::loot", "Account": OUTSIDER}},
            },
        },
    )
    copy_out = a.s3_object(
        "CopyObject",
        "loot",
        day3,
        key="q1.csv",
        bucket_account=OUTSIDER,
        extra={"x-amz-copy-source": "prod-data/q1.csv"},
    )
    copy_in = a.s3_object("CopyObject", "archive", day3, key="q1.csv", extra={"x-amz-copy-source": "prod-data/q1.csv"})
    big = 400 * 2**20
    jay = _user(w, "jay")
    kay = _user(w, "kay")
    downloads = [
        jay.s3_object("GetObject", "prod-data", at(days=3, minutes=i), key=f"dump/{i}", bytes_out=big) for i in range(3)
    ]
    small = [
        kay.s3_object("GetObject", "prod-data", at(days=3, minutes=i), key=f"doc/{i}", bytes_out=1000) for i in range(3)
    ]
    lou = _user(w, "lou")  # reads as much every day: nothing new on day 3
    habit = [
        lou.s3_object("GetObject", "prod-data", at(days=d, minutes=i), key=f"nightly/{i}", bytes_out=big)
        for d in (1, 3)
        for i in range(3)
    ]
    return {
        "TH-EXF-SNAPSHOT-SHARED": Story(
            [snapshot(OUTSIDER), ami, rds], [snapshot(OTHER_ACCOUNT), snapshot(OUTSIDER, "remove")]
        ),
        "TH-EXF-BUCKET-PUBLIC": Story([acl, policy, unblock], [private, vpce]),
        "TH-EXF-S3-EXTERNAL-COPY": Story([replication, copy_out], [copy_in]),
        "TH-EXF-S3-DOWNLOAD-SPIKE": Story(downloads, small + habit[3:], scene=habit[:3]),
    }


def access(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    a = _user(w, "ops")
    lee, mo, nan = _user(w, "lee"), _user(w, "mo"), _user(w, "nan")
    sm = "secretsmanager.amazonaws.com"
    harvest = [
        lee.call(sm, "GetSecretValue", at(days=3, minutes=i), request={"secretId": f"prod/{i}"}) for i in range(6)
    ]
    steady = [
        mo.call(sm, "GetSecretValue", at(days=3, minutes=i / 3), request={"secretId": "app/db"}) for i in range(30)
    ]
    spread = [
        nan.call(sm, "GetSecretValue", at(days=3, minutes=120 * i), request={"secretId": f"s/{i}"}) for i in range(6)
    ]
    lam = "lambda.amazonaws.com"
    return {
        "TH-CRED-SECRET-BURST": Story(harvest, steady + spread),
        "TH-CRED-EC2-PASSWORD": Story(
            [a.call(EC2, "GetPasswordData", day3, request={"instanceId": "i-0aa"})],
            [a.call(EC2, "DescribeInstances", day3)],
        ),
        "TH-EXEC-USERDATA": Story(
            [
                a.call(
                    EC2,
                    "ModifyInstanceAttribute",
                    day3,
                    request={"instanceId": "i-0aa", "userData": "<sensitiveDataRemoved>"},
                )
            ],
            [
                a.call(
                    EC2,
                    "ModifyInstanceAttribute",
                    day3,
                    request={"instanceId": "i-0aa", "instanceType": {"value": "m5.large"}},
                )
            ],
        ),
        "TH-EXEC-SSM": Story(
            [a.call("ssm.amazonaws.com", "SendCommand", day3, request={"documentName": "AWS-RunShellScript"})],
            [a.call("ssm.amazonaws.com", "ListCommands", day3)],
        ),
        "TH-EXEC-LAMBDA-URL-PUBLIC": Story(
            [a.call(lam, "CreateFunctionUrlConfig", day3, request={"functionName": "f", "authType": "NONE"})],
            [a.call(lam, "CreateFunctionUrlConfig", day3, request={"functionName": "f", "authType": "AWS_IAM"})],
        ),
    }


def evasion(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    a = _user(w, "sec-admin")
    gd = "guardduty.amazonaws.com"
    return {
        "TH-EVA-GUARDDUTY": Story(
            [
                a.call(gd, "DeleteDetector", day3, request={"detectorId": "d1"}),
                a.call(gd, "UpdateDetector", day3, request={"detectorId": "d1", "enable": False}),
                a.call(gd, "CreateFilter", day3, request={"detectorId": "d1", "name": "quiet", "action": "ARCHIVE"}),
            ],
            [
                a.call(gd, "UpdateDetector", day3, request={"detectorId": "d1", "enable": True}),
                a.call(gd, "CreateFilter", day3, request={"detectorId": "d1", "name": "tag", "action": "NOOP"}),
            ],
        ),
        "TH-EVA-SECURITYHUB": Story(
            [a.call("securityhub.amazonaws.com", "DisableSecurityHub", day3)],
            [a.call("securityhub.amazonaws.com", "GetFindings", day3)],
        ),
        "TH-EVA-CONFIG": Story(
            [a.call("config.amazonaws.com", "DeleteConfigurationRecorder", day3)],
            [a.call("config.amazonaws.com", "PutConfigurationRecorder", day3)],
        ),
        "TH-EVA-LOGGING": Story(
            [a.call("logs.amazonaws.com", "DeleteLogGroup", day3), a.call(EC2, "DeleteFlowLogs", day3)],
            [a.call("logs.amazonaws.com", "CreateLogGroup", day3)],
        ),
        "TH-EVA-LEAVE-ORG": Story(
            [a.call("organizations.amazonaws.com", "LeaveOrganization", day3)],
            [a.call("organizations.amazonaws.com", "DescribeOrganization", day3)],
        ),
    }


def tooling(w: World) -> dict[str, Story]:
    day3 = at(days=3)
    pat = _user(w, "pat")
    kali = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023"
    stratus = "stratus-red-team_5c4e2b1a-9f0d-4c3e-8b7a-6d5e4f3a2b1c"
    oli = _user(w, "oli")
    auditor = _user(w, "auditor", ua="Scout Suite/5.14.0 Python/3.11")
    prowler = "Boto3/1.34.0 Python/3.11 APN_1826889 prowler/4.2"
    return {
        "TH-TOOL-OFFENSIVE": Story(
            [pat.call(IAM, "ListUsers", day3, ua=kali), pat.call(IAM, "ListRoles", day3, ua=stratus)],
            [pat.call(IAM, "ListGroups", day3)],
        ),
        "TH-TOOL-AUDIT-NEWCOMER": Story(
            [oli.call(IAM, "ListUsers", day3, ua=prowler)],
            [auditor.call(IAM, "ListUsers", day3)],
            scene=[*_history(oli), auditor.call(IAM, "ListUsers", at(days=0, minutes=30))],
        ),
    }


def sequences(w: World) -> dict[str, Story]:
    d3 = 3 * 24 * 60
    dan, erin, fay = _user(w, "dan"), _user(w, "erin"), _user(w, "fay")
    distant = [dan.call(S3, "ListBuckets", at(d3)), dan.at(ip="203.0.113.31").call(S3, "ListBuckets", at(d3 + 5))]
    near = [erin.call(S3, "ListBuckets", at(d3)), erin.at(ip="198.51.7.41").call(S3, "ListBuckets", at(d3 + 5))]
    slow = [fay.call(S3, "ListBuckets", at(d3)), fay.at(ip="203.0.113.51").call(S3, "ListBuckets", at(d3 + 180))]
    names = ["ListUsers", "ListRoles", "ListPolicies", "ListGroups", "GetAccountSummary", "ListBuckets"]
    names += ["DescribeInstances", "DescribeVpcs", "DescribeSecurityGroups", "DescribeSnapshots"]
    sources = [IAM] * 5 + [S3] + [EC2] * 4

    def sweep(actor: Actor, count: int) -> list[Record]:
        calls = [actor.call("sts.amazonaws.com", "GetCallerIdentity", at(d3 + 60))]
        return calls + [actor.call(sources[i], names[i], at(d3 + 61 + i)) for i in range(count)]

    gus, hal, ian = _user(w, "gus"), _user(w, "hal"), _user(w, "ian")
    gus_sweep = sweep(gus.at(ip=INTRUDER_IP, user_agent=BOTO), 10)
    hal_sweep = sweep(hal, 10)
    ian_sweep = sweep(ian.at(ip="203.0.113.70"), 3)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/WebRole"
    start, web = w.instance_session(
        role_arn, "i-0abc1234def567890", at(days=2), ip="54.210.1.10", user_agent=BOTO, region="us-east-1"
    )
    assert web is not None
    start2, app = w.instance_session(
        role_arn, "i-0fedcba987654321a", at(days=2), ip="54.210.2.20", user_agent=BOTO, region="us-east-1"
    )
    assert app is not None
    return {
        "TH-KEY-DISTANT-NETWORKS": Story(distant, near + slow),
        "TH-RECON-NEW-NETWORK": Story(
            gus_sweep, hal_sweep + ian_sweep, scene=_history(gus) + _history(hal) + _history(ian)
        ),
        "TH-CRED-INSTANCE-OUTSIDE": Story(
            [web.at(ip="203.0.113.80").call(S3, "ListBuckets", at(d3))],
            [
                web.call(S3, "ListBuckets", at(d3 - 60)),
                app.call(S3, "ListBuckets", at(d3)),
                app.at(ip="10.0.1.5").call(S3, "ListBuckets", at(d3)),
            ],
            scene=[start, start2],
        ),
    }


def insight(state: str, minute: int, shared: str, event_id: str) -> Record:
    """A CloudTrail Insights record, as delivered under CloudTrail-Insight/ (no identity, no eventName)."""
    return {
        "eventVersion": "1.08",
        "eventTime": at(days=3, minutes=minute).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "awsRegion": "us-east-1",
        "eventID": event_id,
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": ACCOUNT,
        "sharedEventID": shared,
        "eventCategory": "Insight",
        "insightDetails": {
            "state": state,
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateAccessKey",
            "insightType": "ApiCallRateInsight",
            "insightContext": {
                "statistics": {"baseline": {"average": 0.002}, "insight": {"average": 4.0}, "insightDuration": 1},
                "attributions": [
                    {
                        "attribute": "userIdentityArn",
                        "insight": [{"value": f"arn:aws:iam::{ACCOUNT}:user/mallory", "average": 4.0}],
                        "baseline": [{"value": f"arn:aws:iam::{ACCOUNT}:user/ci", "average": 0.002}],
                    }
                ],
            },
        },
    }


def novelty(w: World) -> dict[str, Story]:
    kim = _user(w, "kim")
    day3 = at(days=3)
    history = _history(kim)
    return {
        "TH-NEW-IP": Story(
            [kim.at(ip="198.51.100.8").call(S3, "ListBuckets", day3)], [kim.call(S3, "ListBuckets", day3)], history
        ),
        "TH-NEW-NETWORK": Story(
            [kim.at(ip="203.0.113.44").call(S3, "ListBuckets", at(days=3, minutes=1))],
            [kim.at(ip="198.51.100.9").call(S3, "ListBuckets", at(days=3, minutes=1))],
            history,
        ),
        "TH-NEW-USER-AGENT": Story(
            [kim.call(S3, "ListBuckets", at(days=3, minutes=2), ua=BOTO)],
            [kim.call(S3, "ListBuckets", at(days=3, minutes=3))],
        ),
        "TH-NEW-REGION": Story(
            [kim.call(EC2, "DescribeRegions", day3, region="eu-west-1")],
            [kim.call(S3, "ListBuckets", day3, region="us-east-1")],
        ),
        "TH-NEW-API": Story([kim.call(IAM, "ListUsers", day3)], [kim.call(S3, "ListBuckets", at(days=3, minutes=4))]),
    }


def all_stories() -> tuple[dict[str, Story], list[Record]]:
    """Stories by rule id, and every record of the case (clock events on day 0 and day 4 included)."""
    w = World(seed=11)
    stories: dict[str, Story] = {}
    for part in (cis, iam, network, exfil, access, evasion, tooling, sequences, novelty):
        stories.update(part(w))
    clock = _user(w, "clock")
    stories["TH-INSIGHTS"] = Story(
        [insight("Start", 0, "ins-1", "insight-start"), insight("End", 5, "ins-1", "insight-end")],
        [clock.call(IAM, "ListUsers", at(days=3))],
    )
    records = [clock.call(S3, "ListBuckets", at(days=0)), clock.call(S3, "ListBuckets", at(days=4))]
    seen: set[str] = set()
    for story in stories.values():
        for rec in story.fire + story.quiet + story.scene:
            if rec["eventID"] not in seen:
                seen.add(rec["eventID"])
                records.append(rec)
    return stories, records
