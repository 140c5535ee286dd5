"""Identifiers and time spellings, all drawn from a seeded generator.

Every value that looks random in a CloudTrail record (event IDs, request IDs, temporary keys,
S3's ``x-amz-id-2``, log file suffixes) comes from one ``random.Random`` owned by the caller, so a
seed reproduces a dataset byte for byte. Names of long-lived principals (user and role IDs,
long-term keys) are instead derived by hashing the seed with the principal's name: they must not
depend on the order in which a scenario happens to mention them.
"""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime

_UUID_VERSION_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_VERSION_SET = (0x4000 << 64) | (0x8000 << 48)
_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Ids:
    """Random-looking identifiers from one seeded stream."""

    __slots__ = ("rng",)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        """A version-4 UUID (eventID, sharedEventID, most requestIDs)."""
        n = (self.rng.getrandbits(128) & _UUID_VERSION_CLEAR) | _UUID_VERSION_SET
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def key(self, prefix: str = "ASIA") -> str:
        """An IAM-style identifier: four-letter prefix plus 16 base32 characters."""
        return prefix + base64.b32encode(self.rng.getrandbits(80).to_bytes(10, "big")).decode()

    def s3_request_id(self) -> str:
        """S3 request IDs are 16 upper-case letters and digits, not UUIDs."""
        return "".join(self.rng.choices(_UPPER_DIGITS, k=16))

    def amz_id_2(self) -> str:
        """S3's extended request ID, base64 text in ``additionalEventData``."""
        return base64.b64encode(self.rng.randbytes(56)).decode()

    def session_token(self) -> str:
        """A stand-in session token: real logs carry one, ingest must strip it, so make it obvious."""
        return f"FAKE-SESSION-TOKEN-{self.rng.getrandbits(192):048x}"

    def file_suffix(self) -> str:
        """The 16-character unique part of a log file name."""
        return "".join(self.rng.choices(_ALNUM, k=16))

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"


def stable_id(seed: int | str, prefix: str, *parts: str) -> str:
    """A prefix plus 16 base32 characters derived from the seed and a principal's name."""
    digest = hashlib.sha256("|".join((str(seed), prefix, *parts)).encode()).digest()
    return prefix + base64.b32encode(digest[:10]).decode()


def utc(moment: datetime) -> datetime:
    """Naive UTC, the project's convention; aware times are converted."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def iso(moment: datetime) -> str:
    """CloudTrail's ``eventTime`` spelling (whole seconds; ``isoformat`` is the fast way)."""
    return moment.isoformat(timespec="seconds") + "Z"


def java_time(moment: datetime) -> str:
    """The Java-style text STS and IAM put in responses: ``May 1, 2024 9:00:00 AM``."""
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year} {hour}:{moment.minute:02d}:{moment.second:02d} {half}"
    )
