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
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from isal import isal_zlib as zlib  # ISA-L inflate: 2.4x zlib's speed here, same API and output

from investigations.model import DECODED_SCHEMA
from investigations.records import (
    MAX_RECORD_BYTES,
    Key,
    RecordError,
    from_bytes,
    has_secret,
    scrub,
    unwrap,
)

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
    """What one file yielded. ``kind`` is "events", "digest", "rejected", or "other" (JSON that is not
    CloudTrail; a folder walk lists it as skipped, a file named on purpose is rejected).

    ``times``/``ids``/``raws``/``numbers`` carry the parsed records only until ``tabulate`` turns a batch
    of files into one Arrow table (per-column costs are paid once per batch, not per file, which
    matters for the many tiny files of a multi-region trail); after that only the counts remain.
    """

    path: str
    kind: str
    rejections: list[Rejection] = field(default_factory=list)
    records_seen: int = 0
    raw_bytes: int = 0
    events: int = 0
    times: list[str] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    raws: list[Any] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)


class _Envelope(msgspec.Struct):
    Records: list[msgspec.Raw] | None = None
    Events: list[msgspec.Raw] | None = None


class _TypedEnvelope(msgspec.Struct):
    Records: list[Key] | None = None


_envelope = msgspec.json.Decoder(_Envelope)
_array = msgspec.json.Decoder(list[msgspec.Raw])
_typed_envelope = msgspec.json.Decoder(_TypedEnvelope)
_typed_array = msgspec.json.Decoder(list[Key])


class FileError(ValueError):
    """The file as a whole is unusable; the message says why."""


class NotCloudTrail(FileError):
    """Well-formed JSON that is something else (a scenario file, a config): skipped in folder walks."""


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
            return list(_array.decode(text)), [], "events"
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
        return list(env.Records), [], "events"
    if env.Events is not None:
        return list(env.Events), [], "events"
    if b'"digestPublicKeyFingerprint"' in text or b'"logFiles"' in text:
        return [], [], "digest"
    try:
        single = orjson.loads(text)
    except orjson.JSONDecodeError:
        single = None
    if isinstance(single, dict) and unwrap(single) is None:
        raise NotCloudTrail("JSON, but not CloudTrail (no Records, Events or event fields)")
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


def _typed_whole(text: bytes, raws: list[Any]) -> list[Key] | None:
    """Decode every record's time and id of a Records file in one call, when the whole file is clean.

    Clean means: valid UTF-8, every element an object with eventTime and eventID strings, none
    oversized. Anything else returns None and the records go one by one.
    """
    try:
        text.decode("utf-8")
        head = text.lstrip()[:1]
        typed = _typed_array.decode(text) if head == b"[" else _typed_envelope.decode(text).Records
    except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if typed is None or len(typed) != len(raws):
        return None
    if any(k.eventTime is None or k.eventID is None for k in typed):
        return None
    if any(len(r) > MAX_RECORD_BYTES for r in raws):
        return None
    return typed


def _one_by_one(result: Decoded, records: list[Any]) -> None:
    for number, raw in enumerate(records, 1):
        try:
            when, event_id, stored = from_bytes(bytes(raw))
        except RecordError as exc:
            result.rejections.append(Rejection(result.path, str(exc), number))
            continue
        except RecursionError:
            result.rejections.append(Rejection(result.path, "record nested too deeply", number))
            continue
        result.times.append(when)
        result.ids.append(event_id if event_id is not None else _synthetic_id(stored))
        result.raws.append(stored)
        result.numbers.append(number)


def _accept(result: Decoded, records: list[Any], typed: list[Key] | None, secrets: bool) -> None:
    """Fill the record lists from a whole-file decode, or one by one with rejections.

    ``secrets`` says whether the file mentions a session token at all (checked once on the whole
    text); only then is each record checked and scrubbed.
    """
    if typed is None:
        _one_by_one(result, records)
        return
    raws = records
    if secrets:
        raws = [orjson.dumps(scrub(orjson.loads(bytes(r)))) if has_secret(bytes(r)) else r for r in raws]
    result.times = [k.eventTime for k in typed]
    result.ids = [k.eventID for k in typed]
    result.raws, result.numbers = raws, list(range(1, len(raws) + 1))


