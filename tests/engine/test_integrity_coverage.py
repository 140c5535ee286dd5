"""Coverage and blind spots, and the validation run kept with the case.

Scenario (account 111122223333, eu-west-1, 2024-05-01), logs delivered and signed hourly:
  08:05  GetCallerIdentity 08:01 and 08:02       -> edited after signing: tampered
  09:25  StopLogging org_trail (by ARN) 09:20     -> valid
  09:40  DescribeInstances 09:35                  -> added after signing: extra (counts as tampered)
  10:45  StartLogging org_trail 10:40             -> valid
  12:10  GetCallerIdentity 12:05, PutEventSelectors 12:06 -> valid
Expected hours 08-12: 08 tampered (2 events), 09 tampered (1 validated + 1 tampered; logging
stopped from 09:20), 10 validated (stopped until 10:40), 11 no-logs, 12 validated (selectors
changed at 12:06).
"""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from investigations.case import Case
from investigations.integrity import signer
from investigations.integrity.casefile import file_status
from investigations.integrity.coverage import coverage
from investigations.integrity.layout import parse_log_key
from tui.cli import main

ACCOUNT, REGION = "111122223333", "eu-west-1"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org_trail"


def event(hhmm: str, api: str, source: str = "sts.amazonaws.com", **params: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T{hhmm}:00Z",
        "eventID": f"evt-{hhmm}-{api}",
        "eventSource": source,
        "eventName": api,
        "eventType": "AwsApiCall",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "accountId": ACCOUNT},
        "requestParameters": params or None,
    }


def at(hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2024, 5, 1, hour, minute)


@pytest.fixture
def evidence(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "logs"
    ct = "cloudtrail.amazonaws.com"
    logs = {
        "08:05": [event("08:01", "GetCallerIdentity"), event("08:02", "GetCallerIdentity")],
        "09:25": [event("09:20", "StopLogging", ct, name=TRAIL_ARN)],
        "10:45": [event("10:40", "StartLogging", ct, name="org_trail")],
        "12:10": [event("12:05", "GetCallerIdentity"), event("12:06", "PutEventSelectors", ct, trailName="org_trail")],
    }
    keys = {hhmm: signer.write_log(root, ACCOUNT, REGION, at(hhmm), records) for hhmm, records in logs.items()}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "key.pem"
    signer.sign_tree(root, key, bucket="b", trail="org_trail", home_region="us-east-1", public_key_path=pem)
    tampered = root / keys["08:05"]
    tampered.write_bytes(gzip.compress(gzip.decompress(tampered.read_bytes()).replace(b"203.0.113.9", b"10.0.0.9")))
    signer.write_log(root, ACCOUNT, REGION, at("09:40"), [event("09:35", "DescribeInstances", "ec2.amazonaws.com")])
    return root, pem


def test_validation_recorded_in_case_with_coverage(
    tmp_path: Path, evidence: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, pem = evidence
    case_dir = tmp_path / "case"
    assert main(["ingest", str(root), "--case", str(case_dir)]) == 0
    capsys.readouterr()
    with Case.open(case_dir, create=False) as case:  # before any validation: nothing is vouched for
        before = {b["hour"][11:13]: b["state"] for b in coverage(case.store)["buckets"]}
        assert before == {
            "08": "unvalidated",
            "09": "unvalidated",
            "10": "unvalidated",
            "11": "no-logs",
            "12": "unvalidated",
        }
        assert set(file_status(case.store).values()) == {"unvalidated"}
    code = main(["validate", str(root), "--public-key", str(pem), "--case", str(case_dir), "--json"])
    out = orjson.loads(capsys.readouterr().out)
    assert code == 1
    grid = {b["hour"][11:13]: b for b in out["case"]["coverage"]["buckets"]}
    assert {h: b["state"] for h, b in grid.items()} == {
        "08": "tampered",
        "09": "tampered",
        "10": "validated",
        "11": "no-logs",
        "12": "validated",
    }
    assert (grid["09"]["validated"], grid["09"]["tampered"]) == (1, 1)
    assert {h: b["windows"] for h, b in grid.items()} == {
        "08": [],
        "09": ["logging-stopped"],
        "10": ["logging-stopped"],
        "11": [],
        "12": ["selectors-changed"],
    }
    stopped = next(w for w in out["case"]["coverage"]["windows"] if w["kind"] == "logging-stopped")
    assert (stopped["start"], stopped["end"], stopped["event_id"]) == (
        "2024-05-01T09:20:00Z",
        "2024-05-01T10:40:00Z",
        "evt-09:20-StopLogging",
    )

    with Case.open(case_dir, create=False) as case:
        entries = [e for e in case.journal.entries() if e.get("action") == "integrity.validated"]
        assert len(entries) == 1 and entries[0]["valid"] is False
        assert (case.root / entries[0]["result"]).is_file()
        statuses = {f"{parse_log_key(path).delivered:%H:%M}": s for path, s in file_status(case.store).items()}
        assert statuses == {
            "08:05": "tampered",
            "09:25": "validated",
            "09:40": "tampered",
            "10:45": "validated",
            "12:10": "validated",
        }
        _cols, rows = case.store.sql(
            "SELECT e.event_name, fi.status FROM events e JOIN file_integrity fi USING (file_id) ORDER BY e.event_time"
        )
        assert rows[0] == ("GetCallerIdentity", "tampered") and rows[-1] == ("PutEventSelectors", "validated")
