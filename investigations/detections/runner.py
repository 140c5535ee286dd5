"""Running the pack: baseline, shared scan, stateful rules and Sigma, then findings kept in the store.

Findings are written to the case's database (``findings``, ``finding_events``, ``sigma_rules``),
replaced on each run, so the TUI can list them and colour the events they hold without running
anything, and ``--alarm`` can name a finding from an earlier run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from investigations import baseline
from investigations.case import Case
from investigations.detections import sigma
from investigations.detections.context import Context, DetectOptions
from investigations.detections.grouping import Finding, build, findings_for, rank
from investigations.detections.registry import Rule, Severity, all_rules
from investigations.detections.scan import scan
from investigations.detections.sigma_sql import Unsupported
from investigations.store import EventStore


@dataclass(slots=True)
class DetectReport:
    findings: list[Finding]
    rules: int
    sigma: sigma.SigmaPack | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rules": self.rules, "findings": len(self.findings), "seconds": round(self.seconds, 3)}
        if self.sigma is not None:
            out["sigma"] = {
                "files": self.sigma.files,
                "evaluated": len(self.sigma.rules),
                "problems": [p.as_dict() for p in self.sigma.problems],
            }
        return out


Progress = Callable[[str], None]


def _timed(timings: dict[str, float], name: str, start: float) -> float:
    now = time.perf_counter()
    timings[name] = round(now - start, 4)
    return now


def run(
    store: EventStore,
    options: DetectOptions | None = None,
    rules_dir: Path | None = None,
    rules: list[Rule] | None = None,
    progress: Progress | None = None,
) -> DetectReport:
    """Run the built-in pack (or ``rules``) and any Sigma rules, store the findings, return them ranked."""
    options = options or DetectOptions()
    chosen = all_rules() if rules is None else rules
    say = progress or (lambda _text: None)
    begin = mark = time.perf_counter()
    timings: dict[str, float] = {}
    pack = sigma.load(rules_dir) if rules_dir is not None else None
    say("baseline")
    baseline.ensure(store, options.learning, options.geo)
    mark = _timed(timings, "baseline", mark)
    ctx = Context(store, options)
    findings: list[Finding] = []
    try:
        say("single-event rules")
        single = [r for r in chosen if r.detect is None]
        for rule_id, hits in scan(ctx, single).items():
            findings += findings_for(next(r for r in single if r.id == rule_id), hits, options.gap)
        mark = _timed(timings, "scan", mark)
        for rule in (r for r in chosen if r.detect is not None):
            say(rule.id)
            assert rule.detect is not None
            findings += [build(rule, g.hits, g.detail, g.actor) for g in rule.detect(ctx) if g.hits]
            mark = _timed(timings, rule.id, mark)
        if pack is not None:
            findings += _run_sigma(ctx, pack, options, say)
            mark = _timed(timings, "sigma", mark)
    finally:
        ctx.close()
    ranked = rank(findings)
    save(store, ranked, pack)
    _timed(timings, "save", mark)
    return DetectReport(ranked, len(chosen), pack, time.perf_counter() - begin, timings)


def _run_sigma(ctx: Context, pack: sigma.SigmaPack, options: DetectOptions, say: Progress) -> list[Finding]:
    findings: list[Finding] = []
    evaluated = []
    for info in pack.rules:
        say(info.title)
        try:
            hits = sigma.evaluate(ctx, info)
        except Unsupported as exc:
            pack.problems.append(sigma.SigmaProblem(info.path, info.title, info.id, "unsupported", str(exc)))
            continue
        evaluated.append(info)
        findings += findings_for(info, hits, options.gap, origin="sigma")
    pack.rules = evaluated
    return findings


def detect_case(
    case: Case, options: DetectOptions | None = None, rules_dir: Path | None = None, progress: Progress | None = None
) -> DetectReport:
    """``run`` on a case, journalled: which rules ran and how many findings came out."""
    report = run(case.store, options, rules_dir, progress=progress)
    fields: dict[str, Any] = {"rules": report.rules, "findings": len(report.findings)}
    if report.sigma is not None:
        fields["sigma_dir"] = str(rules_dir)
        fields["sigma_rules"] = len(report.sigma.rules)
        fields["sigma_problems"] = len(report.sigma.problems)
    case.journal.append("detect", **fields)
    return report


_FINDING_COLUMNS = (
    "id, rule_id, title, severity, technique, why, actor, access_key, first_seen, last_seen, event_ids, seqs, "
    "access_keys, accounts, regions, detail, origin"
)


def save(store: EventStore, findings: list[Finding], pack: sigma.SigmaPack | None) -> None:
    """Replace the stored findings with these (in rank order)."""
    table = pa.table(
        {
            "position": pa.array(range(len(findings)), pa.int32()),
            "id": [f.id for f in findings],
            "rule_id": [f.rule_id for f in findings],
            "title": [f.title for f in findings],
            "severity": pa.array([int(f.severity) for f in findings], pa.int8()),
            "technique": [f.technique for f in findings],
            "why": [f.why for f in findings],
            "actor": [f.actor for f in findings],
            "access_key": pa.array([f.access_key for f in findings], pa.string()),
            "first_seen": pa.array([f.first_seen for f in findings], pa.timestamp("s")),
            "last_seen": pa.array([f.last_seen for f in findings], pa.timestamp("s")),
            "event_ids": pa.array([f.event_ids for f in findings], pa.list_(pa.string())),
            "seqs": pa.array([f.seqs for f in findings], pa.list_(pa.int64())),
            "access_keys": pa.array([f.access_keys for f in findings], pa.list_(pa.string())),
            "accounts": pa.array([f.accounts for f in findings], pa.list_(pa.string())),
            "regions": pa.array([f.regions for f in findings], pa.list_(pa.string())),
            "detail": pa.array([f.detail for f in findings], pa.string()),
            "origin": [f.origin for f in findings],
        }
    )
    texts = pa.table(
        {
            "rule_id": pa.array([r.id for r in pack.rules] if pack else [], pa.string()),
            "title": pa.array([r.title for r in pack.rules] if pack else [], pa.string()),
            "yaml": pa.array([r.text for r in pack.rules] if pack else [], pa.string()),
        }
    )
    con = store.cursor()
    try:
        con.register("th_findings_in", table)
        con.register("th_sigma_in", texts)
        con.execute("BEGIN")
        con.execute("CREATE OR REPLACE TABLE findings AS SELECT * FROM th_findings_in ORDER BY position")
        con.execute(
            "CREATE OR REPLACE TABLE finding_events AS SELECT unnest(seqs) AS seq, id AS finding_id, severity "
            "FROM findings ORDER BY seq, severity DESC"
        )
        con.execute("CREATE OR REPLACE TABLE sigma_rules AS SELECT * FROM th_sigma_in")
        con.execute("COMMIT")
    finally:
        con.close()
    store.set_meta("detect.events", str(store.count()))


def _finding(row: tuple[Any, ...]) -> Finding:
    (
        fid,
        rule_id,
        title,
        sev,
        technique,
        why,
        actor,
        key,
        first,
        last,
        ids,
        seqs,
        keys,
        accounts,
        regions,
        detail,
        origin,
    ) = row
    return Finding(
        fid,
        rule_id,
        title,
        Severity(sev),
        technique,
        why,
        actor,
        key,
        first,
        last,
        list(ids),
        list(seqs),
        list(keys or []),
        list(accounts or []),
        list(regions or []),
        detail,
        origin,
    )


def has_findings_table(store: EventStore) -> bool:
    _, rows = store.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'findings'")
    return bool(rows[0][0])


def load_findings(store: EventStore, min_severity: Severity = Severity.INFO) -> list[Finding]:
    """Findings of the last run, ranked; empty when detection never ran on this case."""
    if not has_findings_table(store):
        return []
    _, rows = store.sql(
        f"SELECT {_FINDING_COLUMNS} FROM findings WHERE severity >= ? ORDER BY position", [int(min_severity)]
    )
    return [_finding(r) for r in rows]


def get_finding(store: EventStore, finding_id: str) -> Finding | None:
    if not has_findings_table(store):
        return None
    _, rows = store.sql(f"SELECT {_FINDING_COLUMNS} FROM findings WHERE id = ?", [finding_id])
    return _finding(rows[0]) if rows else None


def findings_by_seq(store: EventStore, first_seq: int, last_seq: int) -> dict[int, list[tuple[str, Severity]]]:
    """For the timeline: per event in a seq range, the findings it belongs to (most severe first)."""
    if not has_findings_table(store):
        return {}
    _, rows = store.sql(
        "SELECT seq, finding_id, severity FROM finding_events WHERE seq BETWEEN ? AND ? ORDER BY seq, severity DESC",
        [first_seq, last_seq],
    )
    out: dict[int, list[tuple[str, Severity]]] = {}
    for seq, fid, sev in rows:
        out.setdefault(seq, []).append((fid, Severity(sev)))
    return out


def findings_stale(store: EventStore) -> bool:
    """True when events were added after the last run (stored seqs then point at other events)."""
    return has_findings_table(store) and store.meta("detect.events") != str(store.count())
