"""Detections: the built-in rule pack, Sigma rules, grouped findings and alarms for next time.

The calls the CLI and the TUI make:

- ``run(store, options, rules_dir)`` / ``detect_case(case, options, rules_dir)`` -> DetectReport
- ``load_findings(store)``, ``get_finding(store, id)``, ``findings_by_seq(store, lo, hi)``
- ``alarm_for(store, finding)`` -> Alarm (``render(alarm)`` for text)
- ``all_rules()`` for the rule list
"""

from investigations.detections.alarms import Alarm, alarm_for, render
from investigations.detections.context import DetectOptions, Thresholds
from investigations.detections.grouping import Finding
from investigations.detections.registry import Rule, Severity, all_rules, get_rule
from investigations.detections.runner import (
    DetectReport,
    detect_case,
    findings_by_seq,
    findings_stale,
    get_finding,
    load_findings,
    run,
)

__all__ = [
    "Alarm",
    "DetectOptions",
    "DetectReport",
    "Finding",
    "Rule",
    "Severity",
    "Thresholds",
    "alarm_for",
    "all_rules",
    "detect_case",
    "findings_by_seq",
    "findings_stale",
    "get_finding",
    "get_rule",
    "load_findings",
    "render",
    "run",
]
