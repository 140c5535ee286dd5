"""The filter language responders type in the workbench, compiled to a SQL WHERE over ``events``.

``name:Put* ip:203.0.113.0/24 -readonly:true error:* "free text"`` — terms are ANDed, ``OR``
and parentheses group, a leading ``-`` negates. Matching is case-insensitive and ``*`` is a
wildcard. Bare words search the raw records (``raw ILIKE '%word%'``): through the text index when
the caller passes its ``search`` and the index is current (textindex.py), else by a DuckDB scan of
every record; either way callers run those filters in a worker (``Filter.free_text`` says when).
Every mistake is reported with the character position it was found at, so the UI can point at it.

CIDR blocks are resolved against the addresses actually present in the case (the caller passes
them in): a case holds a few thousand distinct addresses at most, ``ipaddress`` parses every
spelling of IPv4 and IPv6 exactly, and the query becomes a plain list lookup.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from investigations.timeparse import iso, parse_time

if TYPE_CHECKING:
    import numpy as np

#: A free-text term -> the rids (ascending) of the records holding it, or None to scan instead.
Search = Callable[[str], "np.ndarray | None"]

Kind = Literal["text", "source", "bool", "ip", "list", "number", "after", "before", "free"]


@dataclass(frozen=True, slots=True)
class Field:
    """One ``name:`` the language knows: the columns it searches and how its values read."""

    name: str
    kind: Kind
    columns: tuple[str, ...]
    help: str
    aliases: tuple[str, ...] = ()


FIELDS: tuple[Field, ...] = (
    Field("name", "text", ("event_name",), "API call, e.g. name:Put*", ("event", "eventname", "api")),
    Field("source", "source", ("event_source",), "service, e.g. source:iam", ("service", "eventsource")),
    Field("region", "text", ("aws_region",), "AWS region, e.g. region:us-east-1"),
    Field("account", "text", ("recipient_account_id", "identity_account_id"), "account acted in or from"),
    Field(
        "actor",
        "text",
        ("identity_arn", "session_issuer_arn", "principal_id", "user_name"),
        "caller ARN, its role, principal id or user name",
        ("principal",),
    ),
    Field("user", "text", ("user_name",), "IAM user name", ("username",)),
    Field("type", "text", ("identity_type",), "identity type: IAMUser, AssumedRole, Root..."),
    Field("key", "text", ("access_key_id",), "access key used, e.g. key:AKIA...", ("accesskey", "akid")),
    Field("issued", "text", ("issued_key",), "access key minted by the call"),
    Field("session", "text", ("principal_id",), "role session principal id, e.g. session:*:alice"),
    Field("role", "text", ("session_issuer_arn", "role_arn"), "role acted as, or asked for"),
    Field("ip", "ip", ("source_ip",), "source IP, CIDR or wildcard, e.g. ip:203.0.113.0/24", ("sourceip",)),
    Field("ua", "text", ("user_agent",), "user agent", ("useragent", "agent")),
    Field("error", "text", ("error_code",), "error code; error:* any failure", ("errorcode",)),
    Field("message", "text", ("error_message",), "error message", ("errormessage",)),
    Field("readonly", "bool", ("read_only",), "true or false; -readonly:true for writes", ("ro",)),
    Field("mfa", "bool", ("mfa_authenticated",), "session was MFA-authenticated"),
    Field("console", "bool", ("console_credential",), "console session credential"),
    Field("management", "bool", ("management_event",), "management (not data) event"),
    Field("resource", "list", ("resources", "role_arn"), "resource ARN", ("res", "arn")),
    Field("id", "text", ("event_id",), "event ID", ("eventid",)),
    Field("request", "text", ("request_id",), "request ID", ("requestid",)),
    Field("eventtype", "text", ("event_type",), "AwsApiCall, AwsConsoleSignIn..."),
    Field("category", "text", ("event_category",), "Management, Data, Insight"),
    Field("vpce", "text", ("vpc_endpoint_id",), "VPC endpoint ID"),
    Field("invokedby", "text", ("invoked_by",), "service that called on the caller's behalf"),
    Field("bytes", "number", ("bytes_out",), "bytes out, e.g. bytes:>10M"),
    Field("after", "after", ("event_time",), "at or after a time, e.g. after:2024-05-01T08:00Z", ("since", "from")),
    Field("before", "before", ("event_time",), "before a time, e.g. before:12h", ("until", "to")),
    Field("text", "free", (), 'raw record contains, e.g. text:"s3:GetObject"'),
)

_BY_NAME: dict[str, Field] = {alias: f for f in FIELDS for alias in (f.name, *f.aliases)}
_FIELD_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
_ARN_PREFIX = re.compile(r"arn:aws[a-z-]*:", re.IGNORECASE)
_NUMBER = re.compile(r"(>=|<=|>|<|=)?(\d+(?:\.\d+)?)([KMGT]?)B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}
_TIME_FIELDS = {"after", "before"}


class QueryError(ValueError):
    """A filter that cannot be compiled; ``position`` is the offending character's index."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter: ``where``/``params`` go straight into ``EventStore`` calls."""

    text: str
    where: str = "TRUE"
    params: tuple[Any, ...] = ()
    free_text: bool = False
    #: When the whole filter is one free-text term the text index answered: the matching rids
    #: (ascending), so a caller can skip the events scan that ``where`` would cost.
    rids: np.ndarray | None = field(default=None, compare=False)

    @property
    def empty(self) -> bool:
        return self.where == "TRUE"


