"""The ``trailhound`` command: the TUI by default, headless subcommands for scripts and tests.

Each subcommand lives in its own ``tui/cli_<name>.py`` with ``run(argv) -> int`` and is imported
only when used, so ``trailhound sql`` never pays for Textual's import and a missing optional
dependency in one command cannot break another.
"""

from __future__ import annotations

import importlib
import sys

from tui.cli_common import UsageError, fail

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("tui.cli_ingest", "add evidence (paths, s3:// prefixes) to a case"),
    "lookup": ("tui.cli_lookup", "pull CloudTrail event history (LookupEvents) across regions"),
    "pivot": ("tui.cli_pivot", "follow an event, key, principal, IP, user agent or resource"),
    "detect": ("tui.cli_detect", "run the built-in rules and Sigma rules; print findings"),
    "validate": ("tui.cli_validate", "check CloudTrail digest chains and log file hashes"),
    "collect": ("tui.cli_collect", "make a forensic copy of an S3 CloudTrail archive"),
    "case": ("tui.cli_case", "verify the journal; add and list notes, bookmarks, findings, IOCs"),
    "rebuild": ("tui.cli_rebuild", "recreate a case's event store from its recorded sources"),
    "export": ("tui.cli_export", "write the case timeline or report (CSV, Timesketch, HTML, STIX...)"),
    "sql": ("tui.cli_sql", "run SQL against the case (Athena column names in cloudtrail_logs)"),
    "simulate": ("tui.cli_simulate", "write a synthetic breach scenario as CloudTrail logs"),
}

USAGE = """usage: trailhound [SOURCE...] [--case DIR]     open the workbench
       trailhound COMMAND [options]             run headless (COMMAND --help for details)

commands:
""" + "\n".join(f"  {name:<10} {text}" for name, (_, text) in SUBCOMMANDS.items())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args and args[0] in ("-V", "--version"):
        from investigations import __version__

        print(f"trailhound {__version__}")
        return 0
    if args and args[0] in SUBCOMMANDS:
        module_name = SUBCOMMANDS[args[0]][0]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return fail(f"`{args[0]}` is not available in this build")
            raise
        entry = module.run
    else:
        from tui.cli_open import run as entry
    try:
        return int(entry(args[1:] if args and args[0] in SUBCOMMANDS else args))
    except UsageError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
