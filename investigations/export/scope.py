"""Which events an export covers: the whole case, the findings, the bookmarks, a pivot, a filter.

A scope resolves to a SQL condition over ``events`` rather than a list of rows, so exporting a
million-event case streams straight from DuckDB; ``seqs()`` turns it into time-order numbers for
callers (the TUI) that want them. Spelled on the command line as::

    all | findings | finding:F-2 | bookmarks | pivot:key=AKIA… | pivot:principal=ARN
    pivot:ip=203.0.113.7 | pivot:ua=TEXT | filter:<filter language> | where:<SQL condition>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from investigations.casefile.items import Bookmark, Finding
from investigations.casefile.ops import get, items
from investigations.casefile.sightings import key_family

if TYPE_CHECKING:
    from investigations.case import Case

SCOPE_HELP = (
    "all, findings, finding:F-N, bookmarks, pivot:key=AKIA..., pivot:principal=ARN, pivot:ip=IP, pivot:ua=TEXT, "
    "filter:<filter expression>, where:<SQL condition over events>"
)


class ScopeError(ValueError):
    """A scope that cannot be resolved; the message shows the accepted spellings."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Events chosen for an export: a condition for ``WHERE``, its parameters, and a label."""

    where: str
    params: tuple[Any, ...]
    label: str


def _ids(event_ids: list[str], label: str) -> Selection:
    return Selection("event_id IN (SELECT unnest(?))", (event_ids,), label)


def _pivot(case: Case, spec: str) -> Selection:
    what, sep, value = spec.partition("=")
    if not sep or not value:
        raise ScopeError(f"pivot scope {spec!r} needs WHAT=VALUE, e.g. pivot:key=AKIA...")
    label = f"pivot:{what}={value}"
    if what == "key":
        # Calls made with the key and every key minted down its line, and the calls (both
        # account copies) that minted each of them.
        keys = key_family(case.store, value)
        return Selection(
            "(access_key_id IN (SELECT unnest(?)) OR issued_key IN (SELECT unnest(?)))", (keys, keys), label
        )
    if what == "principal":
        return Selection("(identity_arn = ? OR session_issuer_arn = ? OR issued_arn = ?)", (value,) * 3, label)
    if what == "ip":
        return Selection("source_ip = ?", (value,), label)
    if what == "ua":
        return Selection("user_agent = ?", (value,), label)
    raise ScopeError(f"unknown pivot {what!r}: use key=, principal=, ip= or ua=")


def _filter(case: Case, expr: str) -> Selection:
    from investigations.query import QueryError, parse

    def addresses() -> list[str]:
        return [ip for ip, _ in case.store.distinct("source_ip", "source_ip IS NOT NULL", limit=1_000_000)]

    try:
        compiled = parse(expr, ips=addresses, search=case.store.text_index.search)  # the index when current
    except QueryError as exc:
        raise ScopeError(f"filter {expr!r}: {exc.message} (at character {exc.position + 1})") from None
    return Selection(compiled.where, tuple(compiled.params), f"filter:{expr}")


def _where(case: Case, condition: str) -> Selection:
    """A raw SQL condition, planned once here so a mistake is reported before any file is written."""
    import duckdb

    try:
        case.store.sql(f"SELECT 1 FROM events WHERE ({condition}) LIMIT 0")
    except duckdb.Error as exc:
        raise ScopeError(f"where: {str(exc).splitlines()[0]}") from None
    return Selection(f"({condition})", (), f"where:{condition}")


def resolve(case: Case, scope: str | None) -> Selection:
    """The events ``scope`` names in this case; raises ScopeError with the accepted forms."""
    text = (scope or "all").strip()
    head, _, rest = text.partition(":")
    if text in ("all", "case"):
        return Selection("TRUE", (), "all")
    if text == "findings":
        ids = [e for f in items(case, "finding") if isinstance(f, Finding) for e in f.event_ids]
        return _ids(list(dict.fromkeys(ids)), "findings")
    if head == "finding" and rest:
        try:
            finding = get(case, rest)
        except ValueError as exc:
            raise ScopeError(str(exc)) from None
        if not isinstance(finding, Finding):
            raise ScopeError(f"{rest} is not a finding")
        return _ids(finding.event_ids, f"finding:{finding.id}")
    if text == "bookmarks":
        return _ids([b.event_id for b in items(case, "bookmark") if isinstance(b, Bookmark)], "bookmarks")
    if head == "pivot":
        return _pivot(case, rest)
    if head == "filter" and rest.strip():
        return _filter(case, rest)
    if head == "where" and rest.strip():
        return _where(case, rest)
    raise ScopeError(f"unknown scope {text!r}; use one of: {SCOPE_HELP}")


def seqs(case: Case, scope: str | None) -> list[int]:
    """Time-order numbers of the scope's events (for the TUI to highlight or page through)."""
    selection = resolve(case, scope)
    return case.store.seqs(selection.where, selection.params)
