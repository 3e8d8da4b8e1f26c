"""Year-on-year change tests (stats/change.py) with answers worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from cwoutcomes.stats.change import (
    change_p_values, poisson_rate_ratio_test, two_proportion_ztest, year_earlier, year_on_year,
)


def test_two_proportion_ztest_by_hand():
    # 30/100 against 20/100: pooled p = 0.25, se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = 0.0612372,
    # z = 0.10 / 0.0612372 = 1.632993, two-sided p = 2 * (1 - Phi(1.632993)) = 0.102470.
    z, p = two_proportion_ztest([30], [100], [20], [100])
    assert z[0] == pytest.approx(1.632993, abs=1e-6)
    assert p[0] == pytest.approx(0.102470, abs=1e-6)
    # 120/300 against 90/300: pooled 0.35, se = sqrt(0.35 * 0.65 * 2/300) = 0.0389444, z = 2.567763.
    z, p = two_proportion_ztest([120], [300], [90], [300])
    assert z[0] == pytest.approx(2.567763, abs=1e-6)
    assert p[0] == pytest.approx(0.010236, abs=1e-6)


def test_two_proportion_ztest_edges():
    z, p = two_proportion_ztest([0, 5, 3], [10, 5, 0], [0, 5, 1], [20, 5, 4])
    # both 0%: no variation, no evidence of change; both 100%: the same; an empty side: no test.
    assert (z[0], p[0]) == (0.0, 1.0)
    assert (z[1], p[1]) == (0.0, 1.0)
    assert math.isnan(z[2]) and math.isnan(p[2])


def test_two_proportion_ztest_agrees_with_statsmodels():
    from statsmodels.stats.proportion import proportions_ztest

    z, p = two_proportion_ztest([57], [140], [41], [133])
    z_sm, p_sm = proportions_ztest([57, 41], [140, 133])
    assert z[0] == pytest.approx(z_sm) and p[0] == pytest.approx(p_sm)


def test_poisson_rate_ratio_exact_by_hand():
    # 12 events against 2 over equal exposure: given 14 events, X ~ Binomial(14, 1/2);
    # P(X >= 12) = (C(14,12) + C(14,13) + C(14,14)) / 2^14 = (91 + 14 + 1) / 16384; doubled.
    ratio, p = poisson_rate_ratio_test([12], [100_000], [2], [100_000])
    assert ratio[0] == 6.0
    assert p[0] == pytest.approx(2 * 106 / 16384, rel=1e-12)
    # 10 against 2: P(X >= 10 | n = 12) = (66 + 12 + 1) / 4096, doubled = 0.0385742.
    _, p = poisson_rate_ratio_test([10], [1000], [2], [1000])
    assert p[0] == pytest.approx(2 * 79 / 4096, rel=1e-12)


def test_poisson_rate_ratio_unequal_exposure_and_edges():
    from statsmodels.stats.rates import test_poisson_2indep

    # Unequal exposure: X ~ Binomial(9, 300/500); the smaller tail P(X <= 3) doubled. Statsmodels'
    # one-sided exact conditional test gives that tail.
    _, p = poisson_rate_ratio_test([3], [300], [6], [200])
    tail = test_poisson_2indep(3, 300, 6, 200, method="exact-cond", alternative="smaller").pvalue
    assert p[0] == pytest.approx(2 * tail)
    ratio, p = poisson_rate_ratio_test([0, 4], [100, 0], [0, 1], [100, 10])
    assert p[0] == 1.0 and math.isnan(ratio[0])  # no events at all: nothing to test
    assert math.isnan(p[1])  # no exposure this year


def test_change_p_values_picks_test_by_unit():
    p = change_p_values(["percent", "per_100k_days", "months", "percent"],
                        [30, 12, 5, 30], [100, 100_000, 40, 100], [20, 2, 6, 20], [100, 100_000, 40, 100],
                        summarized=[False, False, True, True])
    assert p[0] == pytest.approx(0.102470, abs=1e-6)
    assert p[1] == pytest.approx(2 * 106 / 16384)
    assert math.isnan(p[2]) and math.isnan(p[3])  # medians: no test


def test_year_earlier_labels():
    assert year_earlier("2025Q2") == "2024Q2"
    assert year_earlier("2025-03") == "2024-03"
    assert year_earlier("24A24B") is None


def _row(label, county, num, den, status="ok", stratum="all", value="auto"):
    value = num / den * 100 if value == "auto" and status in ("ok", "incomplete") else (np.nan if value == "auto" else value)
    return {"measure_id": "4-P1", "period_type": "year", "period_label": label, "county": county,
            "stratum": stratum, "stratum_value": "all", "numerator": num, "denominator": den,
            "value": value, "unit": "percent", "status": status}


def test_year_on_year_aligns_rows_and_hides_suppressed_cells():
    rows = pd.DataFrame([
        _row("2025Q2", "state", 120, 300), _row("2024Q2", "state", 90, 300),
        _row("2025Q2", "06037", 60, 200, status="incomplete"), _row("2024Q2", "06037", 66, 200),
        _row("2025Q2", "06001", np.nan, np.nan, status="masked"), _row("2024Q2", "06001", 20, 50),
        _row("2025Q2", "06075", 20, 50), _row("2024Q2", "06075", np.nan, np.nan, status="data_quality"),
        _row("2025Q2", "06067", 20, 50),  # no row a year earlier
    ])
    yoy = year_on_year(rows)
    assert len(yoy) == len(rows)
    state, la, alameda, sf, sac = (yoy.iloc[i] for i in (0, 2, 4, 6, 8))
    assert state.change == pytest.approx(10.0) and state.p_value == pytest.approx(0.010236, abs=1e-6)
    assert bool(state.significant)
    assert la.change == pytest.approx(-3.0) and la.p_value == pytest.approx(0.518387, abs=1e-6)
    assert not la.significant
    # A masked cell this year: no change (it would reveal the value); the earlier value is hidden too.
    assert math.isnan(alameda.change) and math.isnan(alameda.previous_value)
    assert math.isnan(sf.change) and sf.previous_status == "data_quality"
    assert math.isnan(sac.change) and pd.isna(sac.previous_status)
    assert math.isnan(yoy.iloc[1].change)  # 2024Q2 has no 2023Q2 row


def test_display_rounding_g15():
    from cwoutcomes.report import format as fmt

    # Percentages one decimal, rates two (G15); halves round away from zero as published tables do.
    assert fmt.value_text(41.25, "percent") == "41.3%"
    assert fmt.value_text(0.125, "per_1000_days") == "0.13"
    assert fmt.value_text(2.345, "per_100k_days") == "2.35"
    assert fmt.value_text(1234.5, "per_1000_children") == "1,234.50"
    assert fmt.value_text(6.5, "months") == "6.5" and fmt.value_text(182.5, "days") == "183"
    assert fmt.p_text(0.0004) == "p < 0.001" and fmt.p_text(0.0125) == "p = 0.013"
