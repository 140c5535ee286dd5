"""What CloudTrail writes differently per service: region, version, host header, denials.

These facts are small but easy to get wrong, and every builder needs them, so they live in one
table instead of being repeated at each call site. The values follow real records (see the
project's CloudTrail reference): global services log in us-east-1, STS and S3 write older event
versions than EC2 or IAM, EC2 reports denials as ``Client.UnauthorizedOperation`` with an encoded
message, JSON-protocol services as ``AccessDeniedException``, the rest as ``AccessDenied``.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Services whose events are recorded in us-east-1 whatever endpoint region the caller used.
GLOBAL_SOURCES = frozenset(
    {
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "signin.amazonaws.com",
        "organizations.amazonaws.com",
        "cloudfront.amazonaws.com",
        "route53.amazonaws.com",
    }
)
GLOBAL_REGION = "us-east-1"

_VERSIONS = {
    "sts.amazonaws.com": "1.08",
    "signin.amazonaws.com": "1.08",
    "ssm.amazonaws.com": "1.08",
    "kms.amazonaws.com": "1.08",
}
_DEFAULT_VERSION = "1.09"

_HOSTS = {
    "iam.amazonaws.com": "iam.amazonaws.com",
    "signin.amazonaws.com": "signin.aws.amazon.com",
    "organizations.amazonaws.com": "organizations.us-east-1.amazonaws.com",
}

_ACCESS_DENIED_EXCEPTION = frozenset(
    {"lambda", "kms", "guardduty", "securityhub", "ecr", "dynamodb", "logs", "sso", "access-analyzer", "organizations"}
)
_IAM_PREFIX = {"monitoring": "cloudwatch", "signin": "signin"}

_READ_PREFIXES = (
    "Get",
    "List",
    "Describe",
    "Head",
    "Lookup",
    "Search",
    "Scan",
    "Query",
    "BatchGet",
    "Check",
    "Select",
    "Estimate",
    "Simulate",
    "Decrypt",
    "GenerateDataKey",
    "AssumeRole",
)
_WRITE_DESPITE_PREFIX = frozenset({"GetSessionToken", "GetFederationToken"})
_API_VERSION_SUFFIX = re.compile(r"(\d{4}_?\d{2}_?\d{2})(v\d+)?$")


def event_version(source: str) -> str:
    return _VERSIONS.get(source, _DEFAULT_VERSION)


def record_region(source: str, region: str | None, default: str) -> str:
    """The ``awsRegion`` of a call: explicit wins, then us-east-1 for global services."""
    if region is not None:
        return region
    return GLOBAL_REGION if source in GLOBAL_SOURCES else default


@lru_cache(maxsize=4096)
def read_only(name: str) -> bool:
    """CloudTrail's ``readOnly`` for an action, from its verb."""
    return name.startswith(_READ_PREFIXES) and name not in _WRITE_DESPITE_PREFIX


def service_prefix(source: str) -> str:
    """The IAM action prefix of an event source (``ec2`` for ``ec2.amazonaws.com``)."""
    short = source.split(".", 1)[0]
    return _IAM_PREFIX.get(short, short)


def action(source: str, name: str) -> str:
    """The IAM action an event name maps to; Lambda names carry an API-version suffix."""
    return f"{service_prefix(source)}:{_API_VERSION_SUFFIX.sub('', name)}"


@lru_cache(maxsize=4096)
def tls_details(source: str, region: str, host: str | None = None) -> dict[str, str]:
    """The ``tlsDetails`` of a call from a modern SDK. Shared, cached objects: do not mutate."""
    if host is None:
        host = _HOSTS.get(source)
    if host is None:
        short = source.split(".", 1)[0]
        if source == "sts.amazonaws.com" and region == GLOBAL_REGION:
            host = "sts.amazonaws.com"
        else:
            host = f"{short}.{region}.amazonaws.com"
    return {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}


def denial_code(source: str) -> str:
    """The error code this service writes when IAM denies a call."""
    short = source.split(".", 1)[0]
    if short == "ec2":
        return "Client.UnauthorizedOperation"
    if short in _ACCESS_DENIED_EXCEPTION:
        return "AccessDeniedException"
    return "AccessDenied"


def denial_message(source: str, name: str, caller_arn: str, resource: str, encoded: str) -> str:
    """The text of an IAM denial as the service phrases it; EC2 appends an encoded blob."""
    act = action(source, name)
    core = (
        f"User: {caller_arn} is not authorized to perform: {act} on resource: {resource} "
        f"because no identity-based policy allows the {act} action"
    )
    if source == "ec2.amazonaws.com":
        return (
            f"You are not authorized to perform this operation. {core}. "
            f"Encoded authorization failure message: {encoded}"
        )
    return core


def is_denial(code: str) -> bool:
    return "AccessDenied" in code or "Unauthorized" in code
