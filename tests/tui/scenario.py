"""A small, hand-written key compromise for the TUI tests, plus hostile records.

The story (all 2024-05-01, UTC). Alice works from 198.51.100.7 with her key AKIAALICE0000000001.
At 09:00 someone uses that key from 203.0.113.50, probes, is denied ListUsers, assumes the Admin
role in 222222222222 from 203.0.113.51 (minting ASIATEMP000000000001), and with that session
deletes the trail and downloads a secret from 2001:db8::5. That session then mints a second
session, ASIACHILD00000000002, which lists buckets. The last records carry hostile strings.

Event numbers (E1..E12, the last digits of each eventID) are what the tests refer to; times
are in ``RECORDS`` order, so E<n> has seq n-1.
"""

from __future__ import annotations

from pathlib import Path

import orjson

ALICE_KEY = "AKIAALICE0000000001"
SESSION_KEY = "ASIATEMP000000000001"
CHILD_KEY = "ASIACHILD00000000002"
ATTACKER_IP = "203.0.113.50"
MARKUP_UA = "[bold red]x[/] Boto3/1.34"
TITLE_ESCAPE = "\x1b]0;pwn\x07curl/8.0"
CLEAR_ESCAPE = "\x1b[2Jpython-requests/2.31"
RTL_UA = "aws-cli/2.15 \u202egnp.exe"
LONG_UA = "A" * 50_000

ALICE = {
    "type": "IAMUser",
    "principalId": "AIDAALICE",
    "arn": "arn:aws:iam::111111111111:user/alice",
    "accountId": "111111111111",
    "accessKeyId": ALICE_KEY,
    "userName": "alice",
}


def _session(key: str, name: str, created: str) -> dict:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAADMIN:{name}",
        "arn": f"arn:aws:sts::222222222222:assumed-role/Admin/{name}",
        "accountId": "222222222222",
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "arn": "arn:aws:iam::222222222222:role/Admin",
                "accountId": "222222222222",
                "userName": "Admin",
            },
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
        },
    }


ADMIN = _session(SESSION_KEY, "pwn", "2024-05-01T09:02:00Z")
CHILD = _session(CHILD_KEY, "pwn2", "2024-05-01T09:10:00Z")


def event(n: int, clock: str, name: str, source: str, identity: dict, ip: str, **extra: object) -> dict:
    return {
        "eventVersion": "1.09",
        "eventTime": f"2024-05-01T{clock}Z",
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "eventName": name,
        "eventSource": f"{source}.amazonaws.com",
        "awsRegion": extra.pop("region", "us-east-1"),
        "userIdentity": identity,
        "sourceIPAddress": ip,
        "userAgent": extra.pop("ua", "aws-cli/2.15.0"),
        "recipientAccountId": identity["accountId"],
        "eventType": "AwsApiCall",
        "requestID": f"REQ{n:04d}",
        **extra,
    }


RECORDS = [
    event(1, "08:00:00", "ListBuckets", "s3", ALICE, "198.51.100.7", readOnly=True),
    event(
        2,
        "08:05:00",
        "PutObject",
        "s3",
        ALICE,
        "198.51.100.7",
        readOnly=False,
        resources=[{"ARN": "arn:aws:s3:::corp-data/report.csv"}],
    ),
    event(3, "09:00:00", "GetCallerIdentity", "sts", ALICE, ATTACKER_IP, readOnly=True, ua="python-requests/2.31"),
    event(
        4,
        "09:01:00",
        "ListUsers",
        "iam",
        ALICE,
        ATTACKER_IP,
        readOnly=True,
        errorCode="AccessDenied",
        errorMessage="User: alice is not authorized to perform: iam:ListUsers",
        ua="python-requests/2.31",
    ),
    event(
        5,
        "09:02:00",
        "AssumeRole",
        "sts",
        ALICE,
        "203.0.113.51",
        readOnly=True,
        requestParameters={"roleArn": "arn:aws:iam::222222222222:role/Admin", "roleSessionName": "pwn"},
        responseElements={
            "credentials": {"accessKeyId": SESSION_KEY, "expiration": "May 1, 2024, 10:02:00 AM"},
            "assumedRoleUser": {"arn": "arn:aws:sts::222222222222:assumed-role/Admin/pwn"},
        },
    ),
    event(
        6,
        "09:05:00",
        "DeleteTrail",
        "cloudtrail",
        ADMIN,
        "2001:db8::5",
        readOnly=False,
        region="eu-west-1",
        requestParameters={"name": "org-trail"},
    ),
    event(
        7,
        "09:06:00",
        "GetObject",
        "s3",
        ADMIN,
        "2001:db8::5",
        readOnly=True,
        region="eu-west-1",
        additionalEventData={"bytesTransferredOut": 52428800},
        resources=[{"ARN": "arn:aws:s3:::corp-data/secrets.txt"}],
    ),
    event(
        8,
        "09:10:00",
        "AssumeRole",
        "sts",
        ADMIN,
        "2001:db8::5",
        readOnly=True,
        requestParameters={"roleArn": "arn:aws:iam::222222222222:role/Admin", "roleSessionName": "pwn2"},
        responseElements={
            "credentials": {"accessKeyId": CHILD_KEY},
            "assumedRoleUser": {"arn": "arn:aws:sts::222222222222:assumed-role/Admin/pwn2"},
        },
    ),
    event(9, "09:12:00", "ListBuckets", "s3", CHILD, "2001:db8::5", readOnly=True, ua=MARKUP_UA),
    event(
        10,
        "09:20:00",
        "GetObject",
        "s3",
        ALICE,
        "198.51.100.7",
        readOnly=True,
        ua=TITLE_ESCAPE,
        requestParameters={"bucketName": "corp-data", "key": "[link=http://evil]click[/link]\x1b[2J"},
    ),
    event(11, "09:30:00", "DescribeInstances", "ec2", ALICE, "198.51.100.7", readOnly=True, ua=CLEAR_ESCAPE),
    event(12, "09:40:00", "ListRoles", "iam", ALICE, "198.51.100.7", readOnly=True, ua=RTL_UA + LONG_UA),
]


def write_logs(folder: Path) -> Path:
    """The records as one CloudTrail log file (plain JSON) in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "111111111111_CloudTrail_us-east-1_20240501T0900Z_test.json").write_bytes(
        orjson.dumps({"Records": RECORDS})
    )
    return folder
