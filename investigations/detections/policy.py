"""Reading IAM-style policy documents out of CloudTrail requests.

Trust policies, bucket policies and inline user policies arrive in ``requestParameters`` as JSON
text (URL-encoded in some responses), with ``Statement`` and ``Principal`` in any of the shapes
IAM accepts: a single object or a list, ``"*"`` or ``{"AWS": ...}``, account ids or ARNs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import orjson

_ACCOUNT = re.compile(r"^(\d{12})$|^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def parse(document: Any) -> dict[str, Any] | None:
    """A policy document as a dict, from a dict or its (possibly URL-encoded) JSON text."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str) or not document.strip():
        return None
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _listed(document.get("Statement")) if isinstance(s, dict)]


def allows(statement: dict[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def aws_principals(statement: dict[str, Any]) -> list[str]:
    """The AWS principals a statement names; ``*`` for anyone."""
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [str(p) for p in _listed(principal.get("AWS"))]
    return []


def account_of(principal: str) -> str | None:
    found = _ACCOUNT.match(principal.strip())
    if not found:
        return None
    return found.group(1) or found.group(2)


def is_admin(document: dict[str, Any]) -> bool:
    """True when some statement allows every action on every resource."""
    for statement in statements(document):
        actions = [str(a) for a in _listed(statement.get("Action"))]
        resources = [str(r) for r in _listed(statement.get("Resource"))]
        if allows(statement) and "*" in actions and "*" in resources:
            return True
    return False
