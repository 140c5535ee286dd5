"""``trailhound collect``: a forensic copy of an S3 CloudTrail archive, signatures and keys included.

Rerun the same command after an interruption and it resumes. Exit 0 when everything listed was
copied, 1 when some objects failed (each listed), 2 for usage errors or an unreachable source.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.cli_common import EXIT_OK, EXIT_REJECTED, UsageError, add_window_args, csv_arg, print_json, say


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound collect",
        description="Copy CloudTrail logs and digests from S3 with each digest's signature metadata, the "
        "public keys from ListPublicKeys and a SHA-256 manifest, so `trailhound validate DIR` works offline.",
    )
    parser.add_argument("source", metavar="s3://bucket/prefix")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the copy (resumable)")
    parser.add_argument("--accounts", type=csv_arg, metavar="A,B", help="only these account ids")
    parser.add_argument("--regions", type=csv_arg, metavar="R1,R2", help="only these regions")
    add_window_args(parser)
    parser.add_argument("--profile", help="AWS profile (default: boto3's standard credential chain)")
    parser.add_argument("--workers", type=int, default=8, help="parallel downloads (default 8)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def run(args: list[str]) -> int:
    opts = _parser().parse_args(args)
    from investigations.integrity.collect import CollectError, collect
    from investigations.integrity.keys import fetcher
    from investigations.integrity.objects import S3Tree, Scope, SourceError, parse_s3_url, s3_client

    if opts.start and opts.end and opts.end < opts.start:
        raise UsageError("--start must come before --end")
    try:
        bucket, prefix = parse_s3_url(opts.source)
        tree = S3Tree(s3_client(opts.profile), bucket, prefix)
        scope = Scope(
            frozenset(opts.accounts) if opts.accounts else None,
            frozenset(opts.regions) if opts.regions else None,
            opts.start,
            opts.end,
        )
        report = collect(tree, opts.out, scope, fetcher(opts.profile), workers=opts.workers, progress=say)
    except (SourceError, CollectError) as exc:
        raise UsageError(str(exc)) from None
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3")):
            raise UsageError(f"cannot read {opts.source}: {exc}") from None
        raise
    if opts.json:
        print_json(report.as_dict())
    else:
        print(
            f"copied {report.copied} objects ({report.bytes:,} bytes) from {report.source} to {report.out}; "
            f"{report.already} already present; {report.keys} public key(s) saved"
        )
        for note in report.notes:
            print(f"NOTE: {note}")
        for key, reason in report.failures:
            print(f"FAILED\t{key}\t{reason}")
        print(f"validate offline with: trailhound validate {report.out}")
    return EXIT_REJECTED if report.failures else EXIT_OK
