"""Small-cell masking for public output (G14), with complementary suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cwoutcomes.model.tables import STATE

SMALL_MIN, SMALL_MAX = 1, 10
MASKED_COLUMNS = ("numerator", "denominator", "value", "ci_lower", "ci_upper")


def is_small(counts: pd.Series) -> pd.Series:
    return (counts >= SMALL_MIN) & (counts <= SMALL_MAX)


def mask_small_cells(results: pd.DataFrame) -> pd.DataFrame:
    """Mask cells with a numerator or denominator of 1-10. In every set of cells that sums to a
    shown total (the values of one stratum; the counties of one measure and period) where
    exactly one cell is masked, the next smallest cell is masked too."""
    t = results.copy()
    shown = t.status.isin(["ok", "incomplete"])
    population_denominator = t.unit.isin(["per_1000_children"])
    masked = shown & (is_small(t.numerator) | (is_small(t.denominator) & ~population_denominator))
    period = ["measure_id", "period_type", "period_label"]
    strata_set = t[period + ["county", "stratum"]].astype(str).agg("|".join, axis=1).where(t.stratum != "all")
    county_set = t[period].astype(str).agg("|".join, axis=1).where((t.stratum == "all") & (t.county != STATE))
    for set_id in (strata_set, county_set):
        in_set = set_id.notna()
        masked_count = masked[in_set].groupby(set_id[in_set]).transform("sum")
        lonely = set_id[in_set][masked_count == 1]
        candidates = t[in_set & ~masked & shown & (t.numerator > 0) & set_id.isin(set(lonely))]
        if len(candidates):
            order = candidates.assign(_set=set_id).sort_values(["_set", "numerator", "denominator"])
            masked.loc[order.groupby("_set").head(1).index] = True
    t.loc[masked, list(MASKED_COLUMNS)] = np.nan
    t.loc[masked, "status"] = "masked"
    return t
