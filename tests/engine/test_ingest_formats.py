"""Every container CloudTrail evidence arrives in decodes to the same events.

Each test writes the same three hand-made records in one format and checks the stored rows
against values read off the records by eye.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.support.cli import sql_rows
from tui.cli import main

A = {
    "eventVersion": "1.08",
    "eventTime": "2024-05-01T08:15:00Z",
    "eventID": "aaaaaaaa-0000-4000-8000-000000000001",
    "eventSource": "sts.amazonaws.com",
    "eventName": "AssumeRole",
    "eventType": "AwsApiCall",
    "awsRegion": "us-east-1",
    "recipientAccountId": "111122223333",
    "sourceIPAddress": "203.0.113.7",
    "userAgent": "aws-cli/2.15.0",
    "readOnly": True,
    "sharedEventID": "5d0b0000-0000-4000-8000-00000000000a",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSER00001",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIAEXAMPLEKEY000001",
        "userName": "alice",
    },
    "requestParameters": {"roleArn": "arn:aws:iam::444455556666:role/Audit", "roleSessionName": "x"},
    "responseElements": {
        "credentials": {
            "accessKeyId": "ASIAEXAMPLEKEY000002",
            "sessionToken": "FAKE-SESSION-TOKEN-DO-NOT-STORE",
            "expiration": "May 1, 2024 9:15:00 AM",
        },
        "assumedRoleUser": {
            "assumedRoleId": "AROAEXAMPLEROLE00002:x",
            "arn": "arn:aws:sts::444455556666:assumed-role/Audit/x",
        },
    },
    "resources": [
        {"ARN": "arn:aws:iam::444455556666:role/Audit", "accountId": "444455556666", "type": "AWS::IAM::Role"}
    ],
}
B = {
    "eventVersion": "1.08",
    "eventTime": "2024-05-01T08:16:00Z",
    "eventID": "aaaaaaaa-0000-4000-8000-000000000002",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "DescribeInstances",
    "awsRegion": "eu-west-1",
    "recipientAccountId": "444455556666",
    "sourceIPAddress": "ec2.amazonaws.com",
    "errorCode": "Client.UnauthorizedOperation",
    "readOnly": "true",
    "userIdentity": {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::444455556666:assumed-role/Audit/x",
        "accessKeyId": "ASIAEXAMPLEKEY000002",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::444455556666:role/Audit"},
            "attributes": {"creationDate": "20240501T081500Z", "mfaAuthenticated": "false"},
        },
    },
}
C = {
    "eventVersion": "1.05",
    "eventTime": "2024-05-01T07:00:00Z",
    "eventID": "aaaaaaaa-0000-4000-8000-000000000003",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "eventType": "AwsConsoleSignIn",
    "awsRegion": "us-east-1",
    "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accessKeyId": ""},
    "requestParameters": None,
    "responseElements": {"ConsoleLogin": "Success"},
}
RECORDS = [A, B, C]
EXPECTED_IDS = [C["eventID"], A["eventID"], B["eventID"]]  # time order: 07:00, 08:15, 08:16


def ingest(tmp_path: Path, *sources: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(["ingest", *map(str, sources), "--case", str(tmp_path / "case"), "--json"])
    return code, orjson.loads(capsys.readouterr().out)


def sql(tmp_path: Path, query: str, capsys: pytest.CaptureFixture[str]) -> list[list]:
    return sql_rows(tmp_path / "case", query, capsys)


def check_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sql(
        tmp_path,
        "SELECT event_id, access_key_id, issued_key, issued_arn, error_code, read_only, "
        "identity_type FROM events ORDER BY seq",
        capsys,
    )
    assert [r[0] for r in rows] == EXPECTED_IDS
    assert rows[1][1:] == [
        "AKIAEXAMPLEKEY000001",
        "ASIAEXAMPLEKEY000002",
        "arn:aws:sts::444455556666:assumed-role/Audit/x",
        None,
        True,
        "IAMUser",
    ]
    assert rows[2][1:] == ["ASIAEXAMPLEKEY000002", None, None, "Client.UnauthorizedOperation", True, "AssumedRole"]
    assert rows[0][1] is None  # Root's empty accessKeyId is "no value"


def test_records_gz_in_s3_layout(tmp_path, capsys):
    folder = tmp_path / "AWSLogs" / "o-abc1234567" / "111122223333" / "CloudTrail" / "us-east-1" / "2024" / "05" / "01"
    folder.mkdir(parents=True)
    (folder / "111122223333_CloudTrail_us-east-1_20240501T0820Z_abcdefgh12345678.json.gz").write_bytes(
        gzip.compress(orjson.dumps({"Records": RECORDS}))
    )
    code, out = ingest(tmp_path, tmp_path / "AWSLogs", capsys=capsys)
    assert (code, out["events_added"], out["events_total"], out["rejected"]) == (0, 3, 3, [])
    check_three(tmp_path, capsys)


@pytest.mark.parametrize(
    "name,body",
    [
        ("records.json", orjson.dumps({"Records": RECORDS})),
        ("array.json", orjson.dumps(RECORDS)),
        ("export.jsonl", b"\n".join(orjson.dumps(r) for r in RECORDS) + b"\n"),
        ("cloudwatch.log", b"\n".join(b"2024-05-01T08:20:00.000Z " + orjson.dumps(r) for r in RECORDS)),
        (
            "lookup.json",
            orjson.dumps({"Events": [{"EventId": r["eventID"], "CloudTrailEvent": json.dumps(r)} for r in RECORDS]}),
        ),
        ("pretty.json", b"\n".join(json.dumps(r, indent=2).encode() for r in RECORDS)),
    ],
    ids=["records", "array", "jsonl", "cloudwatch", "lookup-events", "concatenated-pretty"],
)
def test_container_formats(tmp_path, capsys, name, body):
    (tmp_path / name).write_bytes(body)
    code, out = ingest(tmp_path, tmp_path / name, capsys=capsys)
    assert (code, out["events_added"], out["rejected"]) == (0, 3, [])
    check_three(tmp_path, capsys)


def test_single_records_and_zip(tmp_path, capsys):
    archive = tmp_path / "evidence.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for index, record in enumerate(RECORDS):
            zf.writestr(f"inner/{index}.json", orjson.dumps(record))
        zf.writestr("inner/README.txt", "not evidence")
    code, out = ingest(tmp_path, archive, capsys=capsys)
    assert (code, out["events_added"], out["rejected"]) == (0, 3, [])
    assert out["skipped"] == [{"path": f"{archive}!inner/README.txt", "reason": out["skipped"][0]["reason"]}]
    check_three(tmp_path, capsys)


def test_athena_lowercase_export(tmp_path, capsys):
    """Athena UNLOAD/JSON output lower-cases every name and holds requestParameters as text."""
    lowered = {
        "eventversion": "1.08",
        "eventtime": A["eventTime"],
        "eventid": A["eventID"],
        "eventname": "AssumeRole",
        "eventsource": "sts.amazonaws.com",
        "awsregion": "us-east-1",
        "readonly": "true",
        "useridentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accesskeyid": "AKIAEXAMPLEKEY000001",
        },
        "responseelements": json.dumps({"credentials": {"accessKeyId": "ASIAEXAMPLEKEY000002"}}),
    }
    (tmp_path / "athena.jsonl").write_bytes(orjson.dumps(lowered) + b"\n")
    code, out = ingest(tmp_path, tmp_path / "athena.jsonl", capsys=capsys)
    assert (code, out["events_added"]) == (0, 1)
    rows = sql(tmp_path, "SELECT access_key_id, issued_key, read_only FROM events", capsys)
    assert rows == [["AKIAEXAMPLEKEY000001", "ASIAEXAMPLEKEY000002", True]]


def test_session_token_never_stored(tmp_path, capsys):
    (tmp_path / "a.json").write_bytes(orjson.dumps({"Records": [A]}))
    ingest(tmp_path, tmp_path / "a.json", capsys=capsys)
    store_bytes = (tmp_path / "case" / "events.duckdb").read_bytes()
    assert b"FAKE-SESSION-TOKEN" not in store_bytes
    rows = sql(
        tmp_path,
        "SELECT json_extract_string(raw, '$.responseElements.credentials.accessKeyId'), "
        "json_extract(raw, '$.responseElements.credentials.sessionToken') FROM raw_events",
        capsys,
    )
    assert rows == [["ASIAEXAMPLEKEY000002", None]]


def test_reingest_and_overlap_never_duplicate(tmp_path, capsys):
    (tmp_path / "one.json").write_bytes(orjson.dumps({"Records": [A, B]}))
    (tmp_path / "two.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in [B, C, C]))
    assert ingest(tmp_path, tmp_path / "one.json", capsys=capsys)[1]["events_added"] == 2
    code, out = ingest(tmp_path, tmp_path / "one.json", tmp_path / "two.jsonl", capsys=capsys)
    # one.json again: 2 duplicates; two.jsonl: B already stored, C twice within the file -> 1 new, 2 duplicates
    assert (code, out["events_added"], out["duplicates"], out["events_total"]) == (0, 1, 4, 3)
    check_three(tmp_path, capsys)


def test_digests_set_aside_not_rejected(tmp_path, capsys):
    digest_dir = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail-Digest" / "us-east-1" / "2024" / "05" / "01"
    digest_dir.mkdir(parents=True)
    (digest_dir / "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240501T090000Z.json.gz").write_bytes(
        gzip.compress(b'{"awsAccountId":"111122223333","logFiles":[]}')
    )
    (tmp_path / "a.json").write_bytes(orjson.dumps({"Records": [A]}))
    code, out = ingest(tmp_path, tmp_path, capsys=capsys)
    assert (code, out["events_added"], out["digests"], out["rejected"]) == (0, 1, 1, [])


def test_athena_view_answers_athena_sql(tmp_path, capsys):
    (tmp_path / "a.json").write_bytes(orjson.dumps({"Records": RECORDS}))
    ingest(tmp_path, tmp_path / "a.json", capsys=capsys)
    rows = sql(
        tmp_path,
        "SELECT eventname, useridentity.arn, json_extract_scalar(requestparameters, '$.roleArn'), "
        "readonly, resources[1].arn, eventtime FROM cloudtrail_logs WHERE eventsource = 'sts.amazonaws.com'",
        capsys,
    )
    assert rows == [
        [
            "AssumeRole",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::444455556666:role/Audit",
            "true",
            "arn:aws:iam::444455556666:role/Audit",
            "2024-05-01T08:15:00Z",
        ]
    ]


def test_other_json_skipped_in_a_folder_but_rejected_when_named(tmp_path, capsys):
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "a.json").write_bytes(orjson.dumps({"Records": [A]}))
    (folder / "scenario.json").write_bytes(b'{"story": "not CloudTrail"}')
    code, out = ingest(tmp_path, folder, capsys=capsys)
    assert (code, out["events_added"], out["rejected"]) == (0, 1, [])
    assert out["skipped"] == [
        {
            "path": str(folder / "scenario.json"),
            "reason": "JSON, but not CloudTrail (no Records, Events or event fields)",
        }
    ]
    code, out = ingest(tmp_path, folder / "scenario.json", capsys=capsys)
    assert code == 2
    assert out["rejected"] == [
        {
            "path": str(folder / "scenario.json"),
            "reason": "JSON, but not CloudTrail (no Records, Events or event fields)",
        }
    ]


def test_local_layout_narrowed_by_account_region_and_day(tmp_path, capsys):
    def put(account: str, region: str, day: str, record: dict) -> None:
        folder = tmp_path / "AWSLogs" / account / "CloudTrail" / region / "2024" / "05" / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{account}_CloudTrail_{region}_202405{day}T0000Z_x.json.gz").write_bytes(
            gzip.compress(orjson.dumps({"Records": [record]}))
        )

    put("111122223333", "us-east-1", "01", A)
    put("444455556666", "eu-west-1", "01", B)
    put("111122223333", "us-east-1", "09", C)  # eight days later: outside the window's one-day margin
    put("111122223333", "eu-west-1", "01", {**C, "eventID": "other-region"})
    code = main(
        [
            "ingest",
            str(tmp_path / "AWSLogs"),
            "--case",
            str(tmp_path / "case"),
            "--json",
            "--accounts",
            "111122223333",
            "--regions",
            "us-east-1",
            "--start",
            "2024-05-01",
            "--end",
            "2024-05-02",
        ]
    )
    out = orjson.loads(capsys.readouterr().out)
    assert (code, out["events_added"]) == (0, 1)
    assert {"path": "(layout)", "reason": "3 files outside the requested accounts, regions or dates"} in out["skipped"]
