"""A case folder: the responder's durable work product.

``case.json`` is authoritative and human-readable; every change rewrites it atomically
(temporary file, fsync, rename, fsync of the folder), so a crash leaves the old or the new
version, never a mix. ``journal.jsonl`` is append-only and hash-chained: each entry carries the
SHA-256 of the one before, so an edit or deletion shows. ``events.duckdb`` is derived and can be
rebuilt from the sources the case lists. One process holds a case at a time (``case.lock``).
"""

from __future__ import annotations

import fcntl
import getpass
import os
import socket
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from investigations.journal import Journal
from investigations.store import EventStore

CASE_SCHEMA = "trailhound.case/1"


class CaseError(RuntimeError):
    """The case cannot be used as asked; the message says why and what to do."""


class CaseLocked(CaseError):
    pass


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def atomic_write(path: Path, data: bytes) -> None:
    """Write-then-rename with fsyncs: readers see the old file or the new one, whole."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(slots=True)
class _Lock:
    handle: Any

    @classmethod
    def acquire(cls, path: Path) -> _Lock:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the case's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise CaseLocked(
                f"{path.parent} is open in another Trailhound ({holder}); close it there, "
                "or copy the case folder and open the copy"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {os_user()}@{socket.gethostname()}, since {now_iso()}")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


class Case:
    """An open case: its document, journal and store, held under a lock until ``close()``."""

    def __init__(self, root: Path, data: dict[str, Any], lock: _Lock) -> None:
        self.root = root
        self.data = data
        self._lock = lock
        self.journal = Journal(root / "journal.jsonl")
        self._store: EventStore | None = None

    @classmethod
    def open(cls, root: Path | str, create: bool = True) -> Case:
        root = Path(root).expanduser().resolve()
        doc = root / "case.json"
        if not doc.exists():
            if not create:
                raise CaseError(f"{root} is not a Trailhound case (no case.json); create one with `trailhound ingest`")
            root.mkdir(parents=True, exist_ok=True)
        lock = _Lock.acquire(root / "case.lock")
        try:
            if doc.exists():
                data = load_document(doc)
            else:
                data = new_document(root.name)
                atomic_write(doc, orjson.dumps(data, option=orjson.OPT_INDENT_2))
            case = cls(root, data, lock)
            if not doc.exists() or not case.journal.path.exists():
                case.journal.append("case.created", name=data["name"])
        except BaseException:
            lock.release()
            raise
        return case

    @property
    def store(self) -> EventStore:
        if self._store is None:
            self._store = EventStore(self.root / "events.duckdb")
        return self._store

    def save(self) -> None:
        self.data["updated"] = now_iso()
        atomic_write(self.root / "case.json", orjson.dumps(self.data, option=orjson.OPT_INDENT_2))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self._lock.release()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sources ------------------------------------------------------------------------------
    def next_source_id(self) -> int:
        return 1 + max((s["id"] for s in self.data["sources"]), default=0)

    def record_source(
        self,
        source_id: int,
        kind: str,
        uri: str,
        options: dict[str, Any],
        summary: dict[str, Any],
        files: list[dict[str, Any]],
    ) -> None:
        """Remember where evidence came from, with each file's hash, so the store can be rebuilt."""
        manifests = self.root / "sources"
        manifests.mkdir(exist_ok=True)
        manifest = manifests / f"{source_id:04d}.json"
        atomic_write(manifest, orjson.dumps({"source_id": source_id, "uri": uri, "files": files}))
        entry = {
            "id": source_id,
            "kind": kind,
            "uri": uri,
            "options": options,
            "added": now_iso(),
            "manifest": str(manifest.relative_to(self.root)),
            **summary,
        }
        self.data["sources"].append(entry)
        self.save()
        self.journal.append(
            "source.added",
            source_id=source_id,
            kind=kind,
            uri=uri,
            options=options,
            manifest=entry["manifest"],
            manifest_sha256=_sha256_file(manifest),
            **summary,
        )


def _sha256_file(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_document(name: str) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "schema": CASE_SCHEMA,
        "name": name,
        "created": stamp,
        "updated": stamp,
        "sources": [],
        "findings": [],
        "bookmarks": [],
        "notes": [],
        "tags": [],
        "iocs": [],
        "containment": [],
    }


def load_document(path: Path) -> dict[str, Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise CaseError(f"{path} is damaged ({exc}); restore it from the journal or a backup") from None
    if not isinstance(data, dict) or data.get("schema") != CASE_SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise CaseError(f"{path} has schema {found!r}; this Trailhound reads {CASE_SCHEMA!r}")
    return data
