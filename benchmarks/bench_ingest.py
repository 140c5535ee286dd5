"""Ingest benchmark: trailhound against zcat and jq over the same archive, in one run.

    .venv/bin/python benchmarks/bench_ingest.py [--events 1000000] [--data bench-data]

Generates the archive once with the simulator (background noise plus a key compromise), then
times: zcat over every file, jq making one filter pass, ``trailhound ingest`` (peak RSS of the
whole process tree sampled from /proc), a second ingest of the same files (all duplicates), and
reopening the case to its first timeline page. Prints the ratios the targets in DESIGN §5 use.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAILHOUND = str(Path(sys.executable).with_name("trailhound"))


def generate(archive: Path, events: int) -> None:
    if (archive / "AWSLogs").is_dir():
        return
    print(f"generating {events:,} events into {archive} ...", file=sys.stderr)
    subprocess.run([TRAILHOUND, "simulate", "--scenario", "key-compromise", "--events", str(events),
                    "--seed", "7", "--out", str(archive)], check=True)


def log_files(archive: Path) -> list[str]:
    return sorted(str(p) for p in archive.rglob("*.json.gz") if "CloudTrail-Digest" not in p.parts)


def timed_shell(command: str) -> float:
    start = time.perf_counter()
    subprocess.run(["bash", "-c", command], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as handle:
                stack.extend(int(c) for c in handle.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_sampled(argv: list[str]) -> tuple[float, int, int]:
    """Wall time, peak tree RSS and peak main-process RSS of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    peak_tree = peak_main = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_main
        while not done.is_set():
            peak_tree = max(peak_tree, tree_rss(proc.pid))
            peak_main = max(peak_main, tree_rss_single(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    done.set()
    sampler.join()
    if code not in (0, 1):
        raise SystemExit(f"{argv} exited {code}")
    return time.perf_counter() - start, peak_tree, peak_main


def tree_rss_single(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def reopen(case: Path) -> tuple[float, float]:
    """Seconds to open the store and fetch the first timeline page, in-process and via the CLI."""
    code = (
        "import time; t=time.perf_counter();"
        "from investigations.store import EventStore;"
        f"s=EventStore({str(case / 'events.duckdb')!r}); s.page(0, 60); s.count();"
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    cli = timed_shell(f"{TRAILHOUND} sql --case {case} 'SELECT count(*) FROM events'")
    return float(out.strip()), cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    args = parser.parse_args()
    archive = args.data / f"archive-{args.events}"
    case = args.data / f"case-{args.events}"
    generate(archive, args.events)
    files = log_files(archive)
    listing = args.data / f"files-{args.events}.txt"
    listing.write_text("\0".join(files))
    gz_bytes = sum(os.path.getsize(f) for f in files)
    print(f"archive: {len(files):,} files, {gz_bytes / 1e6:.0f} MB gzip", flush=True)

    zcat = timed_shell(f"xargs -0 zcat < {listing} > /dev/null")
    jq = timed_shell(f"xargs -0 zcat < {listing} | jq -c '.Records[] | select(.eventName == \"AssumeRole\")'")
    shutil.rmtree(case, ignore_errors=True)
    ingest, peak_tree, peak_main = run_sampled([TRAILHOUND, "ingest", str(archive), "--case", str(case), "--json"])
    again, _, _ = run_sampled([TRAILHOUND, "ingest", str(archive), "--case", str(case), "--json"])
    engine_open, cli_open = reopen(case)

    print(f"zcat over the files          {zcat:7.2f} s")
    print(f"jq, one filter pass          {jq:7.2f} s")
    print(f"trailhound ingest            {ingest:7.2f} s   = {ingest / zcat:.2f} x zcat (target <= 3, goal 1.5); "
          f"jq / trailhound = {jq / ingest:.2f} (target >= 3)")
    print(f"peak RSS, ingest             {peak_main / 2**30:7.2f} GiB main process, "
          f"{peak_tree / 2**30:.2f} GiB with workers (target <= 2 GiB)")
    print(f"re-ingest (all duplicates)   {again:7.2f} s")
    print(f"reopen to first page         {engine_open:7.3f} s in the engine, {cli_open:.2f} s via `trailhound sql` "
          "(target <= 1.5 s)")


if __name__ == "__main__":
    main()
