"""``trailhound sql --case DIR QUERY``: SQL over the case, Athena's names in ``cloudtrail_logs``."""

from __future__ import annotations

import argparse

import duckdb

from investigations.textsafe import clean
from tui.cli_common import EXIT_OK, add_case_arg, fail, open_case, print_json


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound sql",
        description="Run SQL against the case. Tables: events (typed columns), raw_events, files, "
        "rejections; view cloudtrail_logs has the Athena CloudTrail table's columns.",
    )
    add_case_arg(parser)
    parser.add_argument("--json", action="store_true", help="print {columns, rows} as one JSON object")
    parser.add_argument("query", help='e.g. "SELECT eventname, count(*) FROM cloudtrail_logs GROUP BY 1"')
    return parser


def table(columns: list[str], rows: list[tuple[object, ...]], width: int = 60) -> str:
    """A plain text table; every cell is cleaned, so log strings cannot drive the terminal."""
    cells = [[clean(c, width) for c in columns]] + [[clean(v, width) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with open_case(args.case) as case:
        try:
            columns, rows = case.store.sql(args.query)
        except duckdb.Error as exc:
            return fail(f"query failed: {exc}")
    if args.json:
        print_json({"columns": columns, "rows": [list(r) for r in rows]})
    elif columns:
        print(table(columns, rows))
        print(f"({len(rows)} rows)")
    return EXIT_OK
