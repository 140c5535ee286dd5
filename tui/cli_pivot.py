"""``trailhound pivot --case DIR --access-key KEY ...``: follow a credential, headless.

Prints the credential tree (ancestors up to the long-term key or external identity, every key
minted below) and the blast radius, or with ``--json`` the engine's ``PivotResult`` as one
object. ``--start/--end``, ``--scope-ip`` and ``--scope-user-agent`` mark which events are the
use under investigation, so an intruder's use of a shared key separates from its owner's.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import datetime
from typing import Any

from investigations.histogram import event_count
from investigations.pivot import PivotError, Scope, pivot
from investigations.textsafe import clean
from investigations.timeparse import iso
from tui.cli_common import EXIT_OK, UsageError, add_case_arg, add_window_args, csv_arg, open_case, print_json, say

_TARGETS = (
    ("--event-id", "event", "ID", "an event: its actor, the actor's session and lineage"),
    ("--access-key", "access_key", "KEY", "an access key (AKIA long-term or ASIA temporary)"),
    ("--principal", "principal", "ARN", "a principal ARN, role ARN (its sessions) or sourceIdentity"),
    ("--ip", "ip", "IP", "every key used from this address (the address joins the scope)"),
    ("--user-agent", "user_agent", "UA", "every key used with this user agent (it joins the scope)"),
    ("--resource", "resource", "ARN", "every key that touched this resource (end with * for a prefix)"),
)
_WIDTH = 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound pivot",
        description="Follow an event, key, principal, IP, user agent or resource through the credential "
        "tree: who acted, with which session, what it minted, where it went and what it touched.",
    )
    add_case_arg(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    for flag, dest, metavar, text in _TARGETS:
        target.add_argument(flag, dest=dest, metavar=metavar, help=text)
    add_window_args(parser)
    parser.add_argument(
        "--scope-ip", type=csv_arg, action="append", default=[], metavar="CIDR", help="in-scope source addresses"
    )
    parser.add_argument(
        "--scope-user-agent",
        action="append",
        default=[],
        metavar="TEXT",
        help="in-scope user agents (case-insensitive substring; repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    kind, value = next((dest, getattr(args, dest)) for _, dest, _, _ in _TARGETS if getattr(args, dest))
    scope = Scope(
        start=args.start,
        end=args.end,
        ips=tuple(ip for group in args.scope_ip for ip in group),
        user_agents=tuple(args.scope_user_agent),
    )
    with open_case(args.case) as case:
        try:
            result = pivot(case.store, kind, value, scope)
        except PivotError as exc:
            raise UsageError(str(exc)) from None
    data = result.as_dict()
    if not data["lineage_event_ids"]:
        say(f"trailhound: no events for {kind.replace('_', ' ')} {clean(value, 80)} in this case")
    if args.json:
        print_json(data)
    else:
        print("\n".join(render(data)))
    return EXIT_OK


def _t(value: Any) -> str:
    return iso(value) or "" if isinstance(value, datetime) else clean(value, _WIDTH)


def _short(values: list[Any], limit: int = 6) -> str:
    shown = ", ".join(clean(v, 70) for v in values[:limit])
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return (shown + more) or "none"


def _tree(data: dict[str, Any]) -> list[str]:
    """The session's keys with every key they minted below them, one line per key."""
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for edge in data["descendants"]:
        children[edge["parent"]].append(edge)
    lines: list[str] = []
    seen: set[str] = set()

    def walk(key: str, prefix: str) -> None:
        kids = children.get(key, [])
        for i, edge in enumerate(kids):
            last = i == len(kids) - 1
            marks = " [inferred]" * edge["inferred"] + " [out of scope]" * (not edge.get("in_scope", True))
            lines.append(
                f"{prefix}{'└── ' if last else '├── '}{clean(edge['child'])}  {clean(edge['event_name'])} "
                f"{clean(edge['event_id'])} → {clean(edge['arn'] or '?', 80)}  ({edge['events']} events){marks}"
            )
            if edge["child"] not in seen:
                seen.add(edge["child"])
                walk(edge["child"], prefix + ("    " if last else "│   "))

    for key in data["session_keys"]:
        if key in seen:
            continue
        seen.add(key)
        lines.append(clean(key))
        walk(key, "")
    return lines


