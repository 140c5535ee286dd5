"""The filter language: what each query selects from a small hand-written case, and where errors point.

The eight events (E1..E8) are written below; each expected answer was worked out by reading them.
"""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.histogram import bucket_size, describe, histogram
from investigations.query import QueryError, complete, parse, with_time_range

ALICE = {
    "type": "IAMUser",
    "principalId": "AIDAALICE",
    "arn": "arn:aws:iam::111111111111:user/alice",
    "accountId": "111111111111",
    "accessKeyId": "AKIAALICE0000000001",
    "userName": "alice",
}
ADMIN_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAADMIN:pwn",
    "arn": "arn:aws:sts::222222222222:assumed-role/Admin/pwn",
    "accountId": "222222222222",
    "accessKeyId": "ASIATEMP000000000001",
    "sessionContext": {
        "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::222222222222:role/Admin"},
        "attributes": {"creationDate": "2024-05-01T09:02:00Z", "mfaAuthenticated": "false"},
    },
}
ROOT = {
    "type": "Root",
    "principalId": "333333333333",
    "arn": "arn:aws:iam::333333333333:root",
    "accountId": "333333333333",
}


def event(n: int, minute: str, name: str, source: str, identity: dict, ip: str, **extra: object) -> dict:
    return {
        "eventVersion": "1.09",
        "eventTime": f"2024-05-01T{minute}:00Z",
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "eventName": name,
        "eventSource": f"{source}.amazonaws.com",
        "awsRegion": extra.pop("region", "us-east-1"),
        "userIdentity": identity,
        "sourceIPAddress": ip,
        "userAgent": extra.pop("ua", "aws-cli/2.15.0"),
        "recipientAccountId": identity["accountId"],
        "eventType": "AwsApiCall",
        **extra,
    }


RECORDS = [
    event(1, "08:00", "ListBuckets", "s3", ALICE, "198.51.100.7", readOnly=True),
    event(
        2,
        "08:05",
        "PutObject",
        "s3",
        ALICE,
        "198.51.100.7",
        readOnly=False,
        resources=[{"ARN": "arn:aws:s3:::corp-data/report.csv"}],
    ),
    event(3, "09:00", "GetCallerIdentity", "sts", ALICE, "203.0.113.50", readOnly=True, ua="python-requests/2.31"),
    event(
        4,
        "09:01",
        "ListUsers",
        "iam",
        ALICE,
        "203.0.113.50",
        readOnly=True,
        errorCode="AccessDenied",
        errorMessage="User: alice is not authorized",
        ua="python-requests/2.31",
    ),
    event(
        5,
        "09:02",
        "AssumeRole",
        "sts",
        ALICE,
        "203.0.113.51",
        readOnly=True,
        requestParameters={"roleArn": "arn:aws:iam::222222222222:role/Admin", "roleSessionName": "pwn"},
        responseElements={"credentials": {"accessKeyId": "ASIATEMP000000000001"}},
    ),
    event(6, "09:05", "DeleteTrail", "cloudtrail", ADMIN_SESSION, "2001:db8::5", readOnly=False, region="eu-west-1"),
    event(
        7,
        "09:06",
        "GetObject",
        "s3",
        ADMIN_SESSION,
        "2001:db8::5",
        readOnly=True,
        region="eu-west-1",
        additionalEventData={"bytesTransferredOut": 52428800},
        resources=[{"ARN": "arn:aws:s3:::corp-data/secrets.txt"}],
    ),
    event(
        8,
        "10:00",
        "ConsoleLogin",
        "signin",
        ROOT,
        "192.0.2.1",
        ua="Mozilla [bold red]x[/] 100%_done",
        eventType="AwsConsoleSignIn",
    ),
]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("query")
    (folder / "logs.json").write_bytes(orjson.dumps({"Records": RECORDS}))
    with Case.open(folder / "case") as opened:
        ingest_sources(opened, [str(folder / "logs.json")], SourceOptions())
        yield opened


