"""``trailhound detect`` through the CLI entry point: JSON contract, alarms, Sigma problems, journal.

The case: alice's key is used from the office, then from an intruder's address with a Kali user
agent carrying a terminal escape, which creates a key for bob and opens SSH to the world.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from investigations.journal import Journal
from tests.engine.detect_records import BOTO, EC2, INTRUDER_IP, S3, alice, at, case_with, world
from tui.cli import main

RULES = Path(__file__).resolve().parents[1] / "data" / "sigma"
KALI = "aws-cli/2.15.0 Python/3.11 Linux/6.5.0-kali3-amd64 \x1b]0;pwned\x07"
REQUIRED = {"rule_id", "title", "severity", "technique", "event_ids", "actor", "access_key", "first_seen", "last_seen"}


def _records() -> tuple[list[dict[str, object]], dict[str, dict[str, object]]]:
    w = world()
    a = alice(w)
    x = a.at(ip=INTRUDER_IP, user_agent=BOTO)
    key, _ = x.create_access_key("bob", at(3 * 24 * 60 + 1))
    ssh = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}
    named = {
        **{f"day{d}": a.call(S3, "ListBuckets", at(d * 24 * 60)) for d in range(3)},
        "key": key,
        "kali": x.call(S3, "ListBuckets", at(3 * 24 * 60 + 2), ua=KALI),
        "ssh": x.call(
            EC2,
            "AuthorizeSecurityGroupIngress",
            at(3 * 24 * 60 + 3),
            request={"groupId": "sg-1", "ipPermissions": {"items": [ssh]}},
        ),
    }
    return list(named.values()), named


RECORDS, NAMED = _records()


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return case_with(tmp_path_factory.mktemp("cli"), RECORDS)


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, dict[str, object], str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, orjson.loads(out), err


def test_json_lists_findings_with_the_contract_fields(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = _json(capsys, ["detect", "--case", str(case_dir), "--json"])
    assert code == 0
    findings = doc["findings"]
    assert isinstance(findings, list) and findings
    assert all(set(f) >= REQUIRED for f in findings)
    by_rule = {f["rule_id"]: f for f in findings}
    backdoor = by_rule["TH-IAM-BACKDOOR-KEY"]
    assert backdoor["event_ids"] == [NAMED["key"]["eventID"]]
    assert backdoor["severity"] == "high" and backdoor["technique"] == "T1098.001"
    assert backdoor["actor"] == "arn:aws:iam::111122223333:user/alice"
    assert backdoor["access_key"] == NAMED["key"]["userIdentity"]["accessKeyId"]  # type: ignore[index]
    assert backdoor["first_seen"] == backdoor["last_seen"] == NAMED["key"]["eventTime"]
    assert by_rule["TH-NET-SG-OPEN-ADMIN"]["detail"] == "tcp/22 open to 0.0.0.0/0"
    ranks = [("info", "low", "medium", "high", "critical").index(f["severity"]) for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    assert doc["rules"] >= 40


def test_the_run_is_journalled(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc, _ = _json(capsys, ["detect", "--case", str(case_dir), "--json"])
    entries = [orjson.loads(line) for line in (case_dir / "journal.jsonl").read_bytes().splitlines()]
    last = [e for e in entries if e["action"] == "detect"][-1]
    assert last["findings"] == len(doc["findings"])  # type: ignore[arg-type]
    assert last["rules"] == doc["rules"]
    assert Journal(case_dir / "journal.jsonl").verify() == []


def test_alarm_for_a_listed_finding(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, doc, _ = _json(capsys, ["detect", "--case", str(case_dir), "--json"])
    finding = next(f for f in doc["findings"] if f["rule_id"] == "TH-NET-SG-OPEN-ADMIN")  # type: ignore[union-attr]
    code, alarm, _ = _json(capsys, ["detect", "--case", str(case_dir), "--alarm", finding["id"], "--json"])
    assert code == 0
    assert alarm["finding_id"] == finding["id"]
    assert alarm["eventbridge_pattern"]["detail"]["eventName"] == [
        "AuthorizeSecurityGroupIngress",
        "ModifySecurityGroupRules",
    ]
    assert "ipPermissions.items[0].ipRanges.items[0].cidrIp" in alarm["metric_filter_pattern"]
    assert "logsource:" in alarm["sigma"]
    assert main(["detect", "--case", str(case_dir), "--alarm", finding["id"]]) == 0
    text = capsys.readouterr().out
    assert "EventBridge event pattern:" in text and "Sigma rule:" in text


def test_unknown_finding_is_a_usage_error(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--case", str(case_dir), "--alarm", "F-0000000000"]) == 2
    assert "no finding F-0000000000" in capsys.readouterr().err


def test_sigma_problems_give_exit_1_and_are_listed(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, err = _json(capsys, ["detect", "--case", str(case_dir), "--rules", str(RULES), "--json"])
    assert code == 1
    problems = doc["sigma"]["problems"]  # type: ignore[index]
    assert len(problems) == 6
    assert "Secret reads counted with the retired pipe syntax" in err
    assert any(f["origin"] == "sigma" for f in doc["findings"])  # type: ignore[union-attr]


def test_human_output_escapes_hostile_strings(case_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--case", str(case_dir), "--min-severity", "high"]) == 0
    out = capsys.readouterr().out
    assert "TH-TOOL-OFFENSIVE" in out and "\x1b" not in out and "\x07" not in out
    assert "TH-NEW-IP" not in out


def test_rule_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = _json(capsys, ["detect", "--list-rules", "--json"])
    assert code == 0
    ids = [r["id"] for r in doc["rules"]]  # type: ignore[union-attr]
    assert ids[:2] == ["TH-CIS-4.1", "TH-CIS-4.2"] and "TH-IAM-BACKDOOR-KEY" in ids


def test_missing_case_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect"]) == 2
