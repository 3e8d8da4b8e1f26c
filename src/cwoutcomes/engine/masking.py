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
    masked = is_small(t.numerator) | (is_small(t.denominator) & ~t.unit.isin(["per_1000_children"]))
    masked &= t.status.isin(["ok", "incomplete"])
    t["_masked"] = masked
    key = ["measure_id", "period_label"]
    strata_sets = t[t.stratum != "all"].groupby(key + ["county", "stratum"], sort=False).groups
    county_sets = t[(t.stratum == "all") & (t.county != STATE)].groupby(key, sort=False).groups
    for index in list(strata_sets.values()) + list(county_sets.values()):
        cells = t.loc[index]
        if cells._masked.sum() == 1:
            candidates = cells[~cells._masked & (cells.numerator > 0) & cells.status.isin(["ok", "incomplete"])]
            if len(candidates):
                smallest = candidates.sort_values(["numerator", "denominator"]).index[0]
                t.loc[smallest, "_masked"] = True
    hit = t._masked
    t.loc[hit, list(MASKED_COLUMNS)] = np.nan
    t.loc[hit, "status"] = "masked"
    return t.drop(columns="_masked")
