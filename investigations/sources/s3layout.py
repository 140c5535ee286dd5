"""Walking CloudTrail's S3 layout by folder, so a narrow question lists a narrow slice.

``[prefix/]AWSLogs/[o-id/]<account>/CloudTrail*/<region>/YYYY/MM/DD/`` (reference §3). Each
level is listed with ``Delimiter='/'``, which returns the next level's folder names without
touching the objects beneath; accounts, regions and dates are filtered on those names, so an
org bucket holding years of logs costs a handful of calls to pull one account's week. Only the
folders that survive (a region, or a day when a window is given) are listed object by object.

This module is pure: it classifies folder names and decides what to descend into; ``s3.py``
does the listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = re.compile(r"^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$")
#: How many folders below the given prefix to search for ``AWSLogs/`` (a trail's key prefix).
SEARCH_DEPTH = 3
#: Object names worth fetching from S3; zips are a local-copy format and are not opened from S3.
EVIDENCE_SUFFIXES = (".json.gz", ".json", ".gz", ".jsonl", ".ndjson", ".log")


class Level(Enum):
    ABOVE = "above"  # above AWSLogs/ (the trail's key prefix, or the bucket root)
    LOGS = "logs"  # AWSLogs/
    ORG = "org"  # AWSLogs/o-xxxxxxxxxx/
    ACCOUNT = "account"
    FOLDER = "folder"  # CloudTrail/, CloudTrail-Digest/, CloudTrail-Insight/, ...
    REGION = "region"
    YEAR = "year"
    MONTH = "month"
    LEAF = "leaf"  # list every object beneath


@dataclass(frozen=True, slots=True)
class Folder:
    prefix: str
    level: Level
    depth: int = 0  # folders below the user's prefix, while still searching for AWSLogs/
    ymd: tuple[int, ...] = ()


@dataclass(slots=True)
class Narrowing:
    """The filters, turned into what folder names can be compared with."""

    accounts: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    first_day: date | None = None
    last_day: date | None = None

    @classmethod
    def of(cls, accounts: list[str], regions: list[str], start: datetime | None, end: datetime | None) -> Narrowing:
        # A day's margin each side: files are filed under their delivery date (and digests under
        # their end date), which can fall after the events they hold.
        first = (start - timedelta(days=1)).date() if start else None
        last = (end + timedelta(days=1)).date() if end else None
        return cls(set(accounts), set(regions), first, last)

    @property
    def windowed(self) -> bool:
        return self.first_day is not None or self.last_day is not None

    def overlaps(self, ymd: tuple[int, ...]) -> bool:
        """Whether a year, month or day folder can hold a day inside the window."""
        try:
            if len(ymd) == 1:
                lo, hi = date(ymd[0], 1, 1), date(ymd[0], 12, 31)
            elif len(ymd) == 2:
                lo = date(ymd[0], ymd[1], 1)
                hi = (lo.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            else:
                lo = hi = date(*ymd)
        except ValueError:
            return False
        return (self.first_day is None or hi >= self.first_day) and (self.last_day is None or lo <= self.last_day)


def _digits(name: str, width: int) -> int | None:
    return int(name) if len(name) == width and name.isdigit() else None


def locate(prefix: str, narrowing: Narrowing) -> Folder | None:
    """Where a user-given prefix sits in the layout; None when the filters exclude all of it."""
    parts = [p for p in prefix.split("/") if p]
    if "AWSLogs" not in parts:
        return Folder(prefix, Level.ABOVE)
    at = len(parts) - 1 - parts[::-1].index("AWSLogs")
    folder = Folder(prefix, Level.LOGS)
    for name in parts[at + 1 :]:
        child = classify(folder, name, narrowing, check_window=False)
        if child is None:
            return None if _excluded(folder, name, narrowing) else Folder(prefix, Level.LEAF)
        folder = Folder(prefix, child.level, ymd=child.ymd)
    return folder


def _excluded(parent: Folder, name: str, narrowing: Narrowing) -> bool:
    """A name that fits the layout but is filtered out (as opposed to one that does not fit)."""
    if parent.level in (Level.LOGS, Level.ORG) and _ACCOUNT.match(name):
        return True
    return parent.level is Level.FOLDER and bool(_REGION.match(name))


def classify(parent: Folder, name: str, narrowing: Narrowing, check_window: bool = True) -> Folder | None:
    """The child folder ``name`` of ``parent``, or None when it is outside the layout or the filters."""
    prefix = f"{parent.prefix}{name}/"
    level = parent.level
    if level is Level.LOGS and _ORG.match(name):
        return Folder(prefix, Level.ORG)
    if level in (Level.LOGS, Level.ORG):
        if not _ACCOUNT.match(name) or (narrowing.accounts and name not in narrowing.accounts):
            return None
        return Folder(prefix, Level.ACCOUNT)
    if level is Level.ACCOUNT:
        return Folder(prefix, Level.FOLDER) if name.startswith("CloudTrail") else None
    if level is Level.FOLDER:
        if not _REGION.match(name) or (narrowing.regions and name not in narrowing.regions):
            return None
        return Folder(prefix, Level.REGION if narrowing.windowed else Level.LEAF)
    widths = {Level.REGION: (4, Level.YEAR), Level.YEAR: (2, Level.MONTH), Level.MONTH: (2, Level.LEAF)}
    if level in widths:
        width, child_level = widths[level]
        number = _digits(name, width)
        if number is None:
            return None
        ymd = (*parent.ymd, number)
        if check_window and not narrowing.overlaps(ymd):
            return None
        return Folder(prefix, child_level, ymd=ymd)
    return None


def children(parent: Folder, names: list[str], narrowing: Narrowing) -> list[Folder]:
    """The sub-folders of ``parent`` worth descending into, given the names a listing returned."""
    if parent.level is Level.ABOVE:
        if "AWSLogs" in names:
            return [Folder(f"{parent.prefix}AWSLogs/", Level.LOGS)]
        if parent.depth >= SEARCH_DEPTH:
            return []
        return [Folder(f"{parent.prefix}{n}/", Level.ABOVE, parent.depth + 1) for n in names]
    return [child for n in names if (child := classify(parent, n, narrowing)) is not None]


def evidence_name(key: str) -> bool:
    return key.lower().endswith(EVIDENCE_SUFFIXES)


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix); a prefix names a folder, so it ends in ``/``."""
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if prefix and not prefix.endswith("/") and not evidence_name(prefix):
        prefix += "/"
    return bucket, prefix
