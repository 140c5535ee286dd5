"""Rule conditions mean the same in SQL (the shared scan) and in Python (raw-record checks).

Six events with values chosen to trip a careless translation: LIKE's ``_`` and ``%`` inside
literal values, error codes that share prefixes, JSON booleans and numbers in typed columns.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from investigations.case import Case
from investigations.detections.fields import cond_holds, cond_sql, json_path, values_at
from investigations.detections.registry import Cond, absent, eq, exists, ne
from investigations.store import EventStore
from tests.engine.detect_records import S3, alice, at, case_with, world


def _records() -> dict[str, dict[str, object]]:
    a = alice(world())
    return {
        "denied": a.call(
            S3, "GetObject", at(0), error="AccessDenied", request={"bucketName": "my_bucket"}, read_only=False
        ),
        "denied_ex": a.call("kms.amazonaws.com", "Decrypt", at(1), error="AccessDeniedException", read_only=False),
        "unauth": a.call(
            "ec2.amazonaws.com", "RunInstances", at(2), error="Client.UnauthorizedOperation", read_only=False
        ),
        "ok": a.call(S3, "PutObject", at(3), request={"bucketName": "myXbucket"}, read_only=False),
        "weird": a.call(S3, "ListBuckets", at(4), ua="weird_agent%1", read_only=True),
        "lookalike": a.s3_object("GetObject", "b", at(5), key="k", bytes_out=100, ua="weirdXagent%1", read_only=True),
    }


NAMED = _records()
CASES: list[tuple[Cond, set[str]]] = [
    (eq("errorCode", "AccessDenied*"), {"denied", "denied_ex"}),
    (eq("errorCode", "*UnauthorizedOperation", "AccessDenied"), {"denied", "unauth"}),
    (ne("errorCode", "AccessDenied*"), {"unauth", "ok", "weird", "lookalike"}),
    (exists("errorCode"), {"denied", "denied_ex", "unauth"}),
    (absent("errorCode"), {"ok", "weird", "lookalike"}),
    (eq("userAgent", "weird_agent%*"), {"weird"}),
    (eq("requestParameters.bucketName", "my_bucket"), {"denied"}),
    (eq("requestParameters.bucketName", "my*"), {"denied", "ok"}),
    (eq("readOnly", "true"), {"weird", "lookalike"}),
    (eq("additionalEventData.bytesTransferredOut", "100"), {"lookalike"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    with Case.open(case_with(tmp_path_factory.mktemp("fields"), list(NAMED.values()))) as case:
        yield case.store


@pytest.mark.parametrize(("cond", "expected"), CASES, ids=[f"{c.path}-{c.op}-{c.values}" for c, _ in CASES])
def test_sql_and_python_agree_with_the_hand_answer(store: EventStore, cond: Cond, expected: set[str]) -> None:
    names = {r["eventID"]: n for n, r in NAMED.items()}
    sql, params = cond_sql(cond)
    rows = store.sql(f"SELECT e.event_id FROM events e JOIN raw_events r ON r.rid = e.rid WHERE {sql}", params)[1]
    sql_found = {names[r[0]] for r in rows}
    raws = store.sql("SELECT e.event_id, r.raw FROM events e JOIN raw_events r ON r.rid = e.rid")[1]
    py_found = {names[eid] for eid, raw in raws if cond_holds(cond, orjson.loads(raw))}
    assert sql_found == py_found == expected


def test_json_paths_quote_keys_that_are_not_identifiers() -> None:
    assert json_path("requestParameters.x-amz-acl") == '$.requestParameters."x-amz-acl"'
    assert json_path("userIdentity.arn") == "$.userIdentity.arn"


def test_values_at_looks_through_lists_like_eventbridge() -> None:
    record = {"a": {"items": [{"b": 1}, {"b": [2, 3]}, {"c": 4}]}}
    assert values_at(record, "a.items.b") == [1, 2, 3]
    assert values_at(record, "a.missing") == []
    resources = {"resources": [{"ARN": "arn:aws:s3:::b/k"}, {"ARN": "arn:aws:s3:::b", "accountId": "1"}]}
    assert cond_holds(eq("resources.ARN", "arn:aws:s3:::b/*"), resources)
    assert not cond_holds(eq("resources.accountId", "2"), resources)
