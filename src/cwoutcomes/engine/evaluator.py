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
RESULT_EXTRA_COLUMNS = ("ci_lower", "ci_upper", "reference_median", "note")


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


PERIOD_COLUMNS = ("period_type", "period_start", "period_end")


def group_keys(columns: Iterable[str]) -> list[str]:
    """period_label and geo, plus the period columns a measure's unit rows carry themselves
    (e.g. monthly rows beside the window's) ."""
    return ["period_label", *[c for c in PERIOD_COLUMNS if c in columns], "geo"]


def aggregate(units, strata: Iterable[str]):
    """Sum unit rows per period, geography and stratum (the `all` stratum included)."""
    keys = group_keys(units.columns)
    parts = [
        units.group_by(keys).aggregate(
            numerator=units.numerator.sum(), denominator=units.denominator.sum()
        ).mutate(stratum=ibis.literal("all"), stratum_value=ibis.literal("all"))
    ]
    for stratum in strata:
        parts.append(
            units.group_by([*keys, stratum]).aggregate(
                numerator=units.numerator.sum(), denominator=units.denominator.sum()
            ).mutate(stratum=ibis.literal(stratum), stratum_value=units[stratum].cast("string"))
            .drop(stratum)
        )
    return ibis.union(*parts)


def summarize_in_memory(rows: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """For statistics that do not add up (medians, Kaplan-Meier): apply the measure's
    `summarize` to the unit rows of each period, geography and stratum value."""
    keys = group_keys(rows.columns)
    out = []
    for stratum in ("all", *measure.strata):
        by = keys if stratum == "all" else [*keys, stratum]
        for group, part in rows.groupby(by, sort=True, dropna=False):
            group = dict(zip(by, group if isinstance(group, tuple) else (group,)))
            record = {k: group[k] for k in keys}
            record.update(stratum=stratum, stratum_value="all" if stratum == "all" else str(group[stratum]))
            record.update(measure.summarize(part))
            out.append(record)
    # No unit rows at all (e.g. nobody exited): the empty frame still needs its columns.
    columns = [*keys, "stratum", "stratum_value", "numerator", "denominator", "value"]
    return pd.DataFrame(out) if out else pd.DataFrame(columns=columns)


def measure_sums(ds: Dataset, measure: Measure, periods) -> pd.DataFrame:
    """Numerator and denominator sums (or in-memory summaries) per period, geography and
    stratum value, computed on the engine."""
    if measure.summarize is not None:
        return summarize_in_memory(ds.execute(measure.units(ds, periods)), measure)
    # Unit rows are computed once and reused by every stratum's aggregation.
    units = measure.units(ds, periods).cache()
    try:
        sums = ds.execute(aggregate(units, measure.strata))
    finally:
        units.release()
    if measure.distribution:
        sums = as_shares(sums, measure.distribution)
    return sums


def evaluate(ds: Dataset, measures: Sequence[Measure], windows: Sequence[Window], *,
             public: bool = False, quality_limits: bool = True,
             progress: ProgressCallback | None = None) -> pd.DataFrame:
    """The results table (data-model.md, Results) for the measures over the windows.
    `quality_limits=False` skips the data-quality limits of G16 (tests of single rules)."""
    frame = windows_frame(windows)
    periods = ds.memtable(frame)
    geos = geographies(ds)
    targets = ds.execute(ds.table("targets")) if ds.has("targets") else None
    results = []
    computed: dict = {}
    # Composites are scored from other measures' results afterwards (measures.composites).
    measures = [m for m in measures if not m.is_composite]
    for index, measure in enumerate(measures):
        if progress:
            progress(measure.id, index, len(measures))
        missing = [name for name in measure.requires if not ds.has(name)]
        if missing:
            sums = pd.DataFrame(columns=["period_label", "geo", "numerator", "denominator", "stratum", "stratum_value"])
        else:
            # Round 3 twins share their Round 4 definition: compute such sums once.
            key = (measure.units, measure.strata, measure.summarize, measure.distribution)
            if key not in computed:
                computed[key] = measure_sums(ds, measure, periods)
            sums = computed[key]
        results.append(finish(measure, sums, frame, geos, ds.extract_date, not_available=bool(missing)))
    if progress:
        progress("done", len(measures), len(measures))
    results = [frame for frame in results if len(frame)]
    table = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=list(RESULT_COLUMNS))
    table = attach_targets(table, targets)
    if quality_limits:
        from cwoutcomes.engine.quality import apply_data_quality_status

        table = apply_data_quality_status(ds, table, measures, windows)
    if public:
        from cwoutcomes.engine.masking import mask_small_cells

        table = mask_small_cells(table)
    return table


def as_shares(sums: pd.DataFrame, stratum: str) -> pd.DataFrame:
    """A distribution stratum's rows as shares of the `all` row (Measure.distribution)."""
    keys = group_keys(sums.columns)
    totals = sums.loc[sums.stratum == "all", [*keys, "denominator"]].rename(columns={"denominator": "_total"})
    shares = sums[sums.stratum == stratum].drop(columns="numerator").rename(columns={"denominator": "numerator"})
    shares = shares.merge(totals, on=keys, how="left").rename(columns={"_total": "denominator"})
    return pd.concat([sums[sums.stratum != stratum], shares], ignore_index=True)


