"""Network exposure: security groups opened to the whole internet.

A rule opened to 0.0.0.0/0 or ::/0 is judged by its ports: SSH (22), RDP (3389) or every port is
remote access for anyone and rates high; any other port is exposure worth a look. Both the
``ipPermissions`` form of AuthorizeSecurityGroupIngress (and its older top-level ``cidrIp`` form)
and ModifySecurityGroupRules are read.
"""

from __future__ import annotations

from typing import Any

from investigations.detections.context import Context
from investigations.detections.fields import values_at
from investigations.detections.registry import Match, Rule, Severity, absent, eq, register

EC2 = "ec2.amazonaws.com"
WORLD = ("0.0.0.0/0", "::/0")
ADMIN_PORTS = (22, 3389)


def _port(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def openings(record: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """(protocol, from port, to port, cidr) for every rule in the request that admits the world."""
    params = record.get("requestParameters")
    if not isinstance(params, dict):
        return []
    found: list[tuple[str, int, int, str]] = []
    perms = values_at(params, "ipPermissions.items")
    if params.get("cidrIp"):
        perms.append({**params, "ipRanges": {"items": [{"cidrIp": params.get("cidrIp")}]}})
    for perm in (p for p in perms if isinstance(p, dict)):
        cidrs = values_at(perm, "ipRanges.items.cidrIp") + values_at(perm, "ipv6Ranges.items.cidrIpv6")
        for cidr in cidrs:
            if cidr in WORLD:
                proto = str(perm.get("ipProtocol", "-1"))
                found.append((proto, _port(perm.get("fromPort"), 0), _port(perm.get("toPort"), 65535), cidr))
    for rule in values_at(params, "ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule"):
        if isinstance(rule, dict):
            cidr = rule.get("CidrIpv4") or rule.get("CidrIpv6")
            if cidr in WORLD:
                proto = str(rule.get("IpProtocol", "-1"))
                found.append((proto, _port(rule.get("FromPort"), 0), _port(rule.get("ToPort"), 65535), cidr))
    return found


def _all_ports(proto: str, low: int, high: int) -> bool:
    return proto in ("-1", "all") or (low <= 0 and high >= 65535) or (low == -1 and high == -1)


def _describe(proto: str, low: int, high: int, cidr: str) -> str:
    if _all_ports(proto, low, high):
        return f"all ports open to {cidr}"
    ports = str(low) if low == high else f"{low}-{high}"
    return f"{proto}/{ports} open to {cidr}"


def _admin_exposure(record: dict[str, Any], ctx: Context) -> str | None:
    wide = [
        o
        for o in openings(record)
        if _all_ports(o[0], o[1], o[2]) or any(o[1] <= p <= o[2] and o[0] in ("tcp", "6") for p in ADMIN_PORTS)
    ]
    return "; ".join(_describe(*o) for o in wide) or None


def _other_exposure(record: dict[str, Any], ctx: Context) -> str | None:
    found = openings(record)
    if not found or _admin_exposure(record, ctx):
        return None
    return "; ".join(_describe(*o) for o in found)


_FILTER = (
    '{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "AuthorizeSecurityGroupIngress") || '
    '($.eventName = "ModifySecurityGroupRules")) && ($.errorCode NOT EXISTS) && '
    '(($.requestParameters.ipPermissions.items[0].ipRanges.items[0].cidrIp = "0.0.0.0/0") || '
    '($.requestParameters.ipPermissions.items[0].ipv6Ranges.items[0].cidrIpv6 = "::/0") || '
    "($.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule.SecurityGroupRule.CidrIpv4 "
    '= "0.0.0.0/0")) }'
)
_MATCH = Match(EC2, ("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules"), (absent("errorCode"),))

register(
    Rule(
        "TH-NET-SG-OPEN-ADMIN",
        "Security group opened to the internet for SSH, RDP or all ports",
        Severity.HIGH,
        "T1562.007",
        "SSH, RDP or every port open to 0.0.0.0/0 or ::/0 lets anyone on the internet reach the instances "
        "behind the group; intruders open them to get interactive access.",
        match=_MATCH,
        check=_admin_exposure,
        alarm_where=(eq("requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "0.0.0.0/0"),),
        metric_filter=_FILTER,
        notes=(
            "The EventBridge pattern matches IPv4 0.0.0.0/0; add a twin on ipv6Ranges.items.cidrIpv6 = ::/0. "
            "The metric filter reads the first permission only (filters cannot scan arrays).",
        ),
    )
)
register(
    Rule(
        "TH-NET-SG-OPEN-WORLD",
        "Security group opened to the internet",
        Severity.MEDIUM,
        "T1562.007",
        "A port open to 0.0.0.0/0 or ::/0 exposes a service to every scanner on the internet.",
        match=_MATCH,
        check=_other_exposure,
        alarm_where=(eq("requestParameters.ipPermissions.items.ipRanges.items.cidrIp", "0.0.0.0/0"),),
        metric_filter=_FILTER,
    )
)
