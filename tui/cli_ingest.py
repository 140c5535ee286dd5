"""``trailhound ingest SOURCE... --case DIR``: add evidence to a case, headless."""

from __future__ import annotations

import argparse
import sys

from investigations.evidence import SourceOptions, ingest_sources
from investigations.histogram import event_count
from investigations.ingest import IngestReport, Progress
from investigations.textsafe import clean
from tui.cli_common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    add_case_arg,
    add_window_args,
    csv_arg,
    index_text,
    open_case,
    print_json,
    say,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound ingest",
        description="Add CloudTrail evidence to a case. SOURCE is a file, a folder (any depth, zips "
        "included) or s3://bucket/prefix. Re-ingesting never duplicates an event.",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE")
    add_case_arg(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--accounts", type=csv_arg, default=[], help="only these account ids (S3 layout)")
    parser.add_argument("--regions", type=csv_arg, default=[], help="only these regions (S3 layout)")
    add_window_args(parser)
    parser.add_argument("--profile", help="AWS profile for s3:// sources (default: the standard chain)")
    parser.add_argument("--workers", type=int, help="decoder processes (default: one per core)")
    parser.add_argument(
        "--max-decompressed",
        type=int,
        default=None,
        metavar="MIB",
        help="refuse files that inflate past this many MiB (default 2048)",
    )
    return parser


class _Bar:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()

    def __call__(self, p: Progress) -> None:
        if not self.live:
            return
        rate = p.events / p.elapsed if p.elapsed > 0 else 0.0
        total = f"/{p.files_total}" if p.files_total else ""
        left = ""
        if p.bytes_total and p.bytes_done and rate:
            remaining = p.elapsed * (p.bytes_total - p.bytes_done) / p.bytes_done
            left = f", ~{remaining:.0f}s left"
        sys.stderr.write(
            f"\r\x1b[K{clean(p.source, 40)}: {p.files_done}{total} files, {event_count(p.events)} "
            f"({rate:,.0f}/s), {p.rejected} rejected{left}"
        )
        sys.stderr.flush()

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[K")


def summarise(report: IngestReport) -> None:
    say(
        f"{event_count(report.events_added)} added ({report.duplicates:,} duplicates skipped), "
        f"{report.events_total:,} in the case; {report.files} files, {report.digests} digest files "
        f"set aside for `trailhound validate`, in {report.seconds:.1f}s"
    )
    if report.skipped:
        say(f"{len(report.skipped)} files skipped:")
        for path, reason in report.skipped[:20]:
            say(f"  {clean(path)}: {reason}")
    if report.rejected_total:
        say(f"{report.rejected_total} rejected:")
        for rejection in report.rejected[:50]:
            where = f" (record {rejection.record})" if rejection.record else ""
            say(f"  {clean(rejection.path)}{where}: {clean(rejection.reason)}")
        if report.rejected_total > 50:
            say(
                f"  ... and {report.rejected_total - 50} more: `trailhound ingest --json` lists up to "
                "1000, and the case keeps all (SELECT * FROM rejections)"
            )


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    options = SourceOptions(
        accounts=args.accounts,
        regions=args.regions,
        start=args.start,
        end=args.end,
        profile=args.profile,
        workers=args.workers,
    )
    if args.max_decompressed:
        options.max_decompressed = args.max_decompressed * 2**20
    bar = _Bar()
    with open_case(args.case, create=True) as case:
        report = ingest_sources(case, args.sources, options, progress=bar)
        bar.done()
        if not args.json:
            summarise(report)
        index_text(case, summary=not args.json)
    if args.json:
        print_json(report.as_dict())
    usable = report.events_added + report.duplicates + report.digests
    if usable == 0:
        return EXIT_USAGE  # nothing in what was given could be used
    return EXIT_REJECTED if report.rejected_total else EXIT_OK
