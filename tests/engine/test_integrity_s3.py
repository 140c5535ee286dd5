"""Validation against S3 and forensic collection, over real HTTP: moto's S3 server and a local
CloudTrail endpoint answering ListPublicKeys (tests/support/cloudtrail_server.py).

Same scenario as test_integrity_validate.py: account 111122223333, eu-west-1, trail org_trail
(home us-east-1); logs delivered 2024-05-01 at 08:05, 08:35, 09:10, 10:20, 11:45; digests ending
09:00, 10:00, 11:00, 12:00. Digests are uploaded with ``x-amz-meta-signature`` metadata, and the
public key is served by ListPublicKeys in eu-west-1 only, valid 2024-04-01 to 2024-06-01.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.server import ThreadedMotoServer

from investigations.integrity import collect as collect_module
from investigations.integrity import signer
from investigations.integrity.layout import COLLECTION_DIR, SIDECAR_SUFFIX, ChainId, digest_key
from tests.support.cloudtrail_server import CloudTrailServer, ServedKey, list_public_keys_handler
from tui.cli import main
from tui.cli_collect import run as collect
from tui.cli_validate import run as validate

ACCOUNT, REGION, TRAIL, HOME = "111122223333", "eu-west-1", "org_trail", "us-east-1"
DELIVERIES = ["08:05", "08:35", "09:10", "10:20", "11:45"]


def at(hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2024, 5, 1, hour, minute)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cloudtrail(key: rsa.RSAPrivateKey) -> Iterator[CloudTrailServer]:
    with CloudTrailServer() as server:
        served = ServedKey(signer.public_der(key), datetime(2024, 4, 1), datetime(2024, 6, 1))
        server.handlers["ListPublicKeys"] = list_public_keys_handler({REGION: [served]})
        yield server


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_url: str, cloudtrail: CloudTrailServer, tmp_path: Path) -> Any:
    """Dummy credentials and endpoints in the environment, as a responder's shell would have them."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url,
        "AWS_ENDPOINT_URL_CLOUDTRAIL": cloudtrail.endpoint_url,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("s3", region_name="us-east-1")


def upload(s3: Any, bucket: str, root: Path) -> None:
    """Put a signed tree in a bucket, each digest with its sidecar's metadata as x-amz-meta-*."""
    s3.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*.json.gz")):
        sidecar = Path(str(path) + SIDECAR_SUFFIX)
        meta = orjson.loads(sidecar.read_bytes())["metadata"] if sidecar.exists() else {}
        s3.put_object(Bucket=bucket, Key=path.relative_to(root).as_posix(), Body=path.read_bytes(), Metadata=meta)


def scenario(
    tmp_path: Path, key: rsa.RSAPrivateKey, s3: Any, bucket: str, prefix: str | None = None, org: str | None = None
) -> ChainId:
    root = tmp_path / "src"
    for hhmm in DELIVERIES:
        record = {"eventTime": f"2024-05-01T{hhmm}:00Z", "eventID": hhmm, "eventName": "GetCallerIdentity"}
        signer.write_log(root, ACCOUNT, REGION, at(hhmm), [record], prefix=prefix, org=org)
    signer.sign_tree(root, key, bucket=bucket, trail=TRAIL, home_region=HOME)
    upload(s3, bucket, root)
    return ChainId(prefix, org, ACCOUNT, REGION, TRAIL, HOME)


