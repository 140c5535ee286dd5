"""Times as responders type them: ISO 8601, a bare date, or "7d" / "12h" / "30m" ago.

Everything inside Trailhound is naive UTC (CloudTrail's own convention); an input with an
offset is converted to UTC, an input without one is taken as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """Parse one time; raises ValueError with an example of what is accepted."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        amount, unit = match.groups()
        base = now or datetime.now(UTC).replace(tzinfo=None)
        return (base - timedelta(**{_UNITS[unit]: int(amount)})).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(
            f"cannot read time {text!r}: use ISO 8601 (2024-05-01T08:00:00Z, 2024-05-01) "
            "or an age such as 7d, 12h, 30m"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def iso(moment: datetime | None) -> str | None:
    """The CloudTrail spelling of a naive-UTC time."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")