def numbers(case: Case, text: str) -> list[int]:
    store = case.store
    ips = [value for value, _ in store.distinct("source_ip", limit=10_000)]
    compiled = parse(text, ips=lambda: ips)
    ids = [e.event_id for e in store.events(compiled.where, compiled.params)]
    return [int(i.rsplit("-", 1)[1]) for i in ids]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("name:Put*", [2]),
        ("name:getobject", [7]),
        ("name:List*,Get*", [1, 3, 4, 7]),
        ("source:sts", [3, 5]),
        ("ip:203.0.113.0/24", [3, 4, 5]),
        ("ip:203.0.113.50/32", [3, 4]),
        ("ip:2001:db8::/32", [6, 7]),
        ("ip:203.0.113.*", [3, 4, 5]),
        ("key:AKIAALICE0000000001", [1, 2, 3, 4, 5]),
        ("issued:ASIA*", [5]),
        ("account:222222222222", [6, 7]),
        ("region:eu-west-1", [6, 7]),
        ("error:*", [4]),
        ("-error:*", [1, 2, 3, 5, 6, 7, 8]),
        ("-readonly:true", [2, 6, 8]),
        ("readonly:false", [2, 6]),
        ("actor:*Admin*", [6, 7]),
        ("session:*:pwn", [6, 7]),
        ("type:root", [8]),
        ("role:*role/Admin", [5, 6, 7]),
        ("resource:*corp-data*", [2, 7]),
        ("resource:*", [2, 5, 7]),
        ("ua:python*", [3, 4]),
        ('ua:"Mozilla [bold red]x[/] 100%_done"', [8]),
        ("ua:*100%_*", [8]),
        ("bytes:>10M", [7]),
        ("mfa:false", [6, 7]),
        ("eventtype:AwsConsoleSignIn", [8]),
        ("after:2024-05-01T09:00:00Z before:2024-05-01T09:05:00Z", [3, 4, 5]),
        ("name:AssumeRole OR name:DeleteTrail", [5, 6]),
        ("(source:s3 OR source:sts) -readonly:true", [2]),
        ("key:AKIA* -(name:List* OR error:*)", [2, 3, 5]),
        ("roleSessionName", [5]),
        ("ROLESESSIONNAME", [5]),
        ("delete*trail", [6]),
        ('"not authorized"', [4]),
        ("203.0.113.51", [5]),
        ("52428800", [7]),
        ("text:DeleteTrail", [6]),
        ("arn:aws:s3:::corp-data/secrets.txt", [7]),
        ("-text:s3.amazonaws.com region:us-east-1", [3, 4, 5, 8]),
    ],
)
def test_query_selects(case, text, expected):
    assert numbers(case, text) == expected


def test_free_text_is_flagged_for_a_worker():
    assert parse("roleSessionName").free_text
    assert parse("name:x (ip:1.2.3.4 OR text:y)").free_text
    assert not parse("name:Put* -readonly:true").free_text
    assert parse("  ").empty


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("name:Put* nmae:Get", 10, "did you mean name:"),
        ("  -zzz:1", 3, "unknown field 'zzz'"),
        ("ip:300.1.1.1/8", 3, "not a CIDR block"),
        ("readonly:maybe", 9, "true or false"),
        ("name:", 5, "needs a value"),
        ('ua:"unclosed', 3, "unclosed quote"),
        ("(name:x", 0, "unclosed '('"),
        ("name:x)", 6, "unmatched ')'"),
        ("name:x OR", 9, "OR needs a term"),
        ("after:yesterday", 6, "cannot read time"),
        ("bytes:lots", 6, "number"),
    ],
)
def test_errors_point_at_the_mistake(text, position, words):
    with pytest.raises(QueryError) as caught:
        parse(text, ips=list)
    assert caught.value.position == position
    assert words in caught.value.message


def test_field_completion():
    assert complete("name:x re") == ["region:", "readonly:", "resource:", "request:"]
    assert complete("-ro") == ["role:", "ro:"]
    assert complete("ip:1.2.3.4 ") == []
    assert complete("(ac") == ["account:", "actor:", "accesskey:"]


def test_time_range_replaces_old_bounds():
    text = "name:Put* after:1d -ip:10.0.0.1 before:2024-01-01"
    narrowed = with_time_range(text, datetime(2024, 5, 1, 9), datetime(2024, 5, 1, 10))
    assert narrowed == "name:Put* -ip:10.0.0.1 after:2024-05-01T09:00:00Z before:2024-05-01T10:00:00Z"
    assert with_time_range("", None, datetime(2024, 5, 1)) == "before:2024-05-01T00:00:00Z"


def test_histogram_buckets_fit_the_width(case):
    # E1 08:00 .. E8 10:00 is 2 hours: 80 columns fit 5-minute buckets (25 of them), 10 need 15 minutes.
    assert bucket_size(datetime(2024, 5, 1, 8), datetime(2024, 5, 1, 10), 80) == 300
    assert bucket_size(datetime(2024, 5, 1, 8), datetime(2024, 5, 1, 10), 10) == 900
    assert describe(900) == "15m" and describe(86400) == "1d" and describe(5) == "5s"
    result = histogram(case.store.cursor(), width=10)
    assert result is not None
    assert result.start == datetime(2024, 5, 1, 8) and result.bucket == 900
    # 08:00 E1, 08:05 E2 | 09:00 E3 E4 E5 09:05 E6 E7 | 10:00 E8
    assert result.counts == (2, 0, 0, 0, 5, 0, 0, 0, 1)
    # E3 09:00, E4 09:01, E5 09:02 span two minutes: 30-second buckets fit ten columns.
    narrowed = histogram(case.store.cursor(), "source_ip LIKE ?", ["203.%"], width=10)
    assert narrowed is not None and narrowed.bucket == 30 and narrowed.start == datetime(2024, 5, 1, 9)
    assert narrowed.counts == (1, 0, 1, 0, 1)
    assert histogram(case.store.cursor(), "FALSE") is None