def parse_bytes(data: bytes, path: str, max_decompressed: int = DEFAULT_MAX_DECOMPRESSED) -> Decoded:
    """Parse one file's bytes (compressed or not). Never raises for bad content."""
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
        result.kind = "other" if isinstance(exc, NotCloudTrail) else "rejected"
        result.rejections.append(Rejection(path, str(exc)))
        return result
    result.kind = kind
    if note:
        result.rejections.append(Rejection(path, note))
    result.rejections.extend(rejections)
    result.records_seen = len(records)
    typed = _typed_whole(data, records) if kind == "events" and data.lstrip()[:1] in (b"{", b"[") else None
    _accept(result, records, typed, has_secret(data))
    return result


def parse_records(records: list[bytes], path: str) -> Decoded:
    """Parse records that arrive already split (LookupEvents pages)."""
    result = Decoded(path=path, kind="events", records_seen=len(records))
    result.raw_bytes = sum(len(r) for r in records)
    _accept(result, records, None, secrets=True)
    return result


def tabulate(parsed: list[tuple[int, Decoded]]) -> pa.Table | None:
    """One Arrow table (model.DECODED_SCHEMA) for a batch of parsed files.

    Each file keeps its counts and rejections; a record whose time does not parse is rejected
    here, where times are parsed for the whole batch at once.
    """
    times: list[str] = []
    ids: list[str | None] = []
    raws: list[Any] = []
    file_ids: list[int] = []
    starts: list[int] = []
    owners: list[tuple[Decoded, list[int]]] = []
    for file_id, result in parsed:
        starts.append(len(times))
        owners.append((result, result.numbers))
        times.extend(result.times)
        ids.extend(result.ids)
        raws.extend(result.raws)
        file_ids.extend([file_id] * len(result.times))
        result.events = len(result.times)
        result.times, result.ids, result.raws, result.numbers = [], [], [], []
    if not times:
        return None
    table = pa.Table.from_arrays(
        [parse_times(times), pa.array(ids, pa.string()), pa.array(file_ids, pa.int32()), _raw_array(raws)],
        schema=DECODED_SCHEMA,
    )
    bad_time = pc.is_null(table.column("event_time"))
    if pc.any(bad_time).as_py():
        for index in pc.indices_nonzero(bad_time).to_pylist():
            slot = bisect_right(starts, index) - 1
            owner, numbers = owners[slot]
            reason = f"eventTime {times[index]!r} is not a CloudTrail time"
            owner.rejections.append(Rejection(owner.path, reason, numbers[index - starts[slot]]))
            owner.rejections.sort(key=lambda r: r.record or 0)
            owner.events -= 1
        table = table.filter(pc.invert(bad_time))
    return table


def _raw_array(raws: list[Any]) -> pa.Array:
    """Concatenate record bytes once and point offsets into them: no per-record conversion."""
    data = b"".join(raws)
    offsets = pa.array([0, *accumulate(map(len, raws))], pa.int64())
    return pa.LargeStringArray.from_buffers(len(raws), offsets.buffers()[1], pa.py_buffer(data))


def parse_times(values: list[str]) -> pa.Array:
    """Parse times column-wise: CloudTrail's own form first, then the forms exports rewrite it to.

    Seen in the wild: a space instead of ``T`` and nanosecond fractions (SIEM exports), and
    explicit zero offsets.
    """
    arr = pa.array(values, pa.string())
    out = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%SZ", unit="s", error_is_null=True)
    if out.null_count > arr.null_count:
        trimmed = pc.replace_substring_regex(arr, r"(\.\d+)?\s*(Z|UTC|[+-]00:?00)?$", "")
        trimmed = pc.replace_substring_regex(trimmed, r"^(\d{4}-\d{2}-\d{2}) ", r"\1T")
        out = pc.coalesce(out, pc.strptime(trimmed, format="%Y-%m-%dT%H:%M:%S", unit="s", error_is_null=True))
    return out
