"""What every subcommand shares: case opening, JSON output, time options, exit codes, and bringing
the free-text index up to date after a command added events.

Contract (DESIGN §4): ``--json`` prints exactly one JSON object on stdout and human progress goes
to stderr; exit 0 when done, 1 when done but some inputs were rejected, 2 for usage errors or
nothing usable.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from investigations.timeparse import parse_time

if TYPE_CHECKING:
    from investigations.case import Case

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or unusable input: printed as one line, exit code 2."""


def time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def csv_arg(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_case_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--case", type=Path, required=required, metavar="DIR", help="case folder (created if missing)")


def add_window_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=time_arg, metavar="T", help="ISO 8601 time or an age like 7d, 12h")
    parser.add_argument("--end", type=time_arg, metavar="T", help="ISO 8601 time or an age like 1h")


def open_case(path: Path, create: bool = False) -> Case:
    # Imported here: commands that need no case (validate, simulate) skip DuckDB's start-up cost.
    from investigations.case import Case, CaseError
    from investigations.store import StoreError

    try:
        return Case.open(path, create=create)
    except (CaseError, StoreError) as exc:
        raise UsageError(str(exc)) from None


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS) + b"\n")
    sys.stdout.flush()


def say(message: str) -> None:
    """Human progress and notes: always stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


def index_text(case: Case, summary: bool = True) -> None:
    """Extend (or build) the case's free-text index after new events, with a progress line on stderr
    (and a summary line, unless the command prints JSON).

    The index is a cache: when it cannot be written (a full disk, say), free-text filters fall back
    to scanning the store, so this reports the problem and carries on.
    """
    live = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if live:
            sys.stderr.write(f"\r\x1b[Kindexing free text: {done:,}/{total:,} records")
            sys.stderr.flush()

    try:
        report = case.store.text_index.update(progress)
    except Exception as exc:  # the events are in; a cache that failed must not fail the command
        say(f"free-text index not updated ({exc}); free-text filters will scan the store instead")
        return
    finally:
        if live:
            sys.stderr.write("\r\x1b[K")
    if summary and report is not None and report.added:
        verb = "built" if report.rebuilt else "extended"
        say(
            f"free-text index {verb}: {report.records:,} records, {report.bytes / 2**20:,.0f} MiB, "
            f"in {report.seconds:.1f}s"
        )


def fail(message: str, code: int = EXIT_USAGE) -> int:
    say(f"trailhound: {message}")
    return code
