"""The incident report as one self-contained HTML file: inline CSS, no scripts, no external fetches.

Every string that did not come from this module passes through ``html_text`` (``html.escape``
with quotes) whether it lands in an element or an attribute, and attributes are always quoted.
A Content-Security-Policy meta tag forbids scripts and remote loads as a second line of defence,
so a report opened from an e-mail cannot run or beacon anything an intruder planted in a log.
The credential lineage is a nested list, which needs neither JavaScript nor an image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from investigations.export.cells import html_prose
from investigations.export.cells import html_text as h
from investigations.export.lineage_view import LineageGraph
from investigations.export.report import Report, gather
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#1b1b1b}
h1{border-bottom:2px solid #333}h2{margin-top:2em;border-bottom:1px solid #aaa}
table{border-collapse:collapse;margin:.5em 0 1em;width:100%}th,td{border:1px solid #ccc;padding:3px 6px;
text-align:left;vertical-align:top}th{background:#eee}code,.v{font-family:ui-monospace,monospace;font-size:12px;
word-break:break-all}.sev-critical{color:#fff;background:#7a0010}.sev-high{color:#fff;background:#c0392b}
.sev-medium{background:#f0b429}.sev-low{background:#cde}.sev-info{background:#eee}.badge{padding:1px 6px;
border-radius:3px}.after{background:#fde2e2}.narrative{white-space:pre-wrap;border-left:3px solid #ccc;
padding-left:1em}.tree ul{list-style:none;margin:0;padding-left:1.4em;border-left:1px dotted #999}
.inferred{color:#777;font-style:italic}.named{font-weight:bold}.bad{color:#b00;font-weight:bold}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'"


def _table(header: tuple[str, ...], body: list[list[str]], row_class: list[str] | None = None) -> str:
    head = "".join(f"<th>{h(c)}</th>" for c in header)
    rows = []
    for i, cells in enumerate(body):
        cls = f' class="{h(row_class[i])}"' if row_class and row_class[i] else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _v(value: Any) -> str:
    return f'<span class="v">{h(value)}</span>' if value not in (None, "", []) else ""


def _events(events: list[dict[str, Any]]) -> str:
    body, classes = [], []
    for e in events:
        marks = (["after containment"] if e["after_containment"] else []) + e["tags"] + e["findings"]
        if e["bookmark"] is not None:
            marks.append("bookmark" + (f": {e['bookmark']}" if e["bookmark"] else ""))
        body.append(
            [
                _v(e["event_time"]),
                _v(f"{e['event_source']}:{e['event_name']}"),
                _v(e["identity_arn"] or e["principal_id"] or e["identity_type"]),
                _v(e["source_ip"]),
                _v(e["access_key_id"]),
                _v(e["error_code"]),
                h(", ".join(marks)),
            ]
        )
        classes.append("after" if e["after_containment"] else "")
    return _table(("Time", "Event", "Actor", "Source IP", "Key", "Error", "Marks"), body, classes)


def _tree(graph: LineageGraph, node: str, seen: set[str]) -> str:
    cls = ' class="named"' if node in graph.named else ""
    out = f"<span{cls}>{_v(graph.nodes[node])}</span>"
    if node in seen:
        return out + " (repeated above)"
    seen.add(node)
    kids = []
    for edge in graph.children(node):
        how = f'<span class="{"inferred" if edge.inferred else "how"}">{h(edge.label)}'
        how += " (inferred)</span>" if edge.inferred else "</span>"
        kids.append(f"<li>{how} &rarr; {_tree(graph, edge.child, seen)}</li>")
    return out + (f"<ul>{''.join(kids)}</ul>" if kids else "")


def _lineage(graph: LineageGraph) -> str:
    if not graph.edges:
        return "<p>No credential lineage: the case names no access keys, or none was issued in the evidence.</p>"
    seen: set[str] = set()
    roots = "".join(f"<li>{_tree(graph, root, seen)}</li>" for root in graph.roots())
    for node in graph.nodes:  # keys only reachable through a cycle have no root
        if node not in seen:
            roots += f"<li>{_tree(graph, node, seen)}</li>"
    more = f"<p>{graph.left_out} more key(s) left out.</p>" if graph.left_out else ""
    return f'<p>Keys named in the case are in bold.</p><div class="tree"><ul>{roots}</ul></div>{more}'


def _findings(report: Report) -> str:
    parts = []
    for view in report.findings:
        f = view.finding
        sev = f'<span class="badge sev-{h(f.severity)}">{h(f.severity)}</span>'
        parts.append(f"<h3>{h(f.id)}: {h(f.title)}</h3><p>{sev} status: {h(f.status.replace('_', ' '))}")
        if f.technique:
            parts.append(f" &middot; ATT&amp;CK {_v(f.technique)}")
        if f.rule_id:
            parts.append(f" &middot; rule {_v(f.rule_id)}")
        parts.append("</p>")
        if f.entities:
            parts.append("<p>Entities: " + ", ".join(f"{h(e['kind'])} {_v(e['value'])}" for e in f.entities) + "</p>")
        parts.append(f'<div class="narrative">{html_prose(f.narrative) or "<em>No narrative yet.</em>"}</div>')
        if view.events:
            parts.append(_events(view.events))
        if view.more:
            parts.append(f"<p>and {view.more} more linked event(s).</p>")
    return "".join(parts) or "<p>No findings recorded.</p>"


def _evidence(report: Report) -> str:
    parts = []
    for view in report.sources:
        s = view.source
        parts.append(f"<h3>Source {h(s['id'])}: {h(s['kind'])} {_v(s['uri'])}</h3>")
        parts.append(
            f"<p>Added {h(s.get('added'))}; {h(s.get('files', 0))} file(s), {h(s.get('events_added', 0))} event(s).</p>"
        )
        body = [
            [
                _v(f.get("path")),
                h(f.get("size")),
                _v(f.get("sha256")),
                _v(f.get("etag")),
                f'<span class="{"bad" if f["integrity"] not in ("validated", "not validated") else "ok"}">'
                f"{h(f['integrity'])}</span>",
            ]
            for f in view.files
        ]
        parts.append(_table(("File", "Size", "SHA-256", "ETag", "Integrity"), body))
    for run in report.validations:
        verdict = "valid" if run.get("valid") else '<span class="bad">NOT valid</span>'
        parts.append(
            f"<p>Validation run {h(run.get('run'))} ({h(run.get('time'))}): {verdict}; exhibit "
            f"{_v(run.get('result'))} SHA-256 {_v(run.get('result_sha256'))}</p>"
        )
    return "".join(parts) or "<p>No evidence recorded.</p>"


def _coverage(report: Report) -> str:
    grid = report.coverage
    if not grid:
        return ""
    totals = _table(("State", "Account-region hours"), [[h(k), h(v)] for k, v in grid["totals"].items()])
    windows = (
        _table(
            ("Window", "Account", "Region", "From", "To", "Detail"),
            [
                [
                    f'<span class="bad">{h(w.get("kind"))}</span>',
                    _v(w.get("account")),
                    _v(w.get("region")),
                    h(w.get("start")),
                    h(w.get("end")),
                    h(w.get("detail")),
                ]
                for w in grid["windows"]
            ],
        )
        if grid["windows"]
        else "<p>No logging-stopped, trail-deleted, selector-changed or digest-gap windows.</p>"
    )
    return f"<h2>Coverage and blind spots</h2>{totals}{windows}"


def render(report: Report) -> str:
    s = report.summary
    severities = ", ".join(f"{n} {sev}" for sev, n in s["findings_by_severity"].items())
    journal = "hash chain intact" if not report.journal_problems else "; ".join(report.journal_problems)
    summary = _table(
        ("", ""),
        [
            ["Events", h(f"{s['events']:,} ({s['first_event'] or '-'} to {s['last_event'] or '-'})")],
            ["Evidence", h(f"{s['sources']} source(s), {s['files']} file(s)")],
            ["Findings", h(f"{s['findings']}" + (f" ({severities})" if severities else ""))],
            ["Indicators", h(s["iocs"])],
            ["Containment", h(f"{s['containment_steps']} step(s); {s['after_containment']} event(s) after")],
            ["Journal", h(f"{report.journal_entries} entries, {journal}")],
        ],
    )
    iocs = _table(
        ("ID", "Kind", "Value", "First seen", "Last seen", "Events", "Note"),
        [
            [h(i.id), h(i.kind), _v(i.value), h(i.first_seen), h(i.last_seen), h(i.events), h(i.note)]
            for i in report.iocs
        ],
    )
    contained = _table(
        ("ID", "Action", "Target", "Effective", "Events after", "Note"),
        [
            [h(c.id), h(c.action.replace("_", " ")), _v(c.target), h(c.at), h(n), h(c.note)]
            for c, n in report.containment
        ],
    )
    timeline = _events(report.timeline) if report.timeline else "<p>No events selected.</p>"
    if report.timeline_more:
        timeline += f"<p>and {report.timeline_more} more event(s); the CSV or JSONL export has them all.</p>"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{h(_CSP)}">'
        f"<title>Incident report: {h(report.name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Incident report: {h(report.name)}</h1>"
        f"<p>Generated {h(report.generated)} by {h(report.author)} with Trailhound.</p>"
        f"<h2>Summary</h2>{summary}<h2>Findings</h2>{_findings(report)}"
        f"<h2>Credential lineage</h2>{_lineage(report.lineage)}"
        f"<h2>Indicators of compromise</h2>{iocs}<h2>Containment</h2>{contained}"
        f"<h2>Key events ({h(report.timeline_label)})</h2>{timeline}"
        f"{_coverage(report)}<h2>Evidence</h2>{_evidence(report)}</body></html>\n"
    )


def write(case: Case, selection: Selection | None, out: BinaryIO) -> int:
    report = gather(case, selection)
    out.write(render(report).encode("utf-8"))
    return len(report.timeline)