@dataclass(slots=True)
class _Token:
    kind: Literal["(", ")", "OR", "term"]
    start: int
    end: int
    negate: bool = False
    field: str | None = None
    value: str = ""
    value_start: int = 0


@dataclass(slots=True)
class _Sql:
    sql: str
    params: list[Any] = field(default_factory=list)
    free_text: bool = False
    rids: np.ndarray | None = field(default=None, compare=False)  # what the text index found


def _read_value(text: str, i: int) -> tuple[str, int]:
    """A bare or double-quoted value starting at ``i``; returns it and the index after it."""
    if i < len(text) and text[i] == '"':
        out: list[str] = []
        j = i + 1
        while j < len(text):
            ch = text[j]
            if ch == "\\" and j + 1 < len(text):
                out.append(text[j + 1])
                j += 2
                continue
            if ch == '"':
                return "".join(out), j + 1
            out.append(ch)
            j += 1
        raise QueryError("unclosed quote", i)
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in "()":
        j += 1
    return text[i:j], j


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "()":
            tokens.append(_Token(ch, i, i + 1))  # type: ignore[arg-type]
            i += 1
            continue
        start = i
        negate = ch == "-" and i + 1 < len(text) and not text[i + 1].isspace()
        if negate:
            i += 1
            if text[i] == "(":
                tokens.append(_Token("(", start, i + 1, negate=True))
                i += 1
                continue
        word = _FIELD_WORD.match(text, i)
        if word and word.end() < len(text) and text[word.end()] == ":" and not _ARN_PREFIX.match(text, i):
            name = word.group()
            value_start = word.end() + 1
            value, end = _read_value(text, value_start)
            tokens.append(_Token("term", start, end, negate, name, value, value_start))
            i = end
            continue
        value, end = _read_value(text, i)
        if not negate and value in ("OR", "AND"):
            if value == "OR":
                tokens.append(_Token("OR", start, end))
        else:
            tokens.append(_Token("term", start, end, negate, None, value, i))
        i = end
    return tokens


def _like(value: str) -> tuple[str, str]:
    """A case-insensitive LIKE pattern (``*`` is the wildcard) and the ILIKE to match it with.

    SQL's own wildcards in the value are escaped; only then is ``ESCAPE`` added, since it takes
    DuckDB off its fast path for ILIKE.
    """
    if any(ch in value for ch in "\\%_"):
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%"), "ILIKE ? ESCAPE '\\'"
    return value.replace("*", "%"), "ILIKE ?"


