"""The organisation the scenarios happen in: accounts, regions, people, workloads, addresses.

One fixed cast, named here once, so that the background noise and the attack agree on who is
who (the leaked key's owner is a regular background user; the role the intruder assumes is one
the ops team assumes every day) and so the README and tests can quote the same values.
Addresses of people and intruders are in the documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24); workload addresses imitate AWS public ranges.
"""

from __future__ import annotations

ORG_ID = "o-a1b2c3d4e5"
PROD = "111122223333"
ANALYTICS = "444455556666"
ACCOUNTS = {PROD: "acme-prod", ANALYTICS: "acme-analytics"}
REGIONS = ("us-east-1", "eu-west-1", "us-west-2")

OFFICE_IP = "192.0.2.10"
VPN_IP = "192.0.2.44"
CI_IP = "18.184.22.7"
BACKUP_IP = "3.121.55.13"
LAMBDA_IPS = ("34.240.18.91", "52.17.203.64")
INSTANCE_IPS = {
    "i-0a1b2c3d4e5f60718": "54.170.33.21",
    "i-0b2c3d4e5f6071829": "54.170.33.22",
    "i-0c3d4e5f607182930": "44.201.7.150",
    "i-0d4e5f60718293a41": "35.88.120.9",
}

UA_CLI_MAC = "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off"
UA_CLI_LINUX = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off"
UA_BOTO3 = (
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69"
)
UA_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.44.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 "
    "md/GOOS#linux md/GOARCH#amd64"
)
UA_SSM_AGENT = "aws-sdk-go/1.44.260 (go1.21.9; linux; amd64) amazon-ssm-agent/3.3.131.0"
UA_LAMBDA = (
    "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.214-223.810.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42"
)
UA_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
UA_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0"

#: The intruder: a Kali box for hands-on work, a Python script for enumeration.
INTRUDER_IP = "203.0.113.77"
INTRUDER_UA_CLI = "aws-cli/1.32.69 Python/3.11.8 Linux/6.6.9-amd64 botocore/1.34.69"
INTRUDER_UA_SCRIPT = (
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 "
    "md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.69"
)
#: Where the backdoor key is used from, a day later.
BACKDOOR_IP = "198.51.100.23"
BACKDOOR_UA = (
    "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.10.11 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57"
)
OUTSIDE_ACCOUNT = "999988887777"

LEAKED_USER = "marta"
BACKDOOR_USER = "backup-svc"


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


OPS_ROLE = role_arn(PROD, "OpsAdmin")
DEPLOY_ROLE = role_arn(ANALYTICS, "CrossAccountDeploy")
DATA_ROLE = role_arn(ANALYTICS, "DataAdmin")
WEB_ROLE = role_arn(PROD, "web-server")
BATCH_ROLE = role_arn(PROD, "batch-worker")
ETL_ROLE = role_arn(ANALYTICS, "etl-worker")
ORDERS_LAMBDA_ROLE = role_arn(PROD, "orders-api-role", "/service-role/")
REPORT_LAMBDA_ROLE = role_arn(ANALYTICS, "report-builder-role", "/service-role/")
CONFIG_ROLE_NAME = "AWSServiceRoleForConfig"
CONFIG_ROLE_PATH = "/aws-service-role/config.amazonaws.com/"

APP_BUCKET = "acme-prod-app-assets"
BACKUP_BUCKET = "acme-prod-backups"
EXPORT_BUCKET = "acme-analytics-customer-exports"
EXPORT_KEYS = tuple(f"exports/2024/05/customers-{n:03d}.csv.gz" for n in range(60))
ACCOUNT_TRAIL = f"arn:aws:cloudtrail:us-east-1:{PROD}:trail/acme-prod-account-trail"
SNAPSHOT_ID = "snap-0f3e2d1c0b9a87654"
SECURITY_GROUP_ID = "sg-0c1d2e3f4a5b6c7d8"
