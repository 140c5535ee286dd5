"""The people of the cast, and the nightly backup job: activity that keeps office hours.

Marta is the owner of the key that leaks in the key-compromise scenario; here she is just a
developer using the AWS CLI from the office, which is the baseline the intruder's use of her
key must be told apart from. Bob works in the console and through the OpsAdmin role (the same
role the intruder later assumes), Alice has a habit of calling IAM APIs she is not allowed to,
Chen works in the analytics account through the console and the DataAdmin role.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from investigations.simulate import cast as c
from investigations.simulate.actor import Actor, Record
from investigations.simulate.routines import Action, Renewal, Routine, api, s3_object
from investigations.simulate.world import World

_EC2_EMPTY = {"instancesSet": {}, "filterSet": {}}
_LIST_BUCKETS = {"Host": "s3.amazonaws.com"}


def _home(account: str) -> str:
    return "eu-west-1" if account == c.PROD else "us-west-2"


def _console(world: World, account: str, user: str, browser: str, mfa: bool) -> Renewal:
    """A morning console login; the session serves the working day."""

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        record, session = world.console_login(account, user, t, ip=c.OFFICE_IP, browser=browser, mfa=mfa)
        assert session is not None
        return [record], session.at(region=_home(account))

    return renew


def _role_session(world: World, account: str, user: str, role: str, ua: str) -> Renewal:
    """A person assuming a team role from the CLI, session named after them."""
    base = world.iam_user(account, user, ip=c.OFFICE_IP, user_agent=ua)

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        records, session = base.assume_role(role, user, t)
        assert session is not None
        return records, session.at(region=_home(session.account_id))

    return renew


def marta(world: World) -> Routine:
    """The leaked key's owner, at her desk: aws-cli from the office, mostly reads."""
    actor = world.iam_user(c.PROD, c.LEAKED_USER, ip=c.OFFICE_IP, user_agent=c.UA_CLI_MAC, region="eu-west-1")
    return Routine(
        "marta (cli)",
        1.0,
        [
            (10, api("ec2.amazonaws.com", "DescribeInstances", _EC2_EMPTY, regions=("eu-west-1", "us-east-1"))),
            (6, api("s3.amazonaws.com", "ListBuckets", _LIST_BUCKETS, regions=("us-east-1",))),
            (6, api("logs.amazonaws.com", "DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda/orders"})),
            (5, api("cloudformation.amazonaws.com", "DescribeStacks", {"stackName": "orders-api"})),
            (4, api("lambda.amazonaws.com", "ListFunctions20150331", {})),
            (4, s3_object("GetObject", c.APP_BUCKET, ("config/app.json", "config/flags.json"))),
            (2, api("sts.amazonaws.com", "GetCallerIdentity")),
        ],
        actor=actor,
    )


def people(world: World) -> list[Routine]:
    alice = world.iam_user(c.PROD, "alice", ip=c.VPN_IP, user_agent=c.UA_CLI_LINUX, region="eu-west-1")
    alice_actions: list[tuple[float, Action]] = [
        (10, api("ec2.amazonaws.com", "DescribeInstances", _EC2_EMPTY)),
        (5, api("rds.amazonaws.com", "DescribeDBInstances", {})),
        (4, api("iam.amazonaws.com", "ListUsers", None, error_rate=0.6)),
        (3, api("secretsmanager.amazonaws.com", "ListSecrets", {}, error_rate=0.3)),
    ]
    return [
        marta(world),
        Routine("alice (cli)", 0.8, alice_actions, actor=alice),
        Routine(
            "bob (console)",
            0.8,
            [
                (10, api("ec2.amazonaws.com", "DescribeInstances", _EC2_EMPTY)),
                (6, api("monitoring.amazonaws.com", "DescribeAlarms", {"maxRecords": 100})),
                (4, api("ec2.amazonaws.com", "DescribeInstanceStatus", {"filterSet": {}, "includeAllInstances": True})),
                (
                    2,
                    api(
                        "health.amazonaws.com",
                        "DescribeEventAggregates",
                        {"aggregateField": "eventTypeCategory"},
                        regions=("us-east-1",),
                    ),
                ),
            ],
            renew=_console(world, c.PROD, "bob", c.UA_CHROME, True),
            ttl=timedelta(hours=8),
        ),
        Routine(
            "bob -> OpsAdmin",
            0.6,
            [
                (
                    8,
                    api(
                        "ec2.amazonaws.com",
                        "DescribeSecurityGroups",
                        {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
                    ),
                ),
                (
                    5,
                    api(
                        "cloudtrail.amazonaws.com", "GetTrailStatus", {"name": c.ACCOUNT_TRAIL}, regions=("us-east-1",)
                    ),
                ),
                (5, api("iam.amazonaws.com", "ListRoles", None)),
                (
                    3,
                    api(
                        "ec2.amazonaws.com",
                        "DescribeSnapshots",
                        {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
                    ),
                ),
            ],
            renew=_role_session(world, c.PROD, "bob", c.OPS_ROLE, c.UA_CLI_MAC),
            ttl=timedelta(hours=1),
        ),
        Routine(
            "chen (console)",
            0.6,
            [
                (8, api("athena.amazonaws.com", "StartQueryExecution", {"workGroup": "analysts"})),
                (6, api("glue.amazonaws.com", "GetTables", {"databaseName": "exports"})),
                (4, api("s3.amazonaws.com", "ListBuckets", _LIST_BUCKETS, regions=("us-east-1",))),
            ],
            renew=_console(world, c.ANALYTICS, "chen", c.UA_FIREFOX, False),
            ttl=timedelta(hours=8),
        ),
        Routine(
            "chen -> DataAdmin",
            0.5,
            [
                (8, s3_object("GetObject", c.EXPORT_BUCKET, c.EXPORT_KEYS[:10], size=(2_000_000, 9_000_000))),
                (4, api("glue.amazonaws.com", "GetTable", {"databaseName": "exports", "name": "customers"})),
            ],
            renew=_role_session(world, c.ANALYTICS, "chen", c.DATA_ROLE, c.UA_CLI_LINUX),
            ttl=timedelta(hours=1),
        ),
    ]


def nightly_backup(world: World) -> list[Routine]:
    """backup-svc's own long-term key, used from the backup host between 01:00 and 02:00."""
    actor = world.iam_user(c.PROD, c.BACKDOOR_USER, ip=c.BACKUP_IP, user_agent=c.UA_BOTO3, region="eu-west-1")
    dumps = tuple(f"db/orders/{n:02d}.dump.gz" for n in range(24))
    return [
        Routine(
            "backup-svc",
            1.0,
            [
                (10, s3_object("PutObject", c.BACKUP_BUCKET, dumps, size=(50_000_000, 400_000_000))),
                (
                    2,
                    api(
                        "ec2.amazonaws.com",
                        "CreateSnapshot",
                        {"volumeId": "vol-0aa11bb22cc33dd44", "description": "nightly orders-db"},
                    ),
                ),
                (
                    2,
                    api(
                        "ec2.amazonaws.com",
                        "DescribeSnapshots",
                        {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
                    ),
                ),
            ],
            actor=actor,
        )
    ]
