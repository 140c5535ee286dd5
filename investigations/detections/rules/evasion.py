"""Defence evasion: detectors, findings hubs, recorders and log groups switched off, and leaving the org."""

from __future__ import annotations

from typing import Any

from investigations.detections.context import Context
from investigations.detections.registry import Match, Rule, Severity, absent, eq, register

_GUARDDUTY_ALWAYS = (
    "DeleteDetector",
    "DisassociateFromMasterAccount",
    "DisassociateFromAdministratorAccount",
    "StopMonitoringMembers",
    "DeleteMembers",
    "DisassociateMembers",
    "DeletePublishingDestination",
)


def _guardduty_weakened(record: dict[str, Any], ctx: Context) -> str | None:
    name = str(record.get("eventName"))
    params = record.get("requestParameters") if isinstance(record.get("requestParameters"), dict) else {}
    if name in _GUARDDUTY_ALWAYS:
        return name
    if name == "UpdateDetector" and str(params.get("enable", "true")).lower() == "false":
        return "detector disabled"
    if name == "CreateFilter" and str(params.get("action", "")).upper() == "ARCHIVE":
        return f"suppression rule {params.get('name', '?')} auto-archives findings"
    if name in ("CreateIPSet", "UpdateIPSet"):
        return "trusted IP list changed: calls from those addresses raise no findings"
    return None


register(
    Rule(
        "TH-EVA-GUARDDUTY",
        "GuardDuty disabled, deleted or told to look away",
        Severity.HIGH,
        "T1562.001",
        "With the detector gone, suspended, or findings auto-archived, the intruder's next steps raise no alert.",
        match=Match(
            "guardduty.amazonaws.com",
            (*_GUARDDUTY_ALWAYS, "UpdateDetector", "CreateFilter", "CreateIPSet", "UpdateIPSet"),
            (absent("errorCode"),),
        ),
        check=_guardduty_weakened,
    )
)
register(
    Rule(
        "TH-EVA-SECURITYHUB",
        "Security Hub disabled or its standards turned off",
        Severity.HIGH,
        "T1562.001",
        "Security Hub gathers findings from GuardDuty, Config and others; turning it off silences them at once.",
        match=Match(
            "securityhub.amazonaws.com",
            (
                "DisableSecurityHub",
                "BatchDisableStandards",
                "DisableImportFindingsForProduct",
                "DisassociateFromMasterAccount",
                "DisassociateFromAdministratorAccount",
                "DeleteMembers",
            ),
            (absent("errorCode"),),
        ),
    )
)
register(
    Rule(
        "TH-EVA-CONFIG",
        "AWS Config recording stopped or deleted",
        Severity.HIGH,
        "T1562.001",
        "Without the recorder, resource changes made during the intrusion leave no configuration history.",
        match=Match(
            "config.amazonaws.com",
            ("StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "DeleteConfigRule"),
            (absent("errorCode"),),
        ),
    )
)
register(
    Rule(
        "TH-EVA-LOGGING",
        "CloudWatch logs, alarms or flow logs deleted",
        Severity.HIGH,
        "T1562.008",
        "Deleting log groups, flow logs or alarms destroys evidence and removes the tripwires that would fire next.",
        match=Match(
            names=(
                "DeleteLogGroup",
                "DeleteLogStream",
                "DeleteSubscriptionFilter",
                "DeleteAlarms",
                "DisableAlarmActions",
                "DeleteFlowLogs",
                "DeleteResolverQueryLogConfig",
            ),
            where=(
                eq(
                    "eventSource",
                    "logs.amazonaws.com",
                    "monitoring.amazonaws.com",
                    "ec2.amazonaws.com",
                    "route53resolver.amazonaws.com",
                ),
                absent("errorCode"),
            ),
        ),
    )
)
register(
    Rule(
        "TH-EVA-LEAVE-ORG",
        "Account left the organization",
        Severity.CRITICAL,
        "T1666",
        "Outside the organization the account escapes its SCPs, the organization trail and central security "
        "tooling: the intruder owns it without oversight.",
        match=Match("organizations.amazonaws.com", ("LeaveOrganization",)),
    )
)
