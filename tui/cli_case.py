"""``trailhound case ...``: the case file headless: verify, restore, and add/edit/list/remove items.

    trailhound case verify --case DIR
    trailhound case list [findings|bookmarks|notes|tags|iocs|containment|sources] --case DIR
    trailhound case finding add --title T --severity high [--technique T1078.004] [--event ID]... --case DIR
    trailhound case finding edit F-1 --status confirmed --case DIR
    trailhound case note add "text" [--about access_key:AKIA...] --case DIR
    trailhound case bookmark add EVENT_ID [--note TEXT] --case DIR
    trailhound case tag add ip:203.0.113.7 attacker --case DIR
    trailhound case ioc add ip 203.0.113.7 [--note TEXT] --case DIR      (ioc refresh: re-read first/last seen)
    trailhound case contain add disable_key AKIA... [--at 2024-05-01T09:00Z] --case DIR
    trailhound case KIND rm ID --case DIR

Every change is journaled and saved before the command returns.
"""

from __future__ import annotations

import argparse
from typing import Any

from investigations import casefile as cf
from investigations.case import Case, CaseError
from investigations.textsafe import clean
from tui.cli_common import EXIT_OK, EXIT_REJECTED, UsageError, add_case_arg, open_case, print_json, say

#: Per item kind: command name, add's positional fields, and option -> field for add and edit.
KINDS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "finding": (
        "finding",
        (),
        {
            "title": "title",
            "severity": "severity",
            "status": "status",
            "narrative": "narrative",
            "technique": "technique",
            "rule": "rule_id",
            "event": "event_ids",
            "entity": "entities",
        },
    ),
    "bookmark": ("bookmark", ("event_id",), {"note": "note"}),
    "note": ("note", ("text",), {"about": "about"}),
    "tag": ("tag", ("target", "label"), {}),
    "ioc": ("ioc", ("kind", "value"), {"note": "note", "finding": "finding_id"}),
    "containment": ("contain", ("action", "target"), {"at": "at", "note": "note"}),
}
_LISTS = {"event_ids", "entities"}
_CHOICES = {"severity": cf.SEVERITIES, "status": cf.FINDING_STATUSES}
_ADD = {
    "finding": cf.add_finding,
    "bookmark": cf.add_bookmark,
    "note": cf.add_note,
    "tag": cf.add_tag,
    "ioc": cf.add_ioc,
    "containment": cf.add_containment,
}


