"""``trailhound export --case DIR --format F [--scope S] [--out PATH]``: hand the case on."""

from __future__ import annotations

import argparse

from investigations.export import FORMATS, export
from investigations.export.scope import SCOPE_HELP, ScopeError
from investigations.textsafe import clean
from tui.cli_common import EXIT_OK, UsageError, add_case_arg, open_case, print_json, say


def build_parser() -> argparse.ArgumentParser:
    formats = "\n".join(f"  {name:<11} {fmt.description}" for name, fmt in FORMATS.items())
    parser = argparse.ArgumentParser(
        prog="trailhound export",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write a timeline, report or indicator file from the case, and record it in the journal.\n\n"
        f"formats:\n{formats}\n\nscopes (timelines and reports): {SCOPE_HELP}",
    )
    add_case_arg(parser)
    parser.add_argument("--format", required=True, choices=list(FORMATS), metavar="FORMAT")
    parser.add_argument("--scope", help="which events (default: all; reports: findings and bookmarks)")
    parser.add_argument("--out", help="file to write, or - for stdout (default: CASE/exports/<time>-<scope><ext>)")
    parser.add_argument("--json", action="store_true", help="print {format, scope, path, items, sha256}")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with open_case(args.case) as case:
        try:
            result = export(case, args.format, args.scope, args.out)
        except ScopeError as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        print_json(
            {
                "format": result.format,
                "scope": result.scope,
                "path": result.path,
                "items": result.items,
                "sha256": result.sha256,
            }
        )
    elif result.path != "-":
        say(f"{result.format} ({clean(result.scope, 80)}): {result.items} item(s) written to {clean(result.path)}")
        say(f"sha256 {result.sha256}")
    return EXIT_OK
