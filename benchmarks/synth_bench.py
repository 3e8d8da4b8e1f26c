"""Benchmark of the simulator: `generate` at a given scale, several runs, each in a fresh
Python process; prints the wall and CPU time of every run, the medians, and the peak resident
memory (the child's own `ru_maxrss`), with the machine it ran on and its load (wall time depends
on what else runs; CPU time much less).

    .venv/bin/python benchmarks/synth_bench.py              # scale 1, 2015-2025, 3 runs
    .venv/bin/python benchmarks/synth_bench.py --scale 0.1 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import datetime as dt, json, resource, sys, time
from cwoutcomes.synth import generate
out, scale, start, end, fmt = sys.argv[1:6]
t0 = time.perf_counter()
counts = generate(out, scale=float(scale), seed=1, start=dt.date.fromisoformat(start),
                  end=dt.date.fromisoformat(end), fmt=fmt)
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": use.ru_utime + use.ru_stime, "peak_kb": use.ru_maxrss,
                  "rows": sum(counts.values()), "counts": counts}))
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 ** 2:.1f} GiB RAM"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}){mem}, Python {platform.python_version()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--start", default="2015-01-01")
    ap.add_argument("--end", default="2025-12-31")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fmt", default="parquet", choices=("parquet", "csv"))
    ap.add_argument("--out", type=Path, default=None, help="Folder to write into (default: a temporary one).")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    print(f"synth: scale {args.scale}, {args.start}..{args.end}, {args.fmt}, {args.runs} run(s)")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "synth"
        for i in range(args.runs):
            proc = subprocess.run([sys.executable, "-c", CHILD, str(out), str(args.scale), args.start, args.end,
                                   args.fmt], check=True, capture_output=True, text=True)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(res)
            print(f"run {i + 1}: {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU, peak RSS "
                  f"{res['peak_kb'] / 1024 ** 2:.2f} GiB, {res['rows']:,} rows, load average "
                  f"{os.getloadavg()[0]:.1f}")
        size = sum(p.stat().st_size for p in Path(out).iterdir())
    print(f"median wall time: {statistics.median(r['wall'] for r in results):.1f} s; "
          f"median CPU time: {statistics.median(r['cpu'] for r in results):.1f} s; "
          f"peak RSS: {max(r['peak_kb'] for r in results) / 1024 ** 2:.2f} GiB; output {size / 1024 ** 2:.0f} MiB")
    print("rows per table: " + ", ".join(f"{k} {v:,}" for k, v in results[-1]["counts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
