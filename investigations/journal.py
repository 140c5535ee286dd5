"""The case journal: an append-only, hash-chained record of what the investigator did.

Each line is one JSON object with ``prev`` (the previous entry's hash) and ``hash`` (SHA-256 over
the entry without ``hash``, keys sorted). Changing, inserting or deleting a line breaks the chain
from that point, which ``verify()`` reports by line number.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

GENESIS = "0" * 64


def _user() -> str:
    import getpass

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


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _last_hash(self) -> tuple[int, str]:
        if not self.path.exists():
            return 0, GENESIS
        last = None
        count = 0
        with open(self.path, "rb") as handle:
            for line in handle:
                if line.strip():
                    last = line
                    count += 1
        if last is None:
            return 0, GENESIS
        try:
            return count, orjson.loads(last)["hash"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return count, hashlib.sha256(last.strip()).hexdigest()

    def append(self, action: str, **fields: Any) -> dict[str, Any]:
        """Append one entry and fsync it: once this returns, the action is on disk."""
        count, prev = self._last_hash()
        entry: dict[str, Any] = {
            "n": count + 1,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "user": _user(),
            "action": action,
            **fields,
            "prev": prev,
        }
        entry["hash"] = entry_hash(entry)
        line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"
        with open(self.path, "ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return entry

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            if line.strip():
                try:
                    out.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    out.append({"unreadable": line.decode("utf-8", "replace")})
        return out

    def verify(self) -> list[JournalProblem]:
        """Every break in the chain, by line number; an empty list means intact."""
        problems: list[JournalProblem] = []
        prev = GENESIS
        for number, entry in enumerate(self.entries(), 1):
            if "unreadable" in entry:
                problems.append(JournalProblem(number, "not valid JSON"))
                prev = ""
                continue
            if entry.get("prev") != prev:
                problems.append(
                    JournalProblem(number, "does not follow the entry before it (inserted, removed or reordered)")
                )
            if entry.get("hash") != entry_hash(entry):
                problems.append(JournalProblem(number, "content changed after it was written"))
            prev = entry.get("hash", "")
        return problems
