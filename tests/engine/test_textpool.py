"""Free text scanned by helper processes answers what the in-process scan answers.

The workbench hands a large index's scans to two spawned helper processes (textpool.py). These
tests start real helpers on the hand-written hostile records of test_textsearch.py (the size
threshold set to nothing, so thirteen records qualify) and hold them to the same hand-computed rows; then
break them, as a crash or a rebuilt index would, and require the answers to keep coming in-process.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from investigations import textpool
from investigations.textpool import HelpersUnavailable, ScanHelpers, Target
from tests.engine.test_textsearch import EXPECTED, hostile_case, ids, quoted

pytestmark = pytest.mark.skipif(textpool.hyperscan is None, reason="helpers need Hyperscan")


@pytest.fixture(scope="module")
def helped(tmp_path_factory: pytest.TempPathFactory):
    with hostile_case(tmp_path_factory.mktemp("textpool")) as case:
        assert case.store.text_index.start_helpers(minimum=0)
        yield case


class Answered:
    """Records how many runs each helper scan answered (wrapping the real method, which does the work)."""

    def __init__(self, helpers: ScanHelpers, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs: list[int] = []
        real = helpers.scan

        def scan(*args, **kwargs):  # type: ignore[no-untyped-def]
            found = real(*args, **kwargs)
            self.runs.append(sum(run is not None for run in found))
            return found

        monkeypatch.setattr(helpers, "scan", scan)


@pytest.mark.parametrize("term", list(EXPECTED))
def test_helpers_give_the_hand_computed_rows(helped, term, monkeypatch):
    helpers = helped.store.text_index._helpers
    helped.store.text_index.forget_answers()  # a quoted term may have been searched bare before
    answered = Answered(helpers, monkeypatch)
    assert ids(helped, quoted(term), indexed=True) == EXPECTED[term]
    assert answered.runs == [2] and not helpers.broken  # one search, both helpers answered


def test_a_small_index_starts_no_helpers(tmp_path: Path):
    with hostile_case(tmp_path) as case:
        assert not case.store.text_index.start_helpers()  # 13 records: threads answer at once
        assert case.store.text_index._helpers is None


def test_a_replaced_file_is_refused_by_the_helpers(helped):
    index = helped.store.text_index
    snapshot = index.current()
    stale = Target(str(index.files.text), str(index.files.offsets), snapshot.inode + 1, 10, 1)
    with pytest.raises(HelpersUnavailable, match="was replaced"):
        index._helpers.warm(stale)
    assert not index._helpers.broken  # the helpers themselves are fine


def test_a_dead_helper_leaves_free_text_answering_in_process(tmp_path: Path):
    with hostile_case(tmp_path) as case:
        index = case.store.text_index
        assert index.start_helpers(minimum=0)
        helpers = index._helpers
        for pool in helpers._pools:
            for process in pool._processes.values():
                os.kill(process.pid, signal.SIGKILL)
        assert ids(case, quoted("kali"), indexed=True) == EXPECTED["kali"]
        assert helpers.broken
        assert ids(case, quoted("HEADMARK*TAILMARK"), indexed=True) == EXPECTED["HEADMARK*TAILMARK"]


def test_closing_the_store_stops_the_helpers(tmp_path: Path):
    with hostile_case(tmp_path) as case:
        assert case.store.text_index.start_helpers(minimum=0)
        pids = [p.pid for pool in case.store.text_index._helpers._pools for p in pool._processes.values()]
        assert len(pids) == 2 and all(running(pid) for pid in pids)
    deadline = time.monotonic() + 20
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(running(pid) for pid in pids)


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie, exited but not yet reaped, has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
