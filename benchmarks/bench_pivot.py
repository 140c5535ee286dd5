"""Pivot benchmark: a full credential-lineage pivot on a large case, in the engine and via the CLI.

    .venv/bin/python benchmarks/bench_pivot.py [--case DIR] [--events 1000000] [--data bench-data] [--runs 7]

Without ``--case`` it uses (or creates once) ``bench-data/pivot-case-<events>``, ingested from
the simulator's key-compromise archive ``bench-data/archive-<events>`` (background noise plus the
attack; shared with bench_ingest). It prints: the one-off build of the derived tables (resource
index, lineage links) after an ingest; the entity graph built on reopen; the engine pivot
(median of ``--runs``) on the leaked key scoped to the intruder's address, unscoped, and on the
intruder's address; and ``trailhound pivot ... --json`` end to end. Targets (DESIGN §5): engine
pivot <= 150 ms, CLI <= 2 s, graph on reopen <= 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

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
    (case / "scenario.json").write_bytes((archive / "scenario.json").read_bytes())
    return case


def median_ms(action: object, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, help="an existing case with the simulator's scenario.json beside it")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    case_dir = args.case or prepare(args.data, args.events)
    truth = orjson.loads((case_dir / "scenario.json").read_bytes())["attack"]
    key, intruder_ip = truth["leaked_key"], truth["intruder_ips"][0]

    from investigations.case import Case
    from investigations.graph import build_graph
    from investigations.lineage import ensure_links
    from investigations.pivot import Scope, pivot
    from investigations.resources import ensure_resources

    with Case.open(case_dir, create=False) as case:
        store = case.store
        count = store.count()
        start = time.perf_counter()
        ensure_resources(store)
        ensure_links(store)
        derived = time.perf_counter() - start
        graph_ms, graph = median_ms(lambda: build_graph(store), 3)
        scoped_ms, scoped = median_ms(lambda: pivot(store, "access_key", key, Scope(ips=(intruder_ip,))), args.runs)
        full_ms, full = median_ms(lambda: pivot(store, "access_key", key), args.runs)
        ip_ms, _ = median_ms(lambda: pivot(store, "ip", intruder_ip), args.runs)

    cli = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [TRAILHOUND, "pivot", "--case", str(case_dir), "--access-key", key, "--scope-ip", intruder_ip, "--json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cli.append(time.perf_counter() - start)

    print(f"case                          {count:,} events ({case_dir})")
    print(f"derived tables (after ingest) {derived:8.2f} s  resource index + lineage links; one-off per ingest")
    print(f"entity graph on reopen        {graph_ms / 1000:8.2f} s  {graph.number_of_nodes():,} nodes, "  # type: ignore[attr-defined]
          f"{graph.number_of_edges():,} edges (target <= 2 s)")  # type: ignore[attr-defined]  # fmt: skip
    print(f"engine pivot, intruder scope  {scoped_ms:8.1f} ms {len(scoped.lineage_event_ids):,} lineage events, "  # type: ignore[attr-defined]
          f"{len(scoped.in_scope_event_ids):,} in scope (target <= 150 ms)")  # type: ignore[attr-defined]  # fmt: skip
    print(f"engine pivot, unscoped        {full_ms:8.1f} ms {len(full.descendants):,} descendant keys")  # type: ignore[attr-defined]
    print(f"engine pivot, intruder IP     {ip_ms:8.1f} ms")
    print(f"CLI pivot --json, end to end  {statistics.median(cli):8.2f} s  median of 3 (target <= 2 s)")


if __name__ == "__main__":
    main()
