"""The event store's engine API: paging by time order, lookups, appends, crash leftovers."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import duckdb
import pyarrow as pa
import pytest

from investigations.decode import parse_records, tabulate
from investigations.extract import with_typed_columns
from investigations.store import EventStore, StoreError


def rec(minute: int, name: str = "ListBuckets", ip: str = "192.0.2.1", **extra: object) -> bytes:
    import orjson

    return orjson.dumps(
        {
            "eventVersion": "1.08",
            "eventTime": f"2024-05-01T10:{minute:02d}:00Z",
            "eventID": f"id-{minute:02d}",
            "eventName": name,
            "eventSource": "s3.amazonaws.com",
            "awsRegion": "us-east-1",
            "sourceIPAddress": ip,
            **extra,
        }
    )


def batch(*records: bytes, file_id: int = 1) -> pa.Table:
    decoded = parse_records(list(records), "test")
    table = tabulate([(file_id, decoded)])
    assert table is not None
    return with_typed_columns(table)


@pytest.fixture
def store(tmp_path):
    s = EventStore(tmp_path / "events.duckdb")
    yield s
    s.close()


def ids(rows: list[dict]) -> list[str]:
    return [r["event_id"] for r in rows]


def test_rows_are_numbered_in_time_order_whatever_the_insert_order(store):
    store.insert(batch(rec(30), rec(10)))
    store.insert(batch(rec(20), rec(40, "GetObject")))
    assert (store.count(), store.staged()) == (0, 4)  # staged rows are not visible yet
    store.finalize()
    assert (store.count(), store.staged()) == (4, 0)
    assert [(r["seq"], r["event_id"]) for r in store.page(0, 10)] == [
        (0, "id-10"),
        (1, "id-20"),
        (2, "id-30"),
        (3, "id-40"),
    ]
    assert ids(store.page(2, 10)) == ["id-30", "id-40"]
    assert ids(store.page(0, 10, "event_name = ?", ["GetObject"])) == ["id-40"]
    assert store.seqs("event_name = ?", ["ListBuckets"]) == [0, 1, 2]
    assert ids(store.rows([3, 1])) == ["id-20", "id-40"]


def test_later_events_append_and_earlier_events_renumber(store):
    store.insert(batch(rec(10), rec(20)))
    store.finalize()
    store.insert(batch(rec(30)))  # all later than what is stored: appended as seq 2
    store.finalize()
    assert [(r["seq"], r["event_id"]) for r in store.page(0, 10)] == [(0, "id-10"), (1, "id-20"), (2, "id-30")]
    store.insert(batch(rec(15)))  # earlier than the newest: everything renumbered
    store.finalize()
    assert [(r["seq"], r["event_id"]) for r in store.page(0, 10)] == [
        (0, "id-10"),
        (1, "id-15"),
        (2, "id-20"),
        (3, "id-30"),
    ]
    event = store.get("id-15")
    assert event is not None and event.seq == 1
    assert store.raw(event.row["rid"]) is not None


def test_duplicates_are_counted_per_file_and_never_stored(store):
    added, dups = store.insert(batch(rec(10), rec(10), rec(11), file_id=7))
    assert (added, dups) == (2, {7: 1})
    added, dups = store.insert(batch(rec(11), rec(12), file_id=8))  # 11 is staged already
    assert (added, dups) == (1, {8: 1})
    store.finalize()
    added, dups = store.insert(batch(rec(10), rec(12), file_id=9))  # both stored already
    assert (added, dups) == (0, {9: 2})
    store.finalize()
    assert store.count() == 3


def test_a_reingest_of_several_batches_of_duplicates_adds_nothing(store):
    """A re-ingest lands its batches one by one; when every one holds only stored events, finalize
    has nothing to merge (it used to compare the empty batches' missing times and fail)."""
    store.insert(batch(rec(10), rec(11)))
    store.finalize()
    assert store.insert(batch(rec(10), file_id=2)) == (0, {2: 1})
    assert store.insert(batch(rec(11), file_id=3)) == (0, {3: 1})
    store.finalize()
    assert store.count() == 2 and store.staged() == 0


def test_distinct_and_time_range(store):
    store.insert(batch(rec(10, ip="203.0.113.9"), rec(11), rec(12), rec(13, ip="203.0.113.9")))
    store.finalize()
    assert store.distinct("source_ip") == [("192.0.2.1", 2), ("203.0.113.9", 2)]
    assert store.time_range("source_ip = ?", ["203.0.113.9"]) == (
        datetime(2024, 5, 1, 10, 10),
        datetime(2024, 5, 1, 10, 13),
    )


def test_raw_rows_left_by_a_crash_are_dropped_on_reopen(tmp_path):
    store = EventStore(tmp_path / "events.duckdb")
    store.insert(batch(rec(10)))
    store.finalize()
    store.insert(batch(rec(20)))  # raw written, typed row still staged: then the process dies
    store.con.close()
    reopened = EventStore(tmp_path / "events.duckdb")
    assert reopened.sql("SELECT count(*) FROM raw_events")[1] == [(1,)]
    reopened.insert(batch(rec(20)))  # the re-ingest is not mistaken for a duplicate
    reopened.finalize()
    assert ids(reopened.page(0, 10)) == ["id-10", "id-20"]
    reopened.close()


def test_session_tokens_are_removed_from_stored_records(store):
    store.insert(batch(rec(10, responseElements={"credentials": {"accessKeyId": "ASIAX", "sessionToken": "SECRET"}})))
    store.finalize()
    event = store.get("id-10")
    assert event is not None and event.issued_key == "ASIAX"
    raw = store.raw(event.row["rid"])
    assert raw is not None and "SECRET" not in raw and "sessionToken" not in raw



def test_closing_the_store_interrupts_a_query_still_running_in_a_worker(tmp_path):
    """The workbench can quit while a worker's query runs on a cursor (a pivot, a derived-table
    build); DuckDB refuses to close a connection under a running cursor, so the store interrupts
    it, closes, and the worker's next cursor is refused with StoreError, not a crash."""
    store = EventStore(tmp_path / "events.duckdb")
    cursor = store.cursor()
    outcome: list[BaseException | object] = []

    def worker() -> None:
        try:
            outcome.append(cursor.execute("SELECT sum(hash(range)) FROM range(10000000000)").fetchall())
        except duckdb.Error as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)  # the query is running (it would take minutes)
    store.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], duckdb.InterruptException)
    with pytest.raises(StoreError, match="is closed"):
        store.cursor()
