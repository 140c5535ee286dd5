"""The scenario simulator: record shapes, the S3 layout, determinism, and the ground truth.

Expected values are read off the scenario's definition (investigations/simulate/cast.py and
key_compromise.py: the accounts, addresses, times and order of the steps), not recomputed with
the code under test. Datasets are kept small; the 1M-event speed is the benchmark's business.
"""

from __future__ import annotations

import gzip
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from investigations.simulate import World, generate, read_truth, write_jsonl
from investigations.simulate.ids import java_time
from tui.cli_simulate import run

PROD, ANALYTICS = "111122223333", "444455556666"
ORG = "o-a1b2c3d4e5"
START = datetime(2024, 5, 6)
MARTA = f"arn:aws:iam::{PROD}:user/marta"
INTRUDER_IP, BACKDOOR_IP, OFFICE_IP = "203.0.113.77", "198.51.100.23", "192.0.2.10"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
JAVA_TIME = re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$")
LOG_KEY = re.compile(
    r"^AWSLogs/(?:(?P<org>o-[a-z0-9]{10})/)?(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)
REPO = Path(__file__).resolve().parents[2]


def read_archive(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every log file under ``root``: key relative to root -> its records, in file order."""
    out = {}
    for path in sorted(root.rglob("*.json.gz")):
        key = path.relative_to(root).as_posix()
        if "/CloudTrail/" in key:
            out[key] = orjson.loads(gzip.decompress(path.read_bytes()))["Records"]
    return out


@pytest.fixture(scope="module")
def kc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("kc")
    generate("key-compromise", out, events=1500, seed=3, start=START, days=3)
    files = read_archive(out)
    records = [r for recs in files.values() for r in recs]
    return out, read_truth(out / "scenario.json"), records


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["eventID"]: r for r in records}


# --- builders ------------------------------------------------------------------------------


def test_java_time_matches_the_sts_spelling():
    assert java_time(datetime(2024, 5, 1, 9, 0, 0)) == "May 1, 2024 9:00:00 AM"
    assert java_time(datetime(2024, 5, 1, 0, 5, 9)) == "May 1, 2024 12:05:09 AM"
    assert java_time(datetime(2024, 12, 31, 13, 0, 0)) == "Dec 31, 2024 1:00:00 PM"
    assert java_time(datetime(2024, 3, 23, 12, 39, 51)) == "Mar 23, 2024 12:39:51 PM"


def test_same_account_assume_role_is_one_record_and_a_session():
    world = World(1)
    alice = world.iam_user(PROD, "alice", ip="192.0.2.1", user_agent="aws-cli/2.15.30")
    records, session = alice.assume_role(f"arn:aws:iam::{PROD}:role/Deploy", "alice", datetime(2024, 5, 1, 8, 0))
    assert len(records) == 1 and session is not None
    rec = records[0]
    assert "sharedEventID" not in rec
    assert rec["userIdentity"]["type"] == "IAMUser" and rec["userIdentity"]["accessKeyId"].startswith("AKIA")
    creds = rec["responseElements"]["credentials"]
    assert creds["expiration"] == "May 1, 2024 9:00:00 AM"
    assert creds["sessionToken"].startswith("FAKE-SESSION-TOKEN-")
    assert rec["resources"] == [
        {"accountId": PROD, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{PROD}:role/Deploy"}
    ]
    ident = session.identity
    assert ident["type"] == "AssumedRole"
    assert ident["accessKeyId"] == creds["accessKeyId"] and ident["accessKeyId"].startswith("ASIA")
    assert ident["arn"] == f"arn:aws:sts::{PROD}:assumed-role/Deploy/alice"
    assert ident["principalId"] == rec["responseElements"]["assumedRoleUser"]["assumedRoleId"]
    assert ident["principalId"].startswith("AROA") and ident["principalId"].endswith(":alice")
    assert ident["sessionContext"]["attributes"] == {
        "creationDate": "2024-05-01T08:00:00Z",
        "mfaAuthenticated": "false",
    }
    issuer = ident["sessionContext"]["sessionIssuer"]
    assert issuer["type"] == "Role" and issuer["userName"] == "Deploy" and issuer["accountId"] == PROD


def test_cross_account_assume_role_writes_both_copies():
    world = World(2)
    alice = world.iam_user(PROD, "alice", ip="192.0.2.1", user_agent="aws-cli/2.15.30")
    records, session = alice.assume_role(f"arn:aws:iam::{ANALYTICS}:role/Audit", "a", datetime(2024, 5, 1, 8))
    caller, owner = records
    assert caller["sharedEventID"] == owner["sharedEventID"] and UUID4.match(caller["sharedEventID"])
    assert caller["requestID"] == owner["requestID"]
    assert caller["eventID"] != owner["eventID"]
    assert (caller["recipientAccountId"], owner["recipientAccountId"]) == (PROD, ANALYTICS)
    assert caller["userIdentity"]["arn"] == f"arn:aws:iam::{PROD}:user/alice"
    assert owner["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": caller["userIdentity"]["principalId"],
        "accountId": PROD,
    }
    assert caller["responseElements"] == owner["responseElements"]
    assert session is not None and session.account_id == ANALYTICS
    later = session.call("ec2.amazonaws.com", "DescribeInstances", datetime(2024, 5, 1, 8, 5), region="eu-west-1")
    assert later["recipientAccountId"] == ANALYTICS and later["userIdentity"]["accountId"] == ANALYTICS


def test_chained_sessions_are_limited_to_an_hour_and_failures_issue_nothing():
    world = World(3)
    alice = world.iam_user(PROD, "alice", ip="192.0.2.1", user_agent="cli")
    t = datetime(2024, 5, 1, 8)
    _, first = alice.assume_role(f"arn:aws:iam::{PROD}:role/A", "x", t, source_identity="alice")
    assert first is not None
    with pytest.raises(ValueError, match="3600"):
        first.assume_role(f"arn:aws:iam::{PROD}:role/B", "x", t, duration=7200)
    records, none = first.assume_role(f"arn:aws:iam::{ANALYTICS}:role/B", "x", t, error="AccessDenied")
    assert none is None and len(records) == 1
    assert records[0]["responseElements"] is None and "sharedEventID" not in records[0]
    assert "is not authorized to perform: sts:AssumeRole" in records[0]["errorMessage"]
    _, second = first.assume_role(f"arn:aws:iam::{PROD}:role/B", "y", t)
    assert second is not None
    assert second.identity["sessionContext"]["sourceIdentity"] == "alice"


def test_denials_use_each_service_s_error_code():
    world = World(4)
    bob = world.iam_user(PROD, "bob", ip="192.0.2.2", user_agent="cli")
    t = datetime(2024, 5, 1, 8)
    ec2 = bob.deny("ec2.amazonaws.com", "DescribeInstances", t, region="eu-west-1")
    assert ec2["errorCode"] == "Client.UnauthorizedOperation"
    assert ec2["errorMessage"].startswith("You are not authorized to perform this operation.")
    assert bob.deny("iam.amazonaws.com", "ListUsers", t)["errorCode"] == "AccessDenied"
    kms = bob.deny("kms.amazonaws.com", "ListKeys", t, region="eu-west-1")
    assert kms["errorCode"] == "AccessDeniedException" and kms["responseElements"] is None
    lam = bob.deny("lambda.amazonaws.com", "ListFunctions20150331", t, region="eu-west-1")
    assert "lambda:ListFunctions on resource" in lam["errorMessage"]


def test_credential_issuers_of_every_kind():
    world = World(5)
    t = datetime(2024, 5, 1, 10, 30)
    carol = world.iam_user(PROD, "carol", ip="192.0.2.3", user_agent="cli")
    rec, gst = carol.get_session_token(t, mfa_serial=f"arn:aws:iam::{PROD}:mfa/carol")
    assert gst is not None and rec["requestParameters"]["serialNumber"].endswith("mfa/carol")
    assert gst.identity["type"] == "IAMUser" and gst.identity["arn"] == f"arn:aws:iam::{PROD}:user/carol"
    assert gst.key == rec["responseElements"]["credentials"]["accessKeyId"] and gst.key.startswith("ASIA")
    assert gst.identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"

    rec, fed = carol.get_federation_token("vendor", t)
    assert fed is not None and fed.identity["type"] == "FederatedUser"
    assert fed.identity["arn"] == f"arn:aws:sts::{PROD}:federated-user/vendor"
    assert rec["responseElements"]["federatedUser"]["arn"] == fed.identity["arn"]
    assert fed.identity["sessionContext"]["sessionIssuer"]["arn"] == f"arn:aws:iam::{PROD}:user/carol"

    rec, new = carol.create_access_key("svc", t)
    assert new is not None and rec["requestParameters"] == {"userName": "svc"}
    assert rec["responseElements"]["accessKey"]["createDate"] == "May 1, 2024 10:30:00 AM"
    assert new.identity["arn"] == f"arn:aws:iam::{PROD}:user/svc" and new.key.startswith("AKIA")

    root = world.root(PROD, ip="192.0.2.4", user_agent="cli")
    rec, own = root.create_access_key(None, t)
    assert rec["requestParameters"] is None and own is not None and own.identity["type"] == "Root"
    assert own.identity["arn"] == f"arn:aws:iam::{PROD}:root"


def test_instance_profile_and_console_sessions():
    world = World(6)
    t = datetime(2024, 5, 1, 8)
    role = f"arn:aws:iam::{PROD}:role/web"
    rec, box = world.instance_session(
        role, "i-0abc1234def567890", t, ip="54.1.2.3", user_agent="Boto3", region="eu-west-1"
    )
    assert rec["userIdentity"] == {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    assert rec["sourceIPAddress"] == rec["userAgent"] == "ec2.amazonaws.com"
    assert rec["requestParameters"] == {"roleArn": role, "roleSessionName": "i-0abc1234def567890"}
    assert "assumedRoleUser" not in rec["responseElements"] and "tlsDetails" not in rec
    call = box.call("s3.amazonaws.com", "ListBuckets", t)
    assert call["userIdentity"]["principalId"].endswith(":i-0abc1234def567890")
    assert call["userIdentity"]["sessionContext"]["ec2RoleDelivery"] == "2.0"
    assert call["sourceIPAddress"] == "54.1.2.3"

    login, console = world.console_login(PROD, "dana", t, ip="192.0.2.9", browser="Mozilla/5.0", mfa=True)
    assert login["eventType"] == "AwsConsoleSignIn" and login["requestParameters"] is None
    assert login["responseElements"] == {"ConsoleLogin": "Success"} and "requestID" not in login
    assert login["additionalEventData"]["MFAUsed"] == "Yes" and login["userIdentity"]["accessKeyId"] == ""
    assert console is not None
    used = console.call("ec2.amazonaws.com", "DescribeInstances", datetime(2024, 5, 1, 8, 3), region="eu-west-1")
    assert used["userIdentity"]["accessKeyId"].startswith("ASIA")
    assert used["userIdentity"]["sessionContext"]["attributes"]["creationDate"] == "2024-05-01T08:00:00Z"
    assert used["sessionCredentialFromConsole"] == "true"
    failed, nobody = world.console_login(PROD, "dana", t, ip="192.0.2.9", browser="x", success=False)
    assert nobody is None and failed["errorMessage"] == "Failed authentication" and "errorCode" not in failed


def test_jsonl_writer_writes_one_record_per_line(tmp_path: Path):
    world = World(8)
    eve = world.iam_user(PROD, "eve", ip="192.0.2.5", user_agent="cli")
    records = [eve.call("sts.amazonaws.com", "GetCallerIdentity", datetime(2024, 5, 1, 8, m)) for m in range(3)]
    assert write_jsonl(records, tmp_path / "x.jsonl") == 3
    lines = (tmp_path / "x.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == records


# --- the archive ---------------------------------------------------------------------------


def test_layout_and_delivery_names(kc):
    out, _, _ = kc
    files = read_archive(out)
    assert len(files) > 50
    seen = set()
    for key, records in files.items():
        m = LOG_KEY.match(key)
        assert m, key
        assert m["org"] == ORG
        assert m["stamp"][:8] == m["y"] + m["m"] + m["d"]
        assert records, key
        for r in records:
            assert (r["recipientAccountId"], r["awsRegion"]) == (m["acct"], m["region"]), key
        newest = max(r["eventTime"] for r in records)
        delivered = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ")
        newest_minute = datetime.strptime(newest[:16], "%Y-%m-%dT%H:%M")
        assert 0 < (delivered - newest_minute).total_seconds() <= 15 * 60, key
        seen.add((m["acct"], m["region"]))
    assert {a for a, _ in seen} == {PROD, ANALYTICS}
    assert len({r for _, r in seen}) >= 3
    assert not list(out.rglob("CloudTrail-Digest"))


def test_every_record_has_the_fields_cloudtrail_always_writes(kc):
    _, _, records = kc
    ids = [r["eventID"] for r in records]
    assert len(ids) == len(set(ids))
    for r in records:
        assert r["eventVersion"] in ("1.08", "1.09")
        assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", r["eventTime"])
        assert UUID4.match(r["eventID"])
        assert r["eventType"] in ("AwsApiCall", "AwsConsoleSignIn")
        assert r["eventCategory"] in ("Management", "Data")
        assert r["managementEvent"] is (r["eventCategory"] == "Management")
        assert isinstance(r["readOnly"], bool)
        assert re.match(r"^\d{12}$", r["recipientAccountId"])
        for field in ("eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "userIdentity"):
            assert r[field], (field, r["eventID"])
        assert r["userIdentity"]["type"] in ("IAMUser", "AssumedRole", "AWSService", "AWSAccount", "FederatedUser")
        assert "requestParameters" in r and "responseElements" in r
        if r["eventName"] != "ConsoleLogin":
            assert r["requestID"]
        if r["userIdentity"]["type"] == "AssumedRole":
            assert r["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] in ("true", "false")
        creds = (r["responseElements"] or {}).get("credentials")
        if creds:
            assert JAVA_TIME.match(creds["expiration"]) and creds["sessionToken"].startswith("FAKE-SESSION-TOKEN-")


def test_records_are_shuffled_within_files(kc):
    out, _, _ = kc
    files = [recs for recs in read_archive(out).values() if len({r["eventTime"] for r in recs}) >= 5]
    assert len(files) >= 10
    unsorted = [recs for recs in files if [r["eventTime"] for r in recs] != sorted(r["eventTime"] for r in recs)]
    assert len(unsorted) >= len(files) // 2


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path):
    def tree(out: Path) -> dict[str, bytes]:
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    for name in ("one", "two"):
        generate("key-compromise", tmp_path / name, events=300, seed=11, start=START, days=3)
    generate("key-compromise", tmp_path / "other", events=300, seed=12, start=START, days=3)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert tree(tmp_path / "one").keys() != tree(tmp_path / "other").keys()


def test_account_trail_layout_and_background_size(tmp_path: Path):
    truth = generate("background", tmp_path, events=2000, seed=1, start=START, days=1, org_id=None)
    keys = list(read_archive(tmp_path))
    assert keys and all(LOG_KEY.match(k) and LOG_KEY.match(k)["org"] is None for k in keys)
    assert 1800 <= truth.events <= 2200
    assert truth.attack is None


def test_background_cross_account_copies_come_in_pairs(kc):
    _, _, records = kc
    pairs: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("sharedEventID") and r["userIdentity"]["type"] != "AWSService":
            pairs.setdefault(r["sharedEventID"], []).append(r)
    assert len(pairs) > 5
    for copies in pairs.values():
        assert len(copies) == 2
        assert {c["recipientAccountId"] for c in copies} == {PROD, ANALYTICS}
        assert copies[0]["requestID"] == copies[1]["requestID"]
        assert sorted(c["userIdentity"]["type"] for c in copies)[0] == "AWSAccount"


# --- the key-compromise story --------------------------------------------------------------


def test_truth_names_the_story_in_order(kc):
    _, truth, _ = kc
    attack = truth["attack"]
    assert [s["name"] for s in attack["steps"]] == [
        "first-use",
        "recon",
        "assume-role",
        "backdoor-key",
        "open-ssh",
        "share-snapshot",
        "stop-logging",
        "cross-account",
        "role-chain",
        "exfiltration",
        "key-check",
        "backdoor-use",
    ]
    assert attack["leaked_user_arn"] == MARTA
    assert attack["intruder_ips"] == [INTRUDER_IP, BACKDOOR_IP]
    assert attack["owner_ips"] == [OFFICE_IP]
    assert truth["org_id"] == ORG and set(truth["accounts"]) == {PROD, ANALYTICS}
    assert {"us-east-1", "eu-west-1", "us-west-2"} <= set(truth["regions"])


def test_truth_event_ids_point_at_the_right_records(kc):
    _, truth, records = kc
    attack = truth["attack"]
    index = by_id(records)
    steps = {s["name"]: s for s in attack["steps"]}
    assert all(i in index for s in attack["steps"] for i in s["event_ids"])

    first = index[steps["first-use"]["event_ids"][0]]
    assert first["eventName"] == "GetCallerIdentity" and first["eventTime"] == "2024-05-07T02:14:07Z"
    assert first["sourceIPAddress"] == INTRUDER_IP
    assert first["userIdentity"]["arn"] == MARTA
    assert first["userIdentity"]["accessKeyId"] == attack["leaked_key"]

    recon = [index[i] for i in steps["recon"]["event_ids"]]
    denied = [r for r in recon if r.get("errorCode")]
    assert len(denied) >= 10
    assert {r["eventName"] for r in denied} >= {"ListSecrets", "ListDetectors", "GetAccountAuthorizationDetails"}

    ssh = next(index[i] for i in steps["open-ssh"]["event_ids"] if index[i]["eventName"] != "DescribeSecurityGroups")
    assert ssh["eventName"] == "AuthorizeSecurityGroupIngress" and ssh["eventTime"] == "2024-05-07T02:44:51Z"
    perm = ssh["requestParameters"]["ipPermissions"]["items"][0]
    assert (perm["ipProtocol"], perm["fromPort"], perm["toPort"]) == ("tcp", 22, 22)
    assert perm["ipRanges"]["items"] == [{"cidrIp": "0.0.0.0/0"}]

    share = index[steps["share-snapshot"]["event_ids"][-1]]
    assert share["eventName"] == "ModifySnapshotAttribute" and share["awsRegion"] == "eu-west-1"
    assert share["requestParameters"]["createVolumePermission"] == {"add": {"items": [{"userId": "999988887777"}]}}

    stop = index[steps["stop-logging"]["event_ids"][-1]]
    assert (stop["eventName"], stop["eventTime"], stop["awsRegion"]) == (
        "StopLogging",
        "2024-05-07T03:02:10Z",
        "us-east-1",
    )
    assert stop["requestParameters"]["name"] == f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/acme-prod-account-trail"


def test_issued_credentials_form_the_lineage(kc):
    _, truth, records = kc
    attack = truth["attack"]
    index = by_id(records)
    issued = {i["principal_arn"]: i for i in attack["issued"]}
    ops = issued[f"arn:aws:sts::{PROD}:assumed-role/OpsAdmin/marta"]
    deploy = issued[f"arn:aws:sts::{ANALYTICS}:assumed-role/CrossAccountDeploy/marta"]
    data = issued[f"arn:aws:sts::{ANALYTICS}:assumed-role/DataAdmin/marta"]
    backdoor = issued[f"arn:aws:iam::{PROD}:user/backup-svc"]
    assert ops["parent_key"] == attack["leaked_key"]
    assert deploy["parent_key"] == ops["key"] and data["parent_key"] == deploy["key"]
    assert backdoor["parent_key"] == ops["key"] and backdoor["key"] == attack["backdoor_key"]
    assert backdoor["key"].startswith("AKIA") and all(i["key"].startswith("ASIA") for i in (ops, deploy, data))

    for item in attack["issued"]:
        for event_id in item["event_ids"]:
            rec = index[event_id]
            response = rec["responseElements"]
            minted = (response.get("credentials") or response.get("accessKey"))["accessKeyId"]
            assert minted == item["key"]
            assert rec["userIdentity"].get("accessKeyId", item["parent_key"]) == item["parent_key"]
        assert any(r["userIdentity"].get("accessKeyId") == item["key"] for r in records)

    first = index[ops["event_ids"][0]]
    assert first["responseElements"]["credentials"]["expiration"] == "May 7, 2024 3:31:02 AM"

    caller, owner = (index[i] for i in deploy["event_ids"])
    assert caller["sharedEventID"] == owner["sharedEventID"] == deploy["shared_event_id"]
    assert caller["requestID"] == owner["requestID"] and caller["eventID"] != owner["eventID"]
    assert (caller["recipientAccountId"], owner["recipientAccountId"]) == (PROD, ANALYTICS)
    assert owner["userIdentity"]["type"] == "AWSAccount" and owner["userIdentity"]["accountId"] == PROD
    assert owner["userIdentity"]["principalId"].endswith(":marta") and "arn" not in owner["userIdentity"]
    assert caller["userIdentity"]["accessKeyId"] == ops["key"]


def test_exfiltration_is_data_events_from_the_intruder(kc):
    _, truth, records = kc
    attack = truth["attack"]
    data_key = next(i["key"] for i in attack["issued"] if "DataAdmin" in i["principal_arn"])
    gets = [r for r in records if r["eventName"] == "GetObject" and r["userIdentity"].get("accessKeyId") == data_key]
    assert len(gets) == 40
    for r in gets:
        assert r["eventCategory"] == "Data" and r["managementEvent"] is False
        assert r["sourceIPAddress"] == INTRUDER_IP and r["awsRegion"] == "us-west-2"
        assert r["recipientAccountId"] == ANALYTICS
        assert 20_000_000 <= r["additionalEventData"]["bytesTransferredOut"] <= 60_000_000
        bucket = "acme-analytics-customer-exports"
        assert r["resources"] == [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{r['requestParameters']['key']}"},
            {"accountId": ANALYTICS, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ]


def test_backdoor_key_is_used_a_day_later_from_elsewhere(kc):
    _, truth, records = kc
    key = truth["attack"]["backdoor_key"]
    used = sorted((r for r in records if r["userIdentity"].get("accessKeyId") == key), key=lambda r: r["eventTime"])
    assert used and used[0]["eventTime"] == "2024-05-08T03:12:40Z" and used[0]["eventName"] == "GetCallerIdentity"
    assert {r["sourceIPAddress"] for r in used} == {BACKDOOR_IP}
    assert {r["userIdentity"]["arn"] for r in used} == {f"arn:aws:iam::{PROD}:user/backup-svc"}


def test_owner_keeps_working_from_the_office_and_intruder_ips_are_only_the_attack(kc):
    _, truth, records = kc
    attack = truth["attack"]
    leaked = [r for r in records if r["userIdentity"].get("accessKeyId") == attack["leaked_key"]]
    owner = [r for r in leaked if r["sourceIPAddress"] == OFFICE_IP]
    assert {r["eventTime"][:10] for r in owner} == {"2024-05-06", "2024-05-07", "2024-05-08"}
    assert all("08" <= r["eventTime"][11:13] < "18" for r in owner)
    assert {r["sourceIPAddress"] for r in leaked} == {OFFICE_IP, INTRUDER_IP}
    from_intruder = {r["eventID"] for r in records if r["sourceIPAddress"] in (INTRUDER_IP, BACKDOOR_IP)}
    assert from_intruder == set(attack["event_ids"])


# --- the command and the committed sample --------------------------------------------------


def test_cli_writes_then_refuses_to_mix_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["--scenario", "background", "--out", str(tmp_path), "--events", "200", "--days", "1", "--json"]
    assert run(argv) == 0
    captured = capsys.readouterr()
    printed = orjson.loads(captured.out)
    assert printed["scenario"] == "background" and printed["events"] > 0
    assert "events/s" in captured.err
    assert run(argv) == 2
    assert "already holds" in capsys.readouterr().err
    assert run(["--scenario", "key-compromise", "--out", str(tmp_path / "x"), "--days", "2"]) == 2
    with pytest.raises(SystemExit) as exc:
        run(["--scenario", "nope", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_committed_sample_is_what_its_recorded_command_produces(tmp_path: Path):
    sample = REPO / "sample_logs"
    truth = read_truth(sample / "scenario.json")
    args = shlex.split(str(truth["command"]))
    assert args[:2] == ["trailhound", "simulate"]
    out_at = args.index("--out") + 1
    args[out_at] = str(tmp_path)
    assert run(args[2:]) == 0
    regenerated = read_truth(tmp_path / "scenario.json")
    assert {k: v for k, v in regenerated.items() if k != "command"} == {
        k: v for k, v in truth.items() if k != "command"
    }
    fresh = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*.json.gz")}
    committed = {
        p.relative_to(sample).as_posix(): p.read_bytes()
        for p in sample.rglob("*.json.gz")
        if "/CloudTrail/" in p.as_posix()
    }
    assert fresh == committed
