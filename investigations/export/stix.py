"""The case's indicators as a STIX 2.1 bundle, for a threat-intelligence platform.

One ``indicator`` per IOC with a STIX pattern, created by an ``identity`` for the case, and a
``report`` that groups them. Ids are UUIDv5 over the indicator's content, so exporting again
yields the same objects and a platform updates them instead of piling up copies. AWS keys,
ARNs and account ids have no STIX cyber-observable of their own: keys and IAM ARNs are
``user-account:user_id``; other ARNs and accounts use custom ``x-aws-*`` objects, which STIX
patterns allow.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from investigations.casefile.items import Ioc
from investigations.casefile.ops import items
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

#: Namespace for Trailhound's deterministic STIX ids.
NAMESPACE = uuid.UUID("6f1b8f5e-3a5c-5d2e-9b1a-7c0d4e2f1a90")


def stix_time(value: str) -> str:
    """STIX timestamps are RFC 3339 UTC with a ``Z``; case times already are, to the second."""
    return value.replace("Z", ".000Z") if value.endswith("Z") and "." not in value else value


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pattern(ioc: Ioc) -> str:
    value = _literal(ioc.value)
    if ioc.kind == "ip":
        family = "ipv6-addr" if ipaddress.ip_address(ioc.value).version == 6 else "ipv4-addr"
        return f"[{family}:value = {value}]"
    if ioc.kind == "user_agent":
        return f"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {value}]"
    if ioc.kind == "access_key" or (ioc.kind == "arn" and ioc.value.split(":")[2:3] in (["iam"], ["sts"])):
        return f"[user-account:user_id = {value}]"
    if ioc.kind == "account":
        return f"[x-aws-account:account_id = {value}]"
    return f"[x-aws-resource:arn = {value}]"


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join(parts))}"


def bundle(case: Case) -> dict[str, Any]:
    name = str(case.data.get("name", ""))
    created = stix_time(str(case.data.get("created", "")))
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": _id("identity", "case", name, created),
        "created": created,
        "modified": created,
        "name": f"Trailhound case {name}",
        "identity_class": "organization",
    }
    indicators = []
    for ioc in (i for i in items(case, "ioc") if isinstance(i, Ioc)):
        stamp = stix_time(ioc.created)
        indicator: dict[str, Any] = {
            "type": "indicator",
            "spec_version": "2.1",
            "id": _id("indicator", ioc.kind, ioc.value),
            "created": stamp,
            "modified": stix_time(ioc.updated),
            "created_by_ref": identity["id"],
            "name": f"{ioc.kind.replace('_', ' ')} {ioc.value}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern(ioc),
            "pattern_type": "stix",
            "valid_from": stix_time(ioc.first_seen) if ioc.first_seen else stamp,
        }
        if ioc.note:
            indicator["description"] = ioc.note
        if ioc.last_seen:
            indicator["x_trailhound_last_seen"] = stix_time(ioc.last_seen)
        indicators.append(indicator)
    objects: list[dict[str, Any]] = [identity, *indicators]
    if indicators:
        updated = stix_time(str(case.data.get("updated", created)))
        objects.append(
            {
                "type": "report",
                "spec_version": "2.1",
                "id": _id("report", "case", name, created),
                "created": created,
                "modified": updated,
                "created_by_ref": identity["id"],
                "name": f"Indicators from Trailhound case {name}",
                "report_types": ["indicator"],
                "published": updated,
                "object_refs": [i["id"] for i in indicators],
            }
        )
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def write(case: Case, selection: Selection | None, out: BinaryIO) -> int:
    data = bundle(case)
    out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    return sum(1 for o in data["objects"] if o["type"] == "indicator")
