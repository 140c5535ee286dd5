"""The profile shows ASN and country beside each address, from the shipped data, as data.

alice calls from 8.8.8.8 (Google Public DNS: AS15169, US), from 10.0.0.5 (a VPC address: internal)
and from 203.0.113.9 (documentation space: nobody's).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.engine.detect_records import S3, alice, at, case_with, world
from tests.tui.conftest import SIZE, screen_text, settle
from tests.tui.test_pivots import pivot_from
from tui.app import make_app
from tui.pivots import Item
from tui.widgets.profile import ProfilePanel, _line


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    a = alice(world(), ip="8.8.8.8")
    records = [
        a.call(S3, "ListBuckets", at(0)),
        a.at(ip="10.0.0.5").call(S3, "ListBuckets", at(1)),
        a.at(ip="10.0.0.5").call(S3, "ListBuckets", at(2)),
        a.at(ip="203.0.113.9").call(S3, "ListBuckets", at(3)),
    ]
    return case_with(tmp_path, records)


async def test_addresses_in_a_profile_carry_asn_and_country(case_dir: Path, tmp_path: Path) -> None:
    app = make_app(case_dir=case_dir, data_dir_path=tmp_path / "data")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pivot_from(pilot, 0, "a")
        panel = app.screen.query_one(ProfilePanel)
        assert panel.profile is not None
        ips = {i.value: i.note for title, _, items in panel.profile.sections if title == "Source IPs" for i in items}
        assert ips["10.0.0.5"] == "internal" and ips["203.0.113.9"] == ""
        assert ips["8.8.8.8"].startswith("AS15169 ") and ips["8.8.8.8"].endswith(" · US")
        shown = screen_text(app)
        assert "8.8.8.8  AS15169 " in shown and "10.0.0.5  internal" in shown


def test_a_note_is_rendered_as_data() -> None:
    """An .mmdb a responder was handed names the operator; its text is shown, never obeyed."""
    when = datetime(2024, 5, 1, 8, 0)
    item = Item("ip", "198.51.100.7", 3, when, when, False, "AS64500 Evil\x1b[2J Corp · NZ")
    plain = _line(item).plain
    assert "\x1b" not in plain and "AS64500 Evil\\x1b[2J Corp · NZ" in plain
    assert plain.index("3 ") == _line(Item("ip", "198.51.100.7", 3, when, when, False)).plain.index("3 ")
