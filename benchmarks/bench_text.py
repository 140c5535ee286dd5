"""Free-text search on a large case: the text index against the DuckDB scan it replaces, and grep.

    .venv/bin/python benchmarks/bench_text.py --case DIR [--runs 5] [--keep]

DIR is a built case, ideally of a million events (bench-data/case-1000000). In one run this
prints the index build from scratch (time, size; ``--keep`` reuses a current index), the
once-per-process cost of reading DuckDB's case-folding table, and per term (rare, medium, very
common, wildcard) the median of ``--runs`` timings of:

- search: ``TextIndex.search`` as the workbench runs it: an ASCII term through the C loop
  (textliteral.py, two threads), any other term through Hyperscan;
- hyperscan: the same term through Hyperscan in-process, as without the C loop ("declined" when
  the term is in so many records that it leaves them to the DuckDB scan);
- index filter: the search plus the events query the workbench runs
  (``SELECT seq ... ORDER BY seq``);
- scan filter: the same filter answered by the DuckDB scan (no index), as before the index;
- grep: ``LC_ALL=C grep -c -i -F TERM`` over the index's own text file, the baseline of a plain
  byte scan (``-E`` with ``.*`` for wildcard terms; C locale: grep's fastest case folding).

Load averages are printed before and after: the machine has 2 cores and may be shared.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from investigations import textliteral
from investigations.case import Case
from investigations.query import parse
from investigations.textsearch import prepare

TERMS = (
    ("rare", "203.0.113.77"),
    ("rare", "kali"),
    ("medium", "AssumeRole"),
    ("medium", "GetSecretValue"),
    ("very common", "boto3"),
    ("every record", "eventversion"),
    ("every record", "amazonaws"),
    ("not ASCII", "münchen"),
    ("wildcard", "create*key"),
    ("wildcard", "s3*putobject"),
)


def median_ms(action: Callable[[], object], runs: int) -> tuple[float, object]:
    action()  # warm: page cache, compiled pattern
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return round(statistics.median(timings) * 1000, 1), result


def grep(term: str, text: Path) -> int:
    args = ["-E", ".*".join(re.escape(part) for part in term.split("*"))] if "*" in term else ["-F", term]
    done = subprocess.run(
        ["grep", "-c", "-i", *args, str(text)], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
    )
    return int(done.stdout.strip() or 0)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the index when it is current")
    args = parser.parse_args()
    print(f"load average at start: {load()} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    prepare()
    print(f"DuckDB case-folding table, read once per process: {(time.perf_counter() - started) * 1000:.0f} ms")
    with Case.open(args.case, create=False) as case:
        store, index = case.store, case.store.text_index
        events = store.count()
        if not args.keep:
            for path in (index.files.header, index.files.text, index.files.offsets):
                path.unlink(missing_ok=True)
        report = index.update()
        assert report is not None, "hyperscan is not installed"
        size = index.files.text.stat().st_size + index.files.offsets.stat().st_size
        verb = "built" if report.rebuilt else ("extended" if report.added else "already current")
        print(
            f"index {verb}: {report.records:,} records of {events:,} events in {report.seconds:.2f} s, "
            f"{size / 2**20:,.0f} MiB on disk (store {store.path.stat().st_size / 2**20:,.0f} MiB)"
        )
        con = store.cursor()

        def search(term: str) -> object:
            index.forget_answers()  # time the search, not the answers the index remembers
            return index.search(term, con)

        def events_query(text: str, indexed: bool) -> int:
            compiled = parse(text, search=search if indexed else None)
            table = con.sql(f"SELECT seq FROM events WHERE {compiled.where} ORDER BY seq", params=list(compiled.params))
            return table.to_arrow_table().num_rows

        def hyperscan(term: str) -> object:
            available, textliteral.available = textliteral.available, lambda: False  # type: ignore[method-assign]
            try:
                return search(term)
            finally:
                textliteral.available = available  # type: ignore[method-assign]

        print(f"C loop: {textliteral.simd()}")
        print(f"\n{'term':<18} {'kind':<13} {'rows':>9} {'search':>9} {'hyperscan':>10} {'index filter':>13} "
              f"{'scan filter':>12} {'grep':>9} {'grep count':>11}")
        for kind, term in TERMS:
            search_ms, rids = median_ms(lambda term=term: search(term), args.runs)
            hyperscan_ms, scanned_rids = median_ms(lambda term=term: hyperscan(term), args.runs)
            index_ms, rows = median_ms(lambda term=term: events_query(term, True), args.runs)
            scan_ms, scanned = median_ms(lambda term=term: events_query(term, False), max(1, args.runs // 2))
            grep_ms, count = median_ms(lambda term=term: grep(term, index.files.text), max(1, args.runs // 2))
            assert rows == scanned and (rids is None or len(rids) == rows), (term, rows, scanned)  # type: ignore[arg-type]
            assert scanned_rids is None or (rids == scanned_rids).all(), term  # type: ignore[union-attr]
            searched = "declined" if rids is None else f"{search_ms:>6} ms"
            by_hyperscan = "declined" if scanned_rids is None else f"{hyperscan_ms:>6} ms"
            print(f"{term:<18} {kind:<13} {rows:>9,} {searched:>9} {by_hyperscan:>10} {index_ms:>10} ms "
                  f"{scan_ms:>9} ms {grep_ms:>6} ms {count:>11,}")
        con.close()
    print(f"\nload average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
