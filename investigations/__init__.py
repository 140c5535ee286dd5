"""Trailhound's engine: CloudTrail evidence in, answers out.

This package never imports Textual or Rich (tests/engine/test_import_hygiene.py holds it to that),
so every answer the workbench shows can also be produced headless by the CLI and by tests.
"""

__version__ = "0.1.0"
