"""Killing a writer at any moment never corrupts the case and loses at most the action in flight.

A child process opens the case and adds notes, findings (with narratives of varied length, so
journal lines span page boundaries) and tags, and edits findings, printing each action once it
has returned. The test SIGKILLs it at a random moment, thirty-two times, and after every kill opens
the case the way a responder would: it must open, ``case.json`` must parse, the journal's chain
must verify, and every action the child reported must be in the case.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from investigations import casefile as cf
from investigations.case import Case

CHILD = r"""
import os
import sys
from investigations import casefile as cf
from investigations.case import Case

with Case.open(sys.argv[1]) as case:
    print("ready", flush=True)
    i = case.journal.head.entries
    while True:
        op = i % 4
        if op == 0:
            item = cf.add_note(case, f"note {i}")
        elif op == 1:
            item = cf.add_finding(case, f"finding {i}", "low", narrative="n" * (i * 997 % 20000))
        elif op == 2:
            item = cf.add_tag(case, f"ip:10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "scanned")
        else:
            item = cf.edit(case, cf.items(case, "finding")[-1].id, narrative=f"edited at {i}")
        os.write(1, f"{case.journal.head.entries} {item.KIND} {item.id}\n".encode())  # one write: a kill cannot cut it
        i += 1
"""
ROUNDS = 32


def _run_and_kill(root: Path, rng: random.Random, during_open: bool) -> list[tuple[int, str, str]]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    if during_open:
        time.sleep(rng.uniform(0.0, 0.3))  # may land while the child imports, creates or repairs the case
    else:
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.12))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()
    done = []
    for line in out.decode().split("\n")[:-1]:  # the text after the last newline was never a whole report
        if line != "ready":
            n, kind, item_id = line.split()
            done.append((int(n), kind, item_id))
    return done


def test_sigkill_at_random_moments_never_corrupts_or_loses_a_reported_action(tmp_path: Path) -> None:
    root = tmp_path / "case"
    rng = random.Random(20240501)
    reported: list[tuple[int, str, str]] = []
    for round_number in range(ROUNDS):
        reported += _run_and_kill(root, rng, during_open=round_number % 4 == 0)
        if not (root / "case.json").exists():
            continue  # killed before the case was first written: nothing was reported either
        orjson.loads((root / "case.json").read_bytes())
        with Case.open(root) as case:
            check = case.verify()
            assert check.problems == [] and check.manifests == []
            entries = {e["n"]: e for e in case.journal.entries()}
            for n, kind, item_id in reported:
                assert entries[n]["action"].startswith(f"{kind}.")
                assert entries[n]["item"]["id"] == item_id
                assert kind == cf.get(case, item_id).KIND
            counts = {kind: len(cf.items(case, kind)) for kind in ("note", "finding", "tag")}
            for kind, count in counts.items():
                added = {item_id for _, k, item_id in reported if k == kind}
                assert count >= len(added)
    assert len(reported) > ROUNDS  # the child got well into its writes before most kills
