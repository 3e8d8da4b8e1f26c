"""CFSR Round 2 composites C1-C4 (measures.md §3), computed from the Round 2 rows of a results
table rather than from unit rows: each measure becomes a z-score against a reference
distribution (sign flipped where lower is better), a component is the weighted sum of z-scores,
a composite the mean of its components, scaled to 50-150 over the reference units; the state's
composite is its counties' composites weighted by children served.

By default the reference units are the counties of the data set in the same window and the
rows are labelled relative (unit `relative_score`); with a user-supplied `Reference` (means and
standard deviations per measure, min and max per composite) the unit is `composite_score` and
the national composite standards are attached; the `note` column says which, where results
carry one. Call `add_composites(results)` after
`evaluate`; the evaluator itself skips composites. C1-C4 are registered as measures without unit
rows (`Measure.inputs`), so that `measures`, `explain`, reports and the web know them."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.measures.base import Measure, register
from cwoutcomes.model.tables import STATE

VERSION = "cfsr2"
# Component weights (measures.md §3): composite -> component -> measure -> weight.
WEIGHTS: dict[str, dict[str, dict[str, float]]] = {
    "C1": {
        "A": {"C1.1": 0.462, "C1.2": 0.451, "C1.3": 0.295, "C1.4": 0.129},
        "B": {"C1.1": 0.085, "C1.2": 0.070, "C1.3": -0.005, "C1.4": 1.025},
    },
    "C2": {
        "A": {"C2.1": 0.533, "C2.2": 0.551, "C2.3": -0.087, "C2.4": 0.140, "C2.5": -0.030},
        "B": {"C2.1": -0.032, "C2.2": 0.106, "C2.3": 0.526, "C2.4": 0.699, "C2.5": -0.059},
        "C": {"C2.1": -0.026, "C2.2": -0.032, "C2.3": 0.255, "C2.4": -0.256, "C2.5": 0.930},
    },
    "C3": {
        "A": {"C3.1": 0.545, "C3.2": 0.746, "C3.3": -0.108},
        "B": {"C3.1": 0.137, "C3.2": -0.220, "C3.3": 0.979},
    },
    "C4": {"A": {"C4.1": 0.398, "C4.2": 0.417, "C4.3": 0.400}},
}
FLIPPED = ("C1.2", "C1.4", "C2.2", "C3.3")  # lower is better: z-score sign flipped
NAMES = {
    "C1": "Timeliness and permanency of reunification",
    "C2": "Timeliness of adoptions",
    "C3": "Permanency for children and youth in foster care for long periods",
    "C4": "Placement stability",
}
NATIONAL_STANDARDS = {"C1": 122.6, "C2": 106.4, "C3": 121.7, "C4": 101.5}  # higher is better
RELATIVE_UNIT, REFERENCE_UNIT = "relative_score", "composite_score"
RELATIVE_NOTE = "relative composite: scored against the counties of this data set in the window"
REFERENCE_NOTE = "composite scored against a user-supplied reference distribution"
# "Children served" (the state's weights): children in care at any time in the window.
SERVED_MEASURE = "S2.1"
SERVED_FALLBACK = ("C4.1", "C4.2", "C4.3")
STATUS_ORDER = ("not_available", "data_quality", "masked", "incomplete", "ok")


def measures_of(composite: str) -> list[str]:
    return sorted({m for weights in WEIGHTS[composite].values() for m in weights})


def _definition(composite: str) -> str:
    components = "; ".join(
        f"component {name} = " + " + ".join(f"{weight:g} x z({m})" for m, weight in weights.items())
        for name, weights in WEIGHTS[composite].items()
    )
    flipped = [m for m in measures_of(composite) if m in FLIPPED]
    return (
        f"Round 2 composite scored from the results of {', '.join(measures_of(composite))} "
        f"(measures.md §3). Each measure's value becomes a z-score against the reference units"
        + (f" (sign flipped for {', '.join(flipped)}, where lower is better)" if flipped else "")
        + f"; {components}; the composite is the mean of its components, scaled to 50-150 as "
        "100 x (score - min) / (max - min) + 50 over the reference units; the state's composite is "
        "its counties' weighted by children served. Default reference units: the counties of the data "
        "set in the same window (a relative score); with --composite-reference, the user's reference "
        f"distribution and the national standard {NATIONAL_STANDARDS[composite]:g} or more."
    )


register(*(
    Measure(id=composite, version=VERSION, name=NAMES[composite], unit=REFERENCE_UNIT, direction="higher",
            units=None, inputs=tuple(measures_of(composite)), definition=_definition(composite),
            requires=(), strata=(),
            reference={"standard (national reference only)": NATIONAL_STANDARDS[composite]})
    for composite in WEIGHTS
))


@dataclass(frozen=True)
class Reference:
    """A reference distribution: `mean_sd[measure] = (mean, sd)` for the 15 measures and
    `scale[composite] = (min, max)` of the reference units' unscaled composite scores."""

    mean_sd: dict[str, tuple[float, float]]
    scale: dict[str, tuple[float, float]]

    def __post_init__(self):
        for composite in WEIGHTS:
            for measure in measures_of(composite):
                if measure not in self.mean_sd:
                    raise CwoutcomesError(f"composite reference: no mean and sd for measure {measure}")
                mean, sd = self.mean_sd[measure]
                if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
                    raise CwoutcomesError(
                        f"composite reference: measure {measure} needs a mean and a positive sd "
                        f"(got {mean}, {sd})"
                    )
            if composite not in self.scale:
                raise CwoutcomesError(f"composite reference: no min and max for composite {composite}")
            low, high = self.scale[composite]
            if not (math.isfinite(low) and math.isfinite(high) and high > low):
                raise CwoutcomesError(
                    f"composite reference: composite {composite} needs min < max (got {low}, {high})"
                )


