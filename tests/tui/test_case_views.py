"""Detections, the case panel (b, n, f), the SQL console and coverage, driven by keys.

Scenario: tests/tui/scenario.py. E6 is the stolen session deleting the trail, which CIS 4.5
("CloudTrail configuration changed") exists to catch; it is the only high-severity behaviour.
"""

from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList, TextArea

from investigations import casefile
from tests.tui.conftest import SIZE, screen_text, settle
from tui.screens.dialogs import FindingDialog, NoteDialog, TextDialog
from tui.widgets.findings_view import FindingsPane
from tui.widgets.timeline import Timeline

E6 = "00000000-0000-4000-8000-000000000006"
E9 = "00000000-0000-4000-8000-000000000009"


def names(app) -> list[str]:
    timeline = app.screen.query_one(Timeline)
    return [timeline.rows.get(i)["event_name"] for i in range(len(timeline.rows))]


async def test_detections_by_severity_open_events_and_alarm(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("F")
        await settle(pilot)
        assert "press D to run the rule pack" in screen_text(app)
        await pilot.press("D")
        await settle(pilot)
        pane = app.screen.query_one(FindingsPane)
        severities = [int(f.severity) for f in pane.findings]
        assert severities == sorted(severities, reverse=True)
        top = pane.findings[0]
        assert top.severity.label == "high" and "CloudTrail configuration changed" in top.title
        assert top.event_ids == [E6]
        await pilot.press("a")
        assert isinstance(app.screen, TextDialog)
        alarm = screen_text(app)
        assert "EventBridge event pattern" in alarm and "DeleteTrail" in alarm
        await pilot.press("escape")
        await pilot.press("enter")
        await settle(pilot)
        assert names(app) == ["DeleteTrail"]
        assert app.screen.query_one(Timeline).render_line(1).text.startswith("◆")


async def test_bookmark_note_and_finding_from_the_timeline(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(Timeline).cursor = 5  # E6
        await pilot.press("b")
        await settle(pilot)
        assert app.screen.query_one(Timeline).render_line(6).text.startswith("★")
        await pilot.press("n")
        assert isinstance(app.screen, NoteDialog)
        app.screen.query_one(Input).value = "trail deleted [bold]from[/] the stolen session"
        await pilot.press("enter")
        await pilot.press("f")
        assert isinstance(app.screen, FindingDialog)
        app.screen.query_one("#finding-title", Input).value = "Trail deleted by intruder"
        app.screen.query_one("#finding-title", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one(Timeline).cursor = 8  # E9: add it to the same finding
        await pilot.press("f")
        app.screen.query_one("#finding-existing", OptionList).focus()
        await pilot.press("enter")
        await settle(pilot)
        case = app.case
        [bookmark] = casefile.items(case, "bookmark")
        [note] = casefile.items(case, "note")
        [finding] = casefile.items(case, "finding")
        assert bookmark.event_id == E6
        assert note.text == "trail deleted [bold]from[/] the stolen session"
        assert note.about == {"kind": "event", "value": E6}
        assert (finding.title, finding.severity, finding.event_ids) == ("Trail deleted by intruder", "high", [E6, E9])
        await pilot.press("C")
        await settle(pilot)
        text = screen_text(app)
        assert "trail deleted [bold]from[/] the stolen session" in text
        assert "1 findings · 1 bookmarks · 1 notes" in text
        listing = app.screen.query_one("#case-items", OptionList)
        listing.highlighted = 1  # F-1, under the Findings heading
        await pilot.press("enter")
        await settle(pilot)
        assert names(app) == ["DeleteTrail", "ListBuckets"]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        listing.highlighted = 3  # B-1
        await pilot.press("enter")
        await settle(pilot)
        assert len(names(app)) == 12
        assert app.screen.query_one(Timeline).current["event_id"] == E6


async def test_promoting_a_detection_to_a_case_finding(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("F", "D")
        await settle(pilot)
        await pilot.press("f")
        assert isinstance(app.screen, FindingDialog)
        app.screen.query_one("#finding-title", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        [finding] = casefile.items(app.case, "finding")
        assert finding.severity == "high" and finding.event_ids == [E6] and finding.rule_id


async def test_sql_console_results_and_errors(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("S")
        editor = app.screen.query_one(TextArea)
        editor.text = "SELECT sourceipaddress, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY n DESC, 1"
        await pilot.press("ctrl+r")
        await settle(pilot)
        table = app.screen.query_one("#sql-results", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        # 198.51.100.7: E1 E2 E10 E11 E12; 2001:db8::5: E6-E9; .50: E3 E4; .51: E5
        assert rows == [["198.51.100.7", "5"], ["2001:db8::5", "4"], ["203.0.113.50", "2"], ["203.0.113.51", "1"]]
        assert "4 rows" in screen_text(app)
        editor.text = "SELECT useragent FROM cloudtrail_logs WHERE eventname = 'DescribeInstances'"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert str(table.get_row_at(0)[0]) == "\\x1b[2Jpython-requests/2.31"  # E11's agent, neutralised
        editor.text = "SELECT nosuchcolumn FROM cloudtrail_logs"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "✗ Binder Error" in screen_text(app)


async def test_coverage_view(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("V")
        await settle(pilot)
        text = screen_text(app)
        # events 08:00-09:40 in three account/regions; the trail deleted at 09:05 in 222222222222
        assert "2024-05-01T08:00:00Z → 2024-05-01T10:00:00Z" in text
        assert "111111111111 us-east-1" in text and "222222222222 eu-west-1" in text
        assert "trail-deleted" in text and "2024-05-01T09:05:00Z" in text
