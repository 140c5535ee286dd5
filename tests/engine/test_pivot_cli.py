"""``trailhound pivot``: the JSON contract, the readable tree, and hostile strings kept inert."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.support import lineage_world as w
from tui.cli import main

HOSTILE_UA = '\x1b]0;owned\x07[bold red]Boto3[/] =HYPERLINK("x")'


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hostile = w.event("e99", "09:09", "s3", "ListBuckets", w.session(w.B, "Admin", "ops", w.ASIA_INT3,
                      "2024-05-01T09:06:00Z"), w.INTRUDER_IP, HOSTILE_UA)  # fmt: skip
    return w.ingest_world(tmp_path_factory.mktemp("world"), [hostile])


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["pivot", *argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object
    return orjson.loads(out)


def test_json_has_the_contract_fields(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(capsys, "--case", str(case_dir), "--access-key", w.ASIA_INT2)
    assert data["key"] == w.ASIA_INT2
    assert data["ancestors"] == [w.ASIA_INT1, w.AKIA_ALICE]
    assert [(d["parent"], d["child"], d["event_id"]) for d in data["descendants"]] == [
        (w.ASIA_INT2, w.ASIA_INT3, "e11"),
        (w.ASIA_INT3, w.AKIA_BACKDOOR, "e12"),
    ]
    assert data["session_event_ids"] == ["e10", "e11"]
    assert data["lineage_event_ids"] == ["e10", "e11", "e12", "e13", "e99", "e14", "e15"]
    assert data["principals"] == [
        f"arn:aws:sts::{w.B}:assumed-role/Audit/ops",
        f"arn:aws:sts::{w.B}:assumed-role/Admin/ops",
        f"arn:aws:iam::{w.B}:user/svc-backup",
    ]
    assert data["source_ips"] == [w.INTRUDER_IP, w.BACKDOOR_IP]
    assert data["user_agents"] == [w.INTRUDER_UA, HOSTILE_UA, "curl/8.5.0"]
    assert data["accounts"] == [w.B] and data["regions"] == ["eu-west-1", "us-east-1"]
    assert data["resources"] == [
        f"arn:aws:iam::{w.B}:role/Admin",
        f"arn:aws:iam::{w.B}:user/svc-backup",
        f"arn:aws:cloudtrail:us-east-1:{w.B}:trail/org-trail",
        f"arn:aws:secretsmanager:us-east-1:{w.B}:secret:prod/db",
        f"arn:aws:ec2:us-east-1:{w.B}:security-group/sg-0123456789abcdef0",
    ]


def test_scope_options_split_owner_from_intruder(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys, "--case", str(case_dir), "--access-key", w.AKIA_ALICE, "--scope-ip", "198.51.100.10/32",
        "--start", "2024-05-01T00:00:00Z", "--end", "2024-05-03",
    )  # fmt: skip
    assert data["in_scope_event_ids"] == ["e32", "e33", "e01", "e02", "e03", "e16", "e17"]
    assert "e04" in data["out_of_scope_event_ids"] and "e14" in data["out_of_scope_event_ids"]
    assert data["scope"]["ips"] == ["198.51.100.10/32"]


def test_readable_tree_keeps_log_strings_inert(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pivot", "--case", str(case_dir), "--event-id", "e99"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;owned\\x07[bold red]Boto3[/]" in out  # shown as text, never interpreted
    lines = out.splitlines()
    assert lines[0].startswith("Pivot      event e99")
    tree = lines[lines.index("Lineage") + 1 :]
    assert tree[0] == w.ASIA_INT3
    assert tree[1].startswith(f"└── {w.AKIA_BACKDOOR}  CreateAccessKey e12 → arn:aws:iam::{w.B}:user/svc-backup")


def test_usage_errors_exit_2(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pivot", "--case", str(case_dir), "--event-id", "nope"]) == 2
    assert "no event 'nope'" in capsys.readouterr().err
    assert main(["pivot", "--case", str(case_dir), "--ip", "203.0.113.66", "--scope-ip", "300.1.2.3"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["pivot", "--case", str(case_dir), "--ip", "1.2.3.4", "--access-key", "AKIA"])
    assert exit_info.value.code == 2


def test_installed_command_end_to_end(case_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "pivot", "--case", str(case_dir), "--principal", "carol", "--json"],
        capture_output=True,
        check=True,
    )
    data = orjson.loads(done.stdout)
    assert data["keys"] == [w.ASIA_ORPHAN] and data["lineage_event_ids"] == ["e30", "e31"]
