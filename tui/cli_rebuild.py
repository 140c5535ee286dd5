"""``trailhound rebuild --case DIR``: recreate the event store from the recorded evidence.

Exit 0 when every source was read again and every file matched its recorded hash; 1 when the
store was rebuilt but some evidence changed, went missing or cannot be re-read offline (each is
listed); 2 when the case cannot be used.
"""

from __future__ import annotations

import argparse

from investigations.casefile.rebuild import RebuildReport, rebuild
from investigations.histogram import event_count
from investigations.textsafe import clean
from tui.cli_common import EXIT_OK, EXIT_REJECTED, add_case_arg, index_text, open_case, print_json, say
from tui.cli_ingest import _Bar


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound rebuild",
        description="Move events.duckdb aside and re-ingest every source the case recorded, checking each "
        "file's SHA-256 (or S3 ETag) against the manifest. The old store comes back if the rebuild fails.",
    )
    add_case_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the per-source result as one JSON object")
    parser.add_argument("--workers", type=int, help="decoder processes (default: one per core)")
    return parser


def summarise(report: RebuildReport) -> None:
    for src in report.sources:
        head = f"source {src.source_id} ({src.kind} {clean(src.uri, 80)})"
        if src.not_rebuilt:
            say(f"{head}: NOT rebuilt: {src.not_rebuilt}")
            continue
        say(f"{head}: {src.files} file(s), {src.events_added:,} event(s)")
        for change in src.changed:
            say(f"  CHANGED {clean(change['path'])}: {change['hash']} was {change['recorded']}, now {change['found']}")
        for path in src.missing:
            say(f"  MISSING {clean(path)}: recorded in the manifest, not readable now")
        for path in src.unlisted[:20]:
            say(f"  not in the manifest, not ingested: {clean(path)}")
    verdict = "all evidence matches its recorded hashes" if report.clean else "SOME EVIDENCE DIFFERS (see above)"
    say(f"{event_count(report.events_total)} in the rebuilt store, {report.seconds:.1f}s; {verdict}")


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    bar = _Bar()
    with open_case(args.case) as case:
        report = rebuild(case, progress=bar, workers=args.workers)
        bar.done()
        if not args.json:
            summarise(report)
        index_text(case, summary=not args.json)
    if args.json:
        print_json(report.as_dict())
    return EXIT_OK if report.clean else EXIT_REJECTED
