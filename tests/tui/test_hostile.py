"""Log strings render as data: markup stays literal, escapes and bidi overrides show as text.

The scenario's E9..E12 carry the hostile values (tests/tui/scenario.py); what is asserted is the
text the terminal would show, straight from the compositor.
"""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.conftest import SIZE, screen_text, settle
from tui.widgets.detail import DetailPane
from tui.widgets.timeline import Timeline


async def select(pilot, index: int) -> str:
    pilot.app.screen.query_one(Timeline).cursor = index
    await pilot.press("enter")
    await settle(pilot)
    return screen_text(pilot.app)


def detail_json(app) -> str:
    """The whole record as the detail pane holds it (the screen shows only its top)."""
    return app.screen.query_one("#detail-json", Static).content.plain


def assert_inert(text: str) -> None:
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in text


async def test_markup_in_a_user_agent_shows_literally(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = await select(pilot, 8)  # E9
        assert "[bold red]x[/] Boto3/1.34" in text
        assert_inert(text)


async def test_terminal_escapes_are_neutralised(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = await select(pilot, 9)  # E10: title-setting OSC in the agent, ESC[2J in a request parameter
        assert "\\x1b]0;pwn\\x07curl/8.0" in text
        record = detail_json(app)
        assert '"key": "[link=http://evil]click[/link]\\u001b[2J"' in record
        assert_inert(text + record)
        text = await select(pilot, 10)  # E11: clear-screen CSI
        assert "\\x1b[2Jpython-requests/2.31" in text
        assert_inert(text)


async def test_bidi_override_and_a_50kb_agent_keep_the_layout(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = await select(pilot, 11)  # E12: U+202E then 50,000 'A'
        assert "\\u202egnp.exeAAAA" in text
        record = detail_json(app)
        assert '"userAgent": "aws-cli/2.15 \\u202egnp.exeAAAA' in record
        assert max(len(line) for line in record.splitlines()) == 2000
        assert_inert(text + record)
        detail = app.screen.query_one(DetailPane)
        # the facts cap the agent at 400 cells and the JSON lines at 2,000: a few wrapped lines, not 300
        assert detail.virtual_size.height < 60
        lines = text.splitlines()
        assert len(lines) == SIZE[1] and all(len(line) <= SIZE[0] for line in lines)
        assert "TIME (UTC)" in text  # the grid is still where it was


async def test_pivot_on_a_hostile_agent_keeps_it_inert(app):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(Timeline).cursor = 9  # E10
        await pilot.press("u")
        await settle(pilot)
        text = screen_text(app)
        assert "\\x1b]0;pwn\\x07curl/8.0" in text  # profile heading and breadcrumb
        assert_inert(text)
        assert len(app.screen.query_one(Timeline).rows) == 1
