"""Validation of local trees: a signed chain that passes, and every way of breaking it (reference §4.8).

The scenario, fixed for every test: account 111122223333, region eu-west-1, trail ``org_trail``
(an underscore, as in the reference's example) with home region us-east-1. Five logs are delivered
on 2024-05-01 at 08:05, 08:35, 09:10, 10:20 and 11:45, so the signer writes four hourly digests
ending 09:00, 10:00, 11:00 and 12:00, listing 2, 1, 1 and 1 logs. Each test breaks one thing and
states what the validator must say about every digest and log, by digest end time and log
delivery time.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from investigations.integrity import signer
from investigations.integrity.layout import SIDECAR_SUFFIX, ChainId, digest_key, parse_log_key
from tui.cli_validate import run

ACCOUNT, REGION, BUCKET, TRAIL, HOME = "111122223333", "eu-west-1", "evidence-bucket", "org_trail", "us-east-1"
DELIVERIES = ["08:05", "08:35", "09:10", "10:20", "11:45"]
CHAIN = ChainId(None, None, ACCOUNT, REGION, TRAIL, HOME)
ALL_DIGESTS_VALID = {"09:00": "valid", "10:00": "valid", "11:00": "valid", "12:00": "valid"}
ALL_LOGS_VALID = dict.fromkeys(DELIVERIES, "valid")


def at(hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2024, 5, 1, hour, minute)


def record(hhmm: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2024-05-01T{hhmm}:00Z",
        "eventID": f"evt-{hhmm}",
        "eventSource": "sts.amazonaws.com",
        "eventName": "GetCallerIdentity",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
    }


@dataclass
class Tree:
    root: Path
    pem: Path
    key: rsa.RSAPrivateKey
    logs: dict[str, str]  # delivery HH:MM -> key

    def digest(self, end: str, backfill: bool = False) -> Path:
        return self.root / digest_key(CHAIN, at(end), backfill)

    def log(self, hhmm: str) -> Path:
        return self.root / self.logs[hhmm]

    def rewrite_digest(self, end: str, change: Callable[[dict[str, Any]], None], sidecar: bool = True) -> None:
        """Edit a digest's JSON and re-sign it with the test key (a forger holding the key)."""
        path = self.digest(end)
        doc = orjson.loads(gzip.decompress(path.read_bytes()))
        change(doc)
        raw, signature = signer.sign(doc, self.key)
        meta = {"signature": signature, "signature-algorithm": "SHA256withRSA"} if sidecar else None
        signer.write_digest(self.root, digest_key(CHAIN, at(end)), raw, meta, BUCKET)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def build(base: Path, key: rsa.RSAPrivateKey, sidecars: bool = True) -> Tree:
    root = base / "copy"
    logs = {hhmm: signer.write_log(root, ACCOUNT, REGION, at(hhmm), [record(hhmm)]) for hhmm in DELIVERIES}
    pem = base / "test-key.pem"
    signer.sign_tree(root, key, bucket=BUCKET, trail=TRAIL, home_region=HOME, sidecars=sidecars, public_key_path=pem)
    return Tree(root, pem, key, logs)


@pytest.fixture
def tree(tmp_path: Path, key: rsa.RSAPrivateKey) -> Tree:
    return build(tmp_path, key)


def validate(tree: Tree, capsys: pytest.CaptureFixture[str], *args: str, keys: bool = True) -> tuple[int, dict]:
    argv = [str(tree.root), "--json", *args] + (["--public-key", str(tree.pem)] if keys else [])
    code = run(argv)
    return code, orjson.loads(capsys.readouterr().out)


def digests(out: dict) -> dict[str, str]:
    """Digest statuses by end time HH:MM ('+bf' marks a backfill digest)."""
    return {
        f"{f['time'][11:16]}{'+bf' if f['backfill'] else ''}" if f["time"] else f["key"]: f["status"]
        for f in out["files"]
        if f["kind"] == "digest"
    }


def logs(out: dict) -> dict[str, str]:
    """Log statuses by delivery time HH:MM."""
    return {f"{parse_log_key(f['key']).delivered:%H:%M}": f["status"] for f in out["files"] if f["kind"] == "log"}


def findings(out: dict) -> set[tuple[str, str]]:
    return {(f["kind"], f["severity"]) for f in out["findings"]}


