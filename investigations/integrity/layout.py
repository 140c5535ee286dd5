"""Where CloudTrail puts things: parsing log and digest object keys (reference §3).

Names are parsed from the file name, anchored from the right, because the file name alone
carries account, region, trail, home region and time; the path before ``AWSLogs/`` (the trail's
S3 key prefix) and an organization id are read from the path when present. That way a tree copied
with its folders, a flat folder of downloaded files, and an organization bucket all parse the same.
Everything downstream compares *logical* keys (the part from ``AWSLogs/`` on), so a local copy
synced from ``s3://bucket/prefix`` matches the keys its digests name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Suffix of the sidecar that holds a collected digest's S3 signature metadata (see collect.py).
SIDECAR_SUFFIX = ".sig.json"
#: Folder inside a collection holding its manifest, state and saved public keys.
COLLECTION_DIR = "trailhound-collection"

_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}"
_DIGEST_NAME = re.compile(
    rf"^(?P<account>\d{{12}})_CloudTrail-Digest_(?P<region>{_REGION})_(?P<trail>.+)_"
    rf"(?P<home>{_REGION})_(?P<ts>\d{{8}}T\d{{6}}Z)(?P<backfill>_backfill)?\.json\.gz$"
)
_LOG_NAME = re.compile(
    rf"^(?P<account>\d{{12}})_CloudTrail_(?P<region>{_REGION})_(?P<ts>\d{{8}}T\d{{4}}Z)_"
    r"(?P<unique>[A-Za-z0-9]+)\.json\.gz$"
)
_PATH = re.compile(r"^AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/(?P<folder>[A-Za-z-]+)/")


def logical(key: str) -> str:
    """The part of a key CloudTrail fixes: from ``AWSLogs/`` on, or the file name if there is none."""
    at = key.rfind("AWSLogs/")
    if at == 0 or (at > 0 and key[at - 1] == "/"):
        return key[at:]
    return key.rsplit("/", 1)[-1]


def basename(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _path_parts(key: str) -> tuple[str | None, str | None, str | None]:
    """(prefix, organization id, folder) of a key, each None when the key has no AWSLogs path."""
    suffix = logical(key)
    match = _PATH.match(suffix)
    if not match:
        return None, None, None
    prefix = key[: len(key) - len(suffix)].rstrip("/") or None
    return prefix, match["org"], match["folder"]


@dataclass(frozen=True, slots=True)
class ChainId:
    """One digest chain: a trail's digests for one account and source region under one prefix."""

    prefix: str | None
    org: str | None
    account: str
    region: str
    trail: str
    home_region: str

    @property
    def folder(self) -> tuple[str | None, str | None, str, str]:
        """The log folder this chain covers (logs carry no trail name, so several chains may share it)."""
        return (self.prefix, self.org, self.account, self.region)

    def label(self) -> str:
        return f"{self.account} {self.region} trail {self.trail} (home {self.home_region})"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "prefix": self.prefix,
            "org": self.org,
            "account": self.account,
            "region": self.region,
            "trail": self.trail,
            "home_region": self.home_region,
        }


@dataclass(frozen=True, slots=True)
class DigestName:
    """What a digest's key says about it. ``end`` is the digestEndTime the name encodes."""

    key: str
    chain: ChainId
    end: datetime
    backfill: bool


@dataclass(frozen=True, slots=True)
class LogName:
    """What a log file's key says about it. ``delivered`` is minute-precision delivery time."""

    key: str
    prefix: str | None
    org: str | None
    account: str
    region: str
    folder: str | None
    delivered: datetime

    @property
    def folder_id(self) -> tuple[str | None, str | None, str, str]:
        return (self.prefix, self.org, self.account, self.region)


def _compact_time(text: str) -> datetime | None:
    """``YYYYMMDDTHHMM[SS]Z`` to a datetime (strptime is the slow part of listing big archives)."""
    try:
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[9:11]),
            int(text[11:13]),
            int(text[13:15]) if len(text) == 16 else 0,
        )
    except ValueError:
        return None


def parse_digest_key(key: str) -> DigestName | None:
    """A digest's key parsed, or None for any other object."""
    match = _DIGEST_NAME.match(basename(key))
    if not match:
        return None
    end = _compact_time(match["ts"])
    if end is None:
        return None
    prefix, org, _folder = _path_parts(key)
    chain = ChainId(prefix, org, match["account"], match["region"], match["trail"], match["home"])
    return DigestName(key, chain, end, bool(match["backfill"]))


def parse_log_key(key: str) -> LogName | None:
    """A CloudTrail log file's key parsed, or None for any other object."""
    match = _LOG_NAME.match(basename(key))
    if not match:
        return None
    delivered = _compact_time(match["ts"])
    if delivered is None:
        return None
    prefix, org, folder = _path_parts(key)
    return LogName(key, prefix, org, match["account"], match["region"], folder, delivered)


def digest_key(chain: ChainId, end: datetime, backfill: bool = False) -> str:
    """The key CloudTrail gives the digest of ``chain`` ending at ``end``."""
    head = f"{chain.prefix}/" if chain.prefix else ""
    org = f"{chain.org}/" if chain.org else ""
    name = (
        f"{chain.account}_CloudTrail-Digest_{chain.region}_{chain.trail}_{chain.home_region}_"
        f"{end:%Y%m%dT%H%M%SZ}{'_backfill' if backfill else ''}.json.gz"
    )
    return f"{head}AWSLogs/{org}{chain.account}/CloudTrail-Digest/{chain.region}/{end:%Y/%m/%d}/{name}"


def day_prefixes(start: datetime, end: datetime) -> list[str]:
    """``YYYY/MM/DD/`` folder names from the day before ``start`` to the day after ``end``.

    A day's margin on each side because digests are filed under their end date and logs under
    their delivery date, both of which can fall past the events they cover.
    """
    day = (start - timedelta(days=1)).date()
    last = (end + timedelta(days=1)).date()
    out: list[str] = []
    while day <= last:
        out.append(f"{day:%Y/%m/%d}/")
        day += timedelta(days=1)
    return out
