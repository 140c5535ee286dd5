"""``trailhound [SOURCE...] [--case DIR]``: open the workbench, ingesting first when given sources.

Without ``--case``, sources get a case folder of their own under
``$XDG_DATA_HOME/trailhound/cases/`` named after them, so running the same command twice reopens
the same case instead of re-reading the evidence. Opened cases are remembered for the start
screen. Bare ``trailhound`` shows the start screen.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from investigations.case import Case, CaseError
from investigations.store import StoreError
from tui.cli_common import EXIT_OK, add_window_args, csv_arg, fail

RECENT_LIMIT = 20


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trailhound"


def normalise_source(source: str) -> str:
    """Local paths become absolute (so the case records where they are); URLs stay as typed."""
    if "://" in source:
        return source
    return str(Path(source).expanduser().resolve())


def default_case_dir(sources: list[str], root: Path | None = None) -> Path:
    """One folder per set of sources: readable name, plus a hash so different sets never collide."""
    joined = "\n".join(sorted(sources))
    digest = hashlib.sha256(joined.encode()).hexdigest()[:8]
    first = sources[0].rstrip("/").split("/")[-1] or "evidence"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", first).strip("-.")[:40] or "evidence"
    return (root or data_dir()) / "cases" / f"{slug}-{digest}"


def recent_cases(root: Path | None = None) -> list[dict[str, Any]]:
    path = (root or data_dir()) / "recent.json"
    try:
        entries = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)]


def remember_case(case_dir: Path, name: str, events: int, root: Path | None = None) -> None:
    """Put a case at the top of the recent list (the file is ours; a lost update only loses a line)."""
    root = root or data_dir()
    entry = {
        "path": str(case_dir),
        "name": name,
        "events": events,
        "opened": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    entries = [entry] + [e for e in recent_cases(root) if e["path"] != str(case_dir)]
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / "recent.json.tmp"
    tmp.write_bytes(orjson.dumps(entries[:RECENT_LIMIT], option=orjson.OPT_INDENT_2))
    tmp.replace(root / "recent.json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trailhound",
        description="Open the investigation workbench. With SOURCEs (paths or s3://bucket/prefix) their "
        "events are loaded into the case first; without any, a start screen offers recent cases.",
    )
    parser.add_argument("sources", nargs="*", metavar="SOURCE")
    parser.add_argument("--case", type=Path, metavar="DIR", help="case folder (default: one per set of sources)")
    parser.add_argument("--profile", help="AWS profile for s3:// sources")
    parser.add_argument("--accounts", type=csv_arg, default=[], help="only these account ids (S3 layout)")
    parser.add_argument("--regions", type=csv_arg, default=[], help="only these regions (S3 layout)")
    add_window_args(parser)
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    sources = [normalise_source(s) for s in args.sources]
    for source in sources:
        if "://" not in source and not Path(source).exists():
            return fail(f"{source}: no such file or folder")
    case_dir = args.case.expanduser().resolve() if args.case else (default_case_dir(sources) if sources else None)
    from investigations.evidence import SourceOptions

    options = SourceOptions(
        accounts=args.accounts, regions=args.regions, start=args.start, end=args.end, profile=args.profile
    )
    if case_dir is not None:
        try:  # fail here, in plain text, rather than inside the full-screen app
            Case.open(case_dir, create=True).close()
        except (CaseError, StoreError) as exc:
            return fail(str(exc))
    from tui.app import make_app

    app = make_app(case_dir=case_dir, sources=sources, options=options)
    app.run()
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return EXIT_OK