class _Compiler:
    def __init__(self, text: str, ips: Callable[[], Iterable[str]] | None, search: Search | None) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.ips = ips
        self.search = search
        self._ip_cache: list[str] | None = None

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> _Sql:
        if not self.tokens:
            return _Sql("TRUE")
        node = self.expr()
        extra = self.peek()
        if extra is not None:
            raise QueryError("unmatched ')'" if extra.kind == ")" else "unexpected input", extra.start)
        return node

    def expr(self) -> _Sql:
        parts = [self.conjunction()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.pos += 1
            if self.peek() is None or self.peek().kind in (")", "OR"):  # type: ignore[union-attr]
                raise QueryError("OR needs a term after it", tok.end)
            parts.append(self.conjunction())
        return _join(parts, " OR ")

    def conjunction(self) -> _Sql:
        parts: list[_Sql] = []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", ")"):
            parts.append(self.unary())
        if not parts:
            tok = self.peek()
            raise QueryError("expected a term", tok.start if tok else len(self.text))
        return _join(parts, " AND ")

    def unary(self) -> _Sql:
        tok = self.tokens[self.pos]
        self.pos += 1
        if tok.kind == "(":
            inner = self.expr()
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError("unclosed '('", tok.start)
            self.pos += 1
            node = inner
        else:
            node = self.term(tok)
        if tok.negate:
            return _Sql(f"(({node.sql}) IS NOT TRUE)", node.params, node.free_text)
        return node

    def term(self, tok: _Token) -> _Sql:
        if tok.field is None:
            if not tok.value:
                raise QueryError("empty search text", tok.start)
            return _free_text(tok.value, self.search)
        spec = _BY_NAME.get(tok.field.lower())
        if spec is None:
            close = difflib.get_close_matches(tok.field.lower(), list(_BY_NAME), n=1)
            hint = f"; did you mean {close[0]}:?" if close else "; press ? for the list of fields"
            raise QueryError(f"unknown field {tok.field!r}{hint}", tok.start + tok.negate)
        if not tok.value:
            raise QueryError(f"{spec.name}: needs a value", tok.value_start)
        if spec.kind == "free":
            return _free_text(tok.value, self.search)
        if spec.kind in _TIME_FIELDS:
            return self.time(spec, tok)
        if spec.kind == "bool":
            return self.boolean(spec, tok)
        if spec.kind == "number":
            return self.number(spec, tok)
        alternatives = [self.match(spec, v, tok) for v in tok.value.split(",") if v]
        return _join(alternatives, " OR ")

    def match(self, spec: Field, value: str, tok: _Token) -> _Sql:
        if value == "*":
            cols = [c for c in spec.columns if c != "resources"]
            clauses = [f"({c} IS NOT NULL AND {c} <> '')" for c in cols]
            if "resources" in spec.columns:
                clauses.insert(0, "len(resources) > 0")
            return _Sql("(" + " OR ".join(clauses) + ")")
        if spec.kind == "ip" and "/" in value:
            return self.cidr(value, tok)
        if spec.kind == "source" and "." not in value and "*" not in value:
            value += ".amazonaws.com"
        pattern, ilike = _like(value)
        clauses, params = [], []
        for column in spec.columns:
            if column == "resources":
                clauses.append(f"len(list_filter(resources, lambda r: r {ilike})) > 0")
            else:
                clauses.append(f"{column} {ilike}")
            params.append(pattern)
        sql = clauses[0] if len(clauses) == 1 else "(" + " OR ".join(clauses) + ")"
        return _Sql(sql, params)

    def cidr(self, value: str, tok: _Token) -> _Sql:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise QueryError(f"{value!r} is not a CIDR block (e.g. 203.0.113.0/24)", tok.value_start) from None
        if self.ips is None:
            raise QueryError("CIDR matching needs the case's addresses", tok.value_start)
        if self._ip_cache is None:
            self._ip_cache = [ip for ip in self.ips() if ip]
        inside = [ip for ip in self._ip_cache if _in_network(ip, network)]
        return _Sql("list_contains(?, source_ip)", [inside])

    def boolean(self, spec: Field, tok: _Token) -> _Sql:
        word = tok.value.lower()
        if word not in _TRUE | _FALSE:
            raise QueryError(f"{spec.name}: takes true or false", tok.value_start)
        return _Sql(f"{spec.columns[0]} = ?", [word in _TRUE])

    def number(self, spec: Field, tok: _Token) -> _Sql:
        match = _NUMBER.fullmatch(tok.value)
        if not match:
            raise QueryError(f"{spec.name}: takes a number such as >10M or <=512", tok.value_start)
        op, amount, unit = match.groups()
        return _Sql(f"{spec.columns[0]} {op or '='} ?", [int(float(amount) * _UNITS[unit.upper()])])

    def time(self, spec: Field, tok: _Token) -> _Sql:
        try:
            moment = parse_time(tok.value)
        except ValueError as exc:
            raise QueryError(str(exc), tok.value_start) from None
        return _Sql("event_time >= ?" if spec.kind == "after" else "event_time < ?", [moment])


