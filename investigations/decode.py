"""Bytes of one evidence file to an Arrow table of typed rows, with every rejection accounted for.

This is the hot path of ingest and runs in worker processes, so it returns plain picklable
results. Containers are recognised by content, never trusted by name: gzip by its magic bytes,
then CloudTrail's ``{"Records": [...]}``, a JSON array, a single record, LookupEvents output
(``{"Events": [{"CloudTrailEvent": "..."}]}``) or JSON Lines. Where a file is partly bad, the good
records are kept and the rest are listed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from investigations.model import EVENT_SCHEMA
from investigations.records import RecordError, Row, extract

#: Decompressed size above which a file is refused: a guard against gzip bombs. The CLI can raise it.
DEFAULT_MAX_DECOMPRESSED = 2 * 1024**3

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Something not stored, and why. ``record`` is the 1-based record or line number, if any."""

    path: str
    reason: str
    record: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "reason": self.reason}
        if self.record is not None:
            out["record"] = self.record
        return out


@dataclass(slots=True)
class Decoded:
    """What one file yielded. ``kind`` is "events", "digest" or "rejected"."""

    path: str
    kind: str
    table: pa.Table | None = None
    rejections: list[Rejection] = field(default_factory=list)
    records_seen: int = 0
    raw_bytes: int = 0

    @property
    def events(self) -> int:
        return 0 if self.table is None else self.table.num_rows


class _Envelope(msgspec.Struct):
    Records: list[msgspec.Raw] | None = None
    Events: list[msgspec.Raw] | None = None


_envelope = msgspec.json.Decoder(_Envelope)
_array = msgspec.json.Decoder(list[msgspec.Raw])


class FileError(ValueError):
    """The file as a whole is unusable; the message says why."""


def decompress(data: bytes, limit: int = DEFAULT_MAX_DECOMPRESSED) -> tuple[bytes, str | None]:
    """Gunzip every member of ``data`` under a size cap.

    Returns the bytes and, for a truncated stream, a note saying so (the bytes then hold what
    could be recovered). Raises FileError when the cap is passed or the stream is corrupt.
    """
    out: list[bytes] = []
    total = 0
    rest = data
    while rest:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(rest, limit - total + 1)
        except zlib.error as exc:
            if out:
                return b"".join(out), f"data after the gzip stream is not gzip ({exc})"
            raise FileError(f"corrupt gzip: {exc}") from None
        total += len(chunk)
        out.append(chunk)
        if total > limit or d.unconsumed_tail:
            raise FileError(
                f"decompresses to more than {limit / 2**20:.0f} MiB (a gzip bomb, or raise --max-decompressed)"
            )
        if not d.eof:
            return b"".join(out), "truncated gzip stream; kept the records before the cut"
        rest = d.unused_data
        if rest and not rest.startswith(_GZIP_MAGIC):
            if rest.strip(b"\x00"):
                return b"".join(out), f"{len(rest)} bytes of non-gzip data after the gzip stream ignored"
            break
    return b"".join(out), None


