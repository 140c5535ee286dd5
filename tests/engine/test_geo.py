"""ASN and country: the shipped databases on addresses whose owners are public fact, and .mmdb overrides.

Facts used (stable for years, from the operators' own documentation and the registries):
8.8.8.8 and 2001:4860:4860::8888 are Google Public DNS, AS15169, in the US; 1.1.1.1 is Cloudflare's
resolver, AS13335; 9.9.9.9 is Quad9, AS19281; 193.0.6.139 is www.ripe.net, the RIPE NCC's own
AS3333 in Amsterdam (NL). Documentation ranges (RFC 5737, RFC 3849) and private space belong to no
one. The .mmdb files are written here, so what they hold is what the test says.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from investigations.geo import SHIPPED, MaxMindGeo, geo_from
from investigations.netinfo import classify


@pytest.mark.parametrize(
    ("ip", "asn", "country"),
    [
        ("8.8.8.8", "AS15169", "US"),
        ("2001:4860:4860::8888", "AS15169", "US"),
        ("1.1.1.1", "AS13335", None),  # anycast everywhere: only the ASN is a fact
        ("9.9.9.9", "AS19281", None),
        ("193.0.6.139", "AS3333", "NL"),
    ],
)
def test_shipped_data_knows_well_known_addresses(ip: str, asn: str, country: str | None) -> None:
    found_asn, found_country = SHIPPED.lookup(ip)
    assert found_asn is not None and found_asn.split(" ", 1)[0] == asn
    assert len(found_asn) > len(asn) + 1  # the operator's name follows the number
    if country is not None:
        assert found_country == country


@pytest.mark.parametrize("ip", ["192.0.2.10", "198.51.100.7", "203.0.113.9", "2001:db8::5"])
def test_documentation_addresses_have_no_owner(ip: str) -> None:
    assert SHIPPED.lookup(ip) == (None, None)


@pytest.mark.parametrize("ip", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "100.64.0.1", "127.0.0.1", "fd00::5"])
def test_internal_addresses_get_no_asn_or_country(ip: str) -> None:
    info = classify(ip, SHIPPED)
    assert info is not None and info.internal
    assert (info.asn, info.country) == (None, None)


def test_classify_joins_the_shipped_answer() -> None:
    info = classify("::ffff:8.8.8.8", SHIPPED)  # IPv4-mapped is looked up as the IPv4 address
    assert info is not None and info.network == "8.8.8.0/24"
    assert info.asn is not None and info.asn.startswith("AS15169 ") and info.country == "US"


def test_the_shipped_label_names_both_builds() -> None:
    label = SHIPPED.label
    assert label.startswith("plevin network 2") and ", country 2" in label


def _mmdb(path: Path, networks: dict[str, dict[str, object]], kind: str) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=kind)
    for cidr, record in networks.items():
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def mmdb_files(tmp_path: Path) -> list[Path]:
    """An ASN file and a country file, as GeoLite2 ships them; documentation ranges and ASNs (RFC 5398)."""
    asn = _mmdb(
        tmp_path / "asn.mmdb",
        {
            "198.51.100.0/24": {"autonomous_system_number": 64500, "autonomous_system_organization": "Example Transit"},
            "2001:db8::/32": {"autonomous_system_number": 64501},
        },
        "GeoLite2-ASN",
    )
    country = _mmdb(
        tmp_path / "country.mmdb",
        {
            "198.51.100.0/24": {"country": {"iso_code": "NZ"}, "registered_country": {"iso_code": "AU"}},
            "2001:db8::/32": {"registered_country": {"iso_code": "IS"}},
        },
        "GeoLite2-Country",
    )
    return [asn, country]


def test_mmdb_files_answer_asn_and_country(mmdb_files: list[Path]) -> None:
    geo = geo_from(mmdb_files)
    assert isinstance(geo, MaxMindGeo)
    assert geo.lookup("198.51.100.7") == ("AS64500 Example Transit", "NZ")  # where used beats registered
    assert geo.lookup("2001:db8::5") == ("AS64501", "IS")  # registered country when that is all there is
    assert geo.lookup("203.0.113.9") == (None, None)
    assert geo.label.startswith("asn.mmdb built ") and ", country.mmdb built " in geo.label


def test_mmdb_from_the_environment_overrides_the_shipped_data(
    mmdb_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert geo_from() is SHIPPED
    monkeypatch.setenv("TRAILHOUND_MMDB", os.pathsep.join(str(p) for p in mmdb_files))
    from_env = geo_from()
    assert isinstance(from_env, MaxMindGeo) and from_env.lookup("198.51.100.7")[1] == "NZ"
    only_asn = geo_from(mmdb_files[:1])  # explicit paths beat the environment
    assert only_asn.lookup("198.51.100.7") == ("AS64500 Example Transit", None)
