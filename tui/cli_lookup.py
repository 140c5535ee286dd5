"""``trailhound lookup --case DIR``: pull CloudTrail event history (LookupEvents) into a case.

Every region at once, each paced at 2 requests/s. A pull that is cut off (Ctrl-C, a lost
connection, a region that kept failing) resumes when the same command is run again: the times
it resolved (``--start 7d``) and each region's position are kept in the case folder.
"""

from __future__ import annotations

import argparse
import sys

from investigations.histogram import event_count
from investigations.sources.lookup import LookupQuery, RegionStats, parse_attribute
from investigations.sources.lookup_pull import LookupFailed, LookupReport, LookupRequest, pull_lookup
from investigations.textsafe import clean
from investigations.timeparse import parse_time
from tui.cli_common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    UsageError,
    add_case_arg,
    csv_arg,
    index_text,
    open_case,
    print_json,
    say,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound lookup",
        description="Pull CloudTrail event history (management events of the last 90 days, or Insights "
        "events) from every region into a case. Rerun the same command to resume a cut-off pull; "
        "events already in the case are never added twice.",
    )
    add_case_arg(parser)
    parser.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    parser.add_argument(
        "--regions", default="all", help="'all' (every region enabled for the account, the default) or r1,r2"
    )
    parser.add_argument("--start", metavar="T", help="ISO 8601 time or an age like 7d, 12h")
    parser.add_argument("--end", metavar="T", help="ISO 8601 time or an age like 1h")
    parser.add_argument(
        "--attribute",
        metavar="KEY=VALUE",
        help="one lookup attribute (the API takes one): EventName, Username, AccessKeyId, EventSource, "
        "ReadOnly, ResourceType, ResourceName or EventId",
    )
    parser.add_argument("--insights", action="store_true", help="pull CloudTrail Insights events instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def _request(args: argparse.Namespace) -> LookupRequest:
    try:
        start = parse_time(args.start) if args.start else None
        end = parse_time(args.end) if args.end else None
        attribute = parse_attribute(args.attribute, args.insights) if args.attribute else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if start and end and start > end:
        raise UsageError("--start is after --end")
    regions = None if args.regions.strip().lower() == "all" else csv_arg(args.regions)
    if regions == []:
        raise UsageError("--regions takes 'all' or a comma-separated list such as us-east-1,eu-west-1")
    asked = {
        "regions": args.regions,
        "start": args.start,
        "end": args.end,
        "attribute": args.attribute,
        "insights": args.insights,
        "profile": args.profile,
    }
    return LookupRequest(LookupQuery(start, end, attribute, args.insights), regions, args.profile, asked)


class _Bar:
    """One progress line on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()

    def __call__(self, stats: dict[str, RegionStats]) -> None:
        if not self.live:
            return
        pages = sum(s.pages for s in stats.values())
        events = sum(s.events for s in stats.values())
        throttled = sum(s.throttled for s in stats.values())
        sys.stderr.write(f"\r\x1b[K{len(stats)} regions: {pages} pages, {event_count(events)}, {throttled} throttled")
        sys.stderr.flush()

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")


def summarise(report: LookupReport) -> None:
    for note in report.notes:
        say(f"note: {note}")
    for region, stats in sorted(report.regions.items()):
        resumed = f" (resumed after page {stats.resumed_at})" if stats.resumed_at else ""
        restarted = ", token expired: restarted" if stats.restarted else ""
        line = (
            f"  {region}: pages {stats.pages}, events {stats.events:,}, throttled {stats.throttled}, "
            f"server errors retried {stats.errors}{resumed}{restarted}"
        )
        say(line + (f"; FAILED: {clean(stats.failed)}" if stats.failed else ""))
    ingest = report.ingest
    say(
        f"{event_count(ingest.events_added)} added ({ingest.duplicates:,} already in the case), "
        f"{ingest.events_total:,} in the case, in {ingest.seconds:.1f}s"
    )
    for rejection in ingest.rejected[:20]:
        say(f"  rejected {clean(rejection.path)}: {clean(rejection.reason)}")
    if not report.complete:
        say("the pull is not complete: run the same command again to resume the unfinished regions")


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    request = _request(args)
    bar = _Bar()
    with open_case(args.case, create=True) as case:
        try:
            report = pull_lookup(case, request, progress=bar)
        except LookupFailed as exc:
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:
            bar.done()
            say("cut off: what arrived is in the case; run the same command again to resume")
            raise
        bar.done()
        if not args.json:
            summarise(report)
        index_text(case, summary=not args.json)
    if args.json:
        print_json(report.as_dict())
    failed = [s for s in report.regions.values() if s.failed]
    if report.regions and len(failed) == len(report.regions) and report.ingest.events_added == 0:
        return EXIT_USAGE
    return EXIT_REJECTED if failed or report.ingest.rejected_total else EXIT_OK
