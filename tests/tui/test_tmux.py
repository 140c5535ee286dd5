"""The installed ``trailhound`` in a real terminal (tmux), on sample_logs/, read off the screen.

What is expected comes from sample_logs/README.md: 2,448 events; the 94 attack events came from
203.0.113.77 or 198.51.100.23; the first is marta's key AKIAWBABGLM7HN7JTO75 used from
203.0.113.77 at 02:14:07 on 2024-05-07; marta made 131 events with it from 192.0.2.10, the
intruder 32 from 203.0.113.77 (first use, 28 recon calls, AssumeRole, 2 key checks); that key's
lineage runs through the OpsAdmin session ASIAAZCRC6BZ7SWXSCIK to the planted key
AKIAOLS6JDMTUET6OAZT and, across accounts, to ASIAKY2MEZHPKFPYCD4D and ASIANSRPZ3F2TYXGNAFI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_logs"
COMMAND = Path(sys.executable).with_name("trailhound")

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)"),
    pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ is missing"),
]


class Terminal:
    """A detached 160x45 tmux session running one command."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.name = f"th-{uuid.uuid4().hex[:8]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # Pin the size before the app starts: with other sessions on the server, a new window may
        # otherwise follow the server's default size rather than -x/-y.
        for args in (
            ["new-session", "-d", "-s", self.name, "-x", "160", "-y", "45", "sleep 600"],
            ["set-option", "-w", "-t", self.name, "window-size", "manual"],
            ["resize-window", "-t", self.name, "-x", "160", "-y", "45"],
            ["respawn-pane", "-k", "-t", self.name, f"env -u COLUMNS -u LINES {exports} {command}"],
        ):
            subprocess.run(["tmux", *args], check=True)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True, check=True
        ).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:  # one at a time: ESC then a key at once would read as alt+key
            subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []), key], check=True)
            time.sleep(0.15)

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never showed {texts!r}; the screen was:\n{screen}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    case = tmp_path / "case"
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg"), "TERM": "xterm-256color", "PATH": os.environ.get("PATH", "")}
    term = Terminal(f"{COMMAND} {shlex.quote(str(SAMPLE))} --case {shlex.quote(str(case))}", env)
    try:
        yield term
    finally:
        term.close()


def line_with(screen: str, text: str, also: str = "") -> str:
    return next(line for line in screen.splitlines() if text in line and also in line)


def test_a_responder_session_on_the_sample(terminal: Terminal) -> None:
    screen = terminal.wait_for("2,448 events", "TIME (UTC)", "SOURCE IP")
    assert "all events" in screen
    deadline = time.monotonic() + 60
    while "loading" in terminal.screen().splitlines()[0]:  # evidence still arriving behind the view
        assert time.monotonic() < deadline, "loading never finished"
        time.sleep(0.2)

    terminal.keys("/")
    terminal.wait_for("typing a filter")  # as a person would: type once the bar has the cursor
    terminal.keys("ip:203.0.113.77,198.51.100.23", literal=True)
    terminal.keys("Enter")
    screen = terminal.wait_for("94 events", "2024-05-07 02:14:07")  # a capture can land between the
    first = line_with(screen, "2024-05-07 02:14:07")  # status line's repaint and the rows' (seen once)
    assert "AKIAWBABGLM7HN7JTO75" in first and "203.0.113.77" in first and "GetCallerIdentity" in first

    terminal.keys("k")  # profile of the leaked key: marta's 131 events, the intruder's 1 + 28 + 1 + 2
    screen = terminal.wait_for("access key", "Source IPs", "192.0.2.10")
    assert " 131  05-06 " in line_with(screen, "192.0.2.10", "→")  # a profile line: count, first→last
    assert " 32  05-07 02:14→05-07 10:42" in line_with(screen, "203.0.113.77", "→")

    terminal.keys("[")
    terminal.wait_for("94 events")
    terminal.keys("l")  # the credential tree of that key
    screen = terminal.wait_for("lineage of AKIAWBABGLM7HN7JTO75", "ASIANSRPZ3F2TYXGNAFI")
    for key in ("ASIAAZCRC6BZ7SWXSCIK", "AKIAOLS6JDMTUET6OAZT", "ASIAKY2MEZHPKFPYCD4D"):
        assert key in screen
    assert "444455556666" in line_with(screen, "ASIAKY2MEZHPKFPYCD4D")

    terminal.keys("?")
    screen = terminal.wait_for("Keys on this screen")
    assert "Filter language" in screen or "Lineage events" in screen
    terminal.keys("Escape")
    deadline = time.monotonic() + 20
    while "Keys on this screen" in terminal.screen():  # ESC then q at once would read as alt+q
        assert time.monotonic() < deadline, "escape did not close the help"
        time.sleep(0.2)
    terminal.keys("q")
    deadline = time.monotonic() + 20
    while terminal.alive():  # the session ends when the command does
        assert time.monotonic() < deadline, "the app did not quit on q"
        time.sleep(0.2)
