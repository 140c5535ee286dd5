"""Keeping validation results with the case: store tables other views join on, and the journal.

Each run is written three ways: the whole result as JSON under ``<case>/integrity/`` (the
responder's exhibit), per-file verdicts and findings in the case store (so the timeline can mark
events from tampered or unvalidated files and coverage can be computed by SQL), and one journal
entry carrying the result file's SHA-256 (so the exhibit cannot change unnoticed).

The store keeps every run; views pick each file's latest verdict:
  ``validation``          run, kind, path, name, key, status, detail, account, region, time, digest
  ``validation_findings`` run, kind, severity, chain, account, region, start, "end", detail
  ``file_integrity``      file_id, path, status  (status: validated | unvalidated | tampered)
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from investigations.integrity import result as r
from investigations.store import EventStore
from investigations.transactions import transaction

if TYPE_CHECKING:
    from investigations.case import Case

#: How a log's verdict reads on the timeline and in coverage.
VALIDATED, UNVALIDATED, TAMPERED = "validated", "unvalidated", "tampered"
_TAMPERED = (r.TAMPERED, r.APPENDED, r.UNREADABLE, r.EXTRA)

_DDL = (
    "CREATE TABLE IF NOT EXISTS validation_runs (run INTEGER, ran_at TIMESTAMP, source VARCHAR, valid BOOLEAN, "
    "signatures_checked BOOLEAN, summary VARCHAR)",
    "CREATE TABLE IF NOT EXISTS validation (run INTEGER, kind VARCHAR, path VARCHAR, name VARCHAR, key VARCHAR, "
    "status VARCHAR, detail VARCHAR, account VARCHAR, region VARCHAR, time TIMESTAMP, digest VARCHAR)",
    "CREATE TABLE IF NOT EXISTS validation_findings (run INTEGER, kind VARCHAR, severity VARCHAR, chain VARCHAR, "
    'account VARCHAR, region VARCHAR, start TIMESTAMP, "end" TIMESTAMP, detail VARCHAR)',
    "CREATE OR REPLACE VIEW validation_latest AS SELECT * FROM validation WHERE kind = 'log' "
    "QUALIFY row_number() OVER (PARTITION BY name ORDER BY run DESC) = 1",
    "CREATE OR REPLACE VIEW file_integrity AS SELECT f.file_id, f.path, CASE "
    f"WHEN v.status IN ({', '.join(repr(s) for s in _TAMPERED)}) THEN '{TAMPERED}' "
    f"WHEN v.status = '{r.VALID}' THEN '{VALIDATED}' ELSE '{UNVALIDATED}' END AS status "
    "FROM files f LEFT JOIN validation_latest v ON v.name = regexp_extract(f.path, '[^/!\\\\]+$')",
)


def ensure_tables(store: EventStore) -> None:
    for statement in _DDL:
        store.sql(statement)


def has_validation(store: EventStore) -> bool:
    """Whether any run was recorded; readers check this instead of creating tables, so a store
    opened read-only (or never validated) still answers: every file is then unvalidated."""
    _cols, rows = store.sql(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('validation_runs', 'file_integrity')"
    )
    return int(rows[0][0]) == 2


def store_validation(store: EventStore, result: r.ValidationResult) -> int:
    """Write one run's verdicts and findings; returns its run number."""
    ensure_tables(store)
    _cols, rows = store.sql("SELECT coalesce(max(run), 0) + 1 FROM validation_runs")
    run = int(rows[0][0])
    summary = orjson.dumps(result.as_dict()["summary"]).decode()
    store.sql(
        "INSERT INTO validation_runs VALUES (?, ?, ?, ?, ?, ?)",
        [run, datetime.now(UTC).replace(tzinfo=None), result.source, result.ok, result.signatures_checked, summary],
    )
    files = [
        (
            run,
            f.kind,
            f.location,
            f.key.rsplit("/", 1)[-1],
            f.key,
            f.status,
            f.detail,
            f.account,
            f.region,
            f.time,
            f.digest,
        )
        for f in result.files
    ]
    chains = {c.chain: c.ident for c in result.chains}
    findings = [
        (
            run,
            f.kind,
            f.severity,
            f.chain,
            chains.get(f.chain, {}).get("account"),
            chains.get(f.chain, {}).get("region"),
            f.start,
            f.end,
            f.detail,
        )
        for f in result.findings
    ]
    con = store.cursor()
    try:
        with transaction(con):
            if files:
                con.executemany("INSERT INTO validation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", files)
            if findings:
                con.executemany("INSERT INTO validation_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", findings)
    finally:
        con.close()
    return run


def file_status(store: EventStore) -> dict[str, str]:
    """Each stored file's integrity as the timeline shows it: validated, unvalidated or tampered.

    A file no validation run looked at is unvalidated. Join on ``file_integrity`` by file_id
    instead when working in SQL.
    """
    if not has_validation(store):
        _cols, rows = store.sql("SELECT path FROM files")
        return {path: UNVALIDATED for (path,) in rows}
    _cols, rows = store.sql("SELECT path, status FROM file_integrity")
    return {path: status for path, status in rows}


def record_validation(case: Case, result: r.ValidationResult, options: dict[str, Any]) -> dict[str, Any]:
    """Keep a run with the case: exhibit file, store tables, journal entry. Returns the entry."""
    run = store_validation(case.store, result)
    folder = case.root / "integrity"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    exhibit = folder / f"validation-{run:04d}-{stamp}.json"
    data = orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2)
    exhibit.write_bytes(data)
    return case.journal.append(
        "integrity.validated",
        run=run,
        source=result.source,
        options=options,
        valid=result.ok,
        signatures_checked=result.signatures_checked,
        summary=result.as_dict()["summary"],
        errors=sum(1 for f in result.findings if f.severity == r.ERROR),
        result=str(exhibit.relative_to(case.root)),
        result_sha256=hashlib.sha256(data).hexdigest(),
    )