def run_json(command: Any, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = command([*argv, "--json"])
    return code, orjson.loads(capsys.readouterr().out)


def digest_statuses(out: dict) -> dict[str, str]:
    return {f["time"][11:16]: f["status"] for f in out["files"] if f["kind"] == "digest"}


def test_validate_s3_with_list_public_keys(
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    aws: Any,
    cloudtrail: CloudTrailServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario(tmp_path, key, aws, "trail-bucket")
    code, out = run_json(validate, ["s3://trail-bucket/", "--end", "2024-05-01T12:30:00Z"], capsys)
    assert code == 0 and out["signatures_checked"]
    assert digest_statuses(out) == {"09:00": "valid", "10:00": "valid", "11:00": "valid", "12:00": "valid"}
    assert out["summary"]["logs"] == {"valid": 5}
    calls = [r for r in cloudtrail.requests if r.operation == "ListPublicKeys"]
    assert {r.region for r in calls} == {REGION}  # keys are per region: asked where the digests were made


def test_deleted_metadata_in_s3(
    tmp_path: Path, key: rsa.RSAPrivateKey, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = scenario(tmp_path, key, aws, "meta-bucket")
    target = digest_key(chain, at("10:00"))
    aws.copy_object(
        Bucket="meta-bucket",
        Key=target,
        CopySource={"Bucket": "meta-bucket", "Key": target},
        Metadata={},
        MetadataDirective="REPLACE",
    )
    code, out = run_json(validate, ["s3://meta-bucket", "--end", "2024-05-01T12:30:00Z"], capsys)
    assert code == 1
    assert digest_statuses(out) == {"09:00": "valid", "10:00": "no-signature", "11:00": "valid", "12:00": "valid"}


def test_moved_digest_in_s3(
    tmp_path: Path, key: rsa.RSAPrivateKey, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = scenario(tmp_path, key, aws, "moved-bucket")
    old = digest_key(chain, at("10:00"))
    new = old.replace("T100000Z", "T103000Z")
    aws.copy_object(Bucket="moved-bucket", Key=new, CopySource={"Bucket": "moved-bucket", "Key": old})
    aws.delete_object(Bucket="moved-bucket", Key=old)
    code, out = run_json(validate, ["s3://moved-bucket", "--end", "2024-05-01T12:30:00Z"], capsys)
    assert code == 1
    assert digest_statuses(out) == {"09:00": "valid", "10:30": "moved", "11:00": "valid", "12:00": "valid"}


def test_key_from_another_region_does_not_count(
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    aws: Any,
    cloudtrail: CloudTrailServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served = ServedKey(signer.public_der(key), datetime(2024, 4, 1), datetime(2024, 6, 1))
    cloudtrail.handlers["ListPublicKeys"] = list_public_keys_handler({"us-east-1": [served]})
    scenario(tmp_path, key, aws, "region-bucket")
    code, out = run_json(validate, ["s3://region-bucket", "--end", "2024-05-01T12:30:00Z"], capsys)
    assert code == 1
    assert set(digest_statuses(out).values()) == {"unknown-key"}
    assert "public key not found in region eu-west-1" in out["files"][0]["detail"]


def test_organization_trail_under_prefix(
    tmp_path: Path, key: rsa.RSAPrivateKey, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario(tmp_path, key, aws, "org-bucket", prefix="logs/cloudtrail", org="o-a1b2c3d4e5")
    code, out = run_json(
        validate, ["s3://org-bucket/logs", "--start", "2024-05-01T07:00:00Z", "--end", "2024-05-01T12:30:00Z"], capsys
    )
    assert code == 0
    assert [(c["org"], c["prefix"], c["digests"]) for c in out["chains"]] == [("o-a1b2c3d4e5", "logs/cloudtrail", 4)]


def test_collect_then_validate_offline(
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario(tmp_path, key, aws, "collect-bucket")
    out_dir = tmp_path / "evidence"
    code, report = run_json(collect, ["s3://collect-bucket/", "--out", str(out_dir)], capsys)
    assert code == 0
    assert (report["copied"], report["public_keys"], report["failures"]) == (9, 1, [])  # 5 logs + 4 digests
    meta = out_dir / COLLECTION_DIR
    assert (meta / "public-keys" / REGION).is_dir()
    # The manifest checks with the standard tool: 9 objects, 4 sidecars, the key and its index.
    check = subprocess.run(
        ["sha256sum", "--check", "--quiet", f"{COLLECTION_DIR}/manifest.sha256"],
        cwd=out_dir,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert len((meta / "manifest.sha256").read_text().splitlines()) == 15
    # Offline: no endpoint answers any more, and the keys come from the collection.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", "http://127.0.0.1:9")
    code, out = run_json(validate, [str(out_dir)], capsys)
    assert code == 0 and out["signatures_checked"]
    assert digest_statuses(out) == {"09:00": "valid", "10:00": "valid", "11:00": "valid", "12:00": "valid"}
    assert out["summary"]["logs"] == {"valid": 5}


def test_collect_resumes_after_interruption(
    tmp_path: Path,
    key: rsa.RSAPrivateKey,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chain = scenario(tmp_path, key, aws, "resume-bucket")
    out_dir = tmp_path / "evidence"
    real = collect_module._download
    cut = digest_key(chain, at("11:00"))

    def flaky(tree: Any, bucket: str, object_key: str, local: Path) -> dict[str, Any]:
        if object_key == cut:
            raise ConnectionError("connection reset")
        return real(tree, bucket, object_key, local)

    monkeypatch.setattr(collect_module, "_download", flaky)
    code, first = run_json(collect, ["s3://resume-bucket/", "--out", str(out_dir)], capsys)
    assert code == 1 and first["copied"] == 8 and first["failures"][0]["key"] == cut
    assert not orjson.loads((out_dir / COLLECTION_DIR / "collection.json").read_bytes())["complete"]
    monkeypatch.setattr(collect_module, "_download", real)
    code, second = run_json(collect, ["s3://resume-bucket/", "--out", str(out_dir)], capsys)
    assert code == 0 and (second["copied"], second["already_present"]) == (1, 8)
    assert orjson.loads((out_dir / COLLECTION_DIR / "collection.json").read_bytes())["complete"]


def test_collect_window_fetches_logs_its_digests_list(
    tmp_path: Path, key: rsa.RSAPrivateKey, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario(tmp_path, key, aws, "window-bucket")
    out_dir = tmp_path / "evidence"
    code, report = run_json(
        collect,
        [
            "s3://window-bucket/",
            "--out",
            str(out_dir),
            "--start",
            "2024-05-01T10:00:00Z",
            "--end",
            "2024-05-01T10:59:00Z",
        ],
        capsys,
    )
    # Digests ending 10:00-12:59 (3), the log delivered in the window (10:20), and the logs those
    # digests list (09:10, 11:45).
    assert code == 0 and report["copied"] == 6
    code, out = run_json(validate, [str(out_dir)], capsys)
    assert code == 0
    assert digest_statuses(out) == {"10:00": "valid", "11:00": "valid", "12:00": "valid"}
    assert out["summary"]["logs"] == {"valid": 3}


def test_collect_refuses_to_mix_sources(
    tmp_path: Path, key: rsa.RSAPrivateKey, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario(tmp_path, key, aws, "first-bucket")
    out_dir = tmp_path / "evidence"
    assert main(["collect", "s3://first-bucket/", "--out", str(out_dir)]) == 0
    assert main(["collect", "s3://other-bucket/", "--out", str(out_dir)]) == 2
    assert "holds a copy of s3://first-bucket/" in capsys.readouterr().err


def test_safe_path_keeps_keys_inside_the_folder(tmp_path: Path) -> None:
    assert collect_module.safe_path(tmp_path, "AWSLogs/1/x.json.gz") == tmp_path / "AWSLogs/1/x.json.gz"
    for hostile in ("../x", "AWSLogs/../../x", "/etc/passwd", "a//b", f"{COLLECTION_DIR}/manifest.sha256", ""):
        assert collect_module.safe_path(tmp_path, hostile) is None
