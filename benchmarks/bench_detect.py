"""Detection benchmark: the whole built-in pack on a case, cold (baseline built) and warm.

    .venv/bin/python benchmarks/bench_detect.py [--case DIR] [--events 1000000] [--rules DIR]

Without ``--case`` it uses ``bench-data/detect-case-N``, and makes it when missing: the ingest
benchmark's archive (``bench-data/archive-N``, the simulator's key-compromise scenario with seed
7, generated if absent), then ``trailhound ingest``. Prints the pack's
wall time with the baseline rebuilt (what the first ``trailhound detect`` after an ingest costs)
and with the baseline already current, the slowest phases, and the findings by severity.
Target (DESIGN §5, issue 4): the whole pack on 1M events within 10 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from investigations.case import Case  # noqa: E402
from investigations.detections import run  # noqa: E402

TRAILHOUND = str(Path(sys.executable).with_name("trailhound"))


def make_case(data: Path, events: int) -> Path:
    archive = data / f"archive-{events}"
    case = data / f"detect-case-{events}"
    if not (archive / "AWSLogs").is_dir():
        print(f"generating {events:,} events into {archive} ...", file=sys.stderr)
        command = [TRAILHOUND, "simulate", "--scenario", "key-compromise", "--events", str(events), "--seed", "7"]
        subprocess.run([*command, "--out", str(archive)], check=True)
    print(f"ingesting {archive} into {case} ...", file=sys.stderr)
    subprocess.run([TRAILHOUND, "ingest", str(archive), "--case", str(case)], check=True)
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, help="an existing case folder")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--rules", type=Path, help="also evaluate the Sigma rules in this folder")
    args = parser.parse_args()
    case_dir = args.case or args.data / f"detect-case-{args.events}"
    if not (case_dir / "case.json").exists():
        case_dir = make_case(args.data, args.events)
    with Case.open(case_dir, create=False) as case:
        store = case.store
        events = store.count()
        store.set_meta("baseline.events", "")  # force the cold path: the baseline is rebuilt
        start = time.perf_counter()
        cold = run(store)
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = run(store, rules_dir=args.rules)
        warm_s = time.perf_counter() - start
    print(f"case: {case_dir} ({events:,} events), {cold.rules} built-in rules")
    print(f"pack, baseline rebuilt   {cold_s:7.2f} s   (target <= 10 s on 1M events)")
    print(f"pack, baseline current   {warm_s:7.2f} s" + (" with Sigma rules" if args.rules else ""))
    slow = sorted(cold.timings.items(), key=lambda kv: -kv[1])[:8]
    print("slowest phases (cold): " + ", ".join(f"{name} {sec:.2f} s" for name, sec in slow))
    by_severity = Counter(f.severity.label for f in warm.findings)
    print("findings: " + ", ".join(f"{n} {sev}" for sev, n in sorted(by_severity.items())))


if __name__ == "__main__":
    main()