def test_intact_chain_is_valid(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(tree, capsys)
    assert code == 0 and out["valid"] and out["signatures_checked"]
    assert digests(out) == ALL_DIGESTS_VALID
    assert logs(out) == ALL_LOGS_VALID
    assert findings(out) == set()
    assert out["summary"] == {"digests": {"valid": 4}, "backfill_digests": {}, "logs": {"valid": 5}}
    assert out["chains"][0]["trail"] == "org_trail" and out["chains"][0]["home_region"] == "us-east-1"


def test_text_summary_reads_like_aws_cli(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        [
            str(tree.root),
            "--public-key",
            str(tree.pem),
            "--start",
            "2024-05-01T00:00:00Z",
            "--end",
            "2024-05-02T00:00:00Z",
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Results requested for 2024-05-01T00:00:00Z to 2024-05-02T00:00:00Z" in text
    assert "Results found for 2024-05-01T08:00:00Z to 2024-05-01T12:00:00Z:" in text
    assert "4/4 digest files valid" in text and "5/5 log files valid" in text


def test_flipped_byte_in_log_content_is_tampered(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree.log("09:10")
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[raw.index(b"GetCallerIdentity")] ^= 0x20  # "GetCallerIdentity" -> "getCallerIdentity"
    path.write_bytes(gzip.compress(bytes(raw)))
    code, out = validate(tree, capsys)
    assert code == 1
    assert logs(out) == {**ALL_LOGS_VALID, "09:10": "tampered"}
    assert digests(out) == ALL_DIGESTS_VALID


def test_flipped_byte_in_compressed_stream_is_unreadable(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree.log("09:10")
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # inside the CRC-32 trailer: gzip itself refuses the file
    path.write_bytes(bytes(data))
    code, out = validate(tree, capsys)
    assert code == 1 and logs(out)["09:10"] == "unreadable"


def test_bytes_appended_after_gzip_stream(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    path = tree.log("10:20")
    path.write_bytes(path.read_bytes() + gzip.compress(b'{"Records":[]}'))
    code, out = validate(tree, capsys)
    assert code == 1
    assert logs(out) == {**ALL_LOGS_VALID, "10:20": "appended"}
    detail = next(f["detail"] for f in out["files"] if f["status"] == "appended")
    assert "first gzip member matches" in detail


def test_digest_moved_to_another_key(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    original = tree.digest("10:00")
    moved = original.with_name(original.name.replace("T100000Z", "T103000Z"))
    original.rename(moved)
    Path(str(original) + SIDECAR_SUFFIX).rename(str(moved) + SIDECAR_SUFFIX)
    code, out = validate(tree, capsys)
    assert code == 1
    # The moved digest is found by the key its content claims, so the chain itself holds.
    assert digests(out) == {"09:00": "valid", "10:30": "moved", "11:00": "valid", "12:00": "valid"}
    assert logs(out) == {**ALL_LOGS_VALID, "09:10": "unverified"}
    assert findings(out) == set()


def test_deleted_signature_metadata(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    Path(str(tree.digest("10:00")) + SIDECAR_SUFFIX).unlink()
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == {**ALL_DIGESTS_VALID, "10:00": "no-signature"}
    assert logs(out) == {**ALL_LOGS_VALID, "09:10": "unverified"}


def test_wrong_fingerprint(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.rewrite_digest("12:00", lambda d: d.update(digestPublicKeyFingerprint="0" * 32))
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == {**ALL_DIGESTS_VALID, "12:00": "unknown-key"}
    assert logs(out) == {**ALL_LOGS_VALID, "11:45": "unverified"}


def test_signature_by_another_key_fails(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tree.key, real = other, tree.key
    tree.rewrite_digest("12:00", lambda d: d.update(digestPublicKeyFingerprint=signer.fingerprint(real)))
    code, out = validate(tree, capsys)
    assert code == 1 and digests(out)["12:00"] == "bad-signature"


def test_deleted_middle_digest(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.digest("10:00").unlink()
    Path(str(tree.digest("10:00")) + SIDECAR_SUFFIX).unlink()
    code, out = validate(tree, capsys)
    assert code == 1
    missing = digest_key(CHAIN, at("10:00"))
    assert digests(out) == {"09:00": "valid", "11:00": "valid", "12:00": "valid", missing: "missing"}
    assert findings(out) == {("not-found", "error")}
    assert logs(out) == {**ALL_LOGS_VALID, "09:10": "undigested"}


def test_starting_digest_in_the_middle_is_a_gap_not_a_failure(
    tmp_path: Path, key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "copy"
    keys = {hhmm: signer.write_log(root, ACCOUNT, REGION, at(hhmm), [record(hhmm)]) for hhmm in DELIVERIES}
    signer.sign_chain(root, CHAIN, [keys["08:05"], keys["08:35"], keys["09:10"]], key, BUCKET)
    signer.sign_chain(root, CHAIN, [keys["11:45"]], key, BUCKET)  # logging restarted: a new starting digest
    (tmp_path / "k.pem").write_bytes(signer.public_pem(key))
    code = run([str(root), "--json", "--public-key", str(tmp_path / "k.pem")])
    out = orjson.loads(capsys.readouterr().out)
    assert code == 0 and out["valid"]
    assert digests(out) == {"09:00": "valid", "10:00": "valid", "12:00": "valid"}
    assert logs(out) == {**ALL_LOGS_VALID, "10:20": "undigested"}
    gap = next(f for f in out["findings"] if f["kind"] == "gap")
    assert (gap["severity"], gap["start"], gap["end"]) == ("info", "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z")


def test_tampered_previous_digest_signature(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.rewrite_digest("12:00", lambda d: d.update(previousDigestSignature="ab" * 256))
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == ALL_DIGESTS_VALID  # re-signed with the key: only the link check sees it
    assert findings(out) == {("previous-signature-mismatch", "error")}


def test_tampered_previous_digest_signature_in_a_plain_copy(
    tmp_path: Path, key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = build(tmp_path, key, sidecars=False)
    tree.rewrite_digest("12:00", lambda d: d.update(previousDigestSignature="ab" * 256), sidecar=False)
    code, out = validate(tree, capsys)
    assert code == 1
    # 11:00 is checked with the signature 12:00 carries, which is now wrong.
    assert digests(out) == {"09:00": "valid", "10:00": "valid", "11:00": "bad-signature", "12:00": "unverified"}


def test_previous_digest_hash_mismatch(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.rewrite_digest("12:00", lambda d: d.update(previousDigestHashValue="0" * 64))
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == ALL_DIGESTS_VALID
    assert findings(out) == {("previous-hash-mismatch", "error")}


def test_deleted_newest_digests_while_logs_continue(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    for end in ("11:00", "12:00"):
        tree.digest(end).unlink()
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == {"09:00": "valid", "10:00": "valid"}
    assert logs(out) == {**ALL_LOGS_VALID, "10:20": "undigested", "11:45": "undigested"}
    missing = next(f for f in out["findings"] if f["kind"] == "newest-digest-missing")
    # Logs run to 11:45, 1 h 45 min past the newest digest (10:00): overdue, not pending.
    assert (missing["severity"], missing["start"], missing["end"]) == (
        "error",
        "2024-05-01T10:00:00Z",
        "2024-05-01T11:45:00Z",
    )


def test_deleted_newest_digest_against_end_of_range(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.digest("12:00").unlink()
    code, out = validate(tree, capsys)
    assert code == 0 and ("pending", "info") in findings(out)  # 11:45 is only 45 min past 11:00
    code, out = validate(tree, capsys, "--end", "2024-05-01T13:00:00Z")
    assert code == 1 and ("newest-digest-missing", "error") in findings(out)


def test_extra_log_not_in_any_digest(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    signer.write_log(tree.root, ACCOUNT, REGION, at("09:30"), [record("09:29")])
    code, out = validate(tree, capsys)
    assert code == 1
    assert logs(out) == {**ALL_LOGS_VALID, "09:30": "extra"}


def test_missing_and_moved_logs(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.log("08:05").unlink()
    elsewhere = tree.root / "stash" / tree.log("08:35").name
    elsewhere.parent.mkdir()
    shutil.move(tree.log("08:35"), elsewhere)
    code, out = validate(tree, capsys)
    assert code == 1
    assert logs(out) == {**ALL_LOGS_VALID, "08:05": "missing", "08:35": "moved"}


def _backfill(tree: Tree, metadata: dict[str, str]) -> None:
    """A backfill digest for 09:00-10:00 listing a log delivered late (09:50)."""
    late = signer.write_log(tree.root, ACCOUNT, REGION, at("09:50"), [record("09:40")])
    raw_log = gzip.decompress((tree.root / late).read_bytes())
    doc = {
        "awsAccountId": ACCOUNT,
        "digestStartTime": "2024-05-01T09:00:00Z",
        "digestEndTime": "2024-05-01T10:00:00Z",
        "digestS3Bucket": BUCKET,
        "digestS3Object": digest_key(CHAIN, at("10:00"), backfill=True),
        "digestPublicKeyFingerprint": signer.fingerprint(tree.key),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": None,
        "oldestEventTime": None,
        "previousDigestS3Bucket": None,
        "previousDigestS3Object": None,
        "previousDigestHashValue": None,
        "previousDigestHashAlgorithm": None,
        "previousDigestSignature": None,
        "logFiles": [
            {
                "s3Bucket": BUCKET,
                "s3Object": late,
                "hashValue": hashlib.sha256(raw_log).hexdigest(),
                "hashAlgorithm": "SHA-256",
            }
        ],
    }
    raw, signature = signer.sign(doc, tree.key)
    meta = {"signature": signature, "signature-algorithm": "SHA256withRSA", **metadata}
    signer.write_digest(tree.root, doc["digestS3Object"], raw, meta, BUCKET)


def test_backfill_digest_with_generation_timestamp(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    _backfill(tree, {"backfill-generation-timestamp": "2024-05-01T14:02:11Z"})
    code, out = validate(tree, capsys)
    assert code == 0
    assert digests(out) == {**ALL_DIGESTS_VALID, "10:00+bf": "valid"}
    assert logs(out) == {**ALL_LOGS_VALID, "09:50": "valid"}
    assert ("backfill", "info") in findings(out)


def test_backfill_digest_without_generation_timestamp(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    _backfill(tree, {})
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == {**ALL_DIGESTS_VALID, "10:00+bf": "backfill-untimed"}
    assert logs(out)["09:50"] == "unverified"


def test_plain_copy_says_signatures_were_not_checked(
    tmp_path: Path, key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = build(tmp_path, key, sidecars=False)
    code, out = validate(tree, capsys, keys=False)
    assert code == 0 and not out["signatures_checked"]
    assert set(digests(out).values()) == {"unverified"}
    assert out["notes"][0].startswith(
        "signatures not checked: no signature metadata (a plain copy). "
        "Use `trailhound collect` or validate against s3://"
    )
    # Chain links are still checked without signatures: break one and it shows.
    tree.digest("10:00").unlink()
    code, out = validate(tree, capsys, keys=False)
    assert code == 1 and ("not-found", "error") in findings(out)


def test_plain_copy_with_key_verifies_all_but_the_newest(
    tmp_path: Path, key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = build(tmp_path, key, sidecars=False)
    code, out = validate(tree, capsys)
    assert code == 0
    assert digests(out) == {**ALL_DIGESTS_VALID, "12:00": "unverified"}
    assert logs(out) == {**ALL_LOGS_VALID, "11:45": "unverified"}


def test_hostile_digest_is_invalid_format_not_a_crash(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.digest("12:00").write_bytes(gzip.compress(b'{"digestEndTime": 5, "logFiles": "x"}'))
    tree.digest("11:00").write_bytes(b"not gzip at all")
    code, out = validate(tree, capsys)
    assert code == 1
    assert digests(out) == {"09:00": "valid", "10:00": "valid", "11:00": "invalid-format", "12:00": "invalid-format"}


def test_time_range_limits_digests_and_logs(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(tree, capsys, "--start", "2024-05-01T09:30:00Z", "--end", "2024-05-01T10:30:00Z")
    assert code == 0
    # Digests ending in [start, end + 1 h] (aws-cli's window): 10:00 and 11:00; their logs only.
    assert digests(out) == {"10:00": "valid", "11:00": "valid"}
    assert logs(out) == {"09:10": "valid", "10:20": "valid"}


def test_organization_layout_with_prefix(
    tmp_path: Path, key: rsa.RSAPrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "org"
    for account in ("111122223333", "444455556666"):
        for hhmm in ("08:05", "09:10"):
            signer.write_log(root, account, REGION, at(hhmm), [record(hhmm)], prefix="logs", org="o-a1b2c3d4e5")
    signer.sign_tree(root, key, bucket=BUCKET, trail=TRAIL, home_region=HOME, public_key_path=tmp_path / "k.pem")
    code = run([str(root), "--json", "--public-key", str(tmp_path / "k.pem")])
    out = orjson.loads(capsys.readouterr().out)
    assert code == 0
    assert [(c["org"], c["prefix"], c["account"], c["digests"]) for c in out["chains"]] == [
        ("o-a1b2c3d4e5", "logs", "111122223333", 2),
        ("o-a1b2c3d4e5", "logs", "444455556666", 2),
    ]
    assert out["summary"]["logs"] == {"valid": 4}


def test_unusable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["validate", str(tmp_path / "absent")]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", str(tmp_path / "empty")]) == 2
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    assert main(["validate", str(tmp_path / "empty"), "--public-key", str(bad_key)]) == 2
    assert str(bad_key) in capsys.readouterr().err


def test_committed_sample_logs_validate_with_their_test_key(capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).resolve().parents[2] / "sample_logs"
    code = run([str(sample), "--json", "--public-key", str(sample / "test-signing-key.public.pem")])
    out = orjson.loads(capsys.readouterr().out)
    assert code == 0 and out["signatures_checked"] and out["findings"] == []
    assert out["summary"] == {"digests": {"valid": 584}, "backfill_digests": {}, "logs": {"valid": 1439}}