def load_reference(path: Path) -> Reference:
    """A reference distribution from a CSV file with columns `id,mean,sd,min,max`: one row per
    measure (C1.1 ... C4.3, with mean and sd) and per composite (C1 ... C4, with min and max)."""
    path = Path(path)
    mean_sd: dict[str, tuple[float, float]] = {}
    scale: dict[str, tuple[float, float]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "mean", "sd", "min", "max"} - set(reader.fieldnames or ())
        if missing:
            raise CwoutcomesError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row_number, row in enumerate(reader, start=1):
            key = (row["id"] or "").strip()

            def number(field: str) -> float:
                text = (row[field] or "").strip()
                try:
                    return float(text)
                except ValueError:
                    raise CwoutcomesError(
                        f"{path}, row {row_number} ({key}): {field} {text!r} is not a number"
                    ) from None

            if key in WEIGHTS:
                scale[key] = (number("min"), number("max"))
            elif any(key in measures_of(c) for c in WEIGHTS):
                mean_sd[key] = (number("mean"), number("sd"))
            else:
                raise CwoutcomesError(f"{path}, row {row_number}: id {key!r} is not a Round 2 composite or measure")
    return Reference(mean_sd, scale)


def add_composites(results: pd.DataFrame, reference: Reference | None = None,
                   composites: tuple[str, ...] = tuple(WEIGHTS)) -> pd.DataFrame:
    """The results with rows of the `composites` appended (those whose measures are all present)."""
    rows = composite_results(results, reference, composites)
    if rows.empty:
        return results
    return pd.concat([results, rows.reindex(columns=results.columns)], ignore_index=True)


def composite_results(results: pd.DataFrame, reference: Reference | None = None,
                      composites: tuple[str, ...] = tuple(WEIGHTS)) -> pd.DataFrame:
    """One row per composite, window and geography (the `all` stratum only; composites are not
    computed by stratum). Value null when a measure's value is missing for that geography."""
    inputs = results[
        (results.measure_version == VERSION) & (results.stratum == "all") & (results.period_type == "year")
    ]
    present = set(inputs.measure_id)
    out = []
    for composite in composites:
        if not set(measures_of(composite)) <= present:
            continue
        for period_label, window in inputs.groupby("period_label", sort=True):
            out.extend(_composite_rows(composite, window, reference))
    return pd.DataFrame(out)


