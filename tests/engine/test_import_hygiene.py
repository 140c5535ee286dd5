"""The engine stays free of the UI: importing it must not pull in Textual or Rich (DESIGN §1)."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import investigations

ROOT = Path(__file__).resolve().parents[2]


def engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(investigations.__path__, "investigations."))


def test_importing_every_engine_module_loads_no_ui():
    script = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


def test_import_linter_contract_holds():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    assert Path(lint).exists(), "lint-imports missing: install the test extra (pip install -e '.[test]')"
    result = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
