"""Coverage and blind spots: per account x region x hour, how much of the record can be trusted.

A responder's conclusion "nothing happened between 02:00 and 04:00" is only as good as the logs
for those hours. Each hour of each account and region gets the events that came from validated,
unvalidated and tampered files (by the latest validation verdicts in the store, see casefile.py),
or "no-logs"; and windows where the record is known to be incomplete are laid over it: logging
stopped (StopLogging until StartLogging), trail deleted, event selectors changed (from the events
themselves), and digest gaps or missing newest digests (from the latest validation run).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from investigations.integrity.casefile import TAMPERED, UNVALIDATED, VALIDATED, has_validation
from investigations.store import EventStore
from investigations.timeparse import iso

_HOUR = timedelta(hours=1)
_TRAIL_CHANGES = (
    "StopLogging",
    "StartLogging",
    "DeleteTrail",
    "CreateTrail",
    "PutEventSelectors",
    "UpdateTrail",
    "PutInsightSelectors",
)
#: Validation findings that mark a period the digests do not vouch for.
_DIGEST_WINDOWS = {"gap": "digest-gap", "newest-digest-missing": "digests-missing", "chain-ends": "digests-end"}


@dataclass(frozen=True, slots=True)
class Window:
    """A period the record is incomplete or suspect. None for account/region means all of them."""

    kind: str
    start: datetime
    end: datetime
    account: str | None
    region: str | None
    detail: str
    event_id: str | None = None

    def covers(self, account: str, region: str, hour: datetime) -> bool:
        if self.account not in (None, account) or self.region not in (None, region):
            return False
        if self.start == self.end:
            return hour <= self.start < hour + _HOUR
        return self.start < hour + _HOUR and self.end > hour

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": iso(self.start),
            "end": iso(self.end),
            "account": self.account,
            "region": self.region,
            "detail": self.detail,
            "event_id": self.event_id,
        }


def _trail(name: str | None) -> str:
    """A trail named by ARN or by name, reduced to its name (both spellings occur in requests)."""
    return (name or "?").rsplit("/", 1)[-1]


def logging_windows(store: EventStore, until: datetime) -> list[Window]:
    """Windows from CloudTrail's own management events. A stop is applied to the whole account
    (a multi-region trail stops everywhere), and runs to the next start, or to ``until``."""
    _cols, rows = store.sql(
        "SELECT e.event_time, e.event_name, e.recipient_account_id, e.event_id, "
        "coalesce(json_extract_string(r.raw, '$.requestParameters.name'), "
        "json_extract_string(r.raw, '$.requestParameters.trailName')) "
        "FROM events e JOIN raw_events r ON r.rid = e.rid "
        "WHERE e.event_source = 'cloudtrail.amazonaws.com' AND e.error_code IS NULL "
        f"AND e.event_name IN ({', '.join('?' for _ in _TRAIL_CHANGES)}) ORDER BY e.event_time, e.event_id",
        list(_TRAIL_CHANGES),
    )
    windows: list[Window] = []
    open_since: dict[tuple[str, str], tuple[str, datetime, str]] = {}
    for moment, name, account, event_id, trail_name in rows:
        trail = _trail(trail_name)
        slot = (account, trail)
        if name in ("StopLogging", "DeleteTrail"):
            open_since.setdefault(
                slot, ("logging-stopped" if name == "StopLogging" else "trail-deleted", moment, event_id)
            )
        elif name in ("StartLogging", "CreateTrail") and slot in open_since:
            kind, began, opener = open_since.pop(slot)
            windows.append(Window(kind, began, moment, account, None, f"trail {trail}: {kind} until {name}", opener))
        elif name in ("PutEventSelectors", "UpdateTrail", "PutInsightSelectors"):
            windows.append(
                Window(
                    "selectors-changed",
                    moment,
                    moment,
                    account,
                    None,
                    f"trail {trail}: {name} (what is logged may have changed)",
                    event_id,
                )
            )
    for (account, trail), (kind, began, opener) in open_since.items():
        windows.append(
            Window(
                kind,
                began,
                max(until, began),
                account,
                None,
                f"trail {trail}: {kind}, not restarted in the record",
                opener,
            )
        )
    return windows


def digest_windows(store: EventStore) -> list[Window]:
    """Windows from the latest validation run's chain findings."""
    if not has_validation(store):
        return []
    _cols, rows = store.sql(
        'SELECT kind, account, region, start, "end", detail FROM validation_findings '
        'WHERE run = (SELECT max(run) FROM validation_runs) AND start IS NOT NULL AND "end" IS NOT NULL'
    )
    return [
        Window(_DIGEST_WINDOWS[kind], start, end, account, region, detail)
        for kind, account, region, start, end, detail in rows
        if kind in _DIGEST_WINDOWS
    ]


def coverage(store: EventStore, start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """The coverage grid as plain JSON-able data (see the module docstring)."""
    verdicts = (
        "LEFT JOIN file_integrity fi ON fi.file_id = e.file_id"
        if has_validation(store)
        else "LEFT JOIN (SELECT NULL::INTEGER AS file_id, NULL::VARCHAR AS status) fi ON FALSE"
    )
    _cols, rows = store.sql(
        "SELECT e.recipient_account_id, e.aws_region, date_trunc('hour', e.event_time), "
        f"coalesce(fi.status, '{UNVALIDATED}'), count(*), count(DISTINCT e.file_id) "
        f"FROM events e {verdicts} "
        "WHERE e.event_time >= ? AND e.event_time < ? GROUP BY ALL",
        [start or datetime.min, end or datetime.max],
    )
    counts: dict[tuple[str, str, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    pairs: set[tuple[str, str]] = set()
    for account, region, hour, status, events, files in rows:
        account, region = account or "?", region or "?"
        pairs.add((account, region))
        cell = counts[(account, region, hour)]
        cell[status] += events
        cell["files"] += files
    hours = [key[2] for key in counts]
    first = _floor(start) if start else min(hours, default=None)
    last = _floor(end - timedelta(microseconds=1)) if end else max(hours, default=None)
    if first is None or last is None:
        return {"range": {"start": iso(start), "end": iso(end)}, "buckets": [], "windows": [], "totals": {}}
    windows = logging_windows(store, last + _HOUR) + digest_windows(store)
    buckets: list[dict[str, Any]] = []
    totals: dict[str, int] = defaultdict(int)
    for account, region in sorted(pairs):
        hour = first
        while hour <= last:
            cell = counts.get((account, region, hour), {})
            state = next((s for s in (TAMPERED, UNVALIDATED, VALIDATED) if cell.get(s)), "no-logs")
            marks = sorted({w.kind for w in windows if w.covers(account, region, hour)})
            totals[state] += 1
            for mark in marks:
                totals[mark] += 1
            buckets.append(
                {
                    "account": account,
                    "region": region,
                    "hour": iso(hour),
                    "state": state,
                    "events": sum(cell.get(s, 0) for s in (TAMPERED, UNVALIDATED, VALIDATED)),
                    VALIDATED: cell.get(VALIDATED, 0),
                    UNVALIDATED: cell.get(UNVALIDATED, 0),
                    TAMPERED: cell.get(TAMPERED, 0),
                    "files": cell.get("files", 0),
                    "windows": marks,
                }
            )
            hour += _HOUR
    return {
        "range": {"start": iso(first), "end": iso(last + _HOUR)},
        "buckets": buckets,
        "windows": [w.as_dict() for w in sorted(windows, key=lambda w: (w.start, w.kind))],
        "totals": dict(totals),
    }


def _floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
