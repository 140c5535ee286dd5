"""S3 sources against moto's S3 over real HTTP: narrow listings, concurrent fetches, failures named.

The bucket holds an organization trail under the key prefix ``trail``: two accounts, two regions,
six days (2024-05-01 to 06), one log file a day per account and region delivered at 12:05 with
two events (11:55 and 12:00), and one digest file a day beside it. So: 24 log files, 48 events,
24 digests. The engine is never given an endpoint: boto3 finds moto through AWS_ENDPOINT_URL_S3.
"""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.simulate.world import World
from investigations.sources.s3 import THREADS, object_refusal
from tests.support.aws_env import offline_aws
from tests.support.moto_s3 import ORG, MotoS3, digest_key, log_file, log_key
from tui.cli import main

A, B = "111122223333", "444455556666"
REGIONS = ("us-east-1", "eu-west-1")
DAYS = range(1, 7)
BUCKET = "evidence-trail"
ROOT = f"trail/AWSLogs/{ORG}"


def _unique(account: str, region: str, day: int) -> str:
    return f"{account[:4]}{region.replace('-', '')}{day:02d}".ljust(16, "x")


def _bucket_files() -> dict[str, bytes]:
    world = World(7)
    files: dict[str, bytes] = {}
    for account in (A, B):
        alice = world.iam_user(account, "alice", ip="198.51.100.7", user_agent="aws-cli/2.15.0")
        for region in REGIONS:
            for day in DAYS:
                records = [
                    alice.call("ec2.amazonaws.com", "DescribeInstances", datetime(2024, 5, day, 11, 55), region=region),
                    alice.call("ec2.amazonaws.com", "DescribeVolumes", datetime(2024, 5, day, 12, 0), region=region),
                ]
                key = log_key(account, region, datetime(2024, 5, day, 12, 5), _unique(account, region, day))
                files[key] = log_file(records)
                files[digest_key(account, region, datetime(2024, 5, day, 13, 0))] = gzip.compress(b"{}")
    return files


def _put(client: object, bucket: str, files: dict[str, bytes]) -> None:
    client.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: client.put_object(Bucket=bucket, Key=item[0], Body=item[1]), files.items()))


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> MotoS3:
    """One server and one bucket for the module; tests that change things use buckets of their own."""
    server = MotoS3(latency=0.02).start()
    nowhere = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as env:
        offline_aws(env, nowhere, AWS_ENDPOINT_URL_S3=server.url)
        server.reset()
        _put(server.client("s3"), BUCKET, _bucket_files())
        yield server
    server.stop()


@pytest.fixture
def s3(moto: MotoS3) -> MotoS3:
    moto.seen.clear()
    moto.max_in_flight = 0
    yield moto
    moto.enforce_iam(False)


def _ingest(case_dir: Path, uri: str, **options: object):
    with Case.open(case_dir) as case:
        return ingest_sources(case, [uri], SourceOptions(**options))


def test_a_window_lists_only_its_day_folders(s3: MotoS3, tmp_path: Path) -> None:
    report = _ingest(
        tmp_path / "case",
        f"s3://{BUCKET}",
        start=datetime(2024, 5, 3, 12, 1),
        end=datetime(2024, 5, 4, 23, 0),
    )
    # Day folders 02..05 (a day's margin each side); the 05-02 files were delivered (12:05)
    # before the window opens, so only 03, 04, 05 are fetched: 3 days x 4 folders x 2 events.
    assert report.events_added == 24
    assert report.files == 12
    assert report.digests == 16
    objects = {prefix for prefix, delimiter in s3.listings(BUCKET) if delimiter is None}
    expected = {
        f"{ROOT}/{account}/{folder}/{region}/2024/05/{day:02d}/"
        for account in (A, B)
        for folder in ("CloudTrail", "CloudTrail-Digest")
        for region in REGIONS
        for day in (2, 3, 4, 5)
    }
    assert objects == expected
    # Folder by folder down to the months; no day is listed by folder, no object outside the window.
    folders = {prefix for prefix, delimiter in s3.listings(BUCKET) if delimiter == "/"}
    regions = [f"{ROOT}/{a}/{f}/{r}/" for a in (A, B) for f in ("CloudTrail", "CloudTrail-Digest") for r in REGIONS]
    assert folders == {
        "",
        "trail/",
        "trail/AWSLogs/",
        f"{ROOT}/",
        *(f"{ROOT}/{a}/" for a in (A, B)),
        *(f"{ROOT}/{a}/{f}/" for a in (A, B) for f in ("CloudTrail", "CloudTrail-Digest")),
        *regions,
        *(f"{r}2024/" for r in regions),
        *(f"{r}2024/05/" for r in regions),
    }


def test_accounts_and_regions_narrow_at_the_folder_level(s3: MotoS3, tmp_path: Path) -> None:
    report = _ingest(tmp_path / "case", f"s3://{BUCKET}/trail", accounts=[B], regions=["eu-west-1"])
    assert report.events_added == 12
    assert report.digests == 6
    listed = s3.listings(BUCKET)
    assert {prefix for prefix, delimiter in listed if delimiter is None} == {
        f"{ROOT}/{B}/CloudTrail/eu-west-1/",
        f"{ROOT}/{B}/CloudTrail-Digest/eu-west-1/",
    }
    assert not any(A in prefix or "us-east-1" in prefix for prefix, _ in listed)


