"""The journal's hash chain: intact when untouched, and every kind of tampering shows.

Each test writes a few entries through ``Journal.append``, changes the file the way a person
(or a crash) would, and checks what ``verify`` says, by line number.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from investigations.journal import GENESIS, Journal, entry_hash


def _three(path: Path) -> Journal:
    journal = Journal(path)
    journal.append("note.added", item={"id": "N-1", "text": "first"})
    journal.append("note.added", item={"id": "N-2", "text": "second"})
    journal.append("note.removed", id="N-1")
    return journal


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_entries_chain_from_genesis_with_time_user_and_numbers(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    entries = list(journal.entries())
    assert [e["n"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == GENESIS
    assert entries[1]["prev"] == entries[0]["hash"]
    assert entries[2]["prev"] == entries[1]["hash"]
    assert all(e["time"].endswith("Z") and e["user"] for e in entries)
    assert journal.verify() == []
    # A fresh reader finds the same head from the end of the file alone.
    head = Journal(journal.path).head
    assert (head.entries, head.hash) == (3, entries[2]["hash"])


def test_edited_content_is_reported_on_its_line(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    lines = _lines(journal.path)
    lines[1] = lines[1].replace(b'"second"', b'"altered"')
    journal.path.write_bytes(b"".join(lines))
    problems = Journal(journal.path).verify()
    assert [(p.line, p.problem) for p in problems] == [(2, "content changed after it was written")]


def test_rehashed_edit_breaks_the_link_to_the_next_entry(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    lines = _lines(journal.path)
    entry = orjson.loads(lines[1])
    entry["item"]["text"] = "altered"
    entry["hash"] = entry_hash(entry)  # a careful forger recomputes this entry's hash...
    lines[1] = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"
    journal.path.write_bytes(b"".join(lines))
    problems = Journal(journal.path).verify()
    # ...but the next entry still names the original hash.
    assert [p.line for p in problems] == [3]
    assert "does not follow" in problems[0].problem


def test_deleted_and_reordered_entries_are_reported(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    lines = _lines(journal.path)
    journal.path.write_bytes(lines[0] + lines[2])
    deleted = Journal(journal.path).verify()
    assert {p.line for p in deleted} == {2}
    assert any("does not follow" in p.problem for p in deleted)
    assert any("numbered 3 but is entry 2" in p.problem for p in deleted)

    journal.path.write_bytes(lines[1] + lines[0] + lines[2])
    reordered = Journal(journal.path).verify()
    assert {p.line for p in reordered} == {1, 2, 3}


def test_a_line_that_is_not_json_is_reported(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    lines = _lines(journal.path)
    journal.path.write_bytes(lines[0] + b"not json at all\n" + lines[1] + lines[2])
    problems = Journal(journal.path).verify()
    assert (2, "not a journal entry (not a JSON object)") in [(p.line, p.problem) for p in problems]


def test_torn_final_line_is_reported_then_set_aside_and_the_chain_continues(tmp_path: Path) -> None:
    journal = _three(tmp_path / "journal.jsonl")
    whole = journal.path.read_bytes()
    fragment = b'{"action":"note.added","item":{"id":"N-3","te'
    journal.path.write_bytes(whole + fragment)  # a write cut short by a kill

    torn = Journal(journal.path)
    assert [(p.line, p.problem.split(":")[0]) for p in torn.verify()] == [(4, "incomplete final line")]
    repaired = torn.repair_tail()
    assert repaired is not None
    assert repaired.length == len(fragment)
    assert repaired.sha256 == hashlib.sha256(fragment).hexdigest()
    assert (tmp_path / repaired.saved_as).read_bytes() == fragment
    assert repaired.saved_as == "journal.jsonl.torn-4"
    assert journal.path.read_bytes() == whole

    entry = torn.append("journal.repaired", saved_as=repaired.saved_as)
    assert entry["n"] == 4
    assert torn.verify() == []
    assert torn.repair_tail() is None


def test_head_is_found_past_a_final_entry_longer_than_one_read(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append("case.created", name="x")
    last = journal.append("note.added", item={"id": "N-1", "text": "y" * 300_000})
    head = Journal(journal.path).head
    assert (head.entries, head.hash) == (2, last["hash"])


def test_fields_cannot_shadow_the_chain(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(ValueError, match="reserved"):
        journal.append("note.added", prev="0" * 64)
