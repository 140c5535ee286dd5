"""Stories for the detection, Sigma and baseline tests, told with the simulator's builders.

Each test composes a few calls by named actors at given times (``investigations.simulate``
World/Actor, so records have CloudTrail's real shapes) and ingests them into a real case through
the real pipeline. Expected answers are written by hand in the tests, from the story.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from investigations.case import Case
from investigations.evidence import SourceOptions, ingest_sources
from investigations.simulate.actor import Actor
from investigations.simulate.world import World
from investigations.simulate.writer import write_jsonl

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
OUTSIDER = "999988887777"
T0 = datetime(2024, 5, 1, 8, 0, 0, tzinfo=UTC)
OFFICE_IP = "198.51.100.7"
HOME_IP = "198.51.100.200"
INTRUDER_IP = "203.0.113.9"
FAR_IP = "192.0.2.50"
CLI = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.ubuntu.22"
BOTO = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.1"
IAM = "iam.amazonaws.com"
EC2 = "ec2.amazonaws.com"
S3 = "s3.amazonaws.com"


def at(minutes: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def world() -> World:
    return World(seed=7)


def alice(w: World, ip: str = OFFICE_IP, ua: str = CLI) -> Actor:
    return w.iam_user(ACCOUNT, "alice", ip=ip, user_agent=ua)


def role(w: World, name: str, session: str, t: datetime, ip: str = OFFICE_IP, ua: str = BOTO) -> Actor:
    """A role session opened by the ci user (the AssumeRole record is not part of the story)."""
    ci = w.iam_user(ACCOUNT, "ci", ip=ip, user_agent=ua)
    _, session_actor = ci.assume_role(f"arn:aws:iam::{ACCOUNT}:role/{name}", session, t)
    assert session_actor is not None
    return session_actor


def ids(*records: dict[str, Any]) -> list[str]:
    return [r["eventID"] for r in records]


def case_with(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    """A case folder holding exactly these records, ingested the way evidence is."""
    logs = tmp_path / "logs" / "events.jsonl"
    write_jsonl(sorted(records, key=lambda r: r["eventTime"]), logs)
    case_dir = tmp_path / "case"
    with Case.open(case_dir) as case:
        report = ingest_sources(case, [str(logs)], SourceOptions(workers=0))
        assert report.rejected_total == 0, report.rejected
        assert report.events_added == len(records)
    return case_dir
