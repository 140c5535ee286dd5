"""CloudTrail event history (LookupEvents): the query, region discovery, and paging one region.

Each region is paged by its own ``RegionPager`` from a starting ``NextToken``: pacing every
request through the region's token bucket (2 requests/s, the AWS limit per account and region),
and retrying throttling, 5xx and dropped connections with jittered backoff. botocore's own
retries are switched off for this client: two retry policies stacked multiply into the storms
the limit exists to prevent. An expired token restarts the region once from the beginning;
events already stored are dropped by eventID, so a restart costs requests, never duplicates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from investigations.sources.ratelimit import Backoff, TokenBucket
from investigations.timeparse import iso, parse_time

ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)
INSIGHT_ATTRIBUTE_KEYS = ("EventId", "EventName", "EventSource")
PAGE_SIZE = 50
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """What is asked of every region; a NextToken is only valid with the same query."""

    start: datetime | None = None
    end: datetime | None = None
    attribute: tuple[str, str] | None = None
    insights: bool = False

    def params(self, page_size: int = PAGE_SIZE) -> dict[str, Any]:
        params: dict[str, Any] = {"MaxResults": page_size}
        if self.start:
            params["StartTime"] = self.start
        if self.end:
            params["EndTime"] = self.end
        if self.attribute:
            params["LookupAttributes"] = [{"AttributeKey": self.attribute[0], "AttributeValue": self.attribute[1]}]
        if self.insights:
            params["EventCategory"] = "insight"
        return params

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": iso(self.start),
            "end": iso(self.end),
            "attribute": list(self.attribute) if self.attribute else None,
            "insights": self.insights,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LookupQuery:
        attribute = data.get("attribute")
        return cls(
            parse_time(data["start"]) if data.get("start") else None,
            parse_time(data["end"]) if data.get("end") else None,
            (str(attribute[0]), str(attribute[1])) if attribute else None,
            bool(data.get("insights")),
        )


def parse_attribute(text: str, insights: bool = False) -> tuple[str, str]:
    """``KEY=VALUE`` with the key spelled as the API wants it; ValueError names the valid keys."""
    key, sep, value = text.partition("=")
    allowed = INSIGHT_ATTRIBUTE_KEYS if insights else ATTRIBUTE_KEYS
    canonical = {k.lower(): k for k in allowed}.get(key.strip().lower())
    if not sep or not value:
        raise ValueError(f"--attribute takes KEY=VALUE, e.g. EventName=ConsoleLogin (keys: {', '.join(allowed)})")
    if canonical is None:
        scope = "with --insights " if insights else ""
        raise ValueError(f"attribute key {key!r} is not one LookupEvents accepts {scope}(keys: {', '.join(allowed)})")
    return canonical, value


@dataclass(slots=True)
class RegionStats:
    """One region's pull, as reported: requests that were throttled or failed and were retried."""

    pages: int = 0
    events: int = 0
    throttled: int = 0
    errors: int = 0
    restarted: bool = False
    resumed_at: int = 0
    failed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Page:
    region: str
    number: int
    records: list[bytes] = field(default_factory=list)
    next_token: str | None = None


class RegionFailed(Exception):
    """The region cannot be pulled further in this run; the message says why."""


def _fatal_message(exc: ClientError, region: str) -> str:
    error = exc.response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", ""))
    if code in ("AccessDeniedException", "AccessDenied"):
        return f"access denied in {region}: needs cloudtrail:LookupEvents ({message})"
    if code in ("UnrecognizedClientException", "InvalidClientTokenId", "OptInRequired"):
        return f"{code} in {region}: the region is probably not enabled for this account ({message})"
    return f"{code}: {message}" if message else code


class RegionPager:
    """Pages of one region, from ``token`` on, paced and retried; stops when ``stop`` is set."""

    def __init__(
        self,
        client: Any,
        region: str,
        query: LookupQuery,
        limiter: TokenBucket,
        backoff: Backoff,
        stop: threading.Event,
        stats: RegionStats,
    ) -> None:
        self.client = client
        self.region = region
        self.query = query
        self.limiter = limiter
        self.backoff = backoff
        self.stop = stop
        self.stats = stats

    def _call(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """One request, retried on throttling and server trouble; None when stopped."""
        attempt = 0
        while True:
            if not self.limiter.acquire(self.stop):
                return None
            try:
                return self.client.lookup_events(**params)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if code in _THROTTLED:
                    self.stats.throttled += 1
                elif status >= 500:
                    self.stats.errors += 1
                else:
                    raise
                last = f"{code or status}"
            except (BotoConnectionError, HTTPClientError, ResponseParserError) as exc:
                self.stats.errors += 1
                last = str(exc)
            attempt += 1
            if attempt >= self.backoff.attempts:
                raise RegionFailed(f"gave up after {attempt} attempts, last: {last}")
            if self.stop.wait(self.backoff.delay(attempt)):
                return None

    def pages(self, token: str | None, done_pages: int, page_size: int = PAGE_SIZE) -> Iterator[Page]:
        """Pages after ``done_pages`` pages already stored (resumed from ``token``)."""
        number = done_pages
        self.stats.resumed_at = done_pages
        while not self.stop.is_set():
            params = self.query.params(page_size)
            if token:
                params["NextToken"] = token
            try:
                response = self._call(params)
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code == "InvalidNextTokenException" and token and not self.stats.restarted:
                    self.stats.restarted = True
                    token, number = None, 0
                    continue
                self.stats.failed = _fatal_message(exc, self.region)
                return
            except (RegionFailed, BotoCoreError) as exc:
                self.stats.failed = str(exc)
                return
            if response is None:
                return
            events = response.get("Events", [])
            token = response.get("NextToken") or None
            number += 1
            self.stats.pages += 1
            self.stats.events += len(events)
            yield Page(self.region, number, [str(e.get("CloudTrailEvent", "")).encode() for e in events], token)
            if token is None:
                return


def enabled_regions(session: Any) -> tuple[list[str], str | None]:
    """Regions enabled for the account, and a note when they had to be guessed instead."""
    home = session.region_name or "us-east-1"
    try:
        ec2 = session.client("ec2", region_name=home, config=Config(retries={"mode": "standard"}))
        regions = sorted(r["RegionName"] for r in ec2.describe_regions(AllRegions=False)["Regions"])
        if regions:
            return regions, None
        reason = "DescribeRegions returned none"
    except ClientError as exc:
        reason = str(exc.response.get("Error", {}).get("Code", "")) or str(exc)
    except (BotoCoreError, ResponseParserError) as exc:
        reason = exc.__class__.__name__
    partition = session.get_partition_for_region(home)
    regions = sorted(session.get_available_regions("cloudtrail", partition_name=partition))
    note = (
        f"cannot list the account's enabled regions ({reason}; needs ec2:DescribeRegions): pulling all "
        f"{len(regions)} CloudTrail regions of partition {partition}; regions not enabled will fail"
    )
    return regions, note
