"""Times `cwoutcomes compute` over 20 rolling windows, every county, the state and all strata,
as a whole process, and prints the median, minimum and maximum wall time and peak memory.
`--measures federal` (the default) is Round 4 and Round 3; `--measures all` is every registered
measure (federal, California, Round 2 with its composites, practice model).

    python benchmarks/measures_bench.py --scale 1 --engine duckdb --runs 3
    python benchmarks/measures_bench.py --scale 1 --measures all --runs 1
    python benchmarks/measures_bench.py --scale 0.1 --engine spark --runs 1

The synthetic data set and its loaded database are made once under --workdir and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run_measured(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(command)}\n{process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024 / 1024


def prepare(workdir: Path, scale: float) -> Path:
    data = workdir / f"scale{scale:g}"
    db = workdir / f"scale{scale:g}.duckdb"
    if not db.exists():
        if not (data / "dataset.json").exists():
            subprocess.run([str(BIN / "cwoutcomes"), "synth", str(data), "--scale", str(scale), "--seed", "1"],
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(BIN / "cwoutcomes"), "validate", str(data), "--db", str(db)],
                       check=True, stdout=subprocess.DEVNULL)
    return db


def registry_ids() -> list[str]:
    from cwoutcomes.measures import registry

    return list(registry())


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))) / 1024 / 1024
    return f"{os.cpu_count()} cores, {cpu}, {memory:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--measures", default="federal", help="'federal', 'all' or a comma-separated list of ids")
    parser.add_argument("--workdir", type=Path, default=Path("out/bench"))
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    db = prepare(args.workdir, args.scale)
    measures = args.measures
    if measures == "federal":
        from cwoutcomes.measures import registry

        measures = ",".join(m.id for m in registry().values() if m.version in ("cfsr4", "cfsr3"))
    label = "" if args.measures == "federal" else f"-{args.measures}" if args.measures == "all" else "-custom"
    command = [str(BIN / "cwoutcomes"), "compute", str(db), "--latest", str(args.windows),
               "--engine", args.engine,
               "--out", str(args.workdir / f"results-{args.engine}-{args.scale:g}{label}.parquet")]
    if measures != "all":
        command += ["--measures", measures]
    walls, peaks = [], []
    for _ in range(args.runs):
        wall, peak = run_measured(command)
        walls.append(wall)
        peaks.append(peak)
    print(f"machine: {machine()}")
    count = len(registry_ids()) if measures == "all" else len(measures.split(","))
    print(f"compute {count} measures x {args.windows} windows, scale {args.scale:g}, "
          f"engine {args.engine}, {args.runs} runs")
    print(f"wall seconds: median {statistics.median(walls):.1f} (min {min(walls):.1f}, max {max(walls):.1f})")
    print(f"peak memory GiB: median {statistics.median(peaks):.2f} (min {min(peaks):.2f}, max {max(peaks):.2f})")


if __name__ == "__main__":
    main()