def default_periods(frame: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Each window's own period for the measure: the window (year), its last quarter
    (quarter) or its point-in-time date (G1)."""
    starts = {"year": frame.ps, "quarter": frame.quarter_start}
    if measure.period_type == "point_in_time":
        day = frame.pe if measure.pit_date == "window_end" else frame.pit
        starts["point_in_time"] = day
    start = starts[measure.period_type]
    end = start if measure.period_type == "point_in_time" else frame.pe
    return pd.DataFrame({"period_label": frame.period_label, "period_type": measure.period_type,
                         "period_start": start, "period_end": end})


def finish(measure: Measure, sums: pd.DataFrame, frame: pd.DataFrame, geos: list[str],
           extract_date: dt.date, *, not_available: bool = False) -> pd.DataFrame:
    """Complete the grid, compute values, intervals and status for one measure."""
    periods = default_periods(frame, measure)
    sums = sums.rename(columns={"geo": "county"})
    if "period_type" not in sums:
        sums = sums.merge(periods, on="period_label", how="left")
    for column in ("period_start", "period_end"):
        sums[column] = pd.to_datetime(sums[column]).dt.date
    grid = periods.merge(pd.DataFrame({"county": geos}), how="cross").assign(stratum="all", stratum_value="all")
    keys = ["period_label", "period_type", "county", "stratum", "stratum_value"]
    t = grid.merge(sums.drop(columns=["period_start", "period_end"]), on=keys, how="left")
    others = sums.merge(grid[keys], on=keys, how="left", indicator=True)
    others = others[others._merge == "left_only"].drop(columns="_merge")
    t = pd.concat([t, others], ignore_index=True) if len(others) else t
    t["numerator"] = pd.to_numeric(t["numerator"])
    t["denominator"] = pd.to_numeric(t["denominator"]).fillna(0)
    if measure.summarize is None:
        t["numerator"] = t["numerator"].fillna(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            t["value"] = np.where(t.denominator > 0, t.numerator / t.denominator * measure.scale, np.nan)
        if measure.unit == "percent":
            low, high = wilson_interval(t.numerator, t.denominator)
        else:
            low, high = poisson_rate_interval(t.numerator, t.denominator)
        t["ci_lower"], t["ci_upper"] = low * measure.scale, high * measure.scale
    else:
        for column in ("value", "ci_lower", "ci_upper"):
            t[column] = pd.to_numeric(t[column]) if column in t else np.nan
        # An unbounded interval (e.g. Kaplan-Meier past the last exit) cannot be estimated.
        t[["ci_lower", "ci_upper"]] = t[["ci_lower", "ci_upper"]].replace([np.inf, -np.inf], np.nan)
    t["measure_id"], t["measure_version"], t["unit"] = measure.id, measure.version, measure.unit
    t["national_standard"] = measure.national_standard
    t["target"] = np.nan
    t["reference_median"] = measure.reference.get("median", np.nan)
    # Why a value is missing where the count alone does not say (e.g. a median not reached).
    t["note"] = t["note"].astype(object).where(t["note"].notna(), None) if "note" in t else None
    needed_until = t.period_end.map(lambda pe: follow_up_end(pe, measure))
    t["status"] = np.where(needed_until > extract_date, "incomplete", "ok")
    if not_available:
        t["status"] = "not_available"
        t["value"] = np.nan
    columns = list(RESULT_COLUMNS) + list(RESULT_EXTRA_COLUMNS)
    return t[columns].sort_values(
        ["period_type", "period_label", "county", "stratum", "stratum_value"], ignore_index=True
    )


def attach_targets(results: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    """SIP targets (G17) by county and measure: the target whose date is the earliest on or
    after the period's end, else the latest one."""
    if targets is None or targets.empty or results.empty:
        return results
    targets = targets.dropna(subset=["county", "measure_id", "target_value"]).copy()
    targets["target_date"] = pd.to_datetime(targets.target_date).dt.date
    results = results.copy()
    for (county, measure_id), options in targets.groupby(["county", "measure_id"]):
        options = options.sort_values("target_date")
        rows = (results.county == county) & (results.measure_id == measure_id) & (results.stratum == "all")
        for index in results.index[rows]:
            period_end = results.at[index, "period_end"]
            later = options[options.target_date.isna() | (options.target_date >= period_end)]
            chosen = later.iloc[0] if len(later) else options.iloc[-1]
            results.at[index, "target"] = chosen.target_value
    return results


def follow_up_end(period_end: dt.date, measure: Measure) -> dt.date:
    """The last day that must be observed for the window to be complete."""
    month_index = period_end.year * 12 + period_end.month - 1 + measure.follow_up_months
    year, month = divmod(month_index, 12)
    # period_end is a month end; keep it a month end after the shift.
    next_month = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    shifted = next_month - dt.timedelta(days=1)
    return shifted + dt.timedelta(days=measure.follow_up_days)
