"""``trailhound validate``: CloudTrail log file integrity, offline or against S3.

Exit 0 when every checked file and link is intact, 1 when anything is invalid, 2 when the input
cannot be used. With ``--case``, the run is recorded in the case (journal, store, exhibit) and the
JSON output carries the coverage grid.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli_common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_window_args,
    csv_arg,
    open_case,
    print_json,
    say,
)

if TYPE_CHECKING:
    from investigations.integrity.result import ValidationResult


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound validate",
        description="Check CloudTrail digest chains, digest signatures and log file hashes "
        "(more checks than `aws cloudtrail validate-logs`).",
    )
    parser.add_argument(
        "source", metavar="SOURCE", help="a folder (a copy or a `trailhound collect` folder) or s3://bucket/prefix"
    )
    parser.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="public key file (PEM, DER, or saved list-public-keys JSON); repeatable",
    )
    add_window_args(parser)
    parser.add_argument("--accounts", type=csv_arg, metavar="A,B", help="only these account ids")
    parser.add_argument("--regions", type=csv_arg, metavar="R1,R2", help="only these regions")
    parser.add_argument("--profile", help="AWS profile for s3:// sources and ListPublicKeys")
    parser.add_argument("--case", type=Path, metavar="DIR", help="record the run in this case")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--verbose", "-v", action="store_true", help="list valid files too")
    parser.add_argument("--workers", type=int, default=4, help="parallel reads and hashes (default 4)")
    parser.add_argument(
        "--max-decompressed",
        type=int,
        default=None,
        metavar="BYTES",
        help="refuse log files that inflate past this (default 2 GiB)",
    )
    return parser


def run(args: list[str]) -> int:
    opts = _parser().parse_args(args)
    from investigations.integrity import keys as keymod
    from investigations.integrity.logs import DEFAULT_MAX_DECOMPRESSED
    from investigations.integrity.objects import LocalTree, Scope, SourceError, open_source
    from investigations.integrity.report import render
    from investigations.integrity.validate import validate

    if opts.start and opts.end and opts.end < opts.start:
        raise UsageError("Invalid time range specified: start-time must occur before end-time")
    try:
        source = open_source(opts.source, opts.profile)
        given = [key for path in opts.public_key for key in keymod.load_key_file(path)]
        if isinstance(source, LocalTree):
            saved = keymod.load_saved_keys(source.keys_folder) if source.keys_folder.is_dir() else []
            ring = keymod.KeyRing(given + saved)
        else:
            ring = keymod.KeyRing(given, keymod.fetcher(opts.profile))
    except (SourceError, keymod.KeyFileError) as exc:
        raise UsageError(str(exc)) from None
    scope = Scope(
        frozenset(opts.accounts) if opts.accounts else None,
        frozenset(opts.regions) if opts.regions else None,
        opts.start,
        opts.end,
    )
    try:
        result = validate(
            source,
            ring,
            scope,
            workers=opts.workers,
            max_decompressed=opts.max_decompressed or DEFAULT_MAX_DECOMPRESSED,
            progress=say,
        )
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3")):
            raise UsageError(f"cannot read {opts.source}: {exc}") from None
        raise
    if not result.files:
        raise UsageError(f"no CloudTrail log or digest files found in {opts.source}")
    output = result.as_dict()
    if opts.case is not None:
        output["case"] = _record(opts, result)
    if opts.json:
        print_json(output)
    else:
        print(render(result, opts.verbose))
    return EXIT_OK if result.ok else EXIT_REJECTED


def _record(opts: argparse.Namespace, result: ValidationResult) -> dict[str, object]:
    """Record the run in the case and compute the coverage grid the JSON output carries."""
    from investigations.integrity.casefile import record_validation
    from investigations.integrity.coverage import coverage

    options = {
        "start": opts.start,
        "end": opts.end,
        "accounts": opts.accounts,
        "regions": opts.regions,
        "public_keys": [str(p) for p in opts.public_key],
    }
    with open_case(opts.case, create=True) as case:
        entry = record_validation(case, result, options)
        grid = coverage(case.store, opts.start, opts.end)
    say(f"recorded in case {opts.case} (journal entry {entry['n']})")
    return {"journal_entry": entry["n"], "result_file": entry["result"], "coverage": grid}
