"""LookupEvents for the local CloudTrail server: real paging, AWS's rate limit, injected failures.

Plugs into ``cloudtrail_server.CloudTrailServer`` through its registries (``DescribeRegions``,
for ``--regions all``, is a server of its own: EC2 speaks another protocol)::

    service = LookupEvents(records)
    server.handlers["LookupEvents"] = service
    server.hooks += [FailRequests({2: 503}), RateLimit(2.0)]

The handler serves a scenario's records the way the API does: per region (from the request's
SigV4 credential scope), newest first, at most 50 per page, filtered by StartTime/EndTime, one
lookup attribute and EventCategory, with an opaque NextToken that is valid only with the same
parameters and until ``expire_tokens()``.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import orjson

from tests.support.cloudtrail_server import Request, ServiceError

OPERATION = "LookupEvents"


def _epoch(event_time: str) -> float:
    return datetime.strptime(event_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def _username(record: dict[str, Any]) -> str:
    identity = record.get("userIdentity") or {}
    return str(identity.get("userName") or str(identity.get("arn", "")).rsplit("/", 1)[-1])


def _attribute(record: dict[str, Any], key: str) -> list[str]:
    """The values LookupEvents matches an attribute against, for one record."""
    identity = record.get("userIdentity") or {}
    resources = record.get("resources") or []
    values = {
        "EventId": [record.get("eventID")],
        "EventName": [record.get("eventName")],
        "EventSource": [record.get("eventSource")],
        "ReadOnly": [str(record.get("readOnly")).lower()],
        "Username": [_username(record)],
        "AccessKeyId": [identity.get("accessKeyId")],
        "ResourceType": [r.get("type") for r in resources],
        "ResourceName": [r.get("ARN") for r in resources],
    }
    if key not in values:
        raise ServiceError("InvalidLookupAttributesException", f"unknown attribute key {key}")
    return [str(v) for v in values[key] if v is not None]


class LookupEvents:
    """The LookupEvents handler over ``records`` (CloudTrail records as dicts)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = sorted(records, key=lambda r: (_epoch(r["eventTime"]), r["eventID"]), reverse=True)
        self.generation = 0
        self.issued: list[str] = []  # every NextToken handed out, in order

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid, as AWS does after a while."""
        self.generation += 1

    def _select(self, region: str | None, body: dict[str, Any]) -> list[dict[str, Any]]:
        start, end = body.get("StartTime"), body.get("EndTime")
        insights = body.get("EventCategory") == "insight"
        attributes = body.get("LookupAttributes") or []
        if len(attributes) > 1:
            raise ServiceError("InvalidLookupAttributesException", "only one lookup attribute is allowed")
        chosen = []
        for record in self.records:
            moment = _epoch(record["eventTime"])
            if record.get("awsRegion") != region or (start is not None and moment < start):
                continue
            if end is not None and moment > end:
                continue
            if (record.get("eventCategory") == "Insight") != insights or record.get("eventCategory") == "Data":
                continue
            if attributes and attributes[0]["AttributeValue"] not in _attribute(record, attributes[0]["AttributeKey"]):
                continue
            chosen.append(record)
        return chosen

    def _fingerprint(self, region: str | None, body: dict[str, Any]) -> str:
        asked = {k: v for k, v in body.items() if k != "NextToken"}
        return hashlib.sha256(orjson.dumps([region, asked], option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def __call__(self, request: Request) -> dict[str, Any]:
        body = request.body
        size = int(body.get("MaxResults", 50))
        if not 1 <= size <= 50:
            raise ServiceError("InvalidMaxResultsException", "MaxResults must be between 1 and 50")
        fingerprint = self._fingerprint(request.region, body)
        offset = 0
        if body.get("NextToken"):
            try:
                generation, offset, issued_for = orjson.loads(base64.b64decode(body["NextToken"]))
            except (ValueError, orjson.JSONDecodeError):
                raise ServiceError("InvalidNextTokenException", "Invalid NextToken") from None
            if generation != self.generation or issued_for != fingerprint:
                raise ServiceError("InvalidNextTokenException", "Invalid NextToken")
        chosen = self._select(request.region, body)
        reply: dict[str, Any] = {"Events": [self._summary(r) for r in chosen[offset : offset + size]]}
        if offset + size < len(chosen):
            token = base64.b64encode(orjson.dumps([self.generation, offset + size, fingerprint])).decode()
            self.issued.append(token)
            reply["NextToken"] = token
        return reply

    @staticmethod
    def _summary(record: dict[str, Any]) -> dict[str, Any]:
        identity = record.get("userIdentity") or {}
        return {
            "EventId": record["eventID"],
            "EventName": record.get("eventName"),
            "ReadOnly": str(record.get("readOnly")).lower(),
            "AccessKeyId": identity.get("accessKeyId"),
            "EventTime": _epoch(record["eventTime"]),
            "EventSource": record.get("eventSource"),
            "Username": _username(record),
            "Resources": [
                {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in record.get("resources") or []
            ],
            "CloudTrailEvent": orjson.dumps(record).decode(),
        }


class RateLimit:
    """AWS's limit as a hook: a token bucket per region; excess answers ThrottlingException."""

    def __init__(self, rate: float = 2.0, burst: float = 2.0) -> None:
        self.rate = rate
        self.burst = burst
        self.buckets: dict[str | None, tuple[float, float]] = {}
        self.throttled: list[Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> None:
        if request.operation != OPERATION:
            return
        with self._lock:
            now = time.monotonic()
            tokens, stamp = self.buckets.get(request.region, (self.burst, now))
            tokens = min(self.burst, tokens + (now - stamp) * self.rate)
            if tokens < 1.0:
                self.buckets[request.region] = (tokens, now)
                self.throttled.append(request)
                raise ServiceError("ThrottlingException", "Rate exceeded")
            self.buckets[request.region] = (tokens - 1.0, now)


class FailRequests:
    """Answer the n-th LookupEvents request (counting from 1, all regions) with a 5xx status."""

    def __init__(self, statuses: dict[int, int]) -> None:
        self.statuses = statuses
        self.seen = 0
        self.failed: list[Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> None:
        if request.operation != OPERATION:
            return
        with self._lock:
            self.seen += 1
            status = self.statuses.get(self.seen)
            if status is None:
                return
            self.failed.append(request)
        code = "ServiceUnavailable" if status == 503 else "InternalFailure"
        raise ServiceError(code, "injected by the test", status=status)


class DescribeRegions:
    """EC2's DescribeRegions over EC2's own query protocol (form in, XML out), for ``--regions all``.

    A separate server because EC2 speaks neither JSON nor X-Amz-Target; tests point boto3 at it
    with AWS_ENDPOINT_URL_EC2. ``asked`` keeps each request's form fields.
    """

    def __init__(self, regions: list[str]) -> None:
        self.regions = regions
        self.asked: list[dict[str, str]] = []
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> DescribeRegions:
        service = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server dispatches to
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                service.asked.append(form)
                items = "".join(f"<item><regionName>{r}</regionName></item>" for r in service.regions)
                body = (
                    '<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                    f"<requestId>req-{len(service.asked)}</requestId><regionInfo>{items}</regionInfo>"
                    "</DescribeRegionsResponse>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self._httpd.serve_forever, name="ec2-regions", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"
