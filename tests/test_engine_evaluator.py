"""The evaluator's shared machinery: periods (G1), status (G2, G16, not_available), masking
(G14), intervals (§6), counties vs state (G12), results rows (G18.14)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cwoutcomes.engine.masking import mask_small_cells
from cwoutcomes.engine.periods import Window, latest_windows, parse_window, parse_windows
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.stats.intervals import poisson_rate_interval, wilson_interval
from timelines import FRESNO, Timelines, cell


def test_window_labels_and_federal_aliases():
    w = parse_window("2024Q4")
    assert (w.start, w.end, w.last_quarter_start) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31), dt.date(2024, 10, 1))
    assert (parse_window("2025Q1").start, parse_window("2025Q1").end) == (dt.date(2024, 4, 1), dt.date(2025, 3, 31))
    assert parse_window("24A24B") == Window(2024, 3)
    assert parse_window("24B25A") == Window(2025, 1)
    assert [x.label for x in parse_windows("2025Q1, 2024Q4")] == ["2024Q4", "2025Q1"]
    with pytest.raises(CwoutcomesError, match="not a window"):
        parse_window("2024-12")


def test_latest_windows_end_on_or_before_extract_date():
    assert [w.label for w in latest_windows(dt.date(2025, 12, 30), 2)] == ["2025Q2", "2025Q3"]
    assert [w.label for w in latest_windows(dt.date(2025, 12, 31), 1)] == ["2025Q4"]


def test_wilson_and_poisson_intervals_match_scipy():
    low, high = wilson_interval([3, 0], [10, 0])
    expected = stats.binomtest(3, 10).proportion_ci(method="wilson")
    assert low[0] == pytest.approx(expected.low) and high[0] == pytest.approx(expected.high)
    assert np.isnan(low[1])
    low, high = poisson_rate_interval([4], [1000.0])
    assert low[0] == pytest.approx(stats.chi2.ppf(0.025, 8) / 2 / 1000)
    assert high[0] == pytest.approx(stats.chi2.ppf(0.975, 10) / 2 / 1000)


def test_rows_for_every_county_even_with_zero_denominator(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2020-01-01", "2021-01-01", county=FRESNO)  # Fresno is present, but not in 2024
    t.child("b", "2015-01-01")
    t.episode("b", "2024-03-01", "2024-06-01")
    results = t.results(engine, "4-P1")
    fresno = cell(results, FRESNO)
    assert (fresno.numerator, fresno.denominator, fresno.status) == (0, 0, "ok")
    assert np.isnan(fresno.value)


def test_not_available_without_referrals(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-03-01")
    results = t.results(engine, "4-S1")
    assert set(results.status) == {"not_available"}


def test_counties_need_not_add_up_to_state(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01", "2024-08-01", county=FRESNO)  # 213 days
    t.episode("a", "2024-08-01")  # 153 days in Alameda; 366 in all, capped at 365 statewide
    t.report("a", "2024-03-01")
    t.report("a", "2024-09-01")
    results = t.results(engine, "4-S1")
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 213)
    assert (cell(results, "06001").numerator, cell(results, "06001").denominator) == (1, 153)
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (2, 365)


def test_data_quality_first_removal_only_limit_applies_to_reentry_only(engine):
    t = Timelines()
    for i in range(20):
        t.child(f"c{i}", "2015-01-01")
        t.episode(f"c{i}", "2023-06-01", "2024-03-01", county=FRESNO)  # all first removals: 100%
    p1 = t.results(engine, "4-P1", window="2024Q4", quality_limits=True)
    p4 = t.results(engine, "4-P4", window="2024Q4", quality_limits=True)
    assert cell(p1, FRESNO).status == "ok"
    assert cell(p4, FRESNO).status == "data_quality"


def test_data_quality_limit_sets_status(engine):
    t = Timelines()
    for i in range(19):
        t.child(f"c{i}", "2015-01-01")
        t.episode(f"c{i}", "2024-03-01", "2024-05-01", county=FRESNO)
    # Two children re-entering keep the "first removal only" rate (at most 95%) from failing.
    for i in range(2):
        t.episode(f"c{i}", "2019-03-01", "2019-05-01", county=FRESNO)
    t.child("nobirth", None)  # 1 of 20 children in care without a birth date = 5%: passes
    t.episode("nobirth", "2024-03-01", "2024-05-01", county=FRESNO)
    results = t.results(engine, "4-P1", quality_limits=True)
    assert cell(results, FRESNO).status != "data_quality"
    t.child("nobirth2", None)  # 2 of 21 = 9.5%: fails the 5% limit
    t.episode("nobirth2", "2024-03-01", "2024-05-01", county=FRESNO)
    results = t.results(engine, "4-P1", quality_limits=True)
    row = cell(results, FRESNO)
    assert row.status == "data_quality" and np.isnan(row.value)


def results_frame(rows):
    base = {"measure_id": "4-P1", "period_type": "year", "period_label": "2024Q4", "unit": "percent", "status": "ok",
            "ci_lower": 0.0, "ci_upper": 1.0}
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["value"] = frame.numerator / frame.denominator * 100
    return frame


def test_masking_small_cells_and_complementary_suppression():
    results = results_frame([
        {"county": "state", "stratum": "all", "stratum_value": "all", "numerator": 60, "denominator": 200},
        {"county": "state", "stratum": "sex", "stratum_value": "female", "numerator": 5, "denominator": 40},
        {"county": "state", "stratum": "sex", "stratum_value": "male", "numerator": 55, "denominator": 150},
        {"county": "state", "stratum": "sex", "stratum_value": "unknown", "numerator": 0, "denominator": 10},
        {"county": "state", "stratum": "race_ethnicity", "stratum_value": "white", "numerator": 0, "denominator": 0},
    ])
    masked = mask_small_cells(results).set_index("stratum_value")
    # female: numerator 5 -> masked; unknown: denominator 10 -> masked; two masked, so no
    # complementary cell is needed; zero stays shown.
    assert masked.loc["female", "status"] == "masked" and np.isnan(masked.loc["female", "numerator"])
    assert masked.loc["unknown", "status"] == "masked"
    assert masked.loc["male", "status"] == "ok" and masked.loc["male", "numerator"] == 55
    assert masked.loc["white", "status"] == "ok" and masked.loc["white", "numerator"] == 0
    assert masked.loc["all", "status"] == "ok"


def test_masking_one_masked_cell_masks_the_next_smallest():
    results = results_frame([
        {"county": "state", "stratum": "age_group", "stratum_value": "1-5", "numerator": 3, "denominator": 50},
        {"county": "state", "stratum": "age_group", "stratum_value": "6-10", "numerator": 20, "denominator": 60},
        {"county": "state", "stratum": "age_group", "stratum_value": "11-16", "numerator": 40, "denominator": 90},
    ])
    masked = mask_small_cells(results).set_index("stratum_value")
    assert list(masked.status) == ["masked", "masked", "ok"]


def test_public_results_mask_small_counties(engine):
    t = Timelines()
    for i in range(12):
        t.child(f"a{i}", "2015-01-01")
        t.episode(f"a{i}", "2024-03-01", "2024-05-01")
    t.child("f", "2015-01-01")
    t.episode("f", "2024-03-01", county=FRESNO)
    results = t.results(engine, "4-P1", public=True)
    assert cell(results, FRESNO).status == "masked"
    assert np.isnan(cell(results, FRESNO).denominator)
    state = cell(results, "state")
    assert (state.numerator, state.denominator, state.status) == (12, 13, "ok")


def test_masked_county_total_masks_its_strata():
    results = results_frame([
        {"county": "06001", "stratum": "all", "stratum_value": "all", "numerator": 30, "denominator": 100},
        {"county": "06001", "stratum": "sex", "stratum_value": "female", "numerator": 12, "denominator": 60},
        {"county": "06001", "stratum": "sex", "stratum_value": "male", "numerator": 18, "denominator": 40},
        {"county": "06019", "stratum": "all", "stratum_value": "all", "numerator": 4, "denominator": 50},
        {"county": "06037", "stratum": "all", "stratum_value": "all", "numerator": 80, "denominator": 300},
    ])
    masked = mask_small_cells(results)
    # Fresno (4) is small; Alameda is the next smallest county, so it is masked too, and its
    # sex strata with it (12 + 18 would give its total back).
    assert list(masked.status) == ["masked", "masked", "masked", "masked", "ok"]


def test_small_counts_of_data_quality_cells_are_blanked():
    results = results_frame([
        {"county": "state", "stratum": "all", "stratum_value": "all", "numerator": 3, "denominator": 8},
    ])
    results["status"] = "data_quality"
    masked = mask_small_cells(results).iloc[0]
    assert masked.status == "data_quality" and np.isnan(masked.numerator) and np.isnan(masked.denominator)
