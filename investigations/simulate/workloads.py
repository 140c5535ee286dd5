"""The machines of the cast: instances, Lambda functions, AWS Config, CI and a partner portal.

They run around the clock and make most of the volume, as machines do in real accounts. Each
one's session comes from a real issuing event (the EC2 or Lambda service assuming the role,
the CI user assuming its cross-account deploy role), so lineage over the background is complete
and an intruder's sessions have to be told apart by behaviour, not by missing parents.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from investigations.simulate import cast as c
from investigations.simulate.actor import Actor, Record
from investigations.simulate.routines import Routine, api, s3_object
from investigations.simulate.world import World

_ZONES = {"us-east-1": "use1-az4", "eu-west-1": "euw1-az2", "us-west-2": "usw2-az1"}
_EC2_EMPTY = {"instancesSet": {}, "filterSet": {}}
_ASSETS = tuple(f"static/build-{n:03d}/app.{ext}" for n in range(40) for ext in ("js", "css"))


def _ssm_ping(instance: str, region: str, private_ip: str) -> dict[str, object]:
    return {
        "instanceId": instance,
        "agentVersion": "3.3.131.0",
        "agentStatus": "Active",
        "platformType": "Linux",
        "platformName": "Amazon Linux",
        "platformVersion": "2023",
        "iPAddress": private_ip,
        "computerName": f"ip-{private_ip.replace('.', '-')}.{region}.compute.internal",
        "agentName": "amazon-ssm-agent",
        "availabilityZone": f"{region}a",
        "availabilityZoneId": _ZONES[region],
        "ssmConnectionChannel": "ssmmessages",
    }


def _kms_key(account: str, region: str, key_id: str) -> list[dict[str, str]]:
    arn = f"arn:aws:kms:{region}:{account}:key/{key_id}"
    return [{"accountId": account, "type": "AWS::KMS::Key", "ARN": arn}]


def instance(world: World, role: str, instance_id: str, region: str, private_ip: str, bucket: str) -> Routine:
    account = role.split(":")[4]

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        ip = c.INSTANCE_IPS[instance_id]
        record, session = world.instance_session(role, instance_id, t, ip=ip, user_agent=c.UA_BOTO3, region=region)
        return [record], session

    tags = {"filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": instance_id}]}}]}}
    key_id = "1f2e3d4c-5b6a-4789-8abc-def012345678"
    return Routine(
        f"instance {instance_id}",
        3.0,
        [
            (
                40,
                api(
                    "ssm.amazonaws.com",
                    "UpdateInstanceInformation",
                    _ssm_ping(instance_id, region, private_ip),
                    ua=c.UA_SSM_AGENT,
                ),
            ),
            (10, api("ec2.amazonaws.com", "DescribeTags", tags)),
            (8, api("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": f"{account}/app/db"})),
            (
                8,
                api(
                    "kms.amazonaws.com",
                    "Decrypt",
                    {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                    resources=_kms_key(account, region, key_id),
                ),
            ),
            (20, s3_object("GetObject", bucket, _ASSETS, region=region, missing_rate=0.02)),
            (5, s3_object("PutObject", bucket, tuple(f"uploads/{n:05d}.bin" for n in range(500)), region=region)),
            (3, api("sts.amazonaws.com", "GetCallerIdentity")),
        ],
        renew=renew,
        ttl=timedelta(hours=1),
    )


def function(world: World, role: str, name: str, region: str, bucket: str, keys: tuple[str, ...]) -> Routine:
    account = role.split(":")[4]

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        ip = world.ids.rng.choice(c.LAMBDA_IPS)
        record, session = world.lambda_session(role, name, t, ip=ip, user_agent=c.UA_LAMBDA, region=region)
        return [record], session

    def log_stream(actor: Actor, t: datetime, rng: random.Random) -> Record:
        stream = f"{t:%Y/%m/%d}/[$LATEST]{rng.getrandbits(128):032x}"
        request = {"logGroupName": f"/aws/lambda/{name}", "logStreamName": stream}
        return actor.call("logs.amazonaws.com", "CreateLogStream", t, request=request)

    return Routine(
        f"lambda {name}",
        2.0,
        [
            (10, log_stream),
            (
                10,
                api(
                    "kms.amazonaws.com",
                    "Decrypt",
                    {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                    resources=_kms_key(account, region, "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"),
                ),
            ),
            (10, api("ssm.amazonaws.com", "GetParameter", {"name": f"/{name}/config", "withDecryption": True})),
            (20, s3_object("GetObject", bucket, keys, region=region, missing_rate=0.03)),
        ],
        renew=renew,
        ttl=timedelta(hours=4),
    )


def config_recorder(world: World, account: str) -> Routine:
    role = c.role_arn(account, c.CONFIG_ROLE_NAME, c.CONFIG_ROLE_PATH)

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        record, session = world.service_session("config.amazonaws.com", role, "AWSConfig-Describe", t)
        return [record], session

    ec2 = "ec2.amazonaws.com"
    return Routine(
        f"config {account}",
        1.5,
        [
            (
                10,
                api(
                    ec2,
                    "DescribeSecurityGroups",
                    {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
                    regions=c.REGIONS,
                    error="ThrottlingException",
                    error_rate=0.01,
                ),
            ),
            (10, api(ec2, "DescribeInstances", _EC2_EMPTY, regions=c.REGIONS)),
            (6, api(ec2, "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}, regions=c.REGIONS)),
            (4, api("iam.amazonaws.com", "GetRole", {"roleName": "web-server"})),
            (
                4,
                api(
                    "s3.amazonaws.com",
                    "GetBucketAcl",
                    {"bucketName": c.APP_BUCKET, "Host": "s3.amazonaws.com", "acl": ""},
                ),
            ),
        ],
        renew=renew,
        ttl=timedelta(hours=1),
    )


def ci_pipeline(world: World) -> Routine:
    actor = world.iam_user(c.PROD, "ci-deploy", ip=c.CI_IP, user_agent=c.UA_TERRAFORM, region="eu-west-1")
    ec2 = "ec2.amazonaws.com"
    return Routine(
        "ci-deploy",
        2.0,
        [
            (10, api(ec2, "DescribeInstances", _EC2_EMPTY, error="Client.RequestLimitExceeded", error_rate=0.02)),
            (6, api(ec2, "DescribeVpcs", {"vpcSet": {}, "filterSet": {}})),
            (
                6,
                api(ec2, "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
            ),
            (5, api("iam.amazonaws.com", "GetRole", {"roleName": "orders-api-role"})),
            (4, api("lambda.amazonaws.com", "GetFunction20150331v2", {"functionName": "orders-api"})),
            (4, api("ecr.amazonaws.com", "GetAuthorizationToken", {})),
            (3, api("sts.amazonaws.com", "GetCallerIdentity")),
        ],
        actor=actor,
    )


def ci_cross_account(world: World) -> Routine:
    """CI deploying into the analytics account through the cross-account role: one pair per hour."""
    base = world.iam_user(c.PROD, "ci-deploy", ip=c.CI_IP, user_agent=c.UA_TERRAFORM, region="us-west-2")

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        records, session = base.assume_role(c.DEPLOY_ROLE, "terraform-ci", t)
        assert session is not None
        return records, session

    ec2 = "ec2.amazonaws.com"
    return Routine(
        "ci-deploy -> CrossAccountDeploy",
        1.0,
        [
            (10, api(ec2, "DescribeInstances", _EC2_EMPTY)),
            (
                5,
                api(
                    "s3.amazonaws.com",
                    "GetBucketPolicy",
                    {"bucketName": c.EXPORT_BUCKET, "Host": "s3.us-west-2.amazonaws.com", "policy": ""},
                ),
            ),
            (5, api("iam.amazonaws.com", "GetRole", {"roleName": "etl-worker"})),
            (3, api("glue.amazonaws.com", "GetTable", {"databaseName": "exports", "name": "customers"})),
        ],
        renew=renew,
        ttl=timedelta(hours=1),
        renewal_records=2,
    )


def partner_portal(world: World) -> Routine:
    """A portal that hands a partner federated credentials for shared downloads."""
    base = world.iam_user(
        c.PROD, "partner-portal", ip=c.INSTANCE_IPS["i-0b2c3d4e5f6071829"], user_agent=c.UA_BOTO3, region="eu-west-1"
    )

    def renew(t: datetime) -> tuple[list[Record], Actor]:
        record, session = base.get_federation_token("vendor-northwind", t)
        assert session is not None
        return [record], session

    return Routine(
        "partner-portal federation",
        0.3,
        [(1, s3_object("GetObject", c.APP_BUCKET, tuple(f"shared/northwind/report-{n:02d}.pdf" for n in range(12))))],
        renew=renew,
        ttl=timedelta(hours=12),
    )


def machines(world: World) -> list[Routine]:
    return [
        instance(world, c.WEB_ROLE, "i-0a1b2c3d4e5f60718", "eu-west-1", "10.0.1.23", c.APP_BUCKET),
        instance(world, c.WEB_ROLE, "i-0b2c3d4e5f6071829", "eu-west-1", "10.0.2.57", c.APP_BUCKET),
        instance(world, c.BATCH_ROLE, "i-0c3d4e5f607182930", "us-east-1", "10.1.4.12", c.APP_BUCKET),
        instance(world, c.ETL_ROLE, "i-0d4e5f60718293a41", "us-west-2", "10.8.0.31", c.EXPORT_BUCKET),
        function(world, c.ORDERS_LAMBDA_ROLE, "orders-api", "eu-west-1", c.APP_BUCKET, _ASSETS),
        function(world, c.REPORT_LAMBDA_ROLE, "report-builder", "us-west-2", c.EXPORT_BUCKET, c.EXPORT_KEYS),
        config_recorder(world, c.PROD),
        config_recorder(world, c.ANALYTICS),
        ci_pipeline(world),
        ci_cross_account(world),
        partner_portal(world),
    ]
