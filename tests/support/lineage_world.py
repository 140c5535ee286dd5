"""A small breach, written record by record, that the lineage, pivot and graph tests reason about.

Accounts: A = 111111111111 (where alice works), B = 222222222222 (reached across accounts).
Times are 2024-05-01 unless marked D2 (2024-05-02).

    e32 06:00 alice/AKIA_ALICE (owner IP) AssumeRole Reporting/nightly, response key redacted ("")
    e33 06:10 ASIA_NIGHTLY  Reporting/nightly created 06:00 -> inferred child of AKIA_ALICE via e32
    e30 07:30 ASIA_ORPHAN   Reporting/etl created 07:00, sourceIdentity carol; no issuing event
    e31 07:45 ASIA_ORPHAN
    e01 08:00 alice/AKIA_ALICE (owner) ListBuckets
    e20 08:00 AWSService ec2.amazonaws.com AssumeRole WebRole/i-0abc1234def567890 -> ASIA_EC2
    e02 08:05 alice (owner) AssumeRole Deploy/alice -> ASIA_OWN1
    e03 08:06 ASIA_OWN1 DescribeInstances
    e21 08:10 ASIA_EC2 from the instance (10.0.1.15) GetObject web-assets/img/logo.png
    e50 08:30 SAMLUser erin AssumeRoleWithSAML Federated/erin -> ASIA_SAML
    e51 08:35 ASIA_SAML ListBuckets
    e04 09:00 alice/AKIA_ALICE from the intruder's IP 203.0.113.66: GetCallerIdentity
    e05 09:01 intruder AssumeRole Backup -> AccessDenied (issues nothing)
    e06 09:02 intruder AssumeRole Deploy/ops -> ASIA_INT1
    e06d 09:02 decoy: bob/AKIA_BOB AssumeRole Deploy/ops -> ASIA_DECOY (same role, name, second)
    e07 09:03 ASIA_INT1 GetObject prod-data/finance/q1.csv, 1 MiB out (delivered twice)
    e08 09:03:30 ASIA_DECOY GetObject prod-data/public/readme.txt
    e09a 09:04 ASIA_INT1 AssumeRole B:Audit/ops -> ASIA_INT2 (caller copy, in A)
    e09b 09:04 the same call, role owner's copy in B (AWSAccount identity, same sharedEventID)
    e10 09:05 ASIA_INT2 DescribeInstances eu-west-1 in B
    e11 09:06 ASIA_INT2 AssumeRole B:Admin/ops -> ASIA_INT3 (third link of the chain)
    e12 09:07 ASIA_INT3 CreateAccessKey for svc-backup -> AKIA_BACKDOOR
    e13 09:08 ASIA_INT3 StopLogging org-trail
    e16 10:30 alice (owner) GetSessionToken -> ASIA_GST
    e17 10:31 ASIA_GST as IAMUser alice (created 10:30) ListUsers
    e22 11:00 ASIA_EC2 from 203.0.113.66 (stolen instance credentials) ListBuckets
    e40 12:00 dave ConsoleLogin (no key)
    e41 12:01 dave ASIA_CON1 created 12:00 DescribeInstances
    e42 12:20 dave ASIA_CON2 created 12:00 ListRoles (same console session, second key)
    e14 D2 10:00 AKIA_BACKDOOR from 192.0.2.99 GetSecretValue prod/db
    e15 D2 10:01 AKIA_BACKDOOR AuthorizeSecurityGroupIngress sg-0123456789abcdef0
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources

A, B = "111111111111", "222222222222"
OWNER_IP, INTRUDER_IP, BOB_IP, BACKDOOR_IP = "198.51.100.10", "203.0.113.66", "198.51.100.20", "192.0.2.99"
OWNER_UA, INTRUDER_UA = "aws-cli/2.15.0 Python/3.11 owner-laptop", "Boto3/1.34.0 Python/3.12 Linux"
AKIA_ALICE, AKIA_BOB, AKIA_BACKDOOR = "AKIAALICE00000000001", "AKIABOB0000000000001", "AKIABACKDOOR00000001"
ASIA_OWN1, ASIA_INT1, ASIA_INT2, ASIA_INT3 = (
    "ASIAOWN10000000000001",
    "ASIAINT10000000000001",
    "ASIAINT20000000000001",
    "ASIAINT30000000000001",
)
ASIA_DECOY, ASIA_GST, ASIA_EC2, ASIA_SAML = (
    "ASIADECOY00000000001",
    "ASIAGST0000000000001",
    "ASIAEC20000000000001",
    "ASIASAML000000000001",
)
ASIA_NIGHTLY, ASIA_ORPHAN, ASIA_CON1, ASIA_CON2 = (
    "ASIANIGHTLY000000001",
    "ASIAORPHAN0000000001",
    "ASIACON10000000000001",
    "ASIACON20000000000001",
)
INSTANCE = "i-0abc1234def567890"
ALICE_ARN = f"arn:aws:iam::{A}:user/alice"
DEPLOY_OPS = f"arn:aws:sts::{A}:assumed-role/Deploy/ops"
SHARED_HOP = "5d0b0000-0000-4000-8000-00000000c0de"


def user(account: str, name: str, key: str | None, created: str | None = None) -> dict[str, Any]:
    ident: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": f"AIDA{name.upper():0<16}"[:20],
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": key or "",
        "userName": name,
    }
    if created:
        ident["sessionContext"] = {"attributes": {"creationDate": created, "mfaAuthenticated": "false"}}
    return ident


def session(account: str, role: str, name: str, key: str, created: str, **context: Any) -> dict[str, Any]:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper():0<16}"[:20] + f":{name}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
            **context,
        },
    }


def event(eid: str, when: str, source: str, name: str, ident: dict[str, Any], ip: str, ua: str, **extra: Any) -> dict:
    day = "2024-05-02" if when.startswith("D2 ") else "2024-05-01"
    clock = when.removeprefix("D2 ")
    clock = clock if clock.count(":") == 2 else f"{clock}:00"
    record = {
        "eventVersion": "1.08",
        "userIdentity": ident,
        "eventTime": f"{day}T{clock}Z",
        "eventSource": f"{source}.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"req-{eid}",
        "eventID": eid,
        "readOnly": name.startswith(("Get", "List", "Describe", "AssumeRole")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ident.get("accountId", A),
        "eventCategory": "Management",
    }
    record.update(extra)
    return record


def assume(eid: str, when: str, ident: dict, ip: str, ua: str, role_arn: str, name: str, key: str | None, **kw: Any):
    account = role_arn.split(":")[4]
    role = role_arn.rsplit("/", 1)[1]
    response = None
    if key is not None:
        response = {
            "credentials": {
                "accessKeyId": key,
                "sessionToken": "SECRET-TOKEN",
                "expiration": "May 1, 2024 11:00:00 AM",
            },
            "assumedRoleUser": {
                "assumedRoleId": f"AROA{role.upper():0<16}"[:20] + f":{name}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
            },
        }
    return event(
        eid,
        when,
        "sts",
        kw.pop("event_name", "AssumeRole"),
        ident,
        ip,
        ua,
        requestParameters={"roleArn": role_arn, "roleSessionName": name},
        responseElements=response,
        resources=[{"ARN": role_arn, "accountId": account, "type": "AWS::IAM::Role"}],
        **kw,
    )


def get_object(eid: str, when: str, ident: dict, ip: str, ua: str, bucket: str, key: str, out: int) -> dict:
    return event(
        eid,
        when,
        "s3",
        "GetObject",
        ident,
        ip,
        ua,
        requestParameters={"bucketName": bucket, "key": key},
        additionalEventData={"bytesTransferredOut": out},
        resources=[
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ],
        eventCategory="Data",
        managementEvent=False,
    )


def records() -> list[dict[str, Any]]:
    """Every record of the world, in no particular order (the store sorts by time)."""
    alice = user(A, "alice", AKIA_ALICE)
    deploy_ops = session(A, "Deploy", "ops", ASIA_INT1, "2024-05-01T09:02:00Z")
    audit = session(B, "Audit", "ops", ASIA_INT2, "2024-05-01T09:04:00Z")
    admin = session(B, "Admin", "ops", ASIA_INT3, "2024-05-01T09:06:00Z")
    ec2 = session(A, "WebRole", INSTANCE, ASIA_EC2, "2024-05-01T08:00:00Z", ec2RoleDelivery="2.0")
    nightly = session(A, "Reporting", "nightly", ASIA_NIGHTLY, "2024-05-01T06:00:00Z")
    orphan = session(A, "Reporting", "etl", ASIA_ORPHAN, "2024-05-01T07:00:00Z", sourceIdentity="carol")
    hop_response = {
        "credentials": {"accessKeyId": ASIA_INT2, "expiration": "May 1, 2024 10:04:00 AM"},
        "assumedRoleUser": {
            "assumedRoleId": "AROAAUDIT00000000000:ops",
            "arn": f"arn:aws:sts::{B}:assumed-role/Audit/ops",
        },
    }
    hop_params = {"roleArn": f"arn:aws:iam::{B}:role/Audit", "roleSessionName": "ops"}
    redacted = assume("e32", "06:00", alice, OWNER_IP, OWNER_UA, f"arn:aws:iam::{A}:role/Reporting", "nightly", "")
    saml = assume(
        "e50",
        "08:30",
        {"type": "SAMLUser", "principalId": "idp.example.com:erin", "userName": "erin", "identityProvider": "idp"},
        "198.51.100.50",
        "Mozilla/5.0",
        f"arn:aws:iam::{A}:role/Federated",
        "erin",
        ASIA_SAML,
        event_name="AssumeRoleWithSAML",
    )
    instance_profile = event(
        "e20",
        "08:00",
        "sts",
        "AssumeRole",
        {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "ec2.amazonaws.com",
        "ec2.amazonaws.com",
        requestParameters={"roleArn": f"arn:aws:iam::{A}:role/WebRole", "roleSessionName": INSTANCE},
        responseElements={"credentials": {"accessKeyId": ASIA_EC2, "expiration": "May 1, 2024 2:00:00 PM"}},
        recipientAccountId=A,
    )
    return [
        redacted,
        event("e33", "06:10", "athena", "GetQueryResults", nightly, OWNER_IP, OWNER_UA),
        get_object("e30", "07:30", orphan, "198.51.100.30", "etl/1.0", "reports", "etl/out.csv", 10),
        event("e31", "07:45", "s3", "ListBuckets", orphan, "198.51.100.30", "etl/1.0"),
        event("e01", "08:00", "s3", "ListBuckets", alice, OWNER_IP, OWNER_UA),
        instance_profile,
        assume("e02", "08:05", alice, OWNER_IP, OWNER_UA, f"arn:aws:iam::{A}:role/Deploy", "alice", ASIA_OWN1),
        event(
            "e03",
            "08:06",
            "ec2",
            "DescribeInstances",
            session(A, "Deploy", "alice", ASIA_OWN1, "2024-05-01T08:05:00Z"),
            OWNER_IP,
            OWNER_UA,
        ),
        get_object("e21", "08:10", ec2, "10.0.1.15", "aws-sdk-go/1.44", "web-assets", "img/logo.png", 2048),
        saml,
        event(
            "e51",
            "08:35",
            "s3",
            "ListBuckets",
            session(A, "Federated", "erin", ASIA_SAML, "2024-05-01T08:30:00Z"),
            "198.51.100.50",
            "Mozilla/5.0",
        ),
        event("e04", "09:00", "sts", "GetCallerIdentity", alice, INTRUDER_IP, INTRUDER_UA),
        event(
            "e05",
            "09:01",
            "sts",
            "AssumeRole",
            alice,
            INTRUDER_IP,
            INTRUDER_UA,
            requestParameters={"roleArn": f"arn:aws:iam::{A}:role/Backup", "roleSessionName": "ops"},
            errorCode="AccessDenied",
            errorMessage="User is not authorized to perform: sts:AssumeRole",
        ),
        assume("e06", "09:02", alice, INTRUDER_IP, INTRUDER_UA, f"arn:aws:iam::{A}:role/Deploy", "ops", ASIA_INT1),
        assume(
            "e06d",
            "09:02",
            user(A, "bob", AKIA_BOB),
            BOB_IP,
            OWNER_UA,
            f"arn:aws:iam::{A}:role/Deploy",
            "ops",
            ASIA_DECOY,
        ),
        get_object("e07", "09:03", deploy_ops, INTRUDER_IP, INTRUDER_UA, "prod-data", "finance/q1.csv", 1048576),
        get_object(
            "e08",
            "09:03:30",
            session(A, "Deploy", "ops", ASIA_DECOY, "2024-05-01T09:02:00Z"),
            BOB_IP,
            OWNER_UA,
            "prod-data",
            "public/readme.txt",
            64,
        ),
        event(
            "e09a",
            "09:04",
            "sts",
            "AssumeRole",
            deploy_ops,
            INTRUDER_IP,
            INTRUDER_UA,
            requestParameters=hop_params,
            responseElements=hop_response,
            sharedEventID=SHARED_HOP,
            recipientAccountId=A,
        ),
        event(
            "e09b",
            "09:04",
            "sts",
            "AssumeRole",
            {"type": "AWSAccount", "principalId": "AROADEPLOY0000000000:ops", "accountId": A},
            INTRUDER_IP,
            INTRUDER_UA,
            requestParameters=hop_params,
            responseElements=hop_response,
            sharedEventID=SHARED_HOP,
            recipientAccountId=B,
        ),
        event("e10", "09:05", "ec2", "DescribeInstances", audit, INTRUDER_IP, INTRUDER_UA, awsRegion="eu-west-1"),
        assume("e11", "09:06", audit, INTRUDER_IP, INTRUDER_UA, f"arn:aws:iam::{B}:role/Admin", "ops", ASIA_INT3),
        event(
            "e12",
            "09:07",
            "iam",
            "CreateAccessKey",
            admin,
            INTRUDER_IP,
            INTRUDER_UA,
            requestParameters={"userName": "svc-backup"},
            responseElements={
                "accessKey": {
                    "accessKeyId": AKIA_BACKDOOR,
                    "userName": "svc-backup",
                    "status": "Active",
                    "createDate": "May 1, 2024 9:07:00 AM",
                }
            },
        ),
        event(
            "e13",
            "09:08",
            "cloudtrail",
            "StopLogging",
            admin,
            INTRUDER_IP,
            INTRUDER_UA,
            requestParameters={"name": f"arn:aws:cloudtrail:us-east-1:{B}:trail/org-trail"},
        ),
        event(
            "e16",
            "10:30",
            "sts",
            "GetSessionToken",
            alice,
            OWNER_IP,
            OWNER_UA,
            responseElements={"credentials": {"accessKeyId": ASIA_GST, "expiration": "May 1, 2024 10:30:00 PM"}},
        ),
        event(
            "e17", "10:31", "iam", "ListUsers", user(A, "alice", ASIA_GST, "2024-05-01T10:30:00Z"), OWNER_IP, OWNER_UA
        ),
        event("e22", "11:00", "s3", "ListBuckets", ec2, INTRUDER_IP, "aws-cli/2.13.0"),
        event(
            "e40",
            "12:00",
            "signin",
            "ConsoleLogin",
            user(A, "dave", None),
            "198.51.100.40",
            "Mozilla/5.0 (X11)",
            responseElements={"ConsoleLogin": "Success"},
            eventType="AwsConsoleSignIn",
            readOnly=False,
        ),
        event(
            "e41",
            "12:01",
            "ec2",
            "DescribeInstances",
            user(A, "dave", ASIA_CON1, "2024-05-01T12:00:00Z"),
            "198.51.100.40",
            "console.amazonaws.com",
        ),
        event(
            "e42",
            "12:20",
            "iam",
            "ListRoles",
            user(A, "dave", ASIA_CON2, "2024-05-01T12:00:00Z"),
            "198.51.100.40",
            "console.amazonaws.com",
        ),
        event(
            "e14",
            "D2 10:00",
            "secretsmanager",
            "GetSecretValue",
            user(B, "svc-backup", AKIA_BACKDOOR),
            BACKDOOR_IP,
            "curl/8.5.0",
            requestParameters={"secretId": "prod/db"},
        ),
        event(
            "e15",
            "D2 10:01",
            "ec2",
            "AuthorizeSecurityGroupIngress",
            user(B, "svc-backup", AKIA_BACKDOOR),
            BACKDOOR_IP,
            "curl/8.5.0",
            requestParameters={"groupId": "sg-0123456789abcdef0"},
        ),
    ]


def write_world(folder: Path, extra: list[dict[str, Any]] | None = None) -> Path:
    """The records as two gzipped CloudTrail files; e07 is in both (a duplicate delivery)."""
    folder.mkdir(parents=True, exist_ok=True)
    everything = records() + (extra or [])
    first, second = everything[: len(everything) // 2], everything[len(everything) // 2 :]
    second.append(next(r for r in everything if r["eventID"] == "e07"))
    for index, part in enumerate((first, second)):
        with gzip.open(folder / f"{A}_CloudTrail_us-east-1_2024050{index}T0000Z_part{index}.json.gz", "wt") as out:
            json.dump({"Records": part}, out)
    return folder


def ingest_world(root: Path, extra: list[dict[str, Any]] | None = None) -> Path:
    """A case folder holding the world; returns the case path."""
    logs = write_world(root / "logs", extra)
    case_dir = root / "case"
    with Case.open(case_dir) as case:
        ingest_sources(case, [str(logs)], SourceOptions(workers=0))
    return case_dir
