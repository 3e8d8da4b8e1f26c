"""Benchmark: every quarterly report (the state and each county) from a results file.

    .venv/bin/python benchmarks/report_bench.py RESULTS --quarter 2025Q2 [--db DB] \
        [--formats html,pdf,xlsx,csv] [--workers 2] [--out DIR]

Prints one JSON object: wall and CPU time (this process and its workers) per phase (reading the
results, preparing, the data-quality checks, writing the reports), the time per report and
format summed over reports, pages of the PDFs, output sizes, and the load average before and
after (the machine is shared)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--quarter", required=True)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--formats", default="html,pdf,xlsx,csv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("out/report-bench"))
    parser.add_argument("--limit", type=int, default=0, help="Only the first N geographies (0 = all).")
    args = parser.parse_args()

    import pandas as pd

    from cwoutcomes.cli import practice_outcomes_path
    from cwoutcomes.report.build import write_reports
    from cwoutcomes.report.content import prepare

    figures: dict = {"load_before": os.getloadavg(), "workers": args.workers, "formats": args.formats}
    phases = {}

    def phase(name, start_wall, start_cpu):
        phases[name] = {"wall_s": round(time.perf_counter() - start_wall, 2),
                        "cpu_s": round(cpu_seconds() - start_cpu, 2)}

    t0, c0 = time.perf_counter(), cpu_seconds()
    w, c = time.perf_counter(), cpu_seconds()
    results = pd.read_parquet(args.results)
    comparison_path = practice_outcomes_path(args.results)
    comparison = pd.read_parquet(comparison_path) if comparison_path.exists() else None
    figures["practice_comparison"] = comparison is not None
    phase("read", w, c)
    w, c = time.perf_counter(), cpu_seconds()
    data = prepare(results, args.quarter, practice_outcomes=comparison)
    phase("prepare", w, c)
    if args.db:
        from cwoutcomes.report.quality import load_quality

        w, c = time.perf_counter(), cpu_seconds()
        data.quality = load_quality(args.db, max(data.trend_labels.values(), key=len))
        phase("quality_checks", w, c)
    geos = data.geographies()
    if args.limit:
        geos = geos[: args.limit]
    w, c = time.perf_counter(), cpu_seconds()
    written = write_reports(data, geos, args.out, formats=[f for f in args.formats.split(",") if f],
                            workers=args.workers)
    phase("write_reports", w, c)
    phase("total", t0, c0)

    per_format: dict[str, float] = {}
    for item in written:
        for key, seconds in item.seconds.items():
            per_format[key] = per_format.get(key, 0.0) + seconds
    pages = {}
    if "pdf" in args.formats:
        from pypdf import PdfReader

        counts = [len(PdfReader(str(item.files["pdf"])).pages) for item in written]
        pages = {"total": sum(counts), "state": counts[0] if geos[0] == "state" else None,
                 "county_median": sorted(counts[1:])[len(counts[1:]) // 2] if len(counts) > 1 else None}
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    figures.update(
        reports=len(written), measures=len(data.measures), result_rows=len(results), phases=phases,
        seconds_in_workers_by_step={k: round(v, 1) for k, v in per_format.items()}, pdf_pages=pages,
        output_mib=round(size / 2**20, 1), load_after=os.getloadavg(),
        peak_rss_mib_main=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        peak_rss_mib_worker=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    )
    json.dump(figures, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
