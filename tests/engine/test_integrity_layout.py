"""Key parsing (reference §3), digest parsing against a real AWS digest, and the streamed log hash."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from datetime import datetime
from pathlib import Path

import pytest

from investigations.integrity.digests import DigestFormatError, gunzip_digest, parse_digest, string_to_sign
from investigations.integrity.layout import ChainId, digest_key, logical, parse_digest_key, parse_log_key
from investigations.integrity.logs import hash_log

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
REAL_DIGEST = (
    CORPUS
    / "misc"
    / "llm-guard"
    / "327878933619_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20231015T230404Z.json"
)


def test_reference_examples_parse() -> None:
    log = parse_log_key(
        "logs/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/2024/05/01/"
        "111122223333_CloudTrail_eu-west-1_20240501T0815Z_Ab3dEf6hIj9kLm2n.json.gz"
    )
    assert log is not None
    assert (log.prefix, log.org, log.account, log.region, log.folder, log.delivered) == (
        "logs",
        "o-a1b2c3d4e5",
        "111122223333",
        "eu-west-1",
        "CloudTrail",
        datetime(2024, 5, 1, 8, 15),
    )
    key = (
        "logs/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/eu-west-1/2024/05/01/"
        "111122223333_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20240501T090512Z.json.gz"
    )
    digest = parse_digest_key(key)
    assert digest is not None and not digest.backfill
    assert digest.chain == ChainId("logs", "o-a1b2c3d4e5", "111122223333", "eu-west-1", "org_trail", "us-east-1")
    assert digest.end == datetime(2024, 5, 1, 9, 5, 12)
    assert digest_key(digest.chain, digest.end) == key  # the signer writes what the parser reads


def test_trail_name_ending_like_a_region_and_backfill() -> None:
    name = "111122223333_CloudTrail-Digest_us-gov-west-1_x_us-east-1_eu-west-2_20240501T090512Z_backfill.json.gz"
    digest = parse_digest_key(f"AWSLogs/111122223333/CloudTrail-Digest/us-gov-west-1/2024/05/01/{name}")
    assert digest is not None and digest.backfill
    assert (digest.chain.region, digest.chain.trail, digest.chain.home_region) == (
        "us-gov-west-1",
        "x_us-east-1",
        "eu-west-2",
    )


def test_flat_files_and_strangers() -> None:
    flat = parse_log_key("111122223333_CloudTrail_eu-west-1_20240501T0815Z_Ab3dEf6hIj9kLm2n.json.gz")
    assert flat is not None and (flat.prefix, flat.folder) == (None, None)
    assert logical("x/y/111122223333_CloudTrail_eu-west-1_20240501T0815Z_A.json.gz").startswith("111122223333_")
    assert logical("pre/AWSLogs/1/a.json.gz") == "AWSLogs/1/a.json.gz"
    for stranger in (
        "README.md",
        "111122223333_CloudTrail_eu-west-1_20241301T0815Z_A.json.gz",
        "111122223333_CloudTrail-Insight_eu-west-1_20240501T0815Z_A.json.gz",
    ):
        assert parse_log_key(stranger) is None and parse_digest_key(stranger) is None


@pytest.mark.skipif(not REAL_DIGEST.exists(), reason="shared corpus absent")
def test_real_aws_digest_parses() -> None:
    raw = REAL_DIGEST.read_bytes()
    digest = parse_digest(raw)
    assert digest.account == "327878933619"
    assert digest.key.endswith("_llm-guard-trail_us-west-2_20231015T230404Z.json.gz")  # JSON "\/" unescaped
    assert (digest.start, digest.end) == (datetime(2023, 10, 15, 22, 4, 4), datetime(2023, 10, 15, 23, 4, 4))
    assert not digest.is_start and len(digest.logs) == 5
    assert digest.previous_hash == "8f953371d3e85eddb89b05ed6b9e680791055315c73e1025ab5dba7bb2aee189"
    assert digest.sha256 == hashlib.sha256(raw).hexdigest()  # the stored bytes, never re-serialised
    name = parse_digest_key(digest.key)
    assert name is not None and name.end == digest.end and name.chain.home_region == "us-west-2"
    lines = string_to_sign(digest).decode().split("\n")
    assert lines[0] == "2023-10-15T23:04:04Z" and lines[1].startswith("llm-guard-trail/AWSLogs/327878933619/")
    assert lines[3] == digest.previous_signature


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[]", "not a JSON object"),
        (b"{", "not JSON"),
        (b'{"digestEndTime": "x"}', "missing field"),
        (
            b'{"digestStartTime": "2024-05-01T08:00:00Z", "digestEndTime": "2024-05-01T09:00:00Z", '
            b'"digestS3Bucket": "b", "digestS3Object": "k", "digestPublicKeyFingerprint": "f", '
            b'"previousDigestSignature": null, "logFiles": [{"s3Bucket": "b"}]}',
            "logFiles[1]: s3Object is NoneType",
        ),
    ],
)
def test_malformed_digests_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(DigestFormatError) as err:
        parse_digest(raw)
    assert reason in str(err.value)


def test_digest_gzip_guards() -> None:
    with pytest.raises(DigestFormatError, match="after the gzip stream"):
        gunzip_digest(gzip.compress(b"{}") + b"x")
    with pytest.raises(DigestFormatError, match="not gzip"):
        gunzip_digest(b"{}")


def test_log_hash_streams_and_guards() -> None:
    content = os.urandom(1 << 16) * 40 + b"tail"  # compresses well, inflates past one output chunk
    packed = gzip.compress(content)
    found = hash_log(io.BytesIO(packed))
    assert (found.sha256, found.size, found.appended, found.error) == (
        hashlib.sha256(content).hexdigest(),
        len(content),
        0,
        None,
    )
    assert hash_log(io.BytesIO(packed + b"junk")).appended == 4
    assert hash_log(io.BytesIO(packed[:-12])).error == "truncated gzip stream"
    assert hash_log(io.BytesIO(b"")).error == "empty file"
    bomb = hash_log(io.BytesIO(packed), limit=1000)
    assert bomb.sha256 is None and "more than 1,000 bytes" in str(bomb.error)