def _actor_lines(actor: dict[str, Any]) -> list[str]:
    who = actor.get("identity_arn") or actor.get("invoked_by") or actor.get("principal_id") or "unknown"
    lines = [f"Actor      {clean(who)} ({clean(actor.get('identity_type'))})"]
    if actor.get("key"):
        lines.append(
            f"  key      {clean(actor['key'])}, {actor.get('events', 0)} events "
            f"{_t(actor.get('first_seen'))} – {_t(actor.get('last_seen'))}"
        )
    if actor.get("session_created"):
        lines.append(f"  session  created {_t(actor['session_created'])}, MFA {actor.get('mfa_authenticated')}")
    if actor.get("source_identity"):
        lines.append(f"  sourceIdentity {clean(actor['source_identity'])}")
    origin = actor.get("origin") or {}
    if origin:
        inferred = " (inferred)" if origin.get("inferred") else ""
        event = f" via {clean(origin['event_id'])}" if origin.get("event_id") else ""
        lines.append(f"  origin   {clean(origin.get('kind'))}: {clean(origin.get('label'))}{event}{inferred}")
    ancestors = actor.get("ancestors") or []
    lines.append(f"  ancestors {' ← '.join(clean(a) for a in ancestors) if ancestors else 'none'}")
    return lines


def _blast_lines(blast: dict[str, Any]) -> list[str]:
    errors = blast["errors"]
    codes = ", ".join(f"{clean(code)} {n}" for code, n in errors["by_code"].items())
    lines = [
        "Blast radius",
        f"  roles assumed    {_short(blast['roles_assumed'])}",
        f"  roles denied     {_short(blast['roles_denied'])}",
        f"  keys issued      {_short(blast['keys_issued'])}",
        f"  written          {_short(blast['resources_written'])}",
        f"  read             {_short(blast['resources_read'])}",
        f"  errors           {errors['total']}{f' ({codes})' if codes else ''}",
        f"  data out         {blast['bytes_out']:,} bytes",
    ]
    for title, items in (("persistence", blast["persistence"]), ("defence evasion", blast["defense_evasion"])):
        lines.append(f"  {title:<16} {'none' if not items else ''}".rstrip())
        for item in items:
            failed = f" [{clean(item['error_code'])}]" if item["error_code"] else ""
            target = _short(item["resources"] or [], 3)
            lines.append(
                f"    {_t(item['event_time'])} {clean(item['event_name'])} {clean(item['event_id'])} → {target}{failed}"
            )
    return lines


def render(data: dict[str, Any]) -> list[str]:
    """The human form: actor, lineage tree, event counts, where it went, blast radius, neighbours."""
    target = data["target"]
    scope = data["scope"]
    parts = [f"{k} {_t(v)}" for k, v in (("from", scope["start"]), ("to", scope["end"])) if v]
    parts += [f"ip {_short(scope['ips'])}"] * bool(scope["ips"]) + [f"agent {_short(scope['user_agents'])}"] * bool(
        scope["user_agents"]
    )
    lines = [f"Pivot      {clean(target['kind'])} {clean(target['value'])}   scope: {'; '.join(parts) or 'all'}"]
    for actor in data["actors"][:5]:
        lines += _actor_lines(actor)
    if len(data["actors"]) > 5:
        lines.append(f"  (+{len(data['actors']) - 5} more keys)")
    lines += ["", "Lineage", *_tree(data), ""]
    lines.append(
        f"Events     lineage {len(data['lineage_event_ids'])} · in scope {len(data['in_scope_event_ids'])} · "
        f"out of scope {len(data['out_of_scope_event_ids'])} · session {len(data['session_event_ids'])}"
    )
    for title, key in (
        ("Principals", "principals"),
        ("Accounts", "accounts"),
        ("Regions", "regions"),
        ("Source IPs", "source_ips"),
        ("Agents", "user_agents"),
        ("Resources", "resources"),
    ):
        lines.append(f"{title:<10} {_short(data[key])}")
    lines += ["", *_blast_lines(data["blast_radius"])]
    if data["nearby"]:
        lines += ["", "Also seen from the same addresses and agents"]
        for row in data["nearby"][:15]:
            lines.append(
                f"  {row['via']:<10} {clean(row['value'], 40)}  {clean(row['principal'], 70)}  "
                f"{clean(row['key'] or '-')}  {event_count(row['events'])}"
            )
    return lines
