"""LookupEvents against a local CloudTrail endpoint: real paging, the 2 requests/s limit, resume.

The scenario: in us-east-1, alice calls EC2 once a minute from 2024-05-01T00:00 for 160 minutes
(DescribeInstances, except TerminateInstances at minutes 10, 20, 30, 40, 50), so 160 events in
pages of 50, 50, 50, 10; in eu-west-1 she makes 30 calls (one page); and us-east-1 also holds
two Insights events. boto3 reaches the server through AWS_ENDPOINT_URL alone.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.simulate.world import World
from investigations.sources.lookup import LookupQuery, RegionStats, enabled_regions
from investigations.sources.lookup_pull import STATE_FILE, LookupRequest, LookupSettings, pull_lookup
from investigations.sources.ratelimit import Backoff
from tests.support.aws_env import offline_aws
from tests.support.cloudtrail_server import CloudTrailServer, Request
from tests.support.lookup_events import DescribeRegions, FailRequests, LookupEvents, RateLimit
from tests.support.moto_s3 import MotoS3, log_file, log_key
from tui.cli import main

ACCOUNT = "111122223333"
T0 = datetime(2024, 5, 1)
#: For tests not about the limit: a faster limiter, short backoff, and a round (store, checkpoint,
#: progress) after every page so a cut lands at a known page.
FAST = LookupSettings(rate=20.0, backoff=Backoff(base=0.05, cap=0.4, attempts=6), round_pages=1)


def _insight(n: int, state: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T0{n}:00:00Z",
        "awsRegion": "us-east-1",
        "eventID": f"00000000-0000-4000-8000-00000000000{n}",
        "eventType": "AwsCloudTrailInsight",
        "recipientAccountId": ACCOUNT,
        "sharedEventID": "00000000-0000-4000-8000-0000000000ff",
        "insightDetails": {"state": state, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"},
        "eventCategory": "Insight",
    }


def _records() -> dict[str, list[dict[str, Any]]]:
    alice = World(11).iam_user(ACCOUNT, "alice", ip="198.51.100.7", user_agent="aws-cli/2.15.0")
    east = [
        alice.call(
            "ec2.amazonaws.com",
            "TerminateInstances" if i and i % 10 == 0 and i <= 50 else "DescribeInstances",
            T0 + timedelta(minutes=i),
            region="us-east-1",
        )
        for i in range(160)
    ]
    west = [
        alice.call("ec2.amazonaws.com", "DescribeVpcs", T0 + timedelta(minutes=i), region="eu-west-1")
        for i in range(30)
    ]
    return {"us-east-1": east, "eu-west-1": west, "insights": [_insight(1, "Start"), _insight(2, "End")]}


RECORDS = _records()


@pytest.fixture
def cloudtrail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[CloudTrailServer, LookupEvents]:
    service = LookupEvents([r for records in RECORDS.values() for r in records])
    with CloudTrailServer() as server:
        server.handlers["LookupEvents"] = service
        offline_aws(monkeypatch, tmp_path, AWS_ENDPOINT_URL=server.endpoint_url)
        yield server, service


def _calls(server: CloudTrailServer, region: str) -> list[Request]:
    return [r for r in server.requests if r.operation == "LookupEvents" and r.region == region]


def _pull(case_dir: Path, regions: list[str], settings: LookupSettings = FAST, **kw: Any):
    with Case.open(case_dir) as case:
        return pull_lookup(case, LookupRequest(LookupQuery(), regions), settings, **kw)


def test_pages_every_region_within_two_requests_a_second(cloudtrail, tmp_path: Path) -> None:
    server, service = cloudtrail
    limit = RateLimit(2.0)
    server.hooks.append(limit)
    report = _pull(tmp_path / "case", ["us-east-1", "eu-west-1"], LookupSettings())
    assert report.ingest.events_added == 190
    assert (report.regions["us-east-1"].pages, report.regions["eu-west-1"].pages) == (4, 1)
    east = _calls(server, "us-east-1")
    assert [c.body.get("NextToken") for c in east] == [None, *service.issued[:3]]
    assert all(c.body["MaxResults"] == 50 for c in east)
    # Judged at the server by AWS's own kind of limiter (a token bucket, 2/s): never exceeded.
    assert limit.throttled == []
    assert report.complete and not (tmp_path / "case" / STATE_FILE).exists()


def test_throttling_is_survived(cloudtrail, tmp_path: Path) -> None:
    server, _ = cloudtrail
    limit = RateLimit(2.0, burst=1.0)
    server.hooks.append(limit)
    report = _pull(tmp_path / "case", ["us-east-1"], LookupSettings(rate=8.0, backoff=Backoff(0.1, 0.5, 12)))
    stats = report.regions["us-east-1"]
    assert report.ingest.events_added == 160
    assert stats.throttled == len(limit.throttled) > 0
    assert stats.failed is None


def test_server_errors_are_retried(cloudtrail, tmp_path: Path) -> None:
    server, _ = cloudtrail
    server.hooks.append(FailRequests({2: 500, 3: 503}))
    report = _pull(tmp_path / "case", ["us-east-1"])
    assert report.ingest.events_added == 160
    assert report.regions["us-east-1"].errors == 2
    assert len(_calls(server, "us-east-1")) == 6


def _cut_after(pages: int) -> Any:
    taken = 0

    def progress(stats: dict[str, RegionStats]) -> None:
        nonlocal taken
        taken += 1
        if taken == pages:
            raise KeyboardInterrupt

    return progress


def test_a_cut_off_pull_resumes_where_the_store_ends(cloudtrail, tmp_path: Path) -> None:
    server, service = cloudtrail
    case_dir = tmp_path / "case"
    with pytest.raises(KeyboardInterrupt):
        _pull(case_dir, ["us-east-1"], progress=_cut_after(2))
    state = orjson.loads((case_dir / STATE_FILE).read_bytes())
    assert state["regions"]["us-east-1"] == {"token": service.issued[1], "pages": 2, "done": False}
    before = len(server.requests)

    report = _pull(case_dir, ["us-east-1"])

    again = server.requests[before:]
    assert [c.body.get("NextToken") for c in again] == service.issued[1:3]  # pages 3 and 4 only
    assert (report.ingest.events_added, report.ingest.duplicates, report.ingest.events_total) == (60, 0, 160)
    assert report.resumed and report.complete
    assert not (case_dir / STATE_FILE).exists()
    with Case.open(case_dir) as case:
        assert [s["kind"] for s in case.data["sources"]] == ["lookup", "lookup"]
        assert [s["events_added"] for s in case.data["sources"]] == [100, 60]


def test_an_expired_token_restarts_the_region(cloudtrail, tmp_path: Path) -> None:
    _, service = cloudtrail
    case_dir = tmp_path / "case"
    with pytest.raises(KeyboardInterrupt):
        _pull(case_dir, ["us-east-1"], progress=_cut_after(2))
    service.expire_tokens()
    report = _pull(case_dir, ["us-east-1"])
    assert report.regions["us-east-1"].restarted
    assert (report.ingest.events_added, report.ingest.duplicates, report.ingest.events_total) == (60, 100, 160)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["lookup", *args, "--json"])
    return code, orjson.loads(capsys.readouterr().out)


def test_attribute_window_and_insights_reach_the_api(cloudtrail, tmp_path: Path, capsys) -> None:
    server, _ = cloudtrail
    case = str(tmp_path / "case")
    window = ["--start", "2024-05-01T00:15:00Z", "--end", "2024-05-01T00:45:00Z"]
    code, out = _cli(
        ["--case", case, "--regions", "us-east-1", "--attribute", "eventname=TerminateInstances", *window], capsys
    )
    assert code == 0
    assert out["events_added"] == 3  # minutes 20, 30, 40
    asked = _calls(server, "us-east-1")[-1].body
    assert asked["LookupAttributes"] == [{"AttributeKey": "EventName", "AttributeValue": "TerminateInstances"}]
    assert (asked["StartTime"], asked["EndTime"]) == (1714522500, 1714524300)

    code, out = _cli(["--case", case, "--regions", "us-east-1", "--insights"], capsys)
    assert code == 0
    assert out["events_added"] == 2
    assert _calls(server, "us-east-1")[-1].body["EventCategory"] == "insight"


def test_bad_attribute_is_a_usage_error(cloudtrail, tmp_path: Path) -> None:
    assert main(["lookup", "--case", str(tmp_path / "case"), "--attribute", "Colour=blue"]) == 2
    assert main(["lookup", "--case", str(tmp_path / "case"), "--insights", "--attribute", "Username=alice"]) == 2


def test_without_describe_regions_every_cloudtrail_region_is_tried_and_said(cloudtrail) -> None:
    # EC2 points at the CloudTrail server too, which does not serve DescribeRegions.
    regions, note = enabled_regions(boto3.Session())
    assert regions == sorted(boto3.Session().get_available_regions("cloudtrail"))
    assert "ec2:DescribeRegions" in note


def test_all_regions_are_the_enabled_ones(cloudtrail, tmp_path: Path, monkeypatch, capsys) -> None:
    server, _ = cloudtrail
    ec2 = DescribeRegions(["eu-west-1", "us-east-1"]).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", ec2.url)
        code, out = _cli(["--case", str(tmp_path / "case")], capsys)
    finally:
        ec2.stop()
    assert code == 0
    assert [a.get("AllRegions") for a in ec2.asked] == ["false"]
    assert {r.region for r in server.requests if r.operation == "LookupEvents"} == {"eu-west-1", "us-east-1"}
    assert (out["events_added"], out["notes"]) == (190, [])


def test_s3_and_lookup_overlap_without_duplicates(cloudtrail, tmp_path: Path, monkeypatch) -> None:
    moto = MotoS3().start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.url)
        s3 = moto.client("s3")
        s3.create_bucket(Bucket="overlap-trail")
        key = log_key(ACCOUNT, "us-east-1", T0 + timedelta(minutes=55), "overlapoverlap01")
        s3.put_object(Bucket="overlap-trail", Key=key, Body=log_file(RECORDS["us-east-1"][:50]))
        with Case.open(tmp_path / "case") as case:
            first = ingest_sources(case, ["s3://overlap-trail"], SourceOptions())
            second = pull_lookup(case, LookupRequest(LookupQuery(), ["us-east-1"]), FAST)
    finally:
        moto.stop()
    assert first.events_added == 50
    assert (second.ingest.events_added, second.ingest.duplicates, second.ingest.events_total) == (110, 50, 160)


def test_no_credentials_is_a_usage_error(cloudtrail, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["lookup", "--case", str(tmp_path / "case"), "--regions", "us-east-1"]) == 2
    assert "no AWS credentials" in capsys.readouterr().err
    assert main(["lookup", "--case", str(tmp_path / "case"), "--profile", "no-such-profile"]) == 2
    assert "no-such-profile" in capsys.readouterr().err


def test_cancel_event_stops_fetching_and_keeps_what_arrived(cloudtrail, tmp_path: Path) -> None:
    cancel = threading.Event()
    # Pages of 10 at 2 requests/s: 16 pages, 7.5 s, so the region is far from done when cancelled.
    settings = LookupSettings(round_pages=1, page_size=10)
    report = _pull(tmp_path / "case", ["us-east-1"], settings, progress=lambda stats: cancel.set(), cancel=cancel)
    assert not report.complete
    assert report.ingest.cancelled
    state = orjson.loads((tmp_path / "case" / STATE_FILE).read_bytes())
    pages = state["regions"]["us-east-1"]["pages"]
    assert pages == report.regions["us-east-1"].pages  # every page fetched was stored
    assert report.ingest.events_added == 10 * pages
