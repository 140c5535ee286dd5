"""What a source address and a user agent say about where a call came from.

CloudTrail's ``sourceIPAddress`` is an IPv4 or IPv6 address, or a service name
(``ec2.amazonaws.com``), or ``AWS Internal``; only the first kind has a network. Networks are the
/24 (IPv4) or /48 (IPv6) a client sits in, which is what "a new network" means to a responder, and
a wider /16 or /32 for "far apart". ASN and country come from a ``GeoProvider``: by default the
databases shipped with Trailhound, or MaxMind files the responder names (``investigations.geo``).
Internal addresses are never looked up: a VPC's 10.x has no owner on the internet.

User agents are reduced to a family (``aws-cli``, ``Boto3``, ``Terraform``, ``browser``) so an
upgrade of a tool is not "new", but a different tool is.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Protocol

_INTERNAL = [
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
]


@dataclass(frozen=True, slots=True)
class IpInfo:
    ip: str
    network: str
    wide: str
    internal: bool
    asn: str | None = None
    country: str | None = None


class GeoProvider(Protocol):
    """ASN and country for an address; either may be unknown."""

    def lookup(self, ip: str) -> tuple[str | None, str | None]: ...


def classify(text: str | None, geo: GeoProvider | None = None) -> IpInfo | None:
    """Network facts for an address, or None when the text is a service name or not an address."""
    if not text:
        return None
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.version == 4:
        network = ipaddress.ip_network(f"{addr}/24", strict=False)
        wide = ipaddress.ip_network(f"{addr}/16", strict=False)
    else:
        network = ipaddress.ip_network(f"{addr}/48", strict=False)
        wide = ipaddress.ip_network(f"{addr}/32", strict=False)
    internal = any(addr.version == n.version and addr in n for n in _INTERNAL)
    asn, country = geo.lookup(str(addr)) if geo is not None and not internal else (None, None)
    return IpInfo(text, str(network), str(wide), internal, asn, country)


#: (family, marker) in the order they are tried; the first marker found (case-insensitive) names it.
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("Terraform", "terraform"),
    ("Pulumi", "pulumi"),
    ("aws-cli", "aws-cli/"),
    ("Boto3", "boto3/"),
    ("Botocore", "botocore/"),
    ("aws-sdk-go", "aws-sdk-go"),
    ("aws-sdk-java", "aws-sdk-java"),
    ("aws-sdk-js", "aws-sdk-js"),
    ("aws-sdk-js", "aws-sdk-nodejs"),
    ("aws-sdk-dotnet", "aws-sdk-dotnet"),
    ("aws-sdk-ruby", "aws-sdk-ruby"),
    ("aws-sdk-php", "aws-sdk-php"),
    ("aws-sdk-rust", "aws-sdk-rust"),
    ("aws-sdk-cpp", "aws-sdk-cpp"),
    ("AWSPowerShell", "powershell"),
    ("browser", "mozilla/"),
)
_FIRST_TOKEN = re.compile(r"^\[?\s*([^/\s\[\],;()]+)")


def ua_family(user_agent: str | None) -> str | None:
    """The tool behind a user agent, without its version; None when AWS itself made the call."""
    text = (user_agent or "").strip()
    lowered = text.lower()
    if not text or lowered.startswith("aws internal"):
        return None
    if lowered.endswith(".amazonaws.com") and " " not in lowered:
        return lowered
    found = _FIRST_TOKEN.match(text)
    if text.startswith("[") and found:
        return found.group(1)[:60]
    for family, marker in _FAMILIES:
        if marker in lowered:
            return family
    return found.group(1)[:60] if found else text[:60]
