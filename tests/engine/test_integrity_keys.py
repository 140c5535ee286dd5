"""Public keys: every file form a responder may hold, fingerprints, regions, and ListPublicKeys over HTTP.

A digest names its key by the MD5 of the DER bytes AWS returned, which may be PKCS#1 or
SubjectPublicKeyInfo; whichever form a key file takes, it must match a digest naming either.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from investigations.integrity.keys import KeyFileError, KeyRing, list_public_keys, load_key_file
from tests.support.cloudtrail_server import CloudTrailServer, ServedKey, ServiceError, list_public_keys_handler


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def forms(key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    public = key.public_key()
    pkcs1 = public.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    return {
        "spki.pem": public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        "pkcs1.pem": public.public_bytes(Encoding.PEM, PublicFormat.PKCS1),
        "pkcs1.der": pkcs1,
        "spki.der": public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo),
        "pkcs1.b64": base64.b64encode(pkcs1) + b"\n",
        "cli.json": orjson.dumps(
            {
                "PublicKeyList": [
                    {
                        "Value": base64.b64encode(pkcs1).decode(),
                        "ValidityStartTime": "2024-04-01T00:00:00+00:00",
                        "ValidityEndTime": "2024-06-01T00:00:00+00:00",
                        "Fingerprint": hashlib.md5(pkcs1).hexdigest(),
                    }
                ]
            }
        ),
    }


def test_every_file_form_matches_both_fingerprints(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    public = key.public_key()
    by_pkcs1 = hashlib.md5(public.public_bytes(Encoding.DER, PublicFormat.PKCS1)).hexdigest()
    by_spki = hashlib.md5(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    for name, data in forms(key).items():
        (tmp_path / name).write_bytes(data)
        [loaded] = load_key_file(tmp_path / name)
        assert {by_pkcs1, by_spki} <= loaded.fingerprints, name
        assert loaded.region is None  # a given key answers for any region


def test_cli_json_keeps_validity(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    (tmp_path / "keys.json").write_bytes(forms(key)["cli.json"])
    [loaded] = load_key_file(tmp_path / "keys.json")
    assert (loaded.valid_from, loaded.valid_to) == (datetime(2024, 4, 1), datetime(2024, 6, 1))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"hello", "not a PEM, DER or base64 public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
        (b"\x30\x03\x02\x01\x01", "not a DER public key"),
        (b'{"PublicKeyList": [{"Value": "!!"}]}', "not list-public-keys JSON"),
    ],
)
def test_bad_key_files_name_file_and_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError) as err:
        load_key_file(path)
    assert str(path) in str(err.value) and reason in str(err.value)


def test_non_rsa_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(ec_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(KeyFileError, match="not an RSA key"):
        load_key_file(path)


def test_list_public_keys_per_region_and_window(key: rsa.RSAPrivateKey) -> None:
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)
    may = ServedKey(der, datetime(2024, 5, 1), datetime(2024, 5, 31))
    with CloudTrailServer() as server:
        server.handlers["ListPublicKeys"] = list_public_keys_handler({"eu-west-1": [may]})
        client = server.client("eu-west-1")
        [found] = list_public_keys(client, datetime(2024, 5, 10), datetime(2024, 5, 11))
        assert found.der == der  # boto3 decoded the base64 on the wire; decoding again would break it
        assert found.region == "eu-west-1" and found.valid_from == datetime(2024, 5, 1)
        assert list_public_keys(client, datetime(2024, 7, 1), datetime(2024, 7, 2)) == []
        assert list_public_keys(server.client("us-east-1"), datetime(2024, 5, 10), datetime(2024, 5, 11)) == []
        body = server.requests[0].body  # naive times are UTC, on the wire as epoch seconds
        assert (body["StartTime"], body["EndTime"]) == (1715299200, 1715385600)


def test_key_ring_prefers_region_bound_keys_and_remembers_failures(key: rsa.RSAPrivateKey) -> None:
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.PKCS1)
    fingerprint = hashlib.md5(der).hexdigest()
    with CloudTrailServer() as server:
        server.handlers["ListPublicKeys"] = list_public_keys_handler(
            {"eu-west-1": [ServedKey(der, datetime(2024, 5, 1), datetime(2024, 5, 31))]}
        )

        def denied(request: object) -> None:
            if getattr(request, "region", None) == "ap-south-1":
                raise ServiceError("OperationNotPermittedException", "not allowed here")

        server.hooks.append(denied)
        ring = KeyRing(fetch=lambda region, start, end: list_public_keys(server.client(region), start, end))
        when = datetime(2024, 5, 10)
        assert ring.find_or_fetch(fingerprint, "eu-west-1", when) is not None
        assert ring.find_or_fetch(fingerprint, "us-east-1", when) is None
        assert ring.find_or_fetch(fingerprint, "ap-south-1", when) is None
        assert "OperationNotPermittedException" in ring.errors["ap-south-1"]
        calls = len(server.requests)
        ring.find_or_fetch(fingerprint, "eu-west-1", when)
        assert len(server.requests) == calls  # found in the ring: no second call
