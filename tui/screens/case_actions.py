"""The workbench's case-file keys: ``b`` bookmark, ``n`` note, ``f`` add to a finding; and row marks.

Every change goes through ``investigations.casefile``, which journals and saves it before
returning, so nothing typed here can be lost to a crash. Marks in the timeline's gutter show
bookmarked events and events in detections, most severe first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from investigations import casefile
from investigations.textsafe import clean
from tui.messages import CaseChanged
from tui.screens.dialogs import FindingChoice, FindingDialog, NoteDialog
from tui.widgets.timeline import Mark

if TYPE_CHECKING:
    from investigations.case import Case
    from investigations.detections import Finding as Detection
    from tui.reader import Reader

#: Gutter glyphs by ``Severity`` value, critical (4) to info (0).
SEVERITY_MARK = {4: "◆", 3: "◆", 2: "◇", 1: "·", 0: "·"}


#: Beyond this many events from files no digest vouches for, only tampered ones are marked (a
#: case never validated would otherwise mark every row, which says nothing).
UNVALIDATED_MARKS = 200_000


def integrity_marks(reader: Reader) -> dict[int, Mark]:
    """Events from files validation found tampered ("✗"), or did not cover ("?"), once a
    ``trailhound validate --case`` run exists; nothing before, when every file is unvalidated."""
    from investigations.integrity.casefile import has_validation

    if not has_validation(reader.store):
        return {}
    counts = dict(
        reader.fetch(
            "SELECT fi.status, count(*) FROM events e JOIN file_integrity fi USING (file_id) "
            "WHERE fi.status IN ('tampered', 'unvalidated') GROUP BY 1"
        )
    )
    wanted = ["tampered"] + (["unvalidated"] if counts.get("unvalidated", 0) <= UNVALIDATED_MARKS else [])
    rows = reader.fetch(
        "SELECT e.seq, fi.status FROM events e JOIN file_integrity fi USING (file_id) "
        "WHERE fi.status IN (SELECT unnest(?::VARCHAR[]))",
        [wanted],
    )
    return {
        seq: ("✗", "timeline--tampered") if status == "tampered" else ("?", "timeline--unvalidated")
        for seq, status in rows
    }


def compute_marks(reader: Reader, case: Case) -> dict[int, Mark]:
    """Gutter marks per seq: evidence integrity, then detections (when current), then bookmarks
    (which win: they are yours)."""
    from investigations.detections import findings_stale

    marks: dict[int, Mark] = integrity_marks(reader)
    store = reader.store
    tables = {t for (t,) in reader.fetch("SELECT table_name FROM duckdb_tables()")}
    if "finding_events" in tables and not findings_stale(store):
        for seq, severity in reader.fetch("SELECT seq, max(severity) FROM finding_events GROUP BY seq"):
            marks[seq] = (SEVERITY_MARK[int(severity)], "timeline--finding")
    ids = [b.event_id for b in casefile.items(case, "bookmark") if isinstance(b, casefile.Bookmark)]
    if ids:
        for (seq,) in reader.fetch("SELECT seq FROM events WHERE event_id IN (SELECT unnest(?::VARCHAR[]))", [ids]):
            marks[seq] = ("★", "timeline--bookmark")
    return marks


class CaseDesk:
    """What the case keys do, for one screen that knows the case and the selected event."""

    def __init__(self, screen: Screen[Any], case: Case, current: Callable[[], dict[str, Any] | None]) -> None:
        self.screen = screen
        self.case = case
        self.current = current

    def _done(self, message: str) -> None:
        self.screen.notify(message, timeout=3, markup=False)
        self.screen.post_message(CaseChanged())

    def bookmark(self) -> None:
        row = self.current()
        if row is None:
            self.screen.notify("Select an event to bookmark", severity="warning", timeout=3)
            return
        self._done(f"Bookmarked as {casefile.add_bookmark(self.case, row['event_id']).id}")

    def note(self) -> None:
        row = self.current()
        about = f"event:{row['event_id']}" if row else None

        def save(text: str | None) -> None:
            if text:
                self._done(f"Note {casefile.add_note(self.case, text, about).id} saved")

        self.screen.app.push_screen(NoteDialog(about or "the case"), save)

    def add_event(self) -> None:
        row = self.current()
        if row is None:
            self.screen.notify("Select an event to add to a finding", severity="warning", timeout=3)
            return
        title = f"{row.get('event_name') or 'Event'} by {row.get('identity_arn') or '?'}"
        self.choose([row["event_id"]], title, "high")

    def promote(self, detection: Detection) -> None:
        """Make a detection a case finding (or add its events to one)."""
        extra = {"rule_id": detection.rule_id, "technique": detection.technique or None}
        self.choose(detection.event_ids, detection.title, detection.severity.label, **extra)

    def choose(self, event_ids: list[str], title: str, severity: str, **extra: Any) -> None:
        existing = [
            (f.id, f.title, f.severity) for f in casefile.items(self.case, "finding") if isinstance(f, casefile.Finding)
        ]

        def apply(choice: FindingChoice | None) -> None:
            if choice is None:
                return
            if choice[0] == "existing":
                finding = casefile.get(self.case, choice[1])
                merged = list(dict.fromkeys([*getattr(finding, "event_ids", []), *event_ids]))
                casefile.edit(self.case, finding.id, event_ids=merged)
                fid = finding.id
            else:
                fid = casefile.add_finding(self.case, choice[1], choice[2], event_ids=event_ids, **extra).id
            self._done(f"{len(event_ids)} event(s) in finding {fid}")

        self.screen.app.push_screen(FindingDialog(existing, clean(title, 200), severity), apply)
