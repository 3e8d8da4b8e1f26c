"""Times `evaluate` for each measure on its own, in one process over a loaded database, to show
where the time of a full `compute` goes. Prints one line per measure (seconds, result rows).

    python benchmarks/measure_profile.py out/bench/scale1.duckdb --windows 1 [--measures 4A.ALL,2F]
        [--max-temp 8GB]

`--max-temp` caps DuckDB's spill files, so that a runaway query fails instead of filling the disk.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cwoutcomes.engine.dataset import Dataset
from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import latest_windows
from cwoutcomes.measures import registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path)
    parser.add_argument("--windows", type=int, default=1, help="Most recent windows.")
    parser.add_argument("--measures", default="", help="Comma-separated ids (default: every measure).")
    parser.add_argument("--max-temp", default="8GB")
    args = parser.parse_args()

    ds = Dataset.from_database(args.db)
    ds.con.raw_sql(f"SET max_temp_directory_size = '{args.max_temp}'")
    windows = latest_windows(ds.extract_date, args.windows)
    measures = registry()
    ids = [m for m in args.measures.split(",") if m] or [m.id for m in measures.values() if not m.is_composite]
    start = time.perf_counter()
    for measure_id in ids:
        began = time.perf_counter()
        rows = evaluate(ds, [measures[measure_id]], windows, quality_limits=False)
        print(f"{measure_id:14s} {time.perf_counter() - began:7.1f} s  {len(rows):>9,} rows", flush=True)
    print(f"{'total':14s} {time.perf_counter() - start:7.1f} s")


if __name__ == "__main__":
    main()
