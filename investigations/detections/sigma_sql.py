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

from investigations.detections.fields import is_typed, text_expr

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
class Translation:
    sql: str = ""
    params: list[Any] = field(default_factory=list)
    needs_raw: bool = False


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


class Translator:
    """One rule's condition to SQL; ``resolve_cidr`` looks networks up against the store."""

    def __init__(self, resolve_cidr: CidrResolver) -> None:
        self.resolve_cidr = resolve_cidr
        self.out = Translation()

    def translate(self, node: Any) -> Translation:
        self.out.sql = self._node(node)
        return self.out

    def _node(self, node: Any) -> str:
        if isinstance(node, ConditionAND):
            return "(" + " AND ".join(self._node(a) for a in node.args) + ")"
        if isinstance(node, ConditionOR):
            return "(" + " OR ".join(self._node(a) for a in node.args) + ")"
        if isinstance(node, ConditionNOT):
            return f"(NOT {self._node(node.args[0])})"
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._field(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self._keyword(node.value)
        raise Unsupported(f"condition element {type(node).__name__}")

    def _expr(self, path: str) -> str:
        if not is_typed(path):
            self.out.needs_raw = True
        return text_expr(path)

    def _param(self, value: Any) -> str:
        self.out.params.append(value)
        return "?"

    @staticmethod
    def _no_placeholder(value: Any) -> None:
        if isinstance(value, SigmaString) and value.contains_placeholder():
            raise Unsupported("placeholders (the expand modifier needs a processing pipeline)")

    def _keyword(self, value: Any) -> str:
        self._no_placeholder(value)
        if not isinstance(value, SigmaString):
            raise Unsupported(f"keyword of type {type(value).__name__}")
        self.out.needs_raw = True
        pattern = _like(value)
        return f"coalesce(r.raw ILIKE {self._param('%' + pattern.strip('%') + '%')} ESCAPE '\\', false)"

    def _field(self, path: str | None, value: Any) -> str:
        if path is None:
            return self._keyword(value)
        if isinstance(value, SigmaExpansion):
            return "(" + " OR ".join(self._field(path, v) for v in value.values) + ")"
        self._no_placeholder(value)
        expr = self._expr(path)
        return f"coalesce({self._leaf(expr, value)}, false)"

    def _leaf(self, expr: str, value: Any) -> str:
        if isinstance(value, SigmaNull):
            return f"{expr} IS NULL"
        if isinstance(value, SigmaExists):
            return f"{expr} IS {'NOT ' if value.exists else ''}NULL"
        if isinstance(value, SigmaBool):
            return f"lower({expr}) = {self._param('true' if value.boolean else 'false')}"
        if isinstance(value, SigmaTimestampPart):
            raise Unsupported("timestamp part modifiers (minute, hour, day, week, month, year)")
        if isinstance(value, SigmaNumber):
            return f"{expr} = {self._param(str(value.number))}"
        if isinstance(value, SigmaCompareExpression):
            return f"TRY_CAST({expr} AS DOUBLE) {_COMPARE[value.op]} {self._param(float(value.number.number))}"
        if isinstance(value, SigmaCasedString):
            if value.contains_special():
                return f"{expr} LIKE {self._param(_like(value))} ESCAPE '\\'"
            return f"{expr} = {self._param(value.to_plain())}"
        if isinstance(value, SigmaString):
            if value.contains_special():
                return f"{expr} ILIKE {self._param(_like(value))} ESCAPE '\\'"
            return f"lower({expr}) = lower({self._param(value.to_plain())})"
        if isinstance(value, SigmaRegularExpression):
            flags = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
            pattern = (f"(?{flags})" if flags else "") + str(value.regexp)
            return f"regexp_matches({expr}, {self._param(pattern)})"
        if isinstance(value, SigmaCIDRExpression):
            inside = self.resolve_cidr(expr, [value.network])
            return f"{expr} IN (SELECT unnest({self._param(inside)}::VARCHAR[]))"
        if isinstance(value, SigmaFieldReference):
            other = self._expr(value.field)
            if value.starts_with:
                return f"starts_with(lower({expr}), lower({other}))"
            if value.ends_with:
                return f"ends_with(lower({expr}), lower({other}))"
            return f"lower({expr}) = lower({other})"
        raise Unsupported(f"value type {type(value).__name__} (modifier not evaluated by Trailhound)")
