"""The shared scan: every single-event rule evaluated in one pass over the typed columns.

Each rule's conditions on typed columns become one SQL predicate; the scan keeps rows where any
predicate holds and says which rules each row satisfied. Only the rules that look inside the
request (conditions on raw paths, or a ``check``) then read raw records, and only for the few
rows their typed conditions already selected, which is what keeps the pack within seconds on a
million events.
"""

from __future__ import annotations

from typing import Any

from investigations.detections.context import HIT_COLUMNS, Context, hit_from_row
from investigations.detections.fields import cond_holds, cond_sql, is_typed
from investigations.detections.grouping import Hit
from investigations.detections.registry import Cond, Rule


def _predicate(conds: list[Cond]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for cond in conds:
        sql, p = cond_sql(cond)
        parts.append(sql)
        params += p
    return ("(" + " AND ".join(parts) + ")" if parts else "TRUE"), params


def split(rule: Rule) -> tuple[list[Cond], list[Cond]]:
    """A rule's conditions on typed columns, and those that need the raw record."""
    assert rule.match is not None
    conds = rule.match.conditions()
    return [c for c in conds if is_typed(c.path)], [c for c in conds if not is_typed(c.path)]


def scan(ctx: Context, rules: list[Rule]) -> dict[str, list[Hit]]:
    """Hits per rule id for single-event rules (those with a ``match`` and no ``detect``)."""
    if not rules:
        return {}
    predicates: list[tuple[str, list[Any]]] = []
    raw_conds: list[list[Cond]] = []
    for rule in rules:
        typed, raw = split(rule)
        predicates.append(_predicate(typed))
        raw_conds.append(raw)
    flags = ", ".join(f"CASE WHEN {sql} THEN {i} END" for i, (sql, _) in enumerate(predicates))
    where = " OR ".join(sql for sql, _ in predicates)
    params = [p for _, ps in predicates for p in ps] * 2
    rows = ctx.rows(
        f"SELECT {HIT_COLUMNS}, e.rid, list_filter([{flags}], lambda x: x IS NOT NULL) "
        f"FROM events e WHERE {where} ORDER BY e.seq",
        params,
    )
    needs_raw = {i for i, rule in enumerate(rules) if raw_conds[i] or rule.check is not None}
    rids = [row[7] for row in rows if needs_raw.intersection(row[8])]
    records = ctx.records(rids)
    out: dict[str, list[Hit]] = {rule.id: [] for rule in rules}
    for row in rows:
        for index in row[8]:
            rule = rules[index]
            detail: str | None = None
            if index in needs_raw:
                record = records.get(row[7])
                if record is None or not all(cond_holds(c, record) for c in raw_conds[index]):
                    continue
                if rule.check is not None:
                    detail = rule.check(record, ctx)
                    if detail is None:
                        continue
            out[rule.id].append(hit_from_row(row, detail or None))
    return out
