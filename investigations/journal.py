"""The case journal: an append-only, hash-chained record of what the investigator did.

Each line is one JSON object with ``n`` (its position), ``prev`` (the previous entry's hash) and
``hash`` (SHA-256 over the entry without ``hash``, keys sorted). Changing, inserting or deleting
a line breaks the chain from that point, which ``verify()`` reports by line number.

The journal is also the case's write-ahead log: every change to ``case.json`` is appended here
first, so a crash between the two writes is repaired by replaying the tail. Each entry goes out
as one ``write()`` of a complete line on an ``O_APPEND`` descriptor, then ``fsync``. Linux can
still cut a write short when the writer is killed between pages, so a final line without its
newline is expected after a crash: ``repair_tail()`` sets it aside in a file of its own rather
than letting the next entry glue onto it, and the case journals that it did so.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

GENESIS = "0" * 64
#: Keys the journal itself writes; callers' fields may not shadow them.
RESERVED = frozenset({"n", "time", "user", "action", "prev", "hash"})
_TAIL_CHUNK = 64 * 1024


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class JournalProblem:
    line: int
    problem: str


@dataclass(frozen=True, slots=True)
class Head:
    """Where the chain ends: the number of entries and the last entry's hash."""

    entries: int
    hash: str


@dataclass(frozen=True, slots=True)
class TornTail:
    """An incomplete final line moved out of the journal, with where it went."""

    length: int
    sha256: str
    saved_as: str


class Journal:
    """One case's journal. Only the process holding the case lock appends, so the head is cached."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._head: Head | None = None

    @property
    def head(self) -> Head:
        if self._head is None:
            self._head = self._read_head()
        return self._head

    def _read_head(self) -> Head:
        """Read only the end of the file: appends must not cost more as the journal grows."""
        if not self.path.exists():
            return Head(0, GENESIS)
        with open(self.path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            chunk = _TAIL_CHUNK
            while True:
                start = max(0, size - chunk)
                handle.seek(start)
                data = handle.read(size - start)
                end = data.rfind(b"\n")
                begin = data.rfind(b"\n", 0, max(end, 0)) + 1
                if start > 0 and (end < 0 or begin == 0):
                    chunk *= 4  # the last line is longer than what was read
                    continue
                break
        last = data[begin:end] if end >= 0 else b""
        try:
            entry = orjson.loads(last)
            return Head(int(entry["n"]), str(entry["hash"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            # No entry yet, or a damaged last line: count and chain on its bytes; verify() reports it.
            return self.head_before(size)

    def repair_tail(self) -> TornTail | None:
        """Move an incomplete final line (a write cut short) aside; None when the file ends cleanly."""
        if not self.path.exists():
            return None
        with open(self.path, "r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return None
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return None
            cut = size
            while cut > 0:
                step = min(_TAIL_CHUNK, cut)
                handle.seek(cut - step)
                found = handle.read(step).rfind(b"\n")
                if found >= 0:
                    cut = cut - step + found + 1
                    break
                cut -= step
            handle.seek(cut)
            fragment = handle.read()
            number = self.head_before(cut).entries + 1
            saved = self.path.with_name(f"{self.path.name}.torn-{number}")
            saved.write_bytes(fragment)
            _fsync_file(saved)
            handle.truncate(cut)
            handle.flush()
            os.fsync(handle.fileno())
        self._head = None
        return TornTail(len(fragment), hashlib.sha256(fragment).hexdigest(), saved.name)

    def head_before(self, offset: int) -> Head:
        """The chain's end among the complete lines before ``offset`` (a full read: repairs only)."""
        count, last, position = 0, GENESIS, 0
        with open(self.path, "rb") as handle:
            for line in handle:
                position += len(line)
                if position > offset or not line.endswith(b"\n"):
                    break
                if line.strip():
                    count += 1
                    last = _line_hash(line)
        return Head(count, last)

    def append(self, action: str, **fields: Any) -> dict[str, Any]:
        """Append one entry and fsync it: once this returns, the action is on disk."""
        clash = RESERVED & fields.keys()
        if clash:
            raise ValueError(f"journal fields {sorted(clash)} are reserved")
        head = self.head
        entry: dict[str, Any] = {
            "n": head.entries + 1,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "user": os_user(),
            "action": action,
            # Round-trip the fields so the hash is computed over exactly what a reader will load.
            **orjson.loads(orjson.dumps(fields)),
            "prev": head.hash,
        }
        entry["hash"] = entry_hash(entry)
        line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            while written < len(line):  # only on a signal mid-write; finish the line
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        self._head = Head(entry["n"], entry["hash"])
        return entry

    def _lines(self) -> Iterator[bytes]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as handle:
            for line in handle:
                if line.strip():
                    yield line

    def entries(self, after: int = 0) -> Iterator[dict[str, Any]]:
        """Entries in order, streamed; lines that do not parse come back as ``{"unreadable": text}``."""
        for number, line in enumerate(self._lines(), 1):
            if number <= after:
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            yield entry if isinstance(entry, dict) else {"unreadable": line.decode("utf-8", "replace").rstrip("\n")}

    def verify(self) -> list[JournalProblem]:
        """Every break in the chain, by line number; an empty list means intact."""
        problems: list[JournalProblem] = []
        prev = GENESIS
        for number, line in enumerate(self._lines(), 1):
            if not line.endswith(b"\n"):
                problems.append(
                    JournalProblem(number, "incomplete final line: the writer stopped mid-entry (reopening repairs it)")
                )
                break
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                entry = None
            if not isinstance(entry, dict):
                problems.append(JournalProblem(number, "not a journal entry (not a JSON object)"))
                prev = _line_hash(line)
                continue
            if entry.get("prev") != prev:
                problems.append(
                    JournalProblem(number, "does not follow the entry before it (inserted, removed or reordered)")
                )
            if entry.get("hash") != entry_hash(entry):
                problems.append(JournalProblem(number, "content changed after it was written"))
            if entry.get("n") != number:
                problems.append(JournalProblem(number, f"numbered {entry.get('n')!r} but is entry {number}"))
            prev = str(entry.get("hash", ""))
        return problems


def _line_hash(line: bytes) -> str:
    try:
        return str(orjson.loads(line)["hash"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
