"""A six-event intrusion the case and export tests share, and a check of what it contains.

alice (111122223333, key AKIA…alice) lists users at 08:00, assumes role Audit in 444455556666 at
08:05 (two copies of the AssumeRole: her account's and the role owner's, both naming the new
ASIA key), and the session lists buckets at 08:10 and again at 09:10. bob calls
DescribeInstances at 08:20 from elsewhere. Every alice/session call comes from 203.0.113.7.
Containment in the tests happens at 09:00, so only the 09:10 call is "after containment".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from investigations.simulate import World, write_jsonl

T0 = datetime(2024, 5, 1, 8, 0)
ROLE = "arn:aws:iam::444455556666:role/Audit"
ATTACKER_IP = "203.0.113.7"


@dataclass(frozen=True)
class Scenario:
    path: Path
    records: list[dict[str, Any]]
    alice_key: str
    bob_key: str
    session_key: str
    session_arn: str

    def event_id(self, index: int) -> str:
        return str(self.records[index]["eventID"])


def build(folder: Path, alice_agent: str = "aws-cli/2.15.30", session_name: str = "alice") -> Scenario:
    world = World(seed=11)
    alice = world.iam_user("111122223333", "alice", ip=ATTACKER_IP, user_agent=alice_agent)
    bob = world.iam_user("111122223333", "bob", ip="192.0.2.20", user_agent="Boto3/1.34.0")
    listing = alice.call("iam.amazonaws.com", "ListUsers", T0)
    copies, session = alice.assume_role(ROLE, session_name, T0 + timedelta(minutes=5))
    assert session is not None
    records = [
        listing,
        *copies,
        session.call("s3.amazonaws.com", "ListBuckets", T0 + timedelta(minutes=10)),
        bob.call("ec2.amazonaws.com", "DescribeInstances", T0 + timedelta(minutes=20), region="eu-west-1"),
        session.call("s3.amazonaws.com", "ListBuckets", T0 + timedelta(minutes=70)),
    ]
    path = folder / "evidence" / "events.jsonl"
    write_jsonl(records, path)
    return Scenario(path, records, str(alice.key), str(bob.key), str(session.key), str(session.arn))


def test_the_scenario_is_what_the_tests_assume(tmp_path: Path) -> None:
    s = build(tmp_path)
    times = [r["eventTime"] for r in s.records]
    assert times == [
        "2024-05-01T08:00:00Z",
        "2024-05-01T08:05:00Z",
        "2024-05-01T08:05:00Z",
        "2024-05-01T08:10:00Z",
        "2024-05-01T08:20:00Z",
        "2024-05-01T09:10:00Z",
    ]
    assert [r["userIdentity"].get("accessKeyId") for r in s.records] == [
        s.alice_key,
        s.alice_key,
        None,
        s.session_key,
        s.bob_key,
        s.session_key,
    ]
    assert [r["recipientAccountId"] for r in s.records[1:3]] == ["111122223333", "444455556666"]
    assert {r["responseElements"]["credentials"]["accessKeyId"] for r in s.records[1:3]} == {s.session_key}
    assert [r["sourceIPAddress"] for r in s.records].count(ATTACKER_IP) == 5
