"""Year-on-year change (measures.md §6): the difference between a result and the same measure,
geography and stratum a year earlier, with a test of whether it is statistically significant.

Percentages are compared with the two-proportion z-test (pooled variance); rates per days or
per population with the exact conditional test of two Poisson rates (given the total count,
the current count is binomial with p = t1 / (t1 + t0) under equal rates), two-sided by doubling
the smaller tail. Other statistics (medians, Kaplan-Meier estimates, composite scores) get a
difference but no test: their sampling distribution is not a function of the counts. Everything
is vectorised over arrays of aggregate counts."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
PROPORTION_UNITS = ("percent",)
RATE_UNITS = ("per_100k_days", "per_1000_days", "per_1000_children")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def two_proportion_ztest(k1, n1, k0, n0):
    """z and two-sided p for p1 = k1/n1 against p0 = k0/n0 with the pooled standard error.
    NaN where either denominator is 0; z = 0 and p = 1 when both proportions are 0 or both 1
    (no variation to test)."""
    k1, n1, k0, n0 = (np.asarray(x, dtype=float) for x in (k1, n1, k0, n0))
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k0) / (n1 + n0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        diff = k1 / n1 - k0 / n0
        z = np.where(se > 0, diff / se, 0.0)
    valid = (n1 > 0) & (n0 > 0)
    z = np.where(valid, z, np.nan)
    p = np.where(valid, 2 * stats.norm.sf(np.abs(z)), np.nan)
    return z, p


def poisson_rate_ratio_test(k1, t1, k0, t0):
    """Rate ratio (k1/t1) / (k0/t0) and the two-sided p of the exact conditional test: under
    equal rates k1 ~ Binomial(k1 + k0, t1 / (t1 + t0)); p = min(1, 2 x the smaller tail).
    NaN where an exposure is 0; p = 1 when there are no events at all."""
    k1, t1, k0, t0 = (np.asarray(x, dtype=float) for x in (k1, t1, k0, t0))
    total = k1 + k0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = t1 / (t1 + t0)
        ratio = (k1 / t1) / (k0 / t0)
        lower = stats.binom.cdf(k1, total, share)
        upper = stats.binom.sf(k1 - 1, total, share)
    p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    p = np.where(total == 0, 1.0, p)
    valid = (t1 > 0) & (t0 > 0)
    return np.where(valid, ratio, np.nan), np.where(valid, p, np.nan)


def test_name(unit: str, summarized: bool = False) -> str | None:
    """Which test applies to a unit: 'z' (percentages), 'poisson' (rates) or None."""
    if summarized:
        return None
    if unit in PROPORTION_UNITS:
        return "z"
    if unit in RATE_UNITS:
        return "poisson"
    return None


def change_p_values(unit, k1, n1, k0, n0, summarized=None):
    """p-values of the change test chosen per row by unit (arrays of equal length); NaN where no
    test applies. `summarized` marks rows whose value is not numerator/denominator (medians)."""
    unit = np.asarray(unit, dtype=object)
    summarized = np.zeros(len(unit), dtype=bool) if summarized is None else np.asarray(summarized, dtype=bool)
    k1, n1, k0, n0 = (np.asarray(x, dtype=float) for x in (k1, n1, k0, n0))
    p = np.full(len(unit), np.nan)
    is_prop = np.isin(unit, PROPORTION_UNITS) & ~summarized
    is_rate = np.isin(unit, RATE_UNITS) & ~summarized
    if is_prop.any():
        p[is_prop] = two_proportion_ztest(k1[is_prop], n1[is_prop], k0[is_prop], n0[is_prop])[1]
    if is_rate.any():
        p[is_rate] = poisson_rate_ratio_test(k1[is_rate], n1[is_rate], k0[is_rate], n0[is_rate])[1]
    return p


def year_earlier(label: str) -> str | None:
    """The period label a year before: 2025Q2 -> 2024Q2, 2025-03 -> 2024-03; None otherwise."""
    if m := _QUARTER.match(label):
        return f"{int(m.group(1)) - 1}Q{m.group(2)}"
    if m := _MONTH.match(label):
        return f"{int(m.group(1)) - 1}-{m.group(2)}"
    return None


KEY = ["measure_id", "period_type", "county", "stratum", "stratum_value"]
COMPARABLE = ("ok", "incomplete")


def year_on_year(results: pd.DataFrame, summarized_measures=(), alpha: float = ALPHA) -> pd.DataFrame:
    """For every results row, the row a year earlier and the change: columns `previous_value`,
    `previous_numerator`, `previous_denominator`, `previous_status` (NaN / None where there is
    no earlier row), `change` (value - previous value, in the measure's unit: percentage points
    for percentages), `p_value` (NaN where no test applies or either side is not comparable)
    and `significant` (p < alpha; False where untested). Rows are returned in the input order.
    Only rows with status `ok` or `incomplete` on both sides are compared; masked,
    data-quality and not-available rows keep NaN so that no suppressed value leaks."""
    t = results.reset_index(drop=True)
    earlier = t[KEY + ["period_label", "value", "numerator", "denominator", "status"]].rename(columns={
        "period_label": "_previous_label", "value": "previous_value", "numerator": "previous_numerator",
        "denominator": "previous_denominator", "status": "previous_status",
    })
    left = t.assign(_previous_label=t.period_label.map(year_earlier), _order=np.arange(len(t)))
    merged = left.merge(earlier, on=KEY + ["_previous_label"], how="left").sort_values("_order")
    comparable = merged.status.isin(COMPARABLE) & merged.previous_status.isin(COMPARABLE)
    for column in ("previous_value", "previous_numerator", "previous_denominator"):
        merged[column] = merged[column].where(comparable)
    merged["change"] = (merged.value - merged.previous_value).where(comparable)
    summarized = merged.measure_id.isin(list(summarized_measures)).to_numpy()
    p = change_p_values(merged.unit.to_numpy(), merged.numerator, merged.denominator,
                        merged.previous_numerator, merged.previous_denominator, summarized)
    merged["p_value"] = np.where(comparable.to_numpy(), p, np.nan)
    merged["significant"] = merged.p_value < alpha
    columns = ["previous_value", "previous_numerator", "previous_denominator", "previous_status",
               "change", "p_value", "significant"]
    return merged[columns].reset_index(drop=True)
