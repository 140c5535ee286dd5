"""Synthetic CloudTrail: builders for single records, named scenarios, and writers.

Tests and benchmarks need evidence whose answers are known. This package produces records the
way CloudTrail writes them (identities of every type, cross-account copies, Java-style dates,
S3 data events), lays them out as CloudTrail delivers them to S3, and records the ground truth
of what it staged. Everything is deterministic for a seed.

Compose records with ``World`` and ``Actor``::

    world = World(seed=1)
    alice = world.iam_user("111122223333", "alice", ip="192.0.2.10", user_agent="aws-cli/2.15.30")
    call = alice.call("ec2.amazonaws.com", "DescribeInstances", t, region="eu-west-1")
    records, session = alice.assume_role("arn:aws:iam::444455556666:role/Audit", "alice", t)
"""

from investigations.simulate.actor import Actor, Record
from investigations.simulate.scenarios import SCENARIOS, generate
from investigations.simulate.truth import Truth, read_truth
from investigations.simulate.world import World
from investigations.simulate.writer import ArchiveWriter, write_jsonl

__all__ = ["SCENARIOS", "Actor", "ArchiveWriter", "Record", "Truth", "World", "generate", "read_truth", "write_jsonl"]
