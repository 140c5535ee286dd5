"""The timeline's columns: what each shows for a row, and how wide each gets on a given screen.

Widths come from the case's own data (the longest region, event name, error code...) within
caps, so the grid fits what is there; when the terminal is too narrow the least telling columns
drop out first (resource, key, account) rather than every column shrinking to nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


def short_arn(arn: str) -> str:
    """``arn:aws:iam::111:user/alice`` -> ``user/alice``; the account has its own column."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        tail = parts[5]
        return "root" if tail == "root" else tail
    return arn


def actor(row: Row) -> str:
    """Who acted, short: ``user/alice``, ``Role/session`` (assumed roles lose the prefix, their
    session name is what tells them apart), prefixed by the caller's account when foreign."""
    arn = row.get("identity_arn")
    if arn:
        name = short_arn(arn).removeprefix("assumed-role/")
        own = row.get("identity_account_id")
        if own and own != row.get("recipient_account_id"):
            return f"{own}:{name}"
        return name
    if row.get("invoked_by"):
        return str(row["invoked_by"])
    kind = row.get("identity_type") or ""
    who = row.get("identity_account_id") or row.get("principal_id") or row.get("user_name") or ""
    return f"{kind}:{who}" if kind and who else kind or who or "-"


def resource(row: Row) -> str:
    """The most specific resource the event touched, from the engine's index when it is built."""
    items = list(row.get("indexed") or row.get("resources") or ())
    if not items and row.get("role_arn"):
        items = [row["role_arn"]]
    if not items:
        return ""
    first = items[0]
    parts = first.split(":", 5)
    text = f"{parts[2]}:{parts[5]}" if len(parts) == 6 and parts[0] == "arn" else first
    return text if len(items) == 1 else f"{text} +{len(items) - 1}"


def event(row: Row) -> str:
    return row.get("event_name") or ""


def _time(row: Row) -> str:
    moment = row.get("event_time")
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _get(name: str) -> Callable[[Row], str]:
    return lambda row: "" if row.get(name) is None else str(row[name])


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    value: Callable[[Row], str]
    least: int
    most: int
    #: Columns with the highest number are dropped first when space runs out.
    drop: int = 0
    flex: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("time", "TIME (UTC)", _time, 19, 19),
    Column("account", "ACCOUNT", _get("recipient_account_id"), 12, 12, drop=3),
    Column("region", "REGION", _get("aws_region"), 9, 14, drop=4),
    Column("actor", "ACTOR", actor, 20, 48, flex=True),
    Column("key", "KEY", _get("access_key_id"), 20, 20, drop=5),
    Column("ip", "SOURCE IP", _get("source_ip"), 13, 39, drop=2),
    Column("event", "EVENT", event, 14, 36),
    Column("error", "ERROR", _get("error_code"), 6, 24, drop=1),
    Column("resource", "RESOURCE", resource, 14, 200, drop=6, flex=True),
)

#: Defaults until the case's own widths are known.
DEFAULT_WIDTHS = {"region": 14, "ip": 15, "event": 24, "error": 14, "key": 20, "actor": 32, "resource": 40}


def ideal_widths(data: dict[str, int]) -> dict[str, int]:
    """Turn ``Reader.widths()`` (longest value per column) into ideal column widths."""
    names = {"aws_region": "region", "source_ip": "ip", "event_name": "event", "error_code": "error"}
    names["access_key_id"] = "key"
    out = dict(DEFAULT_WIDTHS)
    for column, length in data.items():
        out[names[column]] = length
    return out


def layout(width: int, ideals: dict[str, int], gap: int = 1) -> list[tuple[Column, int]]:
    """Columns and widths that fit ``width`` cells, dropping the least telling ones if they must."""
    chosen = list(COLUMNS)
    while True:
        sized = [(c, max(c.least, min(c.most, ideals.get(c.key, c.least)))) for c in chosen]
        used = sum(w for _, w in sized) + gap * (len(sized) - 1)
        if used <= width:
            break
        shrinkable = sum(w - c.least for c, w in sized)
        if used - shrinkable <= width:
            return _shrink(sized, used - width)
        droppable = [c for c in chosen if c.drop]
        if not droppable:
            return _shrink(sized, used - width)
        chosen.remove(max(droppable, key=lambda c: c.drop))
    spare = width - used
    flexible = [i for i, (c, _) in enumerate(sized) if c.flex]
    if spare and flexible:
        last = flexible[-1]
        column, current = sized[last]
        sized[last] = (column, current + spare)
    return sized


def _shrink(sized: list[tuple[Column, int]], excess: int) -> list[tuple[Column, int]]:
    """Take ``excess`` cells: from the free-text columns (actor, resource) first, since their
    values are the longest anyway, then from the widest of the rest, never below a column's least."""
    out = list(sized)
    for pool in ([i for i, (c, _) in enumerate(out) if c.flex], list(range(len(out)))):
        while excess > 0:
            index = max(pool, key=lambda i: out[i][1] - out[i][0].least)
            column, current = out[index]
            if current <= column.least:
                break
            out[index] = (column, current - 1)
            excess -= 1
    return out
