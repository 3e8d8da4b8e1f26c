"""Round trip through the federal files: a synthetic data set is exported to six-month AFCARS
files and yearly NCANDS files, imported back, and the federal measures of both are compared
(docs/import.md, "Round trip"). With --bench, also times the export and import alone.

    .venv/bin/python benchmarks/importers_roundtrip.py --scale 0.01 --work /tmp/rt
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from cwoutcomes.importers import export_afcars, export_ncands, import_afcars, import_ncands

FEDERAL = ["4-S1", "4-S2", "4-P1", "4-P2", "4-P3", "4-P4", "4-P5"]
EXTRACT = "2025-12-31"


def compute(data: Path, results: Path, latest: int) -> pd.DataFrame:
    subprocess.run([sys.executable, "-m", "cwoutcomes.cli", "compute", str(data), "--out", str(results),
                    "--measures", ",".join(FEDERAL), "--latest", str(latest),
                    "--extract-date", EXTRACT], check=True, capture_output=True)
    frame = pd.read_parquet(results)
    return frame.loc[(frame["county"] == "state") & (frame["stratum"] == "all")]


def counts(data: Path) -> pd.DataFrame:
    """Underlying counts per federal fiscal year: entries, exits by reason, children in care on
    October 1, victims (child x report with a substantiated or indicated allegation)."""
    e = pd.read_parquet(data / "episodes.parquet")
    a = pd.read_parquet(data / "allegations.parquet")
    r = pd.read_parquet(data / "referrals.parquet")
    rows = {}
    for fy in range(2016, 2026):
        start, end = pd.Timestamp(fy - 1, 10, 1), pd.Timestamp(fy, 9, 30)
        rem = pd.to_datetime(e["removal_date"])
        ex = pd.to_datetime(e["exit_date"])
        row = {"entries": int(((rem >= start) & (rem <= end)).sum()),
               "in care Oct 1": int(((rem <= start) & (ex.isna() | (ex > start))).sum())}
        exits = e.loc[(ex >= start) & (ex <= end), "exit_reason"].fillna("(none)")
        for reason, n in exits.value_counts().items():
            row[f"exits: {reason}"] = int(n)
        victims = a.loc[a["disposition"].isin(["substantiated", "indicated"])].merge(
            r[["referral_id", "received_at"]], on="referral_id")
        got = pd.to_datetime(victims["received_at"])
        row["victim reports"] = int(victims.loc[(got >= start) & (got <= end + pd.Timedelta(days=1)),
                                                ["referral_id", "child_id"]].drop_duplicates().shape[0])
        rows[f"FY{fy}"] = row
    return pd.DataFrame(rows).fillna(0).astype(int)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/cwoutcomes-roundtrip"))
    parser.add_argument("--latest", type=int, default=37, help="windows compared (latest N quarters)")
    parser.add_argument("--bench", action="store_true", help="time export and import only")
    parser.add_argument("--import-only", action="store_true",
                        help="reuse the files of an earlier run in --work and time the import")
    args = parser.parse_args()
    work = args.work
    original = work / "original"
    if not (original / "episodes.parquet").exists():
        from cwoutcomes.synth import generate

        t = time.perf_counter()
        generate(original, scale=args.scale, seed=args.seed, start=dt.date(2015, 1, 1),
                 end=dt.date(2025, 12, 31))
        print(f"synth scale {args.scale}: {time.perf_counter() - t:.1f} s")
    shutil.rmtree(work / "imported", ignore_errors=True)
    if args.import_only:
        afcars_files = sorted((work / "files" / "afcars").iterdir())
        ncands_files = sorted((work / "files" / "ncands").iterdir())
    else:
        shutil.rmtree(work / "files", ignore_errors=True)
        t = time.perf_counter()
        cut = dt.date.fromisoformat(EXTRACT)
        a = export_afcars(original, work / "files" / "afcars", extract_date=cut)
        n = export_ncands(original, work / "files" / "ncands", extract_date=cut)
        print(f"export: {time.perf_counter() - t:.1f} s, {sum(a.records.values()):,} AFCARS records "
              f"in {len(a.files)} files, {sum(n.records.values()):,} NCANDS rows in {len(n.files)} files")
        print("not carried:", {k: v for k, v in {**a.notes, **n.notes}.items() if v})
        afcars_files, ncands_files = a.files, n.files
    size = sum(p.stat().st_size for p in (work / "files").rglob("*") if p.is_file())
    t, c = time.perf_counter(), time.process_time()
    sa = import_afcars(afcars_files, work / "imported")
    ta, ca = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    sn = import_ncands(ncands_files, work / "imported")
    tn, cn = time.perf_counter() - t, time.process_time() - c
    print(f"import AFCARS: {ta:.1f} s wall, {ca:.1f} s CPU ({sa.records_read:,} records); NCANDS: "
          f"{tn:.1f} s wall, {cn:.1f} s CPU ({sn.records_read:,} rows); files {size / 1e6:.0f} MB")
    print("rebuilding notes:", {k: v for k, v in {**sa.notes, **sn.notes}.items() if v})
    print("rows:", sn.merged_rows)
    if args.bench:
        return

    pd.set_option("display.width", 200)
    before, after = counts(original), counts(work / "imported")
    print("\nCounts (original / round trip):")
    rows = list(dict.fromkeys([*before.index, *after.index]))
    before, after = (f.reindex(rows).fillna(0).astype(int) for f in (before, after))
    print((before.astype(str) + " / " + after.astype(str)).to_string())

    ro = compute(original, work / "results_original.parquet", args.latest)
    rt = compute(work / "imported", work / "results_roundtrip.parquet", args.latest)
    key = ["measure_id", "period_label"]
    m = ro[key + ["numerator", "denominator", "value"]].merge(
        rt[key + ["numerator", "denominator", "value"]], on=key, suffixes=("_orig", "_rt"))
    m = m.dropna(subset=["value_orig", "value_rt"])
    m["diff"] = m["value_rt"] - m["value_orig"]
    summary = m.groupby("measure_id").agg(
        windows=("diff", "size"), mean_original=("value_orig", "mean"),
        mean_roundtrip=("value_rt", "mean"), mean_diff=("diff", "mean"),
        mean_abs_diff=("diff", lambda d: d.abs().mean()), max_abs_diff=("diff", lambda d: d.abs().max()),
        num_orig=("numerator_orig", "sum"), num_rt=("numerator_rt", "sum"),
        den_orig=("denominator_orig", "sum"), den_rt=("denominator_rt", "sum"),
    ).reindex(FEDERAL)
    print(f"\nFederal measures, state, {m['period_label'].min()}..{m['period_label'].max()}:")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
