"""``trailhound simulate --scenario NAME --out DIR``: synthetic CloudTrail with known answers.

Writes a scenario in CloudTrail's S3 layout (or JSON Lines) plus ``scenario.json``, its ground
truth, and reports the generation rate, which is the figure the benchmark quotes. Refuses to
write over an earlier run: files from two runs would mix into one confusing dataset. Digest
folders (``CloudTrail-Digest/``) may already be there; they are made by the integrity tooling.
"""

from __future__ import annotations

import argparse
import shlex
import time
from datetime import datetime
from pathlib import Path

from investigations.simulate import SCENARIOS, generate
from investigations.simulate.cast import ORG_ID
from investigations.simulate.writer import DEFAULT_GZIP_LEVEL
from tui.cli_common import EXIT_OK, fail, print_json, say, time_arg

DEFAULT_START = "2024-05-06T00:00:00Z"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound simulate",
        description="Write a synthetic scenario as CloudTrail logs, with its ground truth in scenario.json.",
        epilog="scenarios: " + "; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()),
    )
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS), help="what happens")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write into")
    parser.add_argument("--events", type=int, default=10_000, metavar="N", help="about how many records")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="same seed, same bytes")
    parser.add_argument(
        "--start",
        type=time_arg,
        default=time_arg(DEFAULT_START),
        metavar="ISO",
        help=f"first day, UTC (default {DEFAULT_START})",
    )
    parser.add_argument("--days", type=int, default=3, metavar="D", help="days covered (default 3)")
    parser.add_argument(
        "--layout", choices=("s3", "jsonl"), default="s3", help="CloudTrail S3 layout (default) or one events.jsonl"
    )
    trail = parser.add_mutually_exclusive_group()
    trail.add_argument("--org-id", default=ORG_ID, metavar="O-ID", help=f"organization trail id (default {ORG_ID})")
    trail.add_argument("--account-trail", action="store_true", help="account trail layout: no o-id folder")
    parser.add_argument(
        "--gzip-level",
        type=int,
        default=DEFAULT_GZIP_LEVEL,
        choices=range(1, 10),
        metavar="1-9",
        help=f"gzip compression level (default {DEFAULT_GZIP_LEVEL})",
    )
    parser.add_argument("--json", action="store_true", help="print the ground truth as one JSON object")
    return parser


def _used(out: Path) -> list[str]:
    """Earlier output in ``out``. Digest folders alone are not: they are made after the logs."""
    found = [name for name in ("events.jsonl", "scenario.json") if (out / name).exists()]
    logs = [*out.glob("AWSLogs/*/CloudTrail"), *out.glob("AWSLogs/*/*/CloudTrail")]
    return found + [p.relative_to(out).as_posix() for p in sorted(logs)]


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.events < 0 or args.days < 1:
        return fail("--events must be >= 0 and --days >= 1")
    existing = _used(args.out)
    if existing:
        return fail(f"{args.out} already holds {', '.join(existing)}; remove them or choose another --out")
    start: datetime = args.start
    say(
        f"simulating {args.scenario}: ~{args.events:,} events over {args.days} days from {start:%Y-%m-%d}, "
        f"seed {args.seed}"
    )
    began = time.perf_counter()
    try:
        truth = generate(
            args.scenario,
            args.out,
            events=args.events,
            seed=args.seed,
            start=start,
            days=args.days,
            org_id=None if args.account_trail else args.org_id,
            layout=args.layout,
            gzip_level=args.gzip_level,
            command=shlex.join(["trailhound", "simulate", *argv]),
        )
    except ValueError as exc:
        return fail(str(exc))
    elapsed = time.perf_counter() - began
    rate = truth.events / elapsed if elapsed > 0 else 0.0
    say(
        f"wrote {truth.events:,} events in {truth.files:,} files to {args.out} "
        f"({truth.json_bytes / 1e6:,.1f} MB of JSON, {truth.stored_bytes / 1e6:,.1f} MB on disk) "
        f"in {elapsed:.1f} s ({rate:,.0f} events/s); ground truth in {args.out / 'scenario.json'}"
    )
    if args.json:
        print_json(truth)
    return EXIT_OK
