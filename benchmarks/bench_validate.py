"""Validation benchmark: `trailhound validate` hashing speed against `sha256sum` on the same bytes.

    .venv/bin/python benchmarks/bench_validate.py [--events 400000] [--data bench-data/validate] [--workers 4]

Generates a signed archive once (the simulator's logs, about 500 MB decompressed at the default
size, digests signed with the derived test key), writes the decompressed logs beside it, then
times, best of three: `sha256sum` over the decompressed files (the target's baseline, DESIGN §5
and issue 7: validation must reach 80% of its speed), `zcat | sha256sum` over all files as one stream (for reference),
the engine's validate() and the `trailhound validate` command. Speeds are decompressed bytes
per second; validation also decompresses, `sha256sum` does not.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRAILHOUND = str(Path(sys.executable).with_name("trailhound"))


def generate(data: Path, events: int) -> Path:
    """The signed archive under data/archive (reused when present)."""
    from investigations.integrity import signer

    archive = data / "archive"
    if not (archive / "AWSLogs").is_dir():
        print(f"generating {events:,} events into {archive} ...", file=sys.stderr)
        subprocess.run(
            [
                TRAILHOUND,
                "simulate",
                "--scenario",
                "background",
                "--events",
                str(events),
                "--seed",
                "11",
                "--account-trail",
                "--out",
                str(archive),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    pem = data / "test-key.pem"
    if not pem.exists():
        print("signing digests ...", file=sys.stderr)
        signer.sign_tree(
            archive,
            signer.derive_test_key(),
            bucket="bench-bucket",
            trail="bench-trail",
            home_region="us-east-1",
            public_key_path=pem,
        )
    return archive


def logs(archive: Path) -> list[Path]:
    return sorted(p for p in archive.rglob("*.json.gz") if "CloudTrail" in p.parts)


def decompress_all(files: list[Path], plain: Path) -> list[Path]:
    """The decompressed logs, written once, for `sha256sum` to read."""
    out = []
    for index, path in enumerate(files):
        target = plain / f"{index:06d}.json"
        if not target.exists():
            plain.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.decompress(path.read_bytes()))
        out.append(target)
    return out


def best_of(runs: int, job: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        job()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data" / "validate")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clean", action="store_true", help="delete the generated data afterwards")
    opts = parser.parse_args()

    from investigations.integrity.keys import KeyRing, load_key_file
    from investigations.integrity.objects import LocalTree
    from investigations.integrity.validate import validate

    archive = generate(opts.data, opts.events)
    files = logs(archive)
    plain = decompress_all(files, opts.data / "plain")
    size = sum(p.stat().st_size for p in plain)
    compressed = sum(p.stat().st_size for p in files)
    print(f"{len(files)} log files: {compressed / 1e6:.0f} MB gzip, {size / 1e6:.0f} MB decompressed")

    plain_list = opts.data / "plain.list"
    plain_list.write_bytes(b"\0".join(str(p).encode() for p in plain))
    gz_list = opts.data / "gz.list"
    gz_list.write_bytes(b"\0".join(str(p).encode() for p in files))
    subprocess.run(f"xargs -0 cat < {plain_list} > /dev/null", shell=True, check=True)  # warm the page cache
    sha = best_of(
        opts.runs, lambda: subprocess.run(f"xargs -0 sha256sum < {plain_list} > /dev/null", shell=True, check=True)
    )
    pipe = best_of(
        opts.runs, lambda: subprocess.run(f"xargs -0 zcat < {gz_list} | sha256sum > /dev/null", shell=True, check=True)
    )

    ring = KeyRing(load_key_file(opts.data / "test-key.pem"))
    results = []

    def engine() -> None:
        results.append(validate(LocalTree(archive), ring, workers=opts.workers))

    engine_time = best_of(opts.runs, engine)
    result = results[-1]
    if not result.ok or result.counts("log").get("valid") != len(files):
        print(f"validation did not pass: {result.counts('log')}", file=sys.stderr)
        return 1
    cli = best_of(
        1,
        lambda: subprocess.run(
            [
                TRAILHOUND,
                "validate",
                str(archive),
                "--public-key",
                str(opts.data / "test-key.pem"),
                "--json",
                "--workers",
                str(opts.workers),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    )

    def rate(seconds: float) -> str:
        return f"{seconds:6.2f} s  {size / seconds / 1e6:7.0f} MB/s"

    print(f"sha256sum (decompressed files)   {rate(sha)}")
    print(f"zcat | sha256sum (one stream)    {rate(pipe)}")
    print(f"validate() engine, {opts.workers} workers     {rate(engine_time)}")
    print(f"trailhound validate (command)    {rate(cli)}")
    print(f"validation speed / sha256sum speed = {sha / engine_time:.2f} (target >= 0.80); command: {sha / cli:.2f}")
    if opts.clean:
        shutil.rmtree(opts.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
