"""A case folder: the responder's durable work product.

``case.json`` is authoritative and human-readable; ``journal.jsonl`` is the hash-chained record
of what the investigator did and, because every change is journaled before ``case.json`` is
rewritten, also the log that repairs a save cut short by a crash. ``case.json.bak`` is always the
version before the last save. ``events.duckdb`` is derived and can be rebuilt from the sources
the case lists. One process holds a case at a time (``case.lock`` says which).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from investigations.casefile.document import (
    CASE_SCHEMA,
    CaseDamaged,
    CaseVersionError,
    apply_entry,
    encode,
    load_document,
    new_document,
)
from investigations.casefile.persist import (
    CaseError,
    CaseLock,
    CaseLocked,
    atomic_write,
    backup_path,
    now_iso,
    replace_keeping_previous,
    sweep_temporaries,
)
from investigations.journal import GENESIS, Journal, JournalProblem, os_user

if TYPE_CHECKING:
    from investigations.store import EventStore

__all__ = [
    "CASE_SCHEMA",
    "Case",
    "CaseCheck",
    "CaseDamaged",
    "CaseError",
    "CaseLocked",
    "CaseVersionError",
    "atomic_write",
    "now_iso",
    "os_user",
]

#: Journal actions that record something the case did to itself, worth showing on verify.
SELF_REPAIRS = ("journal.repaired", "journal.mismatch", "case.restored", "case.migrated")


@dataclass(slots=True)
class CaseCheck:
    """What ``verify`` found: chain problems, evidence-manifest changes, and past self-repairs."""

    entries: int
    problems: list[JournalProblem] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems and not self.manifests


class Case:
    """An open case: its document, journal and store, held under a lock until ``close()``."""

    def __init__(self, root: Path, data: dict[str, Any], lock: CaseLock, journal: Journal) -> None:
        self.root = root
        self.data = data
        self.journal = journal
        #: What opening found and fixed (a replayed save, a torn journal line), for the UI to show.
        self.notices: list[str] = []
        self._lock = lock
        self._store: EventStore | None = None

    @classmethod
    def open(cls, root: Path | str, create: bool = True) -> Case:
        root = Path(root).expanduser().resolve()
        doc_path = root / "case.json"
        journal = Journal(root / "journal.jsonl")
        if not doc_path.exists():
            if backup_path(doc_path).exists() or journal.path.exists():
                raise CaseDamaged(
                    f"{doc_path} is missing but the case has a journal; `trailhound case restore --case {root}` "
                    "rebuilds it"
                )
            if not create:
                raise CaseError(f"{root} is not a Trailhound case (no case.json); create one with `trailhound ingest`")
            root.mkdir(parents=True, exist_ok=True)
        lock = CaseLock.acquire(root / "case.lock")
        try:
            sweep_temporaries(root)
            if doc_path.exists():
                data, migrated_from = load_document(doc_path)
                case = cls(root, data, lock, journal)
                case._settle(migrated_from)
            else:
                data = new_document(root.name)
                atomic_write(doc_path, encode(data))  # first, so a crash below leaves a case to replay onto
                case = cls(root, data, lock, journal)
                case.commit("case.created", name=root.name)
        except BaseException:
            lock.release()
            raise
        return case

    @classmethod
    def restore(cls, root: Path | str) -> Case:
        """Put back a damaged or missing ``case.json``: the last good copy plus the journal after it."""
        root = Path(root).expanduser().resolve()
        doc_path = root / "case.json"
        lock = CaseLock.acquire(root / "case.lock")
        try:
            damaged: dict[str, Any] = {}
            if doc_path.exists():
                try:
                    load_document(doc_path)
                except CaseVersionError:
                    raise
                except CaseDamaged:
                    raw = doc_path.read_bytes()
                    aside = doc_path.with_name(f"case.json.damaged-{now_iso().replace(':', '')}")
                    doc_path.rename(aside)
                    damaged = {"damaged_file": aside.name, "damaged_sha256": hashlib.sha256(raw).hexdigest()}
                else:
                    raise CaseError(f"{doc_path} reads fine; there is nothing to restore")
            try:
                data, _ = load_document(backup_path(doc_path))
                origin = backup_path(doc_path).name
            except (CaseDamaged, FileNotFoundError):
                data, origin = new_document(root.name), "journal"
            case = cls(root, data, lock, Journal(root / "journal.jsonl"))
            case._settle(None)
            case.commit("case.restored", origin=origin, **damaged)
        except BaseException:
            lock.release()
            raise
        return case

    def _settle(self, migrated_from: str | None) -> None:
        """Bring the document level with the journal after whatever ended the last session."""
        torn = self.journal.repair_tail()
        changed = self._replay()
        if torn is not None:
            self.notices.append(f"the journal's last line was cut short by a crash; kept as {torn.saved_as}")
            self.commit("journal.repaired", torn_bytes=torn.length, torn_sha256=torn.sha256, saved_as=torn.saved_as)
        if migrated_from is not None:
            kept = self.root / f"case.json.{migrated_from.replace('/', '-')}"
            kept.write_bytes((self.root / "case.json").read_bytes())
            self.notices.append(f"case.json upgraded from {migrated_from}; the original is kept as {kept.name}")
            self.commit("case.migrated", source_schema=migrated_from, kept_as=kept.name)
        elif changed:
            self.save()

    def _replay(self) -> bool:
        saved = self.data.get("journal") or {}
        saved_entries, saved_head = int(saved.get("entries", 0)), str(saved.get("head", GENESIS))
        head = self.journal.head
        if head.entries == saved_entries and head.hash == saved_head:
            return False
        entries = self.journal.entries(after=max(saved_entries - 1, 0))
        anchor = next(entries, None) if saved_entries else None
        if head.entries < saved_entries or (anchor is not None and anchor.get("hash") != saved_head):
            self.notices.append(
                f"case.json was saved after journal entry {saved_entries}, but the journal now ends at "
                f"{head.entries} or differs there: entries were removed or replaced (see `trailhound case verify`)"
            )
            self.commit(
                "journal.mismatch",
                expected={"entries": saved_entries, "head": saved_head},
                found={"entries": head.entries, "head": head.hash},
            )
            return True
        replayed = sum(1 for entry in entries if apply_entry(self.data, entry))
        if replayed:
            self.notices.append(f"recovered {replayed} change(s) journaled just before the last session ended")
        return True

    @property
    def store(self) -> EventStore:
        if self._store is None:
            from investigations.store import EventStore  # DuckDB loads only when events are needed

            self._store = EventStore(self.root / "events.duckdb")
        return self._store

    @property
    def has_events(self) -> bool:
        return (self.root / "events.duckdb").exists()

    def save(self) -> None:
        self.data["updated"] = now_iso()
        head = self.journal.head
        self.data["journal"] = {"entries": head.entries, "head": head.hash}
        replace_keeping_previous(self.root / "case.json", encode(self.data))

    def commit(self, action: str, **fields: Any) -> dict[str, Any]:
        """Journal a change, apply it, save: the order that lets a crash at any point be repaired."""
        entry = self.journal.append(action, **fields)
        apply_entry(self.data, entry)
        self.save()
        return entry

    def close_store(self) -> None:
        """Let go of ``events.duckdb`` (a rebuild replaces it); the next ``store`` use reopens it."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def close(self) -> None:
        self.close_store()
        self._lock.release()

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def verify(self) -> CaseCheck:
        """Check the journal chain and that each source manifest is the one that was journaled."""
        check = CaseCheck(self.journal.head.entries, self.journal.verify())
        for entry in self.journal.entries():
            if entry.get("action") in SELF_REPAIRS:
                check.repairs.append(entry)
            source = entry.get("source")
            if entry.get("action") == "source.added" and isinstance(source, dict) and source.get("manifest"):
                manifest = self.root / str(source["manifest"])
                if not manifest.exists():
                    check.manifests.append(f"{source['manifest']} is missing")
                elif _sha256_file(manifest) != entry.get("manifest_sha256"):
                    check.manifests.append(f"{source['manifest']} changed after it was recorded")
        return check

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
        atomic_write(manifest, encode({"source_id": source_id, "kind": kind, "uri": uri, "files": files}))
        source = {
            "id": source_id,
            "kind": kind,
            "uri": uri,
            "options": options,
            "added": now_iso(),
            "manifest": manifest.relative_to(self.root).as_posix(),
            **summary,
        }
        self.commit("source.added", source=source, manifest_sha256=_sha256_file(manifest))

    def manifest(self, source: dict[str, Any]) -> dict[str, Any]:
        """A source's manifest (``files`` with path, size, sha256, etag, ...), empty if it is gone."""
        path = self.root / str(source.get("manifest", ""))
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {"files": []}
        return data if isinstance(data, dict) else {"files": []}


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
