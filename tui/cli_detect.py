"""``trailhound detect``: run the rule pack (and Sigma rules) over a case, list findings, print alarms.

Exit codes: 0 done; 1 done but some Sigma rules were not evaluated (each listed on stderr, and in
``sigma.problems`` with ``--json``); 2 usage, or an unknown finding id for ``--alarm``.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from investigations.detections import (
    DetectOptions,
    Severity,
    alarm_for,
    all_rules,
    detect_case,
    get_finding,
    render,
)
from investigations.geo import geo_from
from investigations.textsafe import clean
from tui.cli_common import EXIT_OK, EXIT_REJECTED, UsageError, add_case_arg, fail, open_case, print_json, say
from tui.cli_sql import table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound detect",
        description="Run the built-in detections and any Sigma rules over a case; findings are ranked by "
        "severity and kept in the case for the workbench.",
    )
    add_case_arg(parser, required=False)
    parser.add_argument(
        "--rules", type=Path, metavar="DIR", help="also evaluate the Sigma rules in DIR (aws/cloudtrail)"
    )
    parser.add_argument(
        "--alarm", metavar="FINDING_ID", help="print an EventBridge pattern, metric filter and Sigma rule"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--list-rules", action="store_true", help="list the built-in rules and exit")
    parser.add_argument(
        "--min-severity", default="info", choices=[s.label for s in Severity], help="hide findings below"
    )
    parser.add_argument("--gap", type=float, default=30, metavar="MINUTES", help="quiet gap that ends a burst (30)")
    parser.add_argument(
        "--learning", type=float, metavar="HOURS", help="baseline learning period (24, or 1/4 of the case)"
    )
    parser.add_argument(
        "--mmdb",
        type=Path,
        action="append",
        metavar="PATH",
        help="MaxMind ASN/country database, instead of the shipped data (repeatable; needs maxminddb)",
    )
    parser.add_argument("--org-account", action="append", default=[], metavar="ID", help="an account inside the org")
    return parser


def _list_rules(as_json: bool) -> int:
    rules = all_rules()
    if as_json:
        print_json(
            {
                "rules": [
                    {"id": r.id, "title": r.title, "severity": r.severity.label, "technique": r.technique, "why": r.why}
                    for r in rules
                ]
            }
        )
    else:
        print(
            table(
                ["id", "severity", "technique", "title"],
                [(r.id, r.severity.label, r.technique, r.title) for r in rules],
            )
        )
    return EXIT_OK


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.list_rules:
        return _list_rules(args.json)
    if args.case is None:
        raise UsageError("--case DIR is required")
    if args.rules is not None and not args.rules.is_dir():
        raise UsageError(f"--rules {args.rules}: not a folder")
    try:
        geo = geo_from(args.mmdb)
    except (RuntimeError, OSError, ValueError) as exc:
        raise UsageError(f"--mmdb: {exc}") from None
    options = DetectOptions(
        gap=timedelta(minutes=args.gap),
        learning=timedelta(hours=args.learning) if args.learning is not None else None,
        geo=geo,
        org_accounts=tuple(args.org_account),
    )
    with open_case(args.case) as case:
        if args.alarm:
            finding = get_finding(case.store, args.alarm)
            if finding is None:
                return fail(
                    f"no finding {args.alarm} in this case; run `trailhound detect --case {args.case}` to list them"
                )
            alarm = alarm_for(case.store, finding)
            if args.json:
                print_json(alarm.as_dict())
            else:
                print("\n".join(clean(line) for line in render(alarm).splitlines()))
            return EXIT_OK
        report = detect_case(case, options, args.rules, progress=lambda step: None)
    floor = Severity.parse(args.min_severity)
    shown = [f for f in report.findings if f.severity >= floor]
    problems = report.sigma.problems if report.sigma is not None else []
    for problem in problems:
        where = clean(problem.rule_id or problem.path, 80)
        say(f"sigma: {problem.kind}: {clean(problem.title, 80)} ({where}): {clean(problem.reason, 200)}")
    if args.json:
        print_json(
            {
                **report.summary(),
                "geo": geo.label,
                "timings": report.timings,
                "findings": [f.as_dict() for f in shown],
            }
        )
    else:
        rows = [
            (
                f.severity.label,
                f.id,
                f.rule_id,
                f.actor,
                f.count,
                f.first_seen.strftime("%Y-%m-%d %H:%M:%S"),
                f.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
                f.detail or f.title,
            )
            for f in shown
        ]
        print(table(["severity", "id", "rule", "actor", "events", "first", "last", "detail"], rows))
        say(f"{len(report.findings)} findings from {report.rules} rules in {report.seconds:.2f} s")
        say(f"ASN and country: {geo.label}")
    return EXIT_REJECTED if problems else EXIT_OK
