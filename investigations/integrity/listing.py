"""One pass over a source: digests to load and an index of log files, within a scope.

Shared by the digest walk (which needs the digests), the log check (which finds listed logs by
logical key, or by file name when moved) and the blind-spot search (which needs every log).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from investigations.integrity.chain import Loaded
from investigations.integrity.layout import LogName, basename, parse_digest_key, parse_log_key
from investigations.integrity.objects import LocalTree, ObjectRef, S3Tree, Scope


@dataclass(slots=True)
class Listing:
    """Digests in scope (aws-cli's window: ending in [start, end + 1 h]) and every log found."""

    digests: list[Loaded]
    logs: dict[str, tuple[LogName, ObjectRef]]  # by logical key
    by_name: dict[str, list[ObjectRef]]  # log refs by file name


def list_source(source: LocalTree | S3Tree, scope: Scope) -> Listing:
    """Classify every object the source lists; objects that are neither log nor digest are ignored."""
    digests: list[Loaded] = []
    logs: dict[str, tuple[LogName, ObjectRef]] = {}
    by_name: dict[str, list[ObjectRef]] = defaultdict(list)
    late = scope.end + timedelta(hours=1) if scope.end else None
    for ref in source.scan(scope):
        name = parse_digest_key(ref.key)
        if name is not None:
            chain = name.chain
            if (scope.accounts and chain.account not in scope.accounts) or (
                scope.regions and chain.region not in scope.regions
            ):
                continue
            if (scope.start and name.end < scope.start) or (late and name.end > late):
                continue
            digests.append(Loaded(name, ref))
            continue
        log = parse_log_key(ref.key)
        if log is not None:
            logs[ref.logical] = (log, ref)
            by_name[basename(ref.key)].append(ref)
    return Listing(digests, logs, by_name)


def in_scope(name: LogName, scope: Scope) -> bool:
    """Whether a log's account, region and delivery time fall inside the scope."""
    return not (
        (scope.accounts and name.account not in scope.accounts)
        or (scope.regions and name.region not in scope.regions)
        or (scope.start and name.delivered < scope.start)
        or (scope.end and name.delivered > scope.end)
    )
