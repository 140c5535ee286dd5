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


def _exact_names(rule: Rule) -> list[str] | None:
    """The rule's event names when they are all exact: such rules share one pushed-down name filter."""
    assert rule.match is not None
    names = list(rule.match.names)
    return names if names and not any("*" in n for n in names) else None


def _candidates(ctx: Context, rules: list[Rule], predicates: list[tuple[str, list[Any]]]) -> list[tuple[Any, ...]]:
    """Rows satisfying some rule's typed predicate, each with the indexes of the rules it satisfies.

    One OR over forty predicates cannot use the column filters DuckDB pushes into its scan, and
    costs a predicate evaluation per rule per row. So rules with exact event names are gated by
    one ``event_name IN (...)`` filter, which the scan applies on its own, and their predicates
    run on the few rows it lets through; every other rule runs as its own branch of a UNION ALL,
    where its conjunctive predicate is pushed down as well.
    """
    named = [i for i, rule in enumerate(rules) if _exact_names(rule)]
    others = [i for i in range(len(rules)) if i not in named]
    branches: list[str] = []
    params: list[Any] = []
    if named:
        flags = ", ".join(f"CASE WHEN {predicates[i][0]} THEN {i} END" for i in named)
        branches.append(
            f"SELECT e.seq, unnest(list_filter([{flags}], lambda x: x IS NOT NULL)) AS rule FROM events e "
            "WHERE e.event_name IN (SELECT unnest(?::VARCHAR[]))"
        )
        params += [p for i in named for p in predicates[i][1]]
        params.append(sorted({n for i in named for n in _exact_names(rules[i]) or ()}))
    for i in others:
        branches.append(f"SELECT e.seq, {i} AS rule FROM events e WHERE {predicates[i][0]}")
        params += predicates[i][1]
    return ctx.rows(
        f"WITH m AS ({' UNION ALL '.join(branches)}) SELECT {HIT_COLUMNS}, e.rid, list(DISTINCT m.rule) "
        "FROM m JOIN events e ON e.seq = m.seq GROUP BY ALL ORDER BY e.seq",
        params,
    )


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
    rows = _candidates(ctx, rules, predicates)
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
