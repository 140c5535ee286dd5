"""Ground truth: what a scenario did, so tests and responders can check their answers.

Written as ``scenario.json`` beside the logs. Everything in it is a value a responder should be
able to recover from the records alone (keys, IPs, the event IDs of each step, which event
issued which credential), which is what makes it a test oracle for ingest, lineage, pivots and
detections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass
class Issued:
    """A credential minted during the attack. ``event_ids`` lists every delivered copy of the
    issuing event (two for a cross-account AssumeRole, sharing ``shared_event_id``)."""

    key: str
    event_name: str
    principal_arn: str
    account: str
    time: str
    parent_key: str
    event_ids: list[str]
    shared_event_id: str | None = None


@dataclass
class Step:
    """One stage of the story, in order, with the records it produced."""

    name: str
    summary: str
    time: str
    account: str
    regions: list[str]
    event_ids: list[str]


@dataclass
class Attack:
    leaked_key: str
    leaked_user_arn: str
    owner_ips: list[str]
    owner_user_agents: list[str]
    intruder_ips: list[str]
    intruder_user_agents: list[str]
    backdoor_user: str
    backdoor_key: str
    issued: list[Issued]
    steps: list[Step]
    event_ids: list[str] = field(default_factory=list)


@dataclass
class Truth:
    scenario: str
    seed: int
    start: str
    days: int
    events: int
    files: int
    org_id: str | None
    accounts: dict[str, str]
    regions: list[str]
    first_event: str | None
    last_event: str | None
    json_bytes: int
    stored_bytes: int
    command: str
    attack: Attack | None = None

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(self, option=orjson.OPT_INDENT_2) + b"\n")


def read_truth(path: Path) -> dict[str, object]:
    """``scenario.json`` as plain data (tests compare against it)."""
    value = orjson.loads(path.read_bytes())
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a scenario file")
    return value
