"""A parsed Sigma condition to one DuckDB predicate over the case store.

pySigma does the parsing: selections, lists and maps, modifiers, ``1 of``/``all of`` and
wildcards arrive as a tree of AND/OR/NOT over (field, typed value) leaves. This module turns
that tree into SQL with parameters. Sigma's semantics are kept: string matches ignore case
unless ``|cased``; ``re`` is a search, case-sensitive unless ``|i``; a leaf on a missing field is
false, so ``not filter`` holds when the field is absent. Anything it cannot express faithfully
raises ``Unsupported`` with the construct's name, and the rule is reported rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from investigations.detections.fields import FEW_VALUES, TYPED, is_typed, text_expr

#: Given a SQL expression and CIDR networks, the values of that expression inside them.
CidrResolver = Callable[[str, list[Any]], list[str]]

_COMPARE = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "<>",
}
_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


class Unsupported(Exception):
    """A Sigma construct this engine does not evaluate; the message names it."""


@dataclass(slots=True)
class Frag:
    """A piece of SQL with its own parameters. ``raw``: it reads the raw record (needs ``r``);
    ``exact``: in a typed-only pass, this is the whole condition rather than a looser stand-in."""

    sql: str
    params: list[Any] = field(default_factory=list)
    raw: bool = False
    exact: bool = True


def _join(op: str, parts: list[Frag]) -> Frag:
    return Frag(
        "(" + f" {op} ".join(p.sql for p in parts) + ")",
        [x for p in parts for x in p.params],
        any(p.raw for p in parts),
        all(p.exact for p in parts),
    )


def _like(value: SigmaString) -> str:
    """Sigma's ``*`` and ``?`` as LIKE's ``%`` and ``_``, with literal ``%``, ``_`` and ``\\`` escaped."""
    out = []
    for part in value.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out.append("%")
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append("_")
        else:
            out.append(str(part).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    return "".join(out)


def _no_placeholder(value: Any) -> None:
    if isinstance(value, SigmaString) and value.contains_placeholder():
        raise Unsupported("placeholders (the expand modifier needs a processing pipeline)")


class Translator:
    """One rule's condition to SQL; ``resolve_cidr`` looks networks up against the store.

    With ``typed_only`` it builds a prefilter instead: a condition on typed columns alone that
    every matching event satisfies (parts that read the raw record are left out, so the result may
    let more through). The evaluator uses it to read raw records only for the rows it selects.
    """

    def __init__(self, resolve_cidr: CidrResolver, typed_only: bool = False) -> None:
        self.resolve_cidr = resolve_cidr
        self.typed_only = typed_only

    def translate(self, node: Any) -> Frag | None:
        """The condition's SQL; in typed-only mode None when no typed part constrains it."""
        return self._node(node)

    def _node(self, node: Any) -> Frag | None:
        if isinstance(node, ConditionAND | ConditionOR):
            parts = [self._node(a) for a in node.args]
            kept = [p for p in parts if p is not None]
            if isinstance(node, ConditionOR) and len(kept) < len(parts):
                return None
            if not kept:
                return None
            frag = _join("AND" if isinstance(node, ConditionAND) else "OR", kept)
            frag.exact = frag.exact and len(kept) == len(parts)
            return frag
        if isinstance(node, ConditionNOT):
            inner = self._node(node.args[0])
            if inner is None or not inner.exact:
                return None
            return Frag(f"(NOT {inner.sql})", inner.params, inner.raw)
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._field(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self._keyword(node.value)
        raise Unsupported(f"condition element {type(node).__name__}")

    def _keyword(self, value: Any) -> Frag | None:
        """Full-text search over the raw record: a semi-join, so the raw text is scanned once."""
        _no_placeholder(value)
        if not isinstance(value, SigmaString):
            raise Unsupported(f"keyword of type {type(value).__name__}")
        if self.typed_only:
            return None
        pattern = "%" + _like(value).strip("%") + "%"
        return Frag("e.rid IN (SELECT rid FROM raw_events WHERE raw ILIKE ? ESCAPE '\\')", [pattern])

    def _field(self, path: str | None, value: Any) -> Frag | None:
        if path is None:
            return self._keyword(value)
        if isinstance(value, SigmaExpansion):
            parts = [self._field(path, v) for v in value.values]
            return None if any(p is None for p in parts) else _join("OR", [p for p in parts if p is not None])
        _no_placeholder(value)
        raw = not is_typed(path)
        if isinstance(value, SigmaFieldReference):
            raw = raw or not is_typed(value.field)
        if raw and self.typed_only:
            self._leaf(text_expr(path), value)  # still reject what cannot be evaluated
            return None
        if path in FEW_VALUES and isinstance(value, SigmaString | SigmaRegularExpression):
            # match the column's distinct values once, not every row (regex on a million agents is seconds)
            column = TYPED[path][0]
            sql, params = self._leaf("d.v", value)
            inside = f"SELECT v FROM (SELECT DISTINCT {column} AS v FROM events) d WHERE {sql}"
            return Frag(f"coalesce(e.{column} IN ({inside}), false)", params)
        sql, params = self._leaf(text_expr(path), value)
        return Frag(f"coalesce({sql}, false)", params, raw)

    def _leaf(self, expr: str, value: Any) -> tuple[str, list[Any]]:
        if isinstance(value, SigmaNull):
            return f"{expr} IS NULL", []
        if isinstance(value, SigmaExists):
            return f"{expr} IS {'NOT ' if value.exists else ''}NULL", []
        if isinstance(value, SigmaBool):
            return f"lower({expr}) = ?", ["true" if value.boolean else "false"]
        if isinstance(value, SigmaTimestampPart):
            raise Unsupported("timestamp part modifiers (minute, hour, day, week, month, year)")
        if isinstance(value, SigmaNumber):
            return f"{expr} = ?", [str(value.number)]
        if isinstance(value, SigmaCompareExpression):
            return f"TRY_CAST({expr} AS DOUBLE) {_COMPARE[value.op]} ?", [float(value.number.number)]
        if isinstance(value, SigmaCasedString):
            if value.contains_special():
                return f"{expr} LIKE ? ESCAPE '\\'", [_like(value)]
            return f"{expr} = ?", [value.to_plain()]
        if isinstance(value, SigmaString):
            if value.contains_special():
                return f"{expr} ILIKE ? ESCAPE '\\'", [_like(value)]
            return f"lower({expr}) = lower(?)", [value.to_plain()]
        if isinstance(value, SigmaRegularExpression):
            flags = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
            return f"regexp_matches({expr}, ?)", [(f"(?{flags})" if flags else "") + str(value.regexp)]
        if isinstance(value, SigmaCIDRExpression):
            return f"{expr} IN (SELECT unnest(?::VARCHAR[]))", [self.resolve_cidr(expr, [value.network])]
        if isinstance(value, SigmaFieldReference):
            other = text_expr(value.field)
            if value.starts_with:
                return f"starts_with(lower({expr}), lower({other}))", []
            if value.ends_with:
                return f"ends_with(lower({expr}), lower({other}))", []
            return f"lower({expr}) = lower({other})", []
        raise Unsupported(f"value type {type(value).__name__} (modifier not evaluated by Trailhound)")
