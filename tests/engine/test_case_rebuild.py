"""``trailhound rebuild``: the store comes back from the recorded evidence, and changed evidence shows."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from investigations import casefile as cf
from investigations.case import Case
from investigations.casefile.rebuild import RebuildCancelled, rebuild
from investigations.evidence import SourceOptions, ingest_sources
from tests.engine.test_case_scenario import T0, build
from tests.support.moto_s3 import MotoS3, log_file, log_key
from tui.cli import main


def _case(tmp_path: Path) -> tuple[Path, list[str]]:
    world = build(tmp_path)
    extra = tmp_path / "evidence" / "more.jsonl"
    # A second file holding one event of the first again, and one of its own.
    extra.write_bytes(
        world.path.read_bytes().splitlines(keepends=True)[4]
        + orjson.dumps({**world.records[0], "eventID": "extra-0001", "eventTime": "2024-05-02T00:00:00Z"})
        + b"\n"
    )
    root = tmp_path / "case"
    with Case.open(root) as case:
        ingest_sources(case, [str(tmp_path / "evidence")], SourceOptions(workers=0))
        cf.add_bookmark(case, world.event_id(5), "after containment")
    return root, [*(str(r["eventID"]) for r in world.records), "extra-0001"]


def test_rebuild_recreates_the_same_events_without_touching_the_sources_list(tmp_path: Path) -> None:
    root, event_ids = _case(tmp_path)
    before = orjson.loads((root / "case.json").read_bytes())["sources"]
    with Case.open(root) as case:
        report = rebuild(case)
        assert report.clean
        assert report.events_total == 7
        assert [(s.source_id, s.files, s.events_added) for s in report.sources] == [(1, 2, 7)]
        _, rows = case.store.sql("SELECT event_id FROM events ORDER BY seq")
        assert sorted(r[0] for r in rows) == sorted(event_ids)
        assert [b.event_id for b in cf.items(case, "bookmark")] == [event_ids[5]]
        assert list(case.journal.entries())[-1]["action"] == "case.rebuilt"
    assert orjson.loads((root / "case.json").read_bytes())["sources"] == before
    assert not list(root.glob("*.before-rebuild"))


def test_changed_missing_and_new_files_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = _case(tmp_path)
    first = tmp_path / "evidence" / "events.jsonl"
    recorded = hashlib.sha256(first.read_bytes()).hexdigest()
    first.write_bytes(first.read_bytes().replace(b"ListUsers", b"ListRoles"))
    (tmp_path / "evidence" / "more.jsonl").unlink()
    shutil.copy(first, tmp_path / "evidence" / "late.jsonl")

    code = main(["rebuild", "--case", str(root), "--json"])
    out = orjson.loads(capsys.readouterr().out)
    assert code == 1
    assert out["clean"] is False
    (source,) = out["sources"]
    assert source["changed"] == [
        {
            "path": str(first),
            "hash": "sha256",
            "recorded": recorded,
            "found": hashlib.sha256(first.read_bytes()).hexdigest(),
        }
    ]
    assert source["missing"] == [str(tmp_path / "evidence" / "more.jsonl")]
    assert source["unlisted"] == [str(tmp_path / "evidence" / "late.jsonl")]
    assert out["events_total"] == 6


def test_sources_that_cannot_be_read_offline_say_so(tmp_path: Path) -> None:
    root, _ = _case(tmp_path)
    with Case.open(root) as case:
        case.record_source(2, "lookup", "lookup:us-east-1", {"regions": ["us-east-1"]}, {"files": 1}, [])
        report = rebuild(case)
    assert not report.clean
    assert "cannot be read again offline" in str(report.sources[1].not_rebuilt)
    assert report.events_total == 7


def test_a_cancelled_rebuild_puts_the_old_store_back(tmp_path: Path) -> None:
    root, _ = _case(tmp_path)
    stop = threading.Event()
    stop.set()
    with Case.open(root) as case:
        with pytest.raises(RebuildCancelled):
            rebuild(case, cancel=stop)
        assert case.store.count() == 7


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3]:
    server = MotoS3().start()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_S3": server.url,
    }.items():
        monkeypatch.setenv(name, value)
    server.reset()
    yield server
    server.stop()


def test_s3_sources_are_fetched_again_and_compared_by_etag(s3: MotoS3, tmp_path: Path) -> None:
    world = build(tmp_path)
    client = s3.client("s3")
    client.create_bucket(Bucket="trail-bucket")
    first = log_key("111122223333", "us-east-1", T0, "aaaaaaaaaaaaaaaa")
    second = log_key("444455556666", "us-east-1", T0, "bbbbbbbbbbbbbbbb")
    client.put_object(Bucket="trail-bucket", Key=first, Body=log_file(world.records[:3]))
    client.put_object(Bucket="trail-bucket", Key=second, Body=log_file(world.records[3:]))
    root = tmp_path / "case"
    with Case.open(root) as case:
        ingest_sources(case, ["s3://trail-bucket/trail"], SourceOptions(workers=0))
        assert case.store.count() == 6
        unchanged = rebuild(case)
        assert unchanged.clean and unchanged.events_total == 6
        client.put_object(Bucket="trail-bucket", Key=first, Body=log_file(world.records[:2]))
        client.delete_object(Bucket="trail-bucket", Key=second)
        report = rebuild(case)
    (source,) = report.sources
    assert source.kind == "s3"
    assert [(c["path"], c["hash"]) for c in source.changed] == [
        (f"s3://trail-bucket/{first}", "sha256"),
        (f"s3://trail-bucket/{first}", "etag"),
    ]
    assert source.missing == [f"s3://trail-bucket/{second}"]
    assert report.events_total == 2
