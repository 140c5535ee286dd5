"""Pivot benchmark: a full credential-lineage pivot on a large case, in the engine and via the CLI.

    .venv/bin/python benchmarks/bench_pivot.py [--case DIR] [--events 1000000] [--data bench-data]
                                               [--runs 7] [--rebuild-derived]

Without ``--case`` it uses (or creates once) ``bench-data/pivot-case-<events>``, ingested from
the simulator's key-compromise archive ``bench-data/archive-<events>`` (background noise plus the
attack; shared with bench_ingest). It prints: the build of the derived tables (resource index,
lineage links, per-key rollups; cached unless ``--rebuild-derived``); the entity graph built on reopen; the engine
pivot (median wall and CPU time of ``--runs``) on the leaked key scoped to the intruder's address
(with event ids as the CLI asks, and seqs only as the TUI asks), unscoped, and on the intruder's
address; and ``trailhound pivot ... --json`` end to end. The machine is shared, so the load
average is printed and CPU time shown beside wall time. Targets (DESIGN §5): engine pivot
<= 150 ms, CLI <= 2 s, graph on reopen <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
TRAILHOUND = str(Path(sys.executable).with_name("trailhound"))


def prepare(data: Path, events: int) -> Path:
    """The benchmark case, generated and ingested on first use."""
    archive = data / f"archive-{events}"
    case = data / f"pivot-case-{events}"
    if not (archive / "scenario.json").exists():
        print(f"generating {events:,} events into {archive} ...", file=sys.stderr)
        subprocess.run(
            [TRAILHOUND, "simulate", "--scenario", "key-compromise", "--events", str(events), "--seed", "7",
             "--out", str(archive)],
            check=True,
        )  # fmt: skip
    if not (case / "events.duckdb").exists():
        print(f"ingesting into {case} ...", file=sys.stderr)
        done = subprocess.run([TRAILHOUND, "ingest", str(archive), "--case", str(case), "--json"],
                              stdout=subprocess.DEVNULL)  # fmt: skip
        if done.returncode not in (0, 1):  # 1: done, some files (scenario.json) not CloudTrail
            raise SystemExit(f"ingest failed with exit code {done.returncode}")
    return case


def ground_truth(case: Path) -> dict:
    """The attack from the scenario.json of the simulator archive the case was ingested from."""
    sources = orjson.loads((case / "case.json").read_bytes())["sources"]
    for source in sources:
        uri = Path(source["uri"])
        truth = next((p for p in (uri / "scenario.json", ROOT / uri / "scenario.json") if p.exists()), None)
        if truth:
            return orjson.loads(truth.read_bytes())["attack"]
    raise SystemExit(f"{case} was not ingested from a simulator archive (no scenario.json in its sources)")


@dataclass
class Timing:
    wall_ms: float  # median
    best_ms: float  # fastest run: the least disturbed by other work on a shared machine
    cpu_ms: float  # median
    result: Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(action: Callable[[], Any], runs: int) -> Timing:
    """Median and best wall time, and median CPU time (all threads of this process), of ``runs`` calls."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), _cpu()
        result = action()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((_cpu() - cpu) * 1000)
    return Timing(statistics.median(walls), min(walls), statistics.median(cpus), result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, help="an existing case ingested from a simulator archive")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild-derived", action="store_true", help="drop and time the derived tables' build")
    args = parser.parse_args()
    case_dir = args.case or prepare(args.data, args.events)
    truth = ground_truth(case_dir)
    key, ip = truth["leaked_key"], truth["intruder_ips"][0]

    from investigations.case import Case
    from investigations.derived import ensure_derived
    from investigations.graph import build_graph
    from investigations.pivot import TABLES, Scope, pivot

    load = os.getloadavg()[0]
    with Case.open(case_dir, create=False) as case:
        store = case.store
        count = store.count()
        if args.rebuild_derived:
            for table in TABLES:
                store.sql(f"DROP TABLE IF EXISTS {table}")
        derived = timed(lambda: ensure_derived(store, TABLES), 1)
        graph = timed(lambda: build_graph(store), 3)
        scoped = timed(lambda: pivot(store, "access_key", key, Scope(ips=(ip,))), args.runs)
        lean = timed(lambda: pivot(store, "access_key", key, Scope(ips=(ip,)), with_ids=False), args.runs)
        full = timed(lambda: pivot(store, "access_key", key), args.runs)
        by_ip = timed(lambda: pivot(store, "ip", ip), args.runs)
    argv = [TRAILHOUND, "pivot", "--case", str(case_dir), "--access-key", key, "--scope-ip", ip, "--json"]
    cli = timed(lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL), 3)

    print(f"case                           {count:,} events ({case_dir}); load average {load:.1f} at start")
    print(
        f"derived tables                 {derived.wall_ms / 1000:7.2f} s   "
        f"(resource index, lineage, key rollups; built after an ingest{'' if args.rebuild_derived else ', cached'})"
    )
    print(
        f"entity graph on reopen         {graph.wall_ms / 1000:7.2f} s   cpu {graph.cpu_ms / 1000:.2f} s, "
        f"{graph.result.number_of_nodes():,} nodes, {graph.result.number_of_edges():,} edges (target <= 2 s)"
    )
    for label, t in (
        ("intruder scope", scoped),
        ("intruder scope, seqs only", lean),
        ("unscoped", full),
        ("the intruder's IP", by_ip),
    ):
        print(
            f"engine pivot, {label:<26}{t.wall_ms:6.1f} ms median, {t.best_ms:6.1f} best, cpu {t.cpu_ms:6.1f} "
            f"(target <= 150 ms); {len(t.result.lineage_seqs):,} lineage events, "
            f"{len(t.result.in_scope_seqs):,} in scope, {len(t.result.descendants)} minted keys"
        )
    print(f"CLI pivot --json, end to end   {cli.wall_ms / 1000:7.2f} s   median of 3 (target <= 2 s)")


if __name__ == "__main__":
    main()