def test_a_prefix_inside_the_layout_is_listed_as_given(s3: MotoS3, tmp_path: Path) -> None:
    uri = f"s3://{BUCKET}/{ROOT}/{A}/CloudTrail/us-east-1/2024/05/"
    report = _ingest(tmp_path / "case", uri)
    assert report.events_added == 12
    assert s3.listings(BUCKET) == [(f"{ROOT}/{A}/CloudTrail/us-east-1/2024/05/", None)]


def test_failed_objects_are_named_and_the_rest_arrive(
    s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = "evidence-failures"
    folder = f"{ROOT}/{A}/CloudTrail/us-east-1/"
    files = {key: body for key, body in _bucket_files().items() if key.startswith(folder)}
    denied = log_key(A, "us-east-1", datetime(2024, 5, 1, 12, 5), _unique(A, "us-east-1", 1))
    vanished = log_key(A, "us-east-1", datetime(2024, 5, 3, 12, 5), _unique(A, "us-east-1", 3))
    corrupt = log_key(A, "us-east-1", datetime(2024, 5, 2, 18, 5), "corruptcorrupt01")
    files[corrupt] = b"\x1f\x8b\x08\x00garbage"
    _put(s3.client("s3"), bucket, files)
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/{denied}"}
    for name, value in s3.restricted_user([deny]).items():
        monkeypatch.setenv(name, value)
    s3.enforce_iam(True)
    as_responder = s3.client("s3")  # the restricted user's key, from the environment
    s3.before_first_get = lambda: as_responder.delete_object(Bucket=bucket, Key=vanished)

    report = _ingest(tmp_path / "case", f"s3://{bucket}")

    # 7 log files listed; the denied, the vanished and the corrupt one fail: 4 x 2 events arrive.
    assert report.events_added == 8
    reasons = {r.path: r.reason for r in report.rejected}
    assert set(reasons) == {f"s3://{bucket}/{key}" for key in (denied, vanished, corrupt)}
    assert "s3:GetObject" in reasons[f"s3://{bucket}/{denied}"]
    assert "deleted between listing and fetching" in reasons[f"s3://{bucket}/{vanished}"]
    assert s3.max_in_flight > 1
    assert s3.max_in_flight <= THREADS + 1  # the fetch pool, plus the one delete the test made


def test_reingesting_adds_nothing(s3: MotoS3, tmp_path: Path) -> None:
    uri = f"s3://{BUCKET}/{ROOT}/{B}/"
    first = _ingest(tmp_path / "case", uri)
    second = _ingest(tmp_path / "case", uri)
    assert (first.events_added, first.duplicates) == (24, 0)
    assert (second.events_added, second.duplicates, second.events_total) == (0, 24, 24)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(args)
    out = capsys.readouterr().out
    return code, orjson.loads(out)


def test_listing_denied_names_the_permission(
    s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deny = {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    for name, value in s3.restricted_user([deny]).items():
        monkeypatch.setenv(name, value)
    s3.enforce_iam(True)
    code, out = _cli(["ingest", f"s3://{BUCKET}/trail/", "--case", str(tmp_path / "case"), "--json"], capsys)
    assert code == 2
    assert [r["path"] for r in out["rejected"]] == [f"s3://{BUCKET}/trail/"]
    assert "s3:ListBucket" in out["rejected"][0]["reason"]


def test_a_missing_bucket_is_unusable_input(s3: MotoS3, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(["ingest", "s3://no-such-evidence", "--case", str(tmp_path / "case"), "--json"], capsys)
    assert code == 2
    assert "no such bucket" in out["rejected"][0]["reason"]


def test_a_window_never_lists_a_whole_bucket_without_layout(s3: MotoS3, tmp_path: Path) -> None:
    client = s3.client("s3")
    client.create_bucket(Bucket="flat-dump")
    client.put_object(Bucket="flat-dump", Key="downloads/events.json", Body=b'{"Records": []}')
    report = _ingest(tmp_path / "case", "s3://flat-dump", start=datetime(2024, 5, 1))
    assert "give the prefix" in report.rejected[0].reason
    assert all(delimiter == "/" for _, delimiter in s3.listings("flat-dump"))


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("KMS.DisabledException", "arn:aws:kms:us-east-1:111122223333:key/k1 is disabled.", "kms:Decrypt"),
        ("KMS.AccessDeniedException", "not authorized to perform kms:Decrypt", "kms:Decrypt"),
        ("AccessDenied", "User is not authorized to perform: kms:Decrypt on resource", "kms:Decrypt"),
        ("AccessDenied", "Access Denied", "s3:GetObject on arn:aws:s3:::b/k.json.gz"),
        ("InvalidObjectState", "The operation is not valid for the object's storage class", "restore it first"),
    ],
)
def test_refusals_say_what_to_grant(code: str, message: str, expected: str) -> None:
    # moto does not enforce KMS, so the mapping from S3's error codes is checked directly.
    assert expected in object_refusal(code, message, "b", "k.json.gz")


def test_an_unknown_profile_is_named(s3: MotoS3, tmp_path: Path) -> None:
    report = _ingest(tmp_path / "case", f"s3://{BUCKET}", profile="no-such-profile")
    assert "no-such-profile" in report.rejected[0].reason
    assert s3.listings(BUCKET) == []
