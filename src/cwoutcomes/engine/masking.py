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
    shown total (the counties of one measure and period; the values of one stratum) where
    exactly one cell is masked, the next smallest cell is masked too; a geography whose `all`
    cell is masked has all its strata masked, since they would add up to it. Small counts of
    `data_quality` cells are blanked too (they keep their status)."""
    t = results.copy()
    shown = t.status.isin(["ok", "incomplete"])
    population_denominator = t.unit.isin(["per_1000_children"])
    small = is_small(t.numerator) | (is_small(t.denominator) & ~population_denominator)
    masked = shown & small
    period = ["measure_id", "period_type", "period_label"]
    geography = t[period + ["county"]].astype(str).agg("|".join, axis=1)
    county_set = t[period].astype(str).agg("|".join, axis=1).where((t.stratum == "all") & (t.county != STATE))
    strata_set = (geography + "|" + t.stratum.astype(str)).where(t.stratum != "all")

    _mask_next_smallest(t, masked, shown, county_set)
    masked_totals = set(geography[masked & (t.stratum == "all")])
    masked |= shown & geography.isin(masked_totals)
    _mask_next_smallest(t, masked, shown, strata_set)

    t.loc[masked, list(MASKED_COLUMNS)] = np.nan
    t.loc[masked, "status"] = "masked"
    t.loc[(t.status == "data_quality") & small, list(MASKED_COLUMNS)] = np.nan
    return t


def _mask_next_smallest(t: pd.DataFrame, masked: pd.Series, shown: pd.Series, set_id: pd.Series) -> None:
    """Where exactly one cell of a set is masked, mask its smallest unmasked non-zero cell."""
    in_set = set_id.notna()
    masked_count = masked[in_set].groupby(set_id[in_set]).transform("sum")
    lonely = set(set_id[in_set][masked_count == 1])
    candidates = t[in_set & ~masked & shown & (t.numerator > 0) & set_id.isin(lonely)]
    if len(candidates):
        order = candidates.assign(_set=set_id).sort_values(["_set", "numerator", "denominator"])
        masked.loc[order.groupby("_set").head(1).index] = True
