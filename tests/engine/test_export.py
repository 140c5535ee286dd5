"""Every export format read back: the timeline files parsed, the reports checked, the indicator and
technique files checked for the fields their consumers require. Expected values are read off the
shared scenario by hand (test_case_scenario) plus the case items made here:

F-1 high T1078.004 on events 0 and 1 (alice's key); F-2 critical T1530 on event 5 (the session
after containment); F-3 low T1087.004 on event 4 (bob), marked a false positive. Event 3 is
bookmarked, the attacker IP is tagged "attacker", alice's key was disabled at 09:00.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from investigations import casefile as cf
from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.export import csv_timeline, export, rows
from investigations.export.scope import ScopeError, resolve
from investigations.integrity import result as r
from investigations.integrity.casefile import record_validation
from tests.engine.test_case_scenario import ATTACKER_IP, Scenario, build


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build(tmp_path_factory.mktemp("evidence"))


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, world: Scenario) -> Iterator[Case]:
    with Case.open(tmp_path_factory.mktemp("cases") / "incident-42") as opened:
        ingest_sources(opened, [str(world.path)], SourceOptions(workers=0))
        cf.add_finding(
            opened,
            "Key used from VPS",
            "high",
            technique="T1078.004",
            event_ids=[world.event_id(0), world.event_id(1)],
            entities=[("access_key", world.alice_key)],
            narrative="alice's key listed users,\nthen assumed Audit.",
        )
        cf.add_finding(
            opened,
            "Session used after containment",
            "critical",
            technique="T1530",
            event_ids=[world.event_id(5)],
            entities=[("session", world.session_key)],
        )
        cf.add_finding(
            opened,
            "bob enumerates",
            "low",
            status="false_positive",
            technique="T1087.004",
            event_ids=[world.event_id(4)],
        )
        cf.add_bookmark(opened, world.event_id(3), "first use of the session")
        cf.add_tag(opened, ("ip", ATTACKER_IP), "attacker")
        cf.add_ioc(opened, "ip", ATTACKER_IP)
        cf.add_ioc(opened, "access_key", world.session_key, note="minted from alice's key")
        cf.add_containment(opened, "disable_key", world.alice_key, at="2024-05-01T09:00:00Z")
        yield opened


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_timeline_carries_events_in_time_order_with_the_case_marks(case: Case, world: Scenario) -> None:
    result = export(case, "csv", out=case.root / "out" / "all.csv")
    table = _csv(result.path)
    assert result.items == 6
    assert list(table[0]) == list(rows.TIMELINE_FIELDS)
    assert [r["event_id"] for r in table] == [world.event_id(i) for i in range(6)]
    assert table[0]["event_time"] == "2024-05-01T08:00:00Z"
    assert [r["after_containment"] for r in table] == ["false"] * 5 + ["true"]
    assert [r["findings"] for r in table] == ["F-1", "F-1", "", "", "F-3", "F-2"]
    assert [r["bookmark"] for r in table] == ["", "", "", "first use of the session", "", ""]
    assert [r["tags"] for r in table] == ["attacker"] * 4 + [""] + ["attacker"]
    assert table[1]["issued_key"] == world.session_key
    assert table[1]["resources"] == "arn:aws:iam::444455556666:role/Audit"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("findings", [0, 1, 4, 5]),
        ("finding:F-2", [5]),
        ("bookmarks", [3]),
        ("pivot:principal=arn:aws:iam::111122223333:user/bob", [4]),
        ("pivot:ip=192.0.2.20", [4]),
        ("filter:name:ListBuckets", [3, 5]),
        ("filter:ip:203.0.113.0/24 -source:s3", [0, 1, 2]),
        ("where:aws_region = 'eu-west-1'", [4]),
        ("all", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_scopes_select_the_events_they_name(case: Case, world: Scenario, scope: str, expected: list[int]) -> None:
    result = export(case, "jsonl", scope=scope, out=case.root / "out" / "scoped.jsonl")
    lines = [orjson.loads(line) for line in Path(result.path).read_bytes().splitlines()]
    assert [line["event_id"] for line in lines] == [world.event_id(i) for i in expected]


def test_pivot_on_a_key_follows_the_sessions_it_minted(case: Case, world: Scenario) -> None:
    result = export(case, "csv", scope=f"pivot:key={world.alice_key}", out=case.root / "out" / "pivot.csv")
    # alice's calls, both copies of the AssumeRole that minted the session, and the session's calls.
    assert [r["event_id"] for r in _csv(result.path)] == [world.event_id(i) for i in (0, 1, 2, 3, 5)]


def test_bad_scopes_are_refused_before_anything_is_written(case: Case) -> None:
    for scope, message in (
        ("everything", "unknown scope"),
        ("filter:name:(", "filter"),
        ("where:no_such_column = 1", "no_such_column"),
        ("finding:N-1", "no note N-1|not a finding"),
    ):
        with pytest.raises(ScopeError, match=message):
            export(case, "csv", scope=scope, out=case.root / "out" / "never.csv")
    with pytest.raises(ScopeError, match="takes no --scope"):
        export(case, "stix", scope="findings")
    assert not (case.root / "out" / "never.csv").exists()


def test_jsonl_keeps_each_original_record_without_secrets(case: Case, world: Scenario) -> None:
    result = export(case, "jsonl", out=case.root / "out" / "all.jsonl")
    lines = [orjson.loads(line) for line in Path(result.path).read_bytes().splitlines()]
    assert [line["record"]["eventID"] for line in lines] == [world.event_id(i) for i in range(6)]
    assert lines[5]["after_containment"] is True and lines[5]["findings"] == ["F-2"]
    original = world.records[1]
    assert lines[1]["record"]["userAgent"] == original["userAgent"]
    assert lines[1]["record"]["responseElements"]["credentials"]["accessKeyId"] == world.session_key
    assert "sessionToken" not in lines[1]["record"]["responseElements"]["credentials"]


def test_timesketch_lines_have_the_required_fields(case: Case) -> None:
    result = export(case, "timesketch", out=case.root / "out" / "ts.jsonl")
    lines = [orjson.loads(line) for line in Path(result.path).read_bytes().splitlines()]
    assert len(lines) == 6
    first = lines[0]
    assert first["message"] == "iam.amazonaws.com:ListUsers by arn:aws:iam::111122223333:user/alice from 203.0.113.7"
    assert first["datetime"] == "2024-05-01T08:00:00+00:00"
    assert first["timestamp"] == 1714550400000000
    assert first["timestamp_desc"] == "Event Time"
    assert first["tag"] == ["attacker"]
    assert all(isinstance(v, str | int | bool | list) for line in lines for v in line.values())
    assert lines[5]["after_containment"] is True


def test_navigator_layer_scores_techniques_by_their_worst_finding(case: Case) -> None:
    result = export(case, "navigator", out=case.root / "out" / "layer.json")
    layer = orjson.loads(Path(result.path).read_bytes())
    assert layer["domain"] == "enterprise-attack"
    assert set(layer["versions"]) == {"attack", "navigator", "layer"}
    assert layer["name"] == "Trailhound: incident-42"
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(by_id) == {"T1078", "T1078.004", "T1530"}  # the false positive's T1087.004 is left out
    assert (by_id["T1078.004"]["score"], by_id["T1530"]["score"]) == (4, 5)
    assert by_id["T1078"]["showSubtechniques"] is True
    assert by_id["T1530"]["comment"] == "F-2 Session used after containment (critical, open)"


def test_stix_bundle_has_the_required_properties_and_stable_ids(case: Case, world: Scenario) -> None:
    first = orjson.loads(Path(export(case, "stix", out=case.root / "out" / "a.json").path).read_bytes())
    again = orjson.loads(Path(export(case, "stix", out=case.root / "out" / "b.json").path).read_bytes())
    assert first["type"] == "bundle"
    assert re.fullmatch(r"bundle--[0-9a-f-]{36}", first["id"])
    indicators = [o for o in first["objects"] if o["type"] == "indicator"]
    for obj in first["objects"]:
        assert obj["spec_version"] == "2.1"
        assert re.fullmatch(rf"{obj['type']}--[0-9a-f-]{{36}}", obj["id"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["created"])
        assert obj["modified"] >= obj["created"]
    for indicator in indicators:
        assert {"pattern", "pattern_type", "valid_from", "created_by_ref"} <= set(indicator)
        assert indicator["pattern_type"] == "stix"
    assert [i["pattern"] for i in indicators] == [
        "[ipv4-addr:value = '203.0.113.7']",
        f"[user-account:user_id = '{world.session_key}']",
    ]
    assert indicators[0]["valid_from"] == "2024-05-01T08:00:00.000Z"  # the IOC's first sighting
    (report,) = [o for o in first["objects"] if o["type"] == "report"]
    assert report["object_refs"] == [i["id"] for i in indicators]
    assert [o["id"] for o in again["objects"]] == [o["id"] for o in first["objects"]]


def test_ioc_csv_lists_each_indicator_with_its_sightings(case: Case, world: Scenario) -> None:
    table = _csv(export(case, "iocs-csv", out=case.root / "out" / "iocs.csv").path)
    assert [(r["id"], r["kind"], r["value"], r["first_seen"], r["last_seen"], r["events"]) for r in table] == [
        ("I-1", "ip", ATTACKER_IP, "2024-05-01T08:00:00Z", "2024-05-01T09:10:00Z", "5"),
        ("I-2", "access_key", world.session_key, "2024-05-01T08:05:00Z", "2024-05-01T09:10:00Z", "4"),
    ]


def test_markdown_report_sections_lineage_and_evidence(case: Case, world: Scenario) -> None:
    text = Path(export(case, "markdown", out=case.root / "out" / "report.md").path).read_text()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[:5] == [
        "# Incident report: incident-42",
        "## Summary",
        "## Findings",
        "### F-2: Session used after containment",
        "### F-1: Key used from VPS",
    ]
    assert "| Containment | 1 step(s); 1 event(s) after containment |" in text
    assert "alice's key listed users,  \nthen assumed Audit." in text
    mermaid = text.split("```mermaid\n")[1].split("```")[0]
    nodes = dict(re.findall(r"^  (n\d+)\[\[?\"(\S+)", mermaid, re.M))
    edges = re.findall(r"^  (n\d+) -->\|\"([^\"]*)\"\| (n\d+)$", mermaid, re.M)
    named = {nodes[a]: (label, nodes[b]) for a, label, b in edges}
    assert named[world.alice_key] == ("AssumeRole 2024-05-01T08:05:00Z", world.session_key)
    digest = hashlib.sha256(world.path.read_bytes()).hexdigest()
    assert f"| ` {world.path} ` | {world.path.stat().st_size} | ` {digest} ` |   | not validated |" in text
    assert "## Key events (findings and bookmarks)" in text


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.classes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.classes += [(tag, v or "") for k, v in attrs if k == "class"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_is_self_contained_and_has_every_section(case: Case, world: Scenario) -> None:
    page = _Html()
    page.feed(Path(export(case, "html", out=case.root / "out" / "report.html").path).read_text())
    assert {"script", "link", "img", "iframe", "a"}.isdisjoint(page.tags)
    text = " ".join(page.text)
    for section in (
        "Summary",
        "Findings",
        "Credential lineage",
        "Indicators of compromise",
        "Containment",
        "Key events (findings and bookmarks)",
        "Evidence",
    ):
        assert section in text
    assert hashlib.sha256(world.path.read_bytes()).hexdigest() in text
    assert ("tr", "after") in page.classes  # the 09:10 call, after containment
    assert world.session_key in text


def test_every_export_is_journaled_with_its_hash(case: Case) -> None:
    result = export(case, "csv", scope="bookmarks", out=case.root / "out" / "marked.csv")
    entry = list(case.journal.entries())[-1]
    assert (entry["action"], entry["format"], entry["scope"], entry["items"]) == ("export", "csv", "bookmarks", 1)
    assert entry["sha256"] == hashlib.sha256(Path(result.path).read_bytes()).hexdigest()
    default = export(case, "navigator")
    assert Path(default.path).parent == case.root / "exports"


def test_rows_stream_in_windows_without_losing_order(
    case: Case, world: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rows, "WINDOW", 2)
    out = io.BytesIO()
    assert csv_timeline.write(case, resolve(case, "all"), out) == 6
    lines = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert [r["event_id"] for r in lines] == [world.event_id(i) for i in range(6)]


def test_evidence_list_shows_each_files_validation_verdict(tmp_path: Path) -> None:
    world = build(tmp_path)
    with Case.open(tmp_path / "validated") as case:
        ingest_sources(case, [str(world.path)], SourceOptions(workers=0))
        run = r.ValidationResult(source=str(world.path.parent), start=None, end=None, signatures_checked=True)
        run.files.append(r.FileResult(kind="log", key="events.jsonl", location=str(world.path), status=r.TAMPERED))
        record_validation(case, run, {})
        text = Path(export(case, "markdown", out=tmp_path / "report.md").path).read_text()
    digest = hashlib.sha256(world.path.read_bytes()).hexdigest()
    assert f"| ` {digest} ` |   | tampered |" in text
    assert "- Validation run 1 (" in text and "): NOT valid, exhibit ` integrity/validation-0001-" in text