def _options(parser: argparse.ArgumentParser, options: dict[str, str], required: set[str]) -> None:
    for option, name in options.items():
        parser.add_argument(
            f"--{option}",
            dest=name,
            action="append" if name in _LISTS else "store",
            choices=_CHOICES.get(name),
            required=name in required,
            default=argparse.SUPPRESS,
        )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_case_arg(common)
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser = argparse.ArgumentParser(
        prog="trailhound case",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The case file headless: verify, restore, and add/edit/list/remove items.\n\n"
        + __doc__.split("\n\n", 1)[1],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", parents=[common], help="check the journal's hash chain and the source manifests")
    commands.add_parser("restore", parents=[common], help="put back a damaged case.json (last good copy + journal)")
    listing = commands.add_parser("list", parents=[common], help="list the case's items")
    listing.add_argument("what", nargs="?", default="all", choices=["all", "sources", *(f"{k}s" for k in KINDS)])
    for kind, (command, positionals, options) in KINDS.items():
        sub = commands.add_parser(command, help=f"add, edit, list or remove {kind} items")
        actions = sub.add_subparsers(dest="verb", required=True)
        add = actions.add_parser("add", parents=[common])
        for name in positionals:
            add.add_argument(name)
        _options(add, options, {"title", "severity"} if kind == "finding" else set())
        edit = actions.add_parser("edit", parents=[common])
        edit.add_argument("id")
        _options(edit, {**{p: p for p in positionals}, **options}, set())
        actions.add_parser("rm", parents=[common]).add_argument("id")
        actions.add_parser("list", parents=[common])
        if kind == "ioc":
            actions.add_parser("refresh", parents=[common], help="re-read first/last seen from the events")
        sub.set_defaults(item=kind)
    return parser


def _fields(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    _, positionals, options = KINDS[kind]
    names = {*positionals, *options.values()}
    return {k: v for k, v in vars(args).items() if k in names}


def _line(item: cf.Item) -> str:
    data = item.to_dict()
    shown = {
        k: v for k, v in data.items() if k not in ("id", "created", "updated", "author") and v not in (None, "", [])
    }
    return f"{item.id}  " + "  ".join(f"{k}={clean(v, 120)}" for k, v in shown.items())


def _verify(case: Case, as_json: bool) -> int:
    check = case.verify()
    if as_json:
        print_json(
            {
                "intact": check.intact,
                "entries": check.entries,
                "problems": [{"line": p.line, "problem": p.problem} for p in check.problems],
                "manifests": check.manifests,
                "repairs": check.repairs,
            }
        )
    else:
        state = "hash chain intact" if not check.problems else f"{len(check.problems)} problem(s)"
        print(f"journal: {check.entries} entries, {state}")
        for problem in check.problems:
            print(f"  line {problem.line}: {problem.problem}")
        for text in check.manifests:
            print(f"  evidence manifest: {text}")
        for entry in check.repairs:
            detail = {k: v for k, v in entry.items() if k not in ("n", "time", "user", "action", "prev", "hash")}
            print(f"  entry {entry['n']} ({entry['time']}): {entry['action']} {clean(detail, 200)}")
    return EXIT_OK if check.intact else EXIT_REJECTED


def _list(case: Case, what: str, as_json: bool) -> None:
    kinds = list(KINDS) if what == "all" else [what.removesuffix("s")] if what != "sources" else []
    out: dict[str, Any] = {
        f"{k}s" if k != "containment" else k: [i.to_dict() for i in cf.items(case, k)] for k in kinds
    }
    if what in ("all", "sources"):
        out["sources"] = case.data["sources"]
    if as_json:
        print_json(out)
        return
    for kind in kinds:
        for item in cf.items(case, kind):
            print(_line(item))
    for source in out.get("sources", []):
        print(f"source {source['id']}  {source['kind']}  {clean(source['uri'])}  files={source.get('files')}")


def _item(case: Case, args: argparse.Namespace) -> None:
    kind = args.item
    if args.verb == "list":
        return _list(case, f"{kind}s", args.json)
    if args.verb == "refresh":
        changed: list[cf.Item] = list(cf.refresh_iocs(case))
    elif args.verb == "add":
        changed = [_ADD[kind](case, **_fields(args, kind))]
    elif args.verb == "edit":
        changed = [cf.edit(case, args.id, **_fields(args, kind))]
    else:
        changed = [cf.remove(case, args.id)]
    if args.json:
        print_json({"action": args.verb, "items": [i.to_dict() for i in changed]})
    else:
        for item in changed:
            print(_line(item))
        say(f"{args.verb}: {len(changed)} {kind} item(s); saved and journaled")
    return None


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "restore":
        try:
            with Case.restore(args.case) as case:
                notices = [*case.notices, f"case.json restored; {len(case.data['findings'])} finding(s)"]
        except CaseError as exc:
            raise UsageError(str(exc)) from None
        if args.json:
            print_json({"restored": True, "notices": notices})
        for notice in notices:
            say(notice)
        return EXIT_OK
    with open_case(args.case) as case:
        for notice in case.notices:
            say(notice)
        try:
            if args.command == "verify":
                return _verify(case, args.json)
            if args.command == "list":
                _list(case, args.what, args.json)
            else:
                _item(case, args)
        except cf.ItemError as exc:
            raise UsageError(str(exc)) from None
    return EXIT_OK
