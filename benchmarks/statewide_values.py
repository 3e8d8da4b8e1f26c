"""Prints, as a Markdown table, the statewide `all` value of every measure in a results file
for one window, beside the reference values the measure registry carries (national standard,
Round 2 median and 75th/25th percentile). This is how the tables of `docs/measures.md` are made.

    python benchmarks/statewide_values.py out/bench/results-duckdb-1-all.parquet --window 2024Q3 \
        [--versions ca,cfsr2,cpm]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from cwoutcomes.measures import registry
from cwoutcomes.measures.base import UNIT_LABEL


def number(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}" if digits == 0 else f"{value:,.{digits}f}"


def reference_text(measure) -> str:
    if measure is None:
        return ""
    parts = [] if measure.national_standard is None else [f"standard {measure.national_standard:g}"]
    parts += [f"{name} {value:g}" for name, value in measure.reference.items()]
    return "; ".join(parts) or "none in the spec"


def statewide_rows(results: pd.DataFrame, window: str, versions: list[str]) -> pd.DataFrame:
    """One row per result id: the statewide `all` row of the window, of its main period type."""
    measures = registry()
    rows = results[(results.county == "state") & (results.stratum == "all")
                   & (results.period_label == window) & results.measure_version.isin(versions)]
    out = []
    for measure_id, group in rows.groupby("measure_id", sort=False):
        measure = measures.get(measure_id) or measures.get(measure_id.split(".")[0])
        kinds = list(group.period_type)
        kind = measure.period_type if measure is not None and measure.period_type in kinds else kinds[0]
        out.append((measure_id, measure, group[group.period_type == kind].iloc[0]))
    order = {mid: i for i, mid in enumerate(measures)}
    out.sort(key=lambda item: (item[2].measure_version != "ca", versions.index(item[2].measure_version),
                               order.get(item[0], len(order)), item[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--window", default="2024Q3")
    parser.add_argument("--versions", default="ca,cfsr2,cpm")
    args = parser.parse_args()

    results = pd.read_parquet(args.results)
    versions = args.versions.split(",")
    print("| measure | period | numerator | denominator | value | unit | status | reference (spec) |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for measure_id, measure, row in statewide_rows(results, args.window, versions):
        name = measure.name if measure is not None and measure.id == measure_id else ""
        label = f"{measure_id} {name}".strip()
        period = row.period_type if row.period_type == "year" else f"{row.period_type} {row.period_start:%Y-%m-%d}"
        print(f"| {label} | {period} | {number(row.numerator, 0)} | {number(row.denominator, 0)} | "
              f"{number(row.value, 2)} | {UNIT_LABEL.get(row.unit, row.unit)} | {row.status} | {reference_text(measure)} |")


if __name__ == "__main__":
    main()
