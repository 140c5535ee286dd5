"""Everything an incident report says, gathered once for the Markdown and HTML renderers.

The report is read by people who were not at the keyboard: a summary, the findings with their
narrative and events, the credential lineage, the indicators, what was contained and whether
anything happened after, the key events in time order, and the evidence with its hashes and
integrity status, so the reader can check every claim against the files.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from investigations.casefile.items import SEVERITIES, Containment, Finding, Ioc
from investigations.casefile.ops import items
from investigations.casefile.persist import now_iso
from investigations.casefile.sightings import after_containment
from investigations.export import rows
from investigations.export.lineage_view import LineageGraph, build
from investigations.export.scope import Selection
from investigations.journal import os_user
from investigations.timeparse import iso

if TYPE_CHECKING:
    from investigations.case import Case

#: Rows shown per finding and in the key-event timeline; the report says how many more exist.
FINDING_EVENTS = 50
TIMELINE_EVENTS = 1000


@dataclass(slots=True)
class FindingView:
    finding: Finding
    events: list[dict[str, Any]]
    more: int


@dataclass(slots=True)
class SourceView:
    source: dict[str, Any]
    files: list[dict[str, Any]]


@dataclass(slots=True)
class Report:
    name: str
    generated: str
    author: str
    summary: dict[str, Any]
    findings: list[FindingView] = field(default_factory=list)
    lineage: LineageGraph = field(default_factory=LineageGraph)
    iocs: list[Ioc] = field(default_factory=list)
    containment: list[tuple[Containment, int]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    timeline_label: str = ""
    timeline_more: int = 0
    sources: list[SourceView] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)
    journal_entries: int = 0
    journal_problems: list[str] = field(default_factory=list)


def _key_events(case: Case) -> Selection:
    """Without a scope, the report's timeline is what the responder marked: findings and bookmarks."""
    ids = [e for f in items(case, "finding") if isinstance(f, Finding) for e in f.event_ids]
    ids += [b["event_id"] for b in case.data["bookmarks"]]
    return Selection("event_id IN (SELECT unnest(?))", (list(dict.fromkeys(ids)),), "findings and bookmarks")


def _take(case: Case, selection: Selection, limit: int) -> tuple[list[dict[str, Any]], int]:
    with closing(rows.stream(case, selection)) as stream:
        taken = list(islice(stream, limit))
    total = case.store.count(selection.where, selection.params)
    return taken, total - len(taken)


def _integrity(case: Case) -> dict[str, str]:
    """Each file's latest validation verdict, when ``trailhound validate --case`` has run."""
    _, found = case.store.sql("SELECT 1 FROM information_schema.tables WHERE table_name = 'validation_runs'")
    if not found:
        return {}
    from investigations.integrity.casefile import file_status

    return file_status(case.store)


def _coverage(case: Case) -> dict[str, Any]:
    """Blind spots for the report: account x region x hour states in total, and the windows where
    logging was stopped, the trail deleted, its selectors changed, or digests missing."""
    from investigations.integrity.coverage import coverage

    grid = coverage(case.store)
    return {"totals": grid["totals"], "windows": grid["windows"], "range": grid["range"]}


def _sources(case: Case, verdicts: dict[str, str]) -> list[SourceView]:
    out = []
    for source in case.data["sources"]:
        files = []
        for entry in case.manifest(source).get("files", []):
            status = verdicts.get(entry.get("path", ""), "not validated")
            files.append({**entry, "integrity": "not validated" if status == "unvalidated" else status})
        out.append(SourceView(source, files))
    return out


def _summary(case: Case, findings: list[Finding], after: int) -> dict[str, Any]:
    events = case.store.count() if case.has_events else 0
    first, last = case.store.time_range() if events else (None, None)
    by_severity = Counter(f.severity for f in findings if f.status != "false_positive")
    return {
        "events": events,
        "first_event": iso(first),
        "last_event": iso(last),
        "sources": len(case.data["sources"]),
        "files": sum(int(s.get("files", 0)) for s in case.data["sources"]),
        "findings": len(findings),
        "findings_by_severity": {s: by_severity[s] for s in reversed(SEVERITIES) if by_severity[s]},
        "iocs": len(case.data["iocs"]),
        "containment_steps": len(case.data["containment"]),
        "after_containment": after,
    }


def gather(case: Case, selection: Selection | None = None) -> Report:
    """The report's content; ``selection`` picks the key-event timeline (default: findings and bookmarks)."""
    findings = sorted(
        (f for f in items(case, "finding") if isinstance(f, Finding)),
        key=lambda f: (-SEVERITIES.index(f.severity), f.id),
    )
    steps = [c for c in items(case, "containment") if isinstance(c, Containment)]
    counted: list[tuple[Containment, int]] = []
    if case.has_events:
        for step in steps:
            where, params = after_containment(case.store, [step])
            counted.append((step, case.store.count(where, params)))
    else:
        counted = [(step, 0) for step in steps]
    report = Report(
        name=str(case.data.get("name", "")),
        generated=now_iso(),
        author=os_user(),
        summary=_summary(case, findings, sum(n for _, n in counted)),
        iocs=[i for i in items(case, "ioc") if isinstance(i, Ioc)],
        containment=counted,
    )
    if case.has_events:
        for finding in findings:
            selected = Selection("event_id IN (SELECT unnest(?))", (finding.event_ids,), finding.id)
            events, more = _take(case, selected, FINDING_EVENTS)
            report.findings.append(FindingView(finding, events, more))
        selection = selection or _key_events(case)
        report.timeline, report.timeline_more = _take(case, selection, TIMELINE_EVENTS)
        report.timeline_label = selection.label
        report.lineage = build(case)
        report.coverage = _coverage(case)
    else:
        report.findings = [FindingView(f, [], 0) for f in findings]
    report.sources = _sources(case, _integrity(case) if case.has_events else {})
    report.validations = [e for e in case.journal.entries() if e.get("action") == "integrity.validated"]
    check = case.verify()
    report.journal_entries = check.entries
    report.journal_problems = [f"line {p.line}: {p.problem}" for p in check.problems] + check.manifests
    return report
