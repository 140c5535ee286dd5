"""The case folder survives what real sessions do to it: crashes mid-save, damage, old and new
versions, a second Trailhound, and someone trimming the journal."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from investigations import casefile as cf
from investigations.case import Case, CaseDamaged, CaseLocked, CaseVersionError
from investigations.casefile import document


def _case_with_notes(root: Path, count: int) -> None:
    with Case.open(root) as case:
        for i in range(count):
            cf.add_note(case, f"note {i}")


def test_new_case_is_schema_versioned_and_journaled(tmp_path: Path) -> None:
    with Case.open(tmp_path / "c") as case:
        cf.add_note(case, "first")
    data = orjson.loads((tmp_path / "c" / "case.json").read_bytes())
    assert data["schema"] == "trailhound.case/1"
    assert data["name"] == "c"
    assert [n["text"] for n in data["notes"]] == ["first"]
    assert data["journal"]["entries"] == 2
    journal = [orjson.loads(line) for line in (tmp_path / "c" / "journal.jsonl").read_bytes().splitlines()]
    assert [e["action"] for e in journal] == ["case.created", "note.added"]
    assert data["journal"]["head"] == journal[-1]["hash"]
    assert (tmp_path / "c" / "case.json.bak").exists()


def test_a_second_process_is_told_who_holds_the_case(tmp_path: Path) -> None:
    with Case.open(tmp_path / "c"), pytest.raises(CaseLocked, match=rf"pid {os.getpid()}, .*@.*, since "):
        Case.open(tmp_path / "c")
    with Case.open(tmp_path / "c"):  # released on close
        pass


def test_a_change_journaled_but_not_saved_is_recovered_on_open(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 1)
    with Case.open(root) as case:
        # What a kill between the journal append and the save leaves behind.
        case.journal.append(
            "note.added",
            item={"id": "N-2", "text": "journaled only", "created": "", "updated": "", "author": "x", "about": None},
        )
    with Case.open(root) as case:
        assert [n.text for n in cf.items(case, "note")] == ["note 0", "journaled only"]
        assert case.notices == ["recovered 1 change(s) journaled just before the last session ended"]
        assert cf.add_note(case, "next").id == "N-3"
    with Case.open(root) as case:
        assert case.notices == []
        assert case.verify().intact


def test_damaged_case_json_is_refused_kept_and_restored_with_nothing_lost(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 3)
    (root / "case.json").write_bytes(b'{"schema": "trailhound.case/1", "notes": [')
    with pytest.raises(CaseDamaged, match=r"not valid JSON.*case\.json\.bak"):
        Case.open(root)
    assert (root / "case.json").read_bytes() == b'{"schema": "trailhound.case/1", "notes": ['
    backup = orjson.loads((root / "case.json.bak").read_bytes())
    assert [n["text"] for n in backup["notes"]] == ["note 0", "note 1"]  # one save behind

    with Case.restore(root) as case:
        # The backup plus the journal after it: all three notes.
        assert [n.text for n in cf.items(case, "note")] == ["note 0", "note 1", "note 2"]
    damaged = list(root.glob("case.json.damaged-*"))
    assert len(damaged) == 1
    with Case.open(root) as case:
        entries = list(case.journal.entries())
        assert entries[-1]["action"] == "case.restored"
        assert entries[-1]["origin"] == "case.json.bak"
        assert entries[-1]["damaged_file"] == damaged[0].name
        assert case.verify().intact


def test_restore_without_a_backup_replays_the_whole_journal(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 2)
    (root / "case.json").unlink()
    (root / "case.json.bak").unlink()
    with pytest.raises(CaseDamaged, match="missing"):
        Case.open(root)
    with Case.restore(root) as case:
        assert [n.text for n in cf.items(case, "note")] == ["note 0", "note 1"]
        assert case.data["name"] == "c"


def test_unknown_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 1)
    newer = {"schema": "trailhound.case/9", "name": "c", "things": []}
    (root / "case.json").write_bytes(orjson.dumps(newer))
    with pytest.raises(CaseVersionError, match=r"trailhound\.case/9.*newer Trailhound"):
        Case.open(root)
    with pytest.raises(CaseVersionError):
        Case.restore(root)
    assert orjson.loads((root / "case.json").read_bytes()) == newer


def test_older_schema_is_migrated_and_the_original_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 1)
    old = orjson.loads((root / "case.json").read_bytes())
    old["schema"] = "trailhound.case/0"
    old["remarks"] = old.pop("notes")
    (root / "case.json").write_bytes(orjson.dumps(old))

    def rename_remarks(doc: dict[str, object]) -> dict[str, object]:
        doc["notes"] = doc.pop("remarks")
        return doc

    monkeypatch.setitem(document.MIGRATIONS, "trailhound.case/0", ("trailhound.case/1", rename_remarks))
    with Case.open(root) as case:
        assert [n.text for n in cf.items(case, "note")] == ["note 0"]
        assert case.notices[0].startswith("case.json upgraded from trailhound.case/0")
        assert list(case.journal.entries())[-1]["action"] == "case.migrated"
    assert orjson.loads((root / "case.json.trailhound.case-0").read_bytes())["schema"] == "trailhound.case/0"
    assert orjson.loads((root / "case.json").read_bytes())["schema"] == "trailhound.case/1"


def test_trimmed_journal_is_noticed_and_recorded(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 3)
    journal = root / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-2]))  # the last two entries removed whole
    with Case.open(root) as case:
        assert "entries were removed or replaced" in case.notices[0]
        last = list(case.journal.entries())[-1]
        assert last["action"] == "journal.mismatch"
        assert last["expected"]["entries"] == 4
        assert last["found"]["entries"] == 2
        assert [r["action"] for r in case.verify().repairs] == ["journal.mismatch"]


def test_torn_journal_line_is_set_aside_on_open(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 1)
    with open(root / "journal.jsonl", "ab") as handle:
        handle.write(b'{"action":"note.added","it')
    with Case.open(root) as case:
        assert case.notices == ["the journal's last line was cut short by a crash; kept as journal.jsonl.torn-3"]
        assert case.verify().problems == []
        assert (root / "journal.jsonl.torn-3").read_bytes() == b'{"action":"note.added","it'


def test_temporary_files_of_a_killed_writer_are_swept(tmp_path: Path) -> None:
    root = tmp_path / "c"
    _case_with_notes(root, 1)
    (root / ".case.json.abc123.tmp").write_bytes(b"{half")
    with Case.open(root):
        pass
    assert not (root / ".case.json.abc123.tmp").exists()


def test_changed_source_manifest_is_reported_by_verify(tmp_path: Path) -> None:
    root = tmp_path / "c"
    with Case.open(root) as case:
        files = [{"path": "/evidence/a.json.gz", "size": 10, "sha256": "ab" * 32, "etag": None}]
        case.record_source(1, "path", "/evidence", {}, {"files": 1, "events_added": 0}, files)
        assert case.verify().intact
    manifest = root / "sources" / "0001.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"abab", b"cdcd", 1))
    with Case.open(root) as case:
        assert case.verify().manifests == ["sources/0001.json changed after it was recorded"]
        assert [s["uri"] for s in case.data["sources"]] == ["/evidence"]
