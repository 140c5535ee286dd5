"""A local CloudTrail endpoint for tests: the JSON 1.1 protocol over real HTTP on 127.0.0.1.

moto implements neither ListPublicKeys nor LookupEvents, and a botocore Stubber would skip the
parts that break in practice (serialisation, base64 blobs, timestamps, error parsing, retries).
So tests point a real boto3 client at this server with ``endpoint_url``. Each operation is one
entry in ``server.handlers`` (keyed by operation name, e.g. "ListPublicKeys"), and every request
passes through ``server.hooks`` first, where a test can throttle, inject failures or count.

    with CloudTrailServer() as server:
        server.handlers["ListPublicKeys"] = list_public_keys_handler({"eu-west-1": [key]})
        client = server.client("eu-west-1")
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_REGION = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/cloudtrail/aws4_request")


class ServiceError(Exception):
    """Raise from a handler or hook to answer with a CloudTrail error (``__type`` and message)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """One call as the server saw it: the operation, the region it was signed for, the JSON body."""

    operation: str
    region: str | None
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    time: float = 0.0


Handler = Callable[[Request], dict[str, Any]]
Hook = Callable[[Request], None]


class CloudTrailServer:
    """The server; ``handlers`` and ``hooks`` may be changed while it runs."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.hooks: list[Hook] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> CloudTrailServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server dispatches to
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="cloudtrail-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> CloudTrailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, region: str, **config: Any) -> Any:
        """A boto3 CloudTrail client for this server, with dummy credentials."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "cloudtrail",
            region_name=region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            config=Config(**config) if config else None,
        )

    def _serve(self, http: BaseHTTPRequestHandler) -> None:
        import time

        length = int(http.headers.get("Content-Length") or 0)
        payload = http.rfile.read(length) if length else b"{}"
        target = http.headers.get("X-Amz-Target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target
        match = _REGION.search(http.headers.get("Authorization", ""))
        try:
            body = orjson.loads(payload or b"{}")
        except orjson.JSONDecodeError:
            body = {}
        request = Request(operation, match.group(1) if match else None, body, dict(http.headers), time.monotonic())
        with self._lock:
            self.requests.append(request)
        try:
            for hook in list(self.hooks):
                hook(request)
            handler = self.handlers.get(operation)
            if handler is None:
                raise ServiceError("UnknownOperationException", f"operation {operation!r} not served")
            status, reply = 200, handler(request)
        except ServiceError as exc:
            status, reply = exc.status, {"__type": exc.code, "message": exc.message}
        data = orjson.dumps(reply)
        http.send_response(status)
        http.send_header("Content-Type", "application/x-amz-json-1.1")
        http.send_header("Content-Length", str(len(data)))
        http.send_header("x-amzn-RequestId", f"req-{len(self.requests)}")
        http.end_headers()
        http.wfile.write(data)


def epoch(moment: datetime) -> float:
    """A naive-UTC time as the JSON protocol's timestamp (epoch seconds)."""
    return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


@dataclass(frozen=True, slots=True)
class ServedKey:
    """A key the server hands out: DER bytes, validity window (naive UTC), optional fingerprint."""

    der: bytes
    valid_from: datetime
    valid_to: datetime
    fingerprint: str | None = None


def list_public_keys_handler(keys_by_region: dict[str, list[ServedKey]], now: datetime | None = None) -> Handler:
    """ListPublicKeys: the region's keys whose validity overlaps [StartTime, EndTime].

    Without times, CloudTrail returns the keys valid now. ``Value`` goes out as base64 text, as on
    the real wire; boto3 decodes it back to DER.
    """
    import hashlib

    def handler(request: Request) -> dict[str, Any]:
        current = now or datetime.now(UTC).replace(tzinfo=None)
        start = request.body.get("StartTime", epoch(current))
        end = request.body.get("EndTime", epoch(current))
        if start > end:
            raise ServiceError("InvalidTimeRangeException", "StartTime must precede EndTime")
        keys = keys_by_region.get(request.region or "", [])
        return {
            "PublicKeyList": [
                {
                    "Value": base64.b64encode(key.der).decode(),
                    "ValidityStartTime": epoch(key.valid_from),
                    "ValidityEndTime": epoch(key.valid_to),
                    "Fingerprint": key.fingerprint or hashlib.md5(key.der).hexdigest(),
                }
                for key in keys
                if epoch(key.valid_from) <= end and epoch(key.valid_to) >= start
            ]
        }

    return handler