def _in_network(ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False  # "AWS Internal", service host names


def _free_text(value: str, search: Search | None) -> _Sql:
    """Raw records containing ``value`` (``*`` a wildcard), ignoring case as ILIKE does.

    With a current text index the answer is a set of rids, handed to DuckDB as a bitmap (one
    parameter of a bit per rid: 16 ms for a million matches, where a list parameter took 2 s).
    Otherwise DuckDB scans, each form measured on a million records: a plain substring search
    where case cannot matter (addresses, ids, numbers), ILIKE where the value holds none of LIKE's
    own wildcards, and for values that do, a substring search of the lowercased record (ILIKE's own
    rule) or, with a ``*`` too, ILIKE with ESCAPE (slower, but exact).
    """
    rids = search(value) if search is not None else None
    if rids is not None:
        return _rid_set(rids)
    if "*" not in value and value.lower() == value.upper():
        return _Sql("rid IN (SELECT rid FROM raw_events WHERE contains(raw, ?))", [value], True)
    if not any(c in value for c in "%_\\"):
        # ILIKE without ESCAPE stays on DuckDB's fast path: 0.56 s against RE2's 3.0 s on a
        # million zstd-stored records (measured).
        return _Sql("rid IN (SELECT rid FROM raw_events WHERE raw ILIKE ?)", [f"%{value.replace('*', '%')}%"], True)
    if "*" not in value:
        return _Sql("rid IN (SELECT rid FROM raw_events WHERE contains(lower(raw), lower(?)))", [value], True)
    pattern, ilike = _like(value)
    return _Sql(f"rid IN (SELECT rid FROM raw_events WHERE raw {ilike})", [f"%{pattern}%"], True)


def _rid_set(rids: np.ndarray) -> _Sql:
    """``rid`` is one of ``rids`` (ascending int64), as a bitmap parameter: bit r is set for rid r."""
    import numpy as np

    if not len(rids):
        return _Sql("FALSE", [], True, rids)
    size = int(rids[-1]) + 1
    bits = np.zeros(size, dtype=bool)
    bits[rids] = True
    bitmap = np.packbits(bits, bitorder="big").tobytes()
    sql = "CASE WHEN rid < ? THEN get_bit(?::BLOB::BIT, rid::INTEGER) = 1 ELSE false END"
    return _Sql(sql, [size, bitmap], True, rids)


def _join(parts: list[_Sql], op: str) -> _Sql:
    if len(parts) == 1:
        return parts[0]
    return _Sql(
        "(" + op.join(p.sql for p in parts) + ")",
        [param for p in parts for param in p.params],
        any(p.free_text for p in parts),
    )


def parse(text: str, ips: Callable[[], Iterable[str]] | None = None, search: Search | None = None) -> Filter:
    """Compile ``text``; raises QueryError. ``ips`` lists the case's source IPs, for CIDR terms;
    ``search`` answers free-text terms from the text index (``TextIndex.search``) when it can."""
    node = _Compiler(text, ips, search).parse()
    return Filter(text, node.sql, tuple(node.params), node.free_text, node.rids)


def complete(text: str) -> list[str]:
    """Field names that complete the word being typed at the end of ``text`` (with the colon)."""
    match = re.search(r"(?:^|[\s(])-?([A-Za-z][A-Za-z_]*)$", text)
    if not match:
        return []
    prefix = match.group(1).lower()
    names = [f.name for f in FIELDS if f.name.startswith(prefix)]
    names += [a for f in FIELDS for a in f.aliases if a.startswith(prefix) and f.name not in names]
    return [f"{n}:" for n in names]


def with_time_range(text: str, start: datetime | None, end: datetime | None) -> str:
    """``text`` with its time terms replaced by ``after:start before:end``, the rest untouched."""
    try:
        tokens = _tokens(text)
    except QueryError:
        tokens = []
    kept, cursor = [], 0
    for tok in tokens:
        spec = _BY_NAME.get((tok.field or "").lower())
        if tok.kind == "term" and not tok.negate and spec is not None and spec.kind in _TIME_FIELDS:
            kept.append(text[cursor : tok.start])
            cursor = tok.end
    kept.append(text[cursor:])
    rest = " ".join("".join(kept).split())
    bounds = [f"after:{iso(start)}" if start else "", f"before:{iso(end)}" if end else ""]
    return " ".join(part for part in (rest, *bounds) if part)


def time_bounds(text: str) -> tuple[datetime | None, datetime | None]:
    """The top-level ``after:``/``before:`` of ``text``, so a histogram can zoom to them."""
    try:
        tokens = _tokens(text)
    except QueryError:
        return None, None
    low = high = None
    depth = 0
    for tok in tokens:
        depth += tok.kind == "("
        depth -= tok.kind == ")"
        spec = _BY_NAME.get((tok.field or "").lower())
        if depth or tok.kind != "term" or tok.negate or spec is None or spec.kind not in _TIME_FIELDS:
            continue
        try:
            moment = parse_time(tok.value)
        except ValueError:
            continue
        if spec.kind == "after":
            low = moment if low is None else max(low, moment)
        else:
            high = moment if high is None else min(high, moment)
    return low, high