def _scan_values(text: bytes, path: str, in_array: bool) -> tuple[list[bytes], Rejection | None]:
    """Read JSON values one by one until the text ends or breaks.

    Used where a whole-file parse failed: the part of a ``Records`` array before a truncation, or
    pretty-printed JSON documents written one after another (some exporters do that).
    """
    decoder = json.JSONDecoder()
    s = text.decode("utf-8", "replace")
    pos = s.find("[") + 1 if in_array else 0
    found: list[bytes] = []
    while True:
        while pos < len(s) and s[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(s) or (in_array and s[pos] == "]"):
            return found, None
        try:
            _, end = decoder.raw_decode(s, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            reason = f"JSON breaks off at character {pos} ({detail}); {len(found)} records before it kept"
            return found, Rejection(path, reason)
        found.append(s[pos:end].encode())
        pos = end


def split_records(text: bytes, path: str) -> tuple[list[bytes], list[Rejection], str]:
    """Split a decompressed file into record byte strings. Returns (records, rejections, kind)."""
    head = text.lstrip()[:1]
    if not head:
        raise FileError("empty file (no content)" if not text else "file holds only white space")
    if head not in (b"{", b"["):
        first_line = text.lstrip().split(b"\n", 1)[0]
        if first_line.partition(b" ")[2].lstrip().startswith(b"{"):
            return split_lines(text, path)  # CloudWatch Logs export: "<timestamp> <record>" per line
        raise FileError("not JSON (does not start with { or [) and not gzip")
    try:
        if head == b"[":
            return [bytes(r) for r in _array.decode(text)], [], "events"
        env = _envelope.decode(text)
    except msgspec.ValidationError as exc:
        raise FileError(f"unexpected shape: {exc}") from None
    except msgspec.DecodeError as exc:
        if "trailing characters" in str(exc):
            first_line = text.lstrip().split(b"\n", 1)[0]
            try:
                msgspec.json.decode(first_line)
            except (msgspec.DecodeError, RecursionError):
                records, rejection = _scan_values(text, path, in_array=False)
                return records, [rejection] if rejection else [], "events"
            return split_lines(text, path)
        if head == b"{" and b'"Records"' in text[:200]:
            records, rejection = _scan_values(text, path, in_array=True)
            return records, [rejection] if rejection else [], "events"
        raise FileError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise FileError("JSON nested too deeply to be CloudTrail") from None
    if env.Records is not None:
        return [bytes(r) for r in env.Records], [], "events"
    if env.Events is not None:
        return [bytes(r) for r in env.Events], [], "events"
    if b'"digestPublicKeyFingerprint"' in text or b'"logFiles"' in text:
        return [], [], "digest"
    return [text], [], "events"


def split_lines(text: bytes, path: str) -> tuple[list[bytes], list[Rejection], str]:
    """JSON Lines: one record (or exported wrapper) per line; CloudWatch's timestamp prefix allowed."""
    records: list[bytes] = []
    rejections: list[Rejection] = []
    for number, line in enumerate(text.split(b"\n"), 1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith(b"{"):
            _, _, rest = line.partition(b" ")
            if not rest.lstrip().startswith(b"{"):
                rejections.append(Rejection(path, "line is not a JSON object", number))
                continue
            line = rest.lstrip()
        records.append(line)
    return records, rejections, "events"


def _synthetic_id(raw: bytes) -> str:
    """Exports sometimes drop eventID; a content hash still deduplicates re-ingested copies."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _times(values: list[str | None]) -> pa.Array:
    """Parse times column-wise: CloudTrail's own form first, then the forms exports rewrite it to.

    Seen in the wild: ISO basic form (old ``creationDate``), a space instead of ``T`` and nanosecond
    fractions (SIEM exports), and explicit zero offsets.
    """
    arr = pa.array(values, pa.string())
    out = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    if out.null_count > arr.null_count:
        out = pc.coalesce(out, pc.strptime(arr, format="%Y%m%dT%H%M%SZ", unit="s", error_is_null=True))
    if out.null_count > arr.null_count:
        trimmed = pc.replace_substring_regex(arr, r"(\.\d+)?\s*(Z|UTC|[+-]00:?00)?$", "")
        trimmed = pc.replace_substring_regex(trimmed, r"^(\d{4}-\d{2}-\d{2}) ", r"\1T")
        out = pc.coalesce(out, pc.strptime(trimmed, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True))
    return out


def build_table(
    records: list[bytes], path: str, file_id: int, first_number: int = 1
) -> tuple[pa.Table | None, list[Rejection]]:
    """Rows for the records that pass, rejections (with record numbers) for those that don't."""
    rows: list[Row] = []
    raws: list[bytes] = []
    numbers: list[int] = []
    rejections: list[Rejection] = []
    for number, raw in enumerate(records, first_number):
        try:
            row, stored = extract(raw)
        except RecordError as exc:
            rejections.append(Rejection(path, str(exc), number))
            continue
        except RecursionError:
            rejections.append(Rejection(path, "record nested too deeply", number))
            continue
        if row[1] is None:
            row = (row[0], _synthetic_id(stored), *row[2:])
        rows.append(row)
        raws.append(stored)
        numbers.append(number)
    if not rows:
        return None, rejections
    columns = list(zip(*rows, strict=True))
    names = EVENT_SCHEMA.names
    arrays: list[pa.Array] = []
    for index, values in enumerate(columns):
        name = names[index]
        kind = EVENT_SCHEMA.field(name).type
        if pa.types.is_timestamp(kind):
            arrays.append(_times(list(values)))
        else:
            arrays.append(pa.array(values, kind))
    arrays.append(pa.array([file_id] * len(rows), pa.int32()))
    arrays.append(pa.array(raws, pa.binary()).view(pa.string()))
    table = pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)
    bad_time = pc.is_null(table.column("event_time"))
    if pc.any(bad_time).as_py():
        for index in pc.indices_nonzero(bad_time).to_pylist():
            reason = f"eventTime {columns[0][index]!r} is not a CloudTrail time"
            rejections.append(Rejection(path, reason, numbers[index]))
        table = table.filter(pc.invert(bad_time))
    return table, rejections


def decode_bytes(data: bytes, path: str, file_id: int, max_decompressed: int = DEFAULT_MAX_DECOMPRESSED) -> Decoded:
    """Decode one file's bytes (compressed or not). Never raises for bad content."""
    result = Decoded(path=path, kind="events")
    try:
        note = None
        if data[:2] == _GZIP_MAGIC:
            data, note = decompress(data, max_decompressed)
        elif len(data) > max_decompressed:
            raise FileError(f"larger than {max_decompressed / 2**20:.0f} MiB (raise --max-decompressed)")
        result.raw_bytes = len(data)
        records, rejections, kind = split_records(data, path)
    except FileError as exc:
        result.kind = "rejected"
        result.rejections.append(Rejection(path, str(exc)))
        return result
    result.kind = kind
    if note:
        result.rejections.append(Rejection(path, note))
    result.rejections.extend(rejections)
    result.records_seen = len(records)
    result.table, rejected = build_table(records, path, file_id)
    result.rejections.extend(rejected)
    return result


def decode_records(records: list[bytes], path: str, file_id: int) -> Decoded:
    """Decode records that arrive already split (LookupEvents pages, JSONL chunks)."""
    result = Decoded(path=path, kind="events", records_seen=len(records))
    result.raw_bytes = sum(len(r) for r in records)
    result.table, result.rejections = build_table(records, path, file_id)
    return result
