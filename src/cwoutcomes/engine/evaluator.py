"""One evaluator for every measure: builds the windows, asks each measure for its unit rows,
aggregates them by period, geography and stratum on the engine, and finishes the results table
(values, intervals, reference values, status, masking for public output)."""

from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable, Sequence

import ibis
import numpy as np
import pandas as pd

from cwoutcomes.engine.dataset import Dataset
from cwoutcomes.engine.periods import Window
from cwoutcomes.measures.base import Measure
from cwoutcomes.model.tables import RESULT_COLUMNS, STATE
from cwoutcomes.stats.intervals import poisson_rate_interval, wilson_interval

ProgressCallback = Callable[[str, int, int], None]
RESULT_EXTRA_COLUMNS = ("ci_lower", "ci_upper", "reference_median")


def windows_frame(windows: Sequence[Window]) -> pd.DataFrame:
    """The periods every measure is evaluated over, as one small table."""
    rows = []
    for w in windows:
        ps, pe = w.start, w.end
        rows.append({
            "period_label": w.label, "ps": ps, "pe": pe, "pit": w.last_quarter_start,
            "quarter_start": w.last_quarter_start,
            # The year whose July 1 falls in the window (population denominators).
            "population_year": ps.year if ps.month <= 7 else ps.year + 1,
        })
    return pd.DataFrame(rows)


def geographies(ds: Dataset) -> list[str]:
    """The state and every county present in the data (G18.14)."""
    sources = [ds.table("episodes").select("county")]
    if ds.has("referrals"):
        sources.append(ds.table("referrals").select("county"))
    counties = ibis.union(*sources, distinct=True) if len(sources) > 1 else sources[0].distinct()
    values = ds.execute(counties)["county"].dropna().astype(str)
    return [STATE] + sorted(set(values))


def aggregate(units, strata: Iterable[str]):
    """Sum unit rows per period, geography and stratum (the `all` stratum included)."""
    parts = [
        units.group_by(["period_label", "geo"]).aggregate(
            numerator=units.numerator.sum(), denominator=units.denominator.sum()
        ).mutate(stratum=ibis.literal("all"), stratum_value=ibis.literal("all"))
    ]
    for stratum in strata:
        parts.append(
            units.group_by(["period_label", "geo", stratum]).aggregate(
                numerator=units.numerator.sum(), denominator=units.denominator.sum()
            ).mutate(stratum=ibis.literal(stratum), stratum_value=units[stratum].cast("string"))
            .drop(stratum)
        )
    return ibis.union(*parts)


def evaluate(ds: Dataset, measures: Sequence[Measure], windows: Sequence[Window], *,
             public: bool = False, quality_limits: bool = True,
             progress: ProgressCallback | None = None) -> pd.DataFrame:
    """The results table (data-model.md, Results) for the measures over the windows.
    `quality_limits=False` skips the data-quality limits of G16 (tests of single rules)."""
    frame = windows_frame(windows)
    periods = ds.memtable(frame)
    geos = geographies(ds)
    results = []
    for index, measure in enumerate(measures):
        if progress:
            progress(measure.id, index, len(measures))
        missing = [name for name in measure.requires if not ds.has(name)]
        if missing:
            sums = pd.DataFrame(columns=["period_label", "geo", "numerator", "denominator", "stratum", "stratum_value"])
        else:
            # Unit rows are computed once and reused by every stratum's aggregation.
            units = measure.units(ds, periods).cache()
            try:
                sums = ds.execute(aggregate(units, measure.strata))
            finally:
                units.release()
        results.append(finish(measure, sums, frame, geos, ds.extract_date, not_available=bool(missing)))
    if progress:
        progress("done", len(measures), len(measures))
    results = [frame for frame in results if len(frame)]
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=list(RESULT_COLUMNS))
    if quality_limits:
        from cwoutcomes.engine.quality import apply_data_quality_status

        table = apply_data_quality_status(ds, table, measures, windows)
    if public:
        from cwoutcomes.engine.masking import mask_small_cells

        table = mask_small_cells(table)
    return table


def finish(measure: Measure, sums: pd.DataFrame, frame: pd.DataFrame, geos: list[str],
           extract_date: dt.date, *, not_available: bool = False) -> pd.DataFrame:
    """Complete the grid, compute values, intervals and status for one measure."""
    grid = pd.MultiIndex.from_product(
        [frame.period_label, geos], names=["period_label", "geo"]
    ).to_frame(index=False).assign(stratum="all", stratum_value="all")
    sums = sums.rename(columns={"geo": "county"}) if "geo" in sums else sums
    grid = grid.rename(columns={"geo": "county"})
    keys = ["period_label", "county", "stratum", "stratum_value"]
    t = grid.merge(sums, on=keys, how="left") if len(sums) else grid.assign(numerator=np.nan, denominator=np.nan)
    if len(sums):
        t = pd.concat([t, sums[sums.stratum != "all"]], ignore_index=True)
    t["numerator"] = pd.to_numeric(t["numerator"]).fillna(0)
    t["denominator"] = pd.to_numeric(t["denominator"]).fillna(0)
    t = t.merge(frame[["period_label", "ps", "pe"]], on="period_label", how="left")
    t = t.rename(columns={"ps": "period_start", "pe": "period_end"})
    with np.errstate(invalid="ignore", divide="ignore"):
        t["value"] = np.where(t.denominator > 0, t.numerator / t.denominator * measure.scale, np.nan)
    if measure.unit == "percent":
        low, high = wilson_interval(t.numerator, t.denominator)
    else:
        low, high = poisson_rate_interval(t.numerator, t.denominator)
    t["ci_lower"], t["ci_upper"] = low * measure.scale, high * measure.scale
    t["measure_id"], t["measure_version"] = measure.id, measure.version
    t["period_type"], t["unit"] = measure.period_type, measure.unit
    t["national_standard"] = measure.national_standard
    t["target"] = np.nan
    t["reference_median"] = measure.reference.get("median", np.nan)
    needed_until = t.period_end.map(lambda pe: follow_up_end(pe, measure))
    t["status"] = np.where(needed_until > extract_date, "incomplete", "ok")
    if not_available:
        t["status"] = "not_available"
        t["value"] = np.nan
    columns = list(RESULT_COLUMNS) + list(RESULT_EXTRA_COLUMNS)
    return t[columns].sort_values(["period_label", "county", "stratum", "stratum_value"], ignore_index=True)


def follow_up_end(period_end: dt.date, measure: Measure) -> dt.date:
    """The last day that must be observed for the window to be complete."""
    month_index = period_end.year * 12 + period_end.month - 1 + measure.follow_up_months
    year, month = divmod(month_index, 12)
    # period_end is a month end; keep it a month end after the shift.
    next_month = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    shifted = next_month - dt.timedelta(days=1)
    return shifted + dt.timedelta(days=measure.follow_up_days)
