"""Running the installed CLI's entry point in-process, as the engine tests read a case back."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tui.cli import main


def sql_rows(case: Path, query: str, capsys: pytest.CaptureFixture[str]) -> list[list]:
    """The rows ``trailhound sql --case CASE --json QUERY`` prints (it must exit 0)."""
    assert main(["sql", "--case", str(case), "--json", query]) == 0
    return orjson.loads(capsys.readouterr().out)["rows"]
