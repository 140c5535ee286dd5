"""The incident report as Markdown (GitHub-flavoured), lineage as a Mermaid diagram.

Responder prose (titles, narratives, notes) goes through ``md_text``; every value read from the
logs is inline code via ``md_code``, where Markdown makes no links, emphasis or HTML. Tables
escape pipes; Mermaid labels use entity codes. Nothing from the logs can add structure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO

from investigations.export.cells import md_code, md_text, mermaid_label
from investigations.export.report import Report, gather
from investigations.export.scope import Selection

if TYPE_CHECKING:
    from investigations.case import Case

EVENT_HEADER = ("Time", "Event", "Actor", "Source IP", "Key", "Error", "Marks")


def table(header: tuple[str, ...], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in body]
    return [*lines, ""]


def marks(row: dict[str, Any]) -> str:
    out = []
    if row["after_containment"]:
        out.append("**after containment**")
    if row["bookmark"] is not None:
        out.append("bookmarked" + (f": {md_text(row['bookmark'])}" if row["bookmark"] else ""))
    out += [md_code(t, in_table=True) for t in row["tags"]]
    out += [md_text(f) for f in row["findings"]]
    return ", ".join(out)


def event_rows(events: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            md_code(e["event_time"], True),
            md_code(f"{e['event_source']}:{e['event_name']}", True),
            md_code(e["identity_arn"] or e["principal_id"] or e["identity_type"], True),
            md_code(e["source_ip"], True),
            md_code(e["access_key_id"], True),
            md_code(e["error_code"], True),
            marks(e),
        ]
        for e in events
    ]


def mermaid(report: Report) -> list[str]:
    graph = report.lineage
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["```mermaid", "graph TD"]
    for node, label in graph.nodes.items():
        shape = ('[["', '"]]') if node in graph.named else ('["', '"]')
        lines.append(f"  {ids[node]}{shape[0]}{mermaid_label(label)}{shape[1]}")
    for edge in graph.edges:
        arrow = "-.->" if edge.inferred else "-->"
        label = mermaid_label(edge.label + (" (inferred)" if edge.inferred else ""))
        lines.append(f'  {ids[edge.parent]} {arrow}|"{label}"| {ids[edge.child]}')
    return [*lines, "```", ""]


def render(report: Report) -> str:
    s = report.summary
    out = [f"# Incident report: {md_text(report.name)}", ""]
    integrity = "chain intact" if not report.journal_problems else f"{len(report.journal_problems)} problem(s)"
    out += [f"Generated {report.generated} by {md_text(report.author)} with Trailhound.", ""]
    out += ["## Summary", ""]
    severities = ", ".join(f"{n} {sev}" for sev, n in s["findings_by_severity"].items())
    out += table(
        ("", ""),
        [
            ["Events", f"{s['events']:,} ({s['first_event'] or '-'} to {s['last_event'] or '-'})"],
            ["Evidence", f"{s['sources']} source(s), {s['files']} file(s)"],
            ["Findings", f"{s['findings']}" + (f" ({severities})" if severities else "")],
            ["Indicators", str(s["iocs"])],
            ["Containment", f"{s['containment_steps']} step(s); {s['after_containment']} event(s) after containment"],
            ["Journal", f"{report.journal_entries} entries, {integrity}"],
        ],
    )
    out += ["## Findings", ""]
    if not report.findings:
        out += ["No findings recorded.", ""]
    for view in report.findings:
        f = view.finding
        out += [f"### {f.id}: {md_text(f.title)}", ""]
        out += [f"- **Severity:** {f.severity}  **Status:** {f.status.replace('_', ' ')}"]
        if f.technique:
            out.append(f"- **ATT&CK:** {md_code(f.technique)}")
        if f.rule_id:
            out.append(f"- **Raised by rule:** {md_code(f.rule_id)}")
        if f.entities:
            out.append("- **Entities:** " + ", ".join(f"{e['kind']} {md_code(e['value'])}" for e in f.entities))
        out += ["", md_text(f.narrative, multiline=True) if f.narrative else "_No narrative yet._", ""]
        if view.events:
            out += table(EVENT_HEADER, event_rows(view.events))
        if view.more:
            out += [f"_and {view.more} more linked event(s); export with `--scope finding:{f.id}`_", ""]
    out += ["## Credential lineage", ""]
    if report.lineage.edges:
        out += ["Keys named in the case are drawn with double borders; dotted arrows are inferred links.", ""]
        out += mermaid(report)
        if report.lineage.left_out:
            out += [f"_{report.lineage.left_out} more key(s) left out of the diagram._", ""]
    else:
        out += ["No credential lineage: the case names no access keys, or none was issued in the evidence.", ""]
    out += ["## Indicators of compromise", ""]
    out += table(
        ("ID", "Kind", "Value", "First seen", "Last seen", "Events", "Note"),
        [
            [
                i.id,
                i.kind,
                md_code(i.value, True),
                i.first_seen or "",
                i.last_seen or "",
                str(i.events),
                md_text(i.note),
            ]
            for i in report.iocs
        ],
    )
    out += ["## Containment", ""]
    out += table(
        ("ID", "Action", "Target", "Effective", "Events after", "Note"),
        [
            [c.id, c.action.replace("_", " "), md_code(c.target, True), c.at, str(n), md_text(c.note)]
            for c, n in report.containment
        ],
    )
    out += [f"## Key events ({md_text(report.timeline_label)})", ""]
    out += table(EVENT_HEADER, event_rows(report.timeline)) if report.timeline else ["No events selected.", ""]
    if report.timeline_more:
        out += [f"_and {report.timeline_more} more event(s); the CSV or JSONL export has them all._", ""]
    out += coverage(report)
    out += evidence(report)
    return "\n".join(out)


def coverage(report: Report) -> list[str]:
    """Account x region x hour cells by state, then every window where the record has a hole."""
    grid = report.coverage
    if not grid:
        return []
    out = ["## Coverage and blind spots", ""]
    out += table(("State", "Account-region hours"), [[md_text(k), str(v)] for k, v in grid["totals"].items()])
    if grid["windows"]:
        out += table(
            ("Window", "Account", "Region", "From", "To", "Detail"),
            [
                [
                    md_text(w.get("kind")),
                    md_code(w.get("account"), True),
                    md_code(w.get("region"), True),
                    md_text(w.get("start")),
                    md_text(w.get("end")),
                    md_text(w.get("detail")),
                ]
                for w in grid["windows"]
            ],
        )
    else:
        out += ["No logging-stopped, trail-deleted, selector-changed or digest-gap windows in the record.", ""]
    return out


def evidence(report: Report) -> list[str]:
    out = ["## Evidence", ""]
    for view in report.sources:
        src = view.source
        out += [f"### Source {src['id']}: {src['kind']} {md_code(src['uri'])}", ""]
        out += [
            f"Added {src.get('added', '')}; {src.get('files', 0)} file(s), {src.get('events_added', 0)} event(s).",
            "",
        ]
        out += table(
            ("File", "Size", "SHA-256", "ETag", "Integrity"),
            [
                [
                    md_code(f.get("path"), True),
                    str(f.get("size") or ""),
                    md_code(f.get("sha256"), True),
                    md_code(f.get("etag"), True),
                    f["integrity"],
                ]
                for f in view.files
            ],
        )
    for run in report.validations:
        verdict = "valid" if run.get("valid") else "NOT valid"
        out.append(
            f"- Validation run {run.get('run')} ({run.get('time')}): {verdict}, exhibit {md_code(run.get('result'))} "
            f"SHA-256 {md_code(run.get('result_sha256'))}"
        )
    out += ["", "## Case journal", ""]
    out += [
        f"{report.journal_entries} entries; " + ("hash chain intact." if not report.journal_problems else "problems:")
    ]
    out += [f"- {md_text(p)}" for p in report.journal_problems]
    return [*out, ""]


def write(case: Case, selection: Selection | None, out: BinaryIO) -> int:
    report = gather(case, selection)
    out.write(render(report).encode("utf-8"))
    return len(report.timeline)
