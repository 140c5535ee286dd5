"""Synthetic CloudTrail: builders for single records, named scenarios, and writers.

Tests and benchmarks need evidence whose answers are known. This package produces records the
way CloudTrail writes them (identities of every type, cross-account copies, Java-style dates,
S3 data events), lays them out as CloudTrail delivers them to S3, and records the ground truth
of what it staged. Everything is deterministic for a seed.

Compose records with ``World`` and ``Actor`` (times are naive UTC datetimes)::

    world = World(seed=1)
    alice = world.iam_user("111122223333", "alice", ip="192.0.2.10", user_agent="aws-cli/2.15.30")
    rec = alice.call("ec2.amazonaws.com", "DescribeInstances", t, region="eu-west-1", request={...})
    rec = alice.deny("iam.amazonaws.com", "ListUsers", t)              # the service's denial code
    records, role = alice.assume_role("arn:aws:iam::444455556666:role/Audit", "alice", t)
    rec, backdoor = role.create_access_key("svc-backup", t)           # actor holding the new AKIA
    rec, sts = alice.get_session_token(t)  /  alice.get_federation_token("vendor", t)
    rec = role.s3_object("GetObject", "bucket", t, key="a.csv", bytes_out=10_000)  # data event
    rec, box = world.instance_session(role_arn, "i-0abc…", t, ip=..., user_agent=..., region=...)
    rec, fn = world.lambda_session(role_arn, "function-name", t, ip=..., user_agent=..., region=...)
    rec, console = world.console_login("111122223333", "alice", t, ip=..., browser=..., mfa=True)
    intruder = alice.at(ip="203.0.113.7", user_agent="python-requests")  # same key, elsewhere

``ArchiveWriter`` writes records in the S3 layout, ``write_jsonl`` as JSON Lines, and
``generate`` runs a named scenario (``SCENARIOS``) to disk with its ``scenario.json``.
"""

from investigations.simulate.actor import Actor, Record
from investigations.simulate.scenarios import SCENARIOS, generate
from investigations.simulate.truth import Truth, read_truth
from investigations.simulate.world import World
from investigations.simulate.writer import ArchiveWriter, write_jsonl

__all__ = ["SCENARIOS", "Actor", "ArchiveWriter", "Record", "Truth", "World", "generate", "read_truth", "write_jsonl"]
