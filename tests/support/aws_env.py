"""Point boto3 at a local test peer and nowhere else: dummy keys, no profile, no config files,
no instance metadata. Every test that speaks to a local AWS double starts from this."""

from __future__ import annotations

from pathlib import Path

import pytest

_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_EC2")


def offline_aws(env: pytest.MonkeyPatch, nowhere: Path, **endpoints: str) -> None:
    """Dummy credentials and no real configuration; ``endpoints`` maps variable names
    (e.g. ``AWS_ENDPOINT_URL_S3``) to the local server's URL."""
    for name in _CLEARED:
        env.delenv(name, raising=False)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.setenv("AWS_CONFIG_FILE", str(nowhere / "no-config"))
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "no-credentials"))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, url in endpoints.items():
        env.setenv(name, url)
