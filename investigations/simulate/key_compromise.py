"""The key-compromise story: a developer's access key leaks and is used across two accounts.

Day 1 is normal. On day 2 at night an intruder uses marta's long-term key from 203.0.113.77,
enumerates with a burst of denials, assumes OpsAdmin, plants a second key on backup-svc, opens
SSH to the world, shares an EBS snapshot with an outside account, stops the account's own
trail (the organisation trail keeps recording), then chains into the analytics account
(CrossAccountDeploy, then DataAdmin) and downloads the customer exports. In the afternoon it
checks the key still works. On day 3 the planted key is used from a second address. Marta keeps
working from the office throughout, which is what makes the key's misuse a needle to find.

Attack records come from their own random stream, so their IDs do not depend on how much
background surrounds them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from investigations.simulate import cast as c
from investigations.simulate.actor import Actor, Record
from investigations.simulate.intrusion import EC2_EMPTY, open_ssh, recon, share_snapshot
from investigations.simulate.truth import Attack, Issued, Step
from investigations.simulate.world import World


class _Story:
    """Collects records and the steps they belong to."""

    def __init__(self, day2: datetime) -> None:
        self.day2 = day2
        self.records: list[Record] = []
        self.steps: list[Step] = []

    def at(self, hh: int, mm: int, ss: int, day: int = 2) -> datetime:
        return self.day2 + timedelta(days=day - 2, hours=hh, minutes=mm, seconds=ss)

    def step(self, name: str, summary: str, records: list[Record]) -> list[Record]:
        self.records.extend(records)
        self.steps.append(
            Step(
                name=name,
                summary=summary,
                time=records[0]["eventTime"],
                account=records[0]["recipientAccountId"],
                regions=sorted({r["awsRegion"] for r in records}),
                event_ids=[r["eventID"] for r in records],
            )
        )
        return records


def _issued(records: list[Record], parent: Actor, new: Actor) -> Issued:
    first = records[0]
    return Issued(
        key=new.key or "",
        event_name=first["eventName"],
        principal_arn=new.arn or "",
        account=new.account_id,
        time=first["eventTime"],
        parent_key=parent.key or "",
        event_ids=[r["eventID"] for r in records],
        shared_event_id=first.get("sharedEventID"),
    )


def key_compromise(world: World, start: datetime) -> tuple[list[Record], Attack]:
    """The attack's records (time order) and its ground truth. ``start`` is day 1, 00:00."""
    w = world.fork("attack")
    s = _Story(start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    key = w.iam_user(c.PROD, c.LEAKED_USER, ip=c.INTRUDER_IP, user_agent=c.INTRUDER_UA_CLI, region="eu-west-1")
    script = key.at(user_agent=c.INTRUDER_UA_SCRIPT)
    issued: list[Issued] = []

    s.step(
        "first-use",
        "the leaked key is tried from a new address",
        [key.call("sts.amazonaws.com", "GetCallerIdentity", s.at(2, 14, 7))],
    )
    s.step("recon", "enumeration with bursts of AccessDenied", recon(script, s.at(2, 15, 0)))

    pair, ops = key.assume_role(c.OPS_ROLE, c.LEAKED_USER, s.at(2, 31, 2))
    assert ops is not None
    s.step("assume-role", "the key assumes OpsAdmin in the same account", pair)
    issued.append(_issued(pair, key, ops))

    made, backdoor = ops.create_access_key(c.BACKDOOR_USER, s.at(2, 36, 18))
    assert backdoor is not None
    s.step(
        "backdoor-key",
        "a second access key is created for backup-svc",
        [ops.call("iam.amazonaws.com", "ListAccessKeys", s.at(2, 35, 40), request={"userName": c.BACKDOOR_USER}), made],
    )
    issued.append(_issued([made], ops, backdoor))

    s.step(
        "open-ssh",
        "SSH opened to the world on the web security group",
        [
            ops.call(
                "ec2.amazonaws.com",
                "DescribeSecurityGroups",
                s.at(2, 41, 5),
                region="eu-west-1",
                request={"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
            ),
            open_ssh(ops, s.at(2, 44, 51)),
        ],
    )
    s.step(
        "share-snapshot",
        f"an EBS snapshot is shared with account {c.OUTSIDE_ACCOUNT}",
        [
            ops.call(
                "ec2.amazonaws.com",
                "DescribeSnapshots",
                s.at(2, 49, 30),
                region="eu-west-1",
                request={"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
            ),
            share_snapshot(ops, s.at(2, 52, 12)),
        ],
    )
    s.step(
        "stop-logging",
        "the account's own trail is stopped (the organisation trail is not)",
        [
            ops.call(
                "cloudtrail.amazonaws.com",
                "GetTrailStatus",
                s.at(3, 1, 44),
                region="us-east-1",
                request={"name": c.ACCOUNT_TRAIL},
            ),
            ops.call(
                "cloudtrail.amazonaws.com",
                "StopLogging",
                s.at(3, 2, 10),
                region="us-east-1",
                request={"name": c.ACCOUNT_TRAIL},
            ),
        ],
    )

    pair, deploy = ops.assume_role(c.DEPLOY_ROLE, c.LEAKED_USER, s.at(3, 7, 25))
    assert deploy is not None
    s.step("cross-account", "OpsAdmin session assumes CrossAccountDeploy in the analytics account", pair)
    issued.append(_issued(pair, ops, deploy))

    chain_start = [
        deploy.call("sts.amazonaws.com", "GetCallerIdentity", s.at(3, 8, 50)),
        deploy.call("iam.amazonaws.com", "ListRoles", s.at(3, 9, 2)),
    ]
    pair, data = deploy.assume_role(c.DATA_ROLE, c.LEAKED_USER, s.at(3, 9, 40))
    assert data is not None
    s.step("role-chain", "CrossAccountDeploy session chains into DataAdmin", chain_start + pair)
    issued.append(_issued(pair, deploy, data))

    data = data.at(region="us-west-2")
    t = s.at(3, 11, 15)
    grabbed = [
        data.call("s3.amazonaws.com", "ListBuckets", t, region="us-east-1", request={"Host": "s3.amazonaws.com"}),
        data.s3_object(
            "ListObjects",
            c.EXPORT_BUCKET,
            t + timedelta(seconds=20),
            extra={"list-type": "2", "prefix": "exports/", "encoding-type": "url"},
        ),
    ]
    rng = w.ids.rng
    t += timedelta(seconds=45)
    for name in c.EXPORT_KEYS[:40]:
        t += timedelta(seconds=rng.randint(12, 40))
        grabbed.append(
            data.s3_object("GetObject", c.EXPORT_BUCKET, t, key=name, bytes_out=rng.randint(20_000_000, 60_000_000))
        )
    s.step("exfiltration", "customer exports downloaded from the analytics bucket (S3 data events)", grabbed)

    s.step(
        "key-check",
        "the leaked key is checked again during office hours",
        [
            key.call("sts.amazonaws.com", "GetCallerIdentity", s.at(10, 42, 13)),
            key.call(
                "s3.amazonaws.com",
                "ListBuckets",
                s.at(10, 42, 31),
                region="us-east-1",
                request={"Host": "s3.amazonaws.com"},
            ),
        ],
    )

    bk = backdoor.at(ip=c.BACKDOOR_IP, user_agent=c.BACKDOOR_UA, region="eu-west-1")
    dumps = [f"db/orders/{n:02d}.dump.gz" for n in (21, 22, 23)]
    s.step(
        "backdoor-use",
        "the planted backup-svc key is used from a second address a day later",
        [
            bk.call("sts.amazonaws.com", "GetCallerIdentity", s.at(3, 12, 40, day=3)),
            bk.call(
                "s3.amazonaws.com",
                "ListBuckets",
                s.at(3, 13, 2, day=3),
                region="us-east-1",
                request={"Host": "s3.amazonaws.com"},
            ),
            bk.call(
                "iam.amazonaws.com", "ListAccessKeys", s.at(3, 13, 30, day=3), request={"userName": c.BACKDOOR_USER}
            ),
            bk.call("ec2.amazonaws.com", "DescribeInstances", s.at(3, 14, 5, day=3), request=EC2_EMPTY),
            *(
                bk.s3_object(
                    "GetObject",
                    c.BACKUP_BUCKET,
                    s.at(3, 16 + 3 * i, 0, day=3),
                    key=k,
                    bytes_out=rng.randint(150_000_000, 400_000_000),
                )
                for i, k in enumerate(dumps)
            ),
        ],
    )

    records = sorted(s.records, key=lambda r: r["eventTime"])
    attack = Attack(
        leaked_key=key.key or "",
        leaked_user_arn=key.arn or "",
        owner_ips=[c.OFFICE_IP],
        owner_user_agents=[c.UA_CLI_MAC],
        intruder_ips=[c.INTRUDER_IP, c.BACKDOOR_IP],
        intruder_user_agents=[c.INTRUDER_UA_CLI, c.INTRUDER_UA_SCRIPT, c.BACKDOOR_UA],
        backdoor_user=c.BACKDOOR_USER,
        backdoor_key=backdoor.key or "",
        issued=issued,
        steps=s.steps,
        event_ids=[r["eventID"] for r in records],
    )
    return records, attack
