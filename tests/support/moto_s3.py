"""moto's S3 (and IAM, EC2) over real HTTP on 127.0.0.1, with a log of what was asked of it.

This runs moto's WSGI app in a threaded werkzeug server, exactly as ``ThreadedMotoServer`` does,
wrapped in a small recorder: tests assert *which prefixes were listed* (a narrow question must
list a narrow slice) and *how many GETs overlapped* (objects are fetched concurrently), which
the stock server cannot tell them. ``latency`` delays object GETs like a real network would,
so that overlap shows on a two-core machine. IAM enforcement (moto's ``reset-auth``) lets a
test deny one object with a real policy and get a real AccessDenied.
"""

from __future__ import annotations

import gzip
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import boto3
import orjson
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

ORG = "o-abcde12345"


@dataclass(frozen=True, slots=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]


class _Quiet(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return


class MotoS3:
    """The server. ``seen`` lists every S3 request; ``max_in_flight`` the most served at once."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.before_first_get: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._server: Any = None
        self._users = 0

    def _app(self, app: Any) -> Any:
        def record(environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO", "")
            if path.startswith("/moto-api"):
                return app(environ, start_response)
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
            seen = Seen(environ["REQUEST_METHOD"], path, query)
            is_get = seen.method == "GET" and path.count("/") >= 2 and "list-type" not in query
            with self._lock:
                self.seen.append(seen)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                hook = self.before_first_get if is_get else None
                if hook:
                    self.before_first_get = None
            try:
                if hook:
                    hook()
                if is_get and self.latency:
                    time.sleep(self.latency)
                return app(environ, start_response)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return record

    def start(self) -> MotoS3:
        app = self._app(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, name="moto-s3", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request) as response:
            response.read()

    def reset(self) -> None:
        """Forget every bucket, user and logged request, and stop enforcing IAM."""
        self._post("/moto-api/reset")
        self.enforce_iam(False)
        with self._lock:
            self.seen.clear()
            self.max_in_flight = 0

    def enforce_iam(self, on: bool) -> None:
        """From now on, check every request against the caller's IAM policies (moto's reset-auth)."""
        self._post("/moto-api/reset-auth", b"0" if on else b"inf")

    def client(self, service: str, **credentials: str) -> Any:
        """A client with the credentials in the environment now (a fresh session: no cached keys)."""
        return boto3.Session().client(service, endpoint_url=self.url, region_name="us-east-1", **credentials)

    def listings(self, bucket: str) -> list[tuple[str, str | None]]:
        """(prefix, delimiter) of every ListObjectsV2 call on ``bucket``, in order."""
        return [
            (s.query.get("prefix", ""), s.query.get("delimiter"))
            for s in self.seen
            if s.method == "GET" and s.path.strip("/") == bucket and s.query.get("list-type") == "2"
        ]

    def restricted_user(self, statements: list[dict[str, Any]]) -> dict[str, str]:
        """An IAM user allowed all of S3 except ``statements`` (Deny); returns its key as env values."""
        iam = self.client("iam")
        self._users += 1
        user = f"responder-{self._users}"
        iam.create_user(UserName=user)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, *statements],
        }
        iam.put_user_policy(UserName=user, PolicyName="evidence", PolicyDocument=orjson.dumps(policy).decode())
        key = iam.create_access_key(UserName=user)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def log_key(account: str, region: str, delivered: datetime, unique: str, prefix: str = "trail", org: str = ORG) -> str:
    """Where CloudTrail files a log delivered at ``delivered`` (reference §3)."""
    return (
        f"{prefix}/AWSLogs/{org}/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


def digest_key(account: str, region: str, end: datetime, prefix: str = "trail", org: str = ORG) -> str:
    return (
        f"{prefix}/AWSLogs/{org}/{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
        f"{account}_CloudTrail-Digest_{region}_org-trail_us-east-1_{end:%Y%m%dT%H%M%SZ}.json.gz"
    )


def log_file(records: Iterable[dict[str, Any]]) -> bytes:
    return gzip.compress(orjson.dumps({"Records": list(records)}))