def _children_served(window: pd.DataFrame) -> pd.Series:
    """Children in care at any time in the window, per geography: S2.1's denominator, or, when
    S2.1 was not computed (it needs the referral tables), the sum of C4.1-C4.3's."""
    served = window[(window.measure_id == SERVED_MEASURE) & (window.status != "not_available")]
    if served.empty:
        served = window[window.measure_id.isin(SERVED_FALLBACK)]
    return served.groupby("county").denominator.sum()


def _status(statuses: pd.Series) -> str:
    """The composite's status: the worst of its measures' (not_available first, ok last)."""
    present = set(statuses)
    return next((s for s in STATUS_ORDER if s in present), "ok")


def _composite_rows(composite: str, window: pd.DataFrame, reference: Reference | None) -> list[dict]:
    measures = measures_of(composite)
    rows = window[window.measure_id.isin(measures)]
    values = rows.pivot(index="county", columns="measure_id", values="value")[measures].astype(float)
    statuses = rows.pivot(index="county", columns="measure_id", values="status")[measures]
    # The reference units: counties with a value for every measure of the composite, so that
    # each measure's distribution and the 50-150 scale rest on the same counties.
    counties = values.drop(index=STATE, errors="ignore").dropna()

    z = pd.DataFrame(index=values.index, columns=measures, dtype=float)
    for measure in measures:
        if reference is not None:
            mean, sd = reference.mean_sd[measure]
        else:
            mean, sd = counties[measure].mean(), counties[measure].std(ddof=1)
        if sd == 0:
            z[measure] = 0.0  # every reference unit alike: the measure does not tell them apart
        else:
            z[measure] = (values[measure] - mean) / sd
        if measure in FLIPPED:
            z[measure] = -z[measure]
    components = [
        sum(weight * z[measure] for measure, weight in weights.items())
        for weights in WEIGHTS[composite].values()
    ]
    raw = sum(components) / len(components)
    raw = raw.where(z.notna().all(axis=1))

    served = _children_served(window).reindex(values.index).fillna(0.0)
    county_raw = raw.drop(index=STATE, errors="ignore").dropna()
    if reference is not None:
        low, high = reference.scale[composite]
    else:
        low, high = (county_raw.min(), county_raw.max()) if len(county_raw) else (np.nan, np.nan)
    weights = served.reindex(county_raw.index)
    state_raw = (county_raw * weights).sum() / weights.sum() if weights.sum() > 0 else np.nan
    state_served = weights.sum()

    def scaled(score: float) -> float:
        if not (np.isfinite(score) and np.isfinite(low) and np.isfinite(high)) or high == low:
            return np.nan
        return 100.0 * (score - low) / (high - low) + 50.0

    first = window.iloc[0]
    out = []
    for county in values.index:
        status = _status(statuses.loc[county])
        if county == STATE:
            score, denominator = state_raw, state_served
        else:
            score, denominator = raw.get(county, np.nan), served.get(county, 0.0)
        value = scaled(score) if status in ("ok", "incomplete") else np.nan
        out.append({
            "measure_id": composite, "measure_version": VERSION, "period_type": "year",
            "period_label": first.period_label, "period_start": first.period_start,
            "period_end": first.period_end, "county": county, "stratum": "all", "stratum_value": "all",
            "numerator": np.nan, "denominator": float(denominator), "value": value,
            "unit": RELATIVE_UNIT if reference is None else REFERENCE_UNIT, "status": status,
            "national_standard": np.nan if reference is None else NATIONAL_STANDARDS[composite],
            "target": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "reference_median": np.nan,
            "note": RELATIVE_NOTE if reference is None else REFERENCE_NOTE,
        })
    return out
