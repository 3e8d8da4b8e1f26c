"""CFSR Round 2 measures (measures.md §3, G18.11, G21.1, G21.4) on hand-made timelines. The
window is 2024Q4 (ps = 2024-01-01, pe = 2024-12-31) unless a test says otherwise."""

import math

import pytest
from timelines import ALAMEDA, FRESNO, Timelines, cell

from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import parse_window
from cwoutcomes.measures import registry


def results_of(t: Timelines, engine: str, ids, window: str = "2024Q4"):
    """Several measures on one data set (one engine session per test)."""
    ds = t.dataset(engine)
    return evaluate(ds, [registry()[i] for i in ids], [parse_window(window)], quality_limits=False)


def states(t: Timelines, engine: str, ids, window: str = "2024Q4") -> dict:
    results = results_of(t, engine, ids, window)
    return {i: tuple(cell(results[results.measure_id == i], "state")[["numerator", "denominator"]])
            for i in ids}


def test_reference_values_and_standards():
    measures = registry()
    assert measures["C1.1"].reference == {"median": 69.9, "75th percentile": 75.2}
    assert measures["C1.2"].reference == {"median": 6.5, "25th percentile": 5.4}
    assert measures["C3.3"].reference == {"median": 47.8, "25th percentile": 37.5}
    assert measures["S1.1"].national_standard == 94.6
    assert measures["S2.1"].national_standard == 99.68
    assert measures["C4.1"].national_standard is None
    assert {m.id for m in measures.values() if m.version == "cfsr2"} == {
        "S1.1", "S2.1", "C1.1", "C1.2", "C1.3", "C1.4", "C2.1", "C2.2", "C2.3", "C2.4", "C2.5",
        "C3.1", "C3.2", "C3.3", "C4.1", "C4.2", "C4.3", "C1", "C2", "C3", "C4",
    }


def test_s11_first_six_months_and_six_month_follow_up(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.report("a", "2024-01-15")
    t.report("a", "2024-07-14")  # 5 completed months later: recurrence
    t.child("b", "2015-01-01")
    t.report("b", "2024-02-10")
    t.report("b", "2024-08-10")  # 6 months: not within 6
    t.child("c", "2015-01-01")
    t.report("c", "2024-06-30")  # last day of the first 6 months
    t.child("d", "2015-01-01")
    t.report("d", "2024-07-01")  # second half of the window: not in the denominator
    t.child("e", "2015-01-01")
    t.report("e", "2023-12-20")  # before the window: neither initial nor a recurrence of it
    t.report("e", "2024-03-01")
    t.child("f", None)  # no age or fatality exclusions in S1.1
    t.report("f", "2024-03-01", fatality=True)
    t.report("f", "2024-03-20")
    t.child("g", "2015-01-01")
    t.report("g", "2024-04-01T09:00")
    t.report("g", "2024-04-01T15:00", county=FRESNO)  # same day: one report, the first's county
    t.child("h", "2015-01-01")
    t.report("h", "2024-03-01")
    t.report("h", "2024-04-01", disposition="inconclusive")  # not a victim report
    results = results_of(t, engine, ["S1.1"])
    state = cell(results, "state")
    assert (state.numerator, state.denominator) == (5, 7)  # b, c, e, g, h of a, b, c, e, f, g, h
    assert cell(results, "state", "age_group", "unknown").denominator == 1
    assert cell(results, FRESNO).denominator == 0
    assert state.value == pytest.approx(500 / 7)


def test_s21_perpetrator_and_episode_bounds(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2023-06-01")
    t.report("a", "2024-03-01", perpetrator="foster_parent")  # victim in care
    t.child("b", "2012-01-01")
    t.episode("b", "2024-02-01")
    t.report("b", "2024-05-01", perpetrator="parent")  # other perpetrator: not counted
    t.child("c", "2012-01-01")
    t.episode("c", "2024-02-01", "2024-06-01")
    t.report("c", "2024-06-01", perpetrator="facility_staff")  # on the exit day: outside
    t.child("d", "2012-01-01")
    t.episode("d", "2023-01-01", "2024-01-01")  # exit on ps: in care during the window
    t.report("d", "2023-12-15", perpetrator="foster_parent")  # before the window
    t.child("e", "2012-01-01")
    t.episode("e", "2024-03-01")
    t.report("e", "2024-03-01", perpetrator="facility_staff")  # on the removal day: inside
    t.child("f", "2012-01-01")
    t.episode("f", "2023-01-01", "2023-12-31")  # left before the window: not served
    t.report("f", "2024-02-01", perpetrator="foster_parent")
    t.child("g", "2006-06-01")
    t.episode("g", "2023-01-01")  # 18 on 2024-06-01: G6 discharge
    t.report("g", "2024-07-01", perpetrator="foster_parent")
    t.child("h", "2012-01-01")
    t.episode("h", "2023-06-01")
    t.report("h", "2024-04-01", perpetrator="parent")
    t.report("h", "2024-04-01", perpetrator="foster_parent")  # same day: any perpetrator
    t.child("i", "2012-01-01")
    t.episode("i", "2024-01-10", "2024-03-01", county=FRESNO)
    t.episode("i", "2024-04-01")
    t.report("i", "2024-02-01", perpetrator="foster_parent")  # inside the Fresno episode
    results = results_of(t, engine, ["S2.1"])
    state = cell(results, "state")
    assert (state.numerator, state.denominator) == (4, 8)  # b, c, d, g of a..e, g, h, i
    fresno = cell(results, FRESNO)
    assert (fresno.numerator, fresno.denominator) == (0, 1)
    alameda = cell(results, ALAMEDA)
    assert (alameda.numerator, alameda.denominator) == (5, 8)  # i is not a victim in Alameda


def test_c11_reunified_within_12_months_and_thv(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2023-03-31", "2024-03-30", "reunification")  # 11 months
    t.child("b", "2012-01-01")
    t.episode("b", "2023-03-31", "2024-03-31", "living_with_relative")  # 12 months
    t.child("c", "2012-01-01")  # last placement a THV begun 10 months after removal
    t.episode("c", "2023-01-31", "2024-06-01", "reunification", placements=[
        ("2023-01-31", "foster_home", "c1"), ("2023-12-30", "trial_home_visit", "home")])
    t.child("d", "2012-01-01")  # THV begun 11 months after removal
    t.episode("d", "2023-01-31", "2024-05-01", "living_with_relative", placements=[
        ("2023-01-31", "foster_home", "d1"), ("2023-12-31", "trial_home_visit", "home")])
    t.child("e", "2012-01-01")  # an early THV that was not the last placement
    t.episode("e", "2023-01-15", "2024-05-01", "reunification", placements=[
        ("2023-01-15", "foster_home", "e1"), ("2023-06-01", "trial_home_visit", "home"),
        ("2023-08-01", "foster_home", "e2")])
    t.child("f", "2012-01-01")
    t.episode("f", "2024-03-01", "2024-03-08", "reunification")  # 7 days: excluded
    t.child("g", "2012-01-01")
    t.episode("g", "2024-01-01", "2024-05-01", "adoption")  # not reunification
    t.child("h", "2012-01-01")
    t.episode("h", "2023-01-01", "2024-02-01", "reunification")  # earliest exit: 13 months
    t.episode("h", "2024-03-01", "2024-05-01", "reunification")
    t.child("i", "2006-04-01")
    t.episode("i", "2023-06-01", "2024-06-01", "reunification")  # after 18: not reunification
    assert states(t, engine, ["C1.1"]) == {"C1.1": (2, 6)}


def test_c12_median_odd_and_even_with_thv_to_its_start(engine):
    t = Timelines()
    t.child("t1", "2012-01-01")  # THV of 144 days was the last placement: 100 days to its start
    t.episode("t1", "2023-10-01", "2024-06-01", "living_with_relative", placements=[
        ("2023-10-01", "foster_home", "p1"), ("2024-01-09", "trial_home_visit", "home")])
    t.child("t2", "2012-01-01")  # THV of exactly 30 days: measured to the exit, 200 days
    t.episode("t2", "2023-11-14", "2024-06-01", "reunification", placements=[
        ("2023-11-14", "foster_home", "p2"), ("2024-05-02", "trial_home_visit", "home")])
    t.child("t3", "2012-01-01")
    t.episode("t3", "2023-04-28", "2024-06-01", "reunification")  # 400 days
    t.child("f1", "2012-01-01")
    t.episode("f1", "2023-01-18", "2024-06-01", "reunification", county=FRESNO)  # 500 days
    t.child("f2", "2012-01-01")
    t.episode("f2", "2022-07-02", "2024-06-01", "reunification", county=FRESNO)  # 700 days
    t.child("short", "2012-01-01")
    t.episode("short", "2024-03-01", "2024-03-08", "reunification")  # 7 days: excluded
    results = results_of(t, engine, ["C1.2"])
    state, alameda, fresno = cell(results, "state"), cell(results, ALAMEDA), cell(results, FRESNO)
    assert state.value == pytest.approx(400 / 30.4375)  # 100, 200, 400, 500, 700
    assert alameda.value == pytest.approx(200 / 30.4375)  # 100, 200, 400
    assert fresno.value == pytest.approx(600 / 30.4375)  # even: mean of 500 and 700
    assert (state.denominator, alameda.denominator, fresno.denominator) == (5, 3, 2)
    assert math.isnan(state.numerator)
    assert state.unit == "months" and state.reference_median == 6.5


def test_c13_first_ever_entries_in_the_six_months_before(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2023-07-01", "2024-06-30", "reunification")  # first day; 11 months
    t.child("b", "2012-01-01")
    t.episode("b", "2023-12-31", "2024-12-31", "reunification")  # last day; 12 months
    t.child("c", "2012-01-01")
    t.episode("c", "2023-06-30", "2023-09-01", "reunification")  # before the 6 months
    t.child("d", "2012-01-01")
    t.episode("d", "2024-01-01", "2024-03-01", "reunification")  # in the window itself
    t.child("e", "2012-01-01")
    t.episode("e", "2022-01-01", "2022-03-01", "reunification")
    t.episode("e", "2023-08-01", "2023-10-01", "reunification")  # not a first entry
    t.child("f", "2012-01-01")
    t.episode("f", "2023-08-01", "2023-08-05", "reunification")  # first entry of 4 days: out
    t.episode("f", "2023-09-01", "2023-10-01", "reunification")  # not moved to this one
    t.child("g", "2012-01-01")
    t.episode("g", "2023-08-01", "2024-02-01", "adoption")
    t.child("h", "2012-01-01")  # THV begun 10 months after removal, last placement
    t.episode("h", "2023-09-15", "2024-11-01", "reunification", placements=[
        ("2023-09-15", "foster_home", "h1"), ("2024-08-14", "trial_home_visit", "home")])
    t.child("i", "2012-01-01")
    t.episode("i", "2023-10-01")
    t.child("j", "2005-08-01")
    t.episode("j", "2023-08-01", "2023-10-01", "reunification")  # entered at 18
    assert states(t, engine, ["C1.3"]) == {"C1.3": (2, 5)}  # a, h of a, b, g, h, i


def test_c14_reentry_after_reunification_in_the_year_before(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2022-06-01", "2023-01-01", "reunification")
    t.episode("a", "2023-12-31")  # 11 months after the exit
    t.child("b", "2012-01-01")
    t.episode("b", "2022-06-01", "2023-12-31", "living_with_relative")
    t.episode("b", "2024-12-31")  # 12 months: not a re-entry
    t.child("c", "2012-01-01")
    t.episode("c", "2022-06-01", "2022-12-31", "reunification")  # before the 12 months
    t.child("d", "2012-01-01")
    t.episode("d", "2023-06-01", "2024-01-01", "reunification")  # exit in the window itself
    t.child("e", "2012-01-01")
    t.episode("e", "2023-03-01", "2023-03-04", "reunification")  # 3 days: no 8-day rule
    t.episode("e", "2023-05-01")
    t.child("f", "2012-01-01")
    t.episode("f", "2023-01-01", "2023-05-01", "guardianship")  # not reunification
    t.episode("f", "2023-06-01")
    t.child("g", "2006-02-01")
    t.episode("g", "2023-01-01", "2023-06-01", "reunification")
    t.episode("g", "2024-02-01")  # removed on the 18th birthday: not a re-entry
    results = results_of(t, engine, ["C1.4", "C2.2"])
    c14 = cell(results[results.measure_id == "C1.4"], "state")
    assert (c14.numerator, c14.denominator) == (2, 4)  # a, e of a, b, e, g
    # No exit to adoption: the median has no value, a zero denominator and status ok (G18.14).
    c22 = cell(results[results.measure_id == "C2.2"], "state")
    assert math.isnan(c22.value) and c22.denominator == 0 and c22.status == "ok"


def test_c21_c22_adoption_within_24_months_and_median(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2022-03-31", "2024-03-30", "adoption")  # 23 months, 730 days
    t.child("b", "2012-01-01")
    t.episode("b", "2022-03-31", "2024-03-31", "adoption")  # 24 months, 731 days
    t.child("c", "2012-01-01")
    t.episode("c", "2024-05-01", "2024-05-04", "adoption")  # 3 days: no 8-day rule
    t.child("d", "2006-05-01")
    t.episode("d", "2020-01-01", "2024-06-01", "adoption")  # after the 18th birthday
    t.child("e", "2012-01-01")
    t.episode("e", "2023-01-01", "2024-06-01", "reunification")
    results = results_of(t, engine, ["C2.1", "C2.2"])
    c21 = cell(results[results.measure_id == "C2.1"], "state")
    c22 = cell(results[results.measure_id == "C2.2"], "state")
    assert (c21.numerator, c21.denominator) == (2, 3)
    assert (c22.value, c22.denominator) == (pytest.approx(730 / 30.4375), 3)


def test_c23_adoption_of_children_in_care_17_months(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2022-08-01", "2024-12-31", "adoption")  # 17 months on ps; adopted on pe
    t.child("b", "2012-01-01")
    t.episode("b", "2022-08-02", "2024-06-01", "adoption")  # 16 months on ps
    t.child("c", "2012-01-01")
    t.episode("c", "2021-01-01", "2024-05-01", "reunification")  # left to reunification
    t.child("d", "2012-01-01")
    t.episode("d", "2021-01-01", "2025-02-01", "guardianship")  # after pe: stays, not adopted
    t.child("e", "2012-01-01")
    t.episode("e", "2021-01-01", "2024-01-01", "adoption")  # exit on ps: not in care on ps
    t.child("f", "2012-01-01")
    t.episode("f", "2021-01-01")
    t.child("g", "2012-01-01")
    t.episode("g", "2021-01-01", "2024-03-01", "emancipation")
    assert states(t, engine, ["C2.3"]) == {"C2.3": (1, 4)}  # a of a, d, f, g


def test_c24_legally_free_within_the_first_six_months(engine):
    t = Timelines()
    for child, legally_free, exit_, reason in [
        ("a", "2024-01-02", None, None),  # freed the day after ps
        ("b", "2024-06-30", None, None),  # freed on the last day of the 6 months
        ("c", "2024-07-01", None, None),  # too late
        ("d", "2024-01-01", None, None),  # legally free on ps: not in the denominator
        ("e", "2023-12-01", None, None),  # legally free before ps
        ("f", None, "2024-06-30", "reunification"),  # left in the first 6 months
        ("g", None, "2024-07-01", "reunification"),  # left afterwards: stays
        ("h", None, None, None),
        ("i", "2024-03-01", "2024-05-01", "adoption"),  # adoption is not an excluding exit
    ]:
        t.child(child, "2012-01-01")
        t.episode(child, "2022-01-01", exit_, reason, legally_free=legally_free)
    assert states(t, engine, ["C2.4"]) == {"C2.4": (3, 6)}  # a, b, i of a, b, c, g, h, i


def test_c25_adoption_within_12_months_of_legally_free(engine):
    t = Timelines()
    for child, legally_free, exit_, reason in [
        ("a", "2023-05-10", "2023-05-10", "adoption"),  # adopted on the legally-free day
        ("b", "2023-01-01", "2023-12-31", "adoption"),  # 11 months
        ("c", "2023-12-31", "2024-12-31", "adoption"),  # 12 months
        ("d", "2022-12-31", "2023-06-01", "adoption"),  # freed before the 12 months
        ("e", "2024-01-01", "2024-06-01", "adoption"),  # freed in the window itself
        ("f", "2023-06-01", None, None),
        ("g", "2023-06-01", "2023-03-01", "guardianship"),  # no in-care check on that day
    ]:
        t.child(child, "2012-01-01")
        t.episode(child, "2021-01-01", exit_, reason, legally_free=legally_free)
    assert states(t, engine, ["C2.5"]) == {"C2.5": (2, 5)}  # a, b of a, b, c, f, g


def test_c31_permanency_for_children_in_care_24_months(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2022-01-01", "2024-12-31", "guardianship")  # 24 months on ps; exit on pe
    t.child("b", "2012-01-01")
    t.episode("b", "2022-01-02", "2024-06-01", "guardianship")  # 23 months
    t.child("c", "2012-01-01")
    t.episode("c", "2020-01-01", "2025-01-01", "adoption")  # after pe
    t.child("d", "2006-08-01")
    t.episode("d", "2020-01-01", "2024-10-01", "adoption")  # after the 18th birthday
    t.child("e", "2012-01-01")
    t.episode("e", "2020-01-01", "2024-01-01", "reunification")  # exit on ps
    t.child("f", "2012-01-01")
    t.episode("f", "2020-01-01", "2024-03-01", "living_with_relative")
    assert states(t, engine, ["C3.1"]) == {"C3.1": (2, 4)}  # a, f of a, c, d, f


def test_c32_permanency_when_legally_free_at_exit(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2021-01-01", "2024-03-01", "adoption", legally_free="2023-05-01")
    t.child("b", "2012-01-01")
    t.episode("b", "2021-01-01", "2024-03-01", "adoption", legally_free="2024-03-01")  # same day
    t.child("c", "2012-01-01")
    t.episode("c", "2021-01-01", "2024-03-01", "adoption", legally_free="2024-03-02")  # after exit
    t.child("d", "2006-06-01")
    t.episode("d", "2020-01-01", legally_free="2022-01-01")  # turns 18 in care in the window
    t.child("e", "2012-01-01")
    t.episode("e", "2021-01-01", "2024-05-01", "emancipation", legally_free="2023-01-01")
    t.child("f", "2012-01-01")
    t.episode("f", "2021-01-01", "2024-05-01", "adoption")  # never legally free
    assert states(t, engine, ["C3.2"]) == {"C3.2": (2, 4)}  # a, b of a, b, d, e


def test_c33_emancipation_or_18th_birthday_after_36_months(engine):
    t = Timelines()
    t.child("a", "2007-01-01")
    t.episode("a", "2021-03-01", "2024-03-01", "emancipation")  # 36 months
    t.child("b", "2007-01-01")
    t.episode("b", "2021-03-02", "2024-03-01", "emancipation")  # 35 months
    t.child("c", "2006-06-01")
    t.episode("c", "2020-01-01")  # turns 18 in care on 2024-06-01 after 53 months
    t.child("d", "2006-06-01")
    t.episode("d", "2023-01-01", "2024-08-01", "reunification")  # G6: out at 18 after 17 months
    t.child("f", "2005-06-01")
    t.episode("f", "2020-01-01")  # turned 18 before the window
    t.child("g", "2007-01-01")
    t.episode("g", "2020-01-01", "2024-03-01", "reunification")
    assert states(t, engine, ["C3.3"]) == {"C3.3": (2, 4)}  # a, c of a, b, c, d


def test_c4_settings_bands_eight_days_and_latest_episode(engine):
    t = Timelines()
    t.child("a", "2012-01-01")  # three settings
    t.episode("a", "2024-03-01", placements=[
        ("2024-03-01", "foster_home", "a1"), ("2024-05-01", "foster_home", "a2"),
        ("2024-07-01", "foster_home", "a3")])
    t.child("b", "2012-01-01")  # respite and THV dropped, the same home merged: two settings
    t.episode("b", "2024-03-01", placements=[
        ("2024-03-01", "foster_home", "b1"), ("2024-04-01", "respite", "r"),
        ("2024-04-05", "foster_home", "b1"), ("2024-06-01", "trial_home_visit", "home"),
        ("2024-07-01", "foster_home", "b2")])
    t.child("c", "2012-01-01")
    t.episode("c", "2024-12-24")  # 7 days to pe: excluded
    t.child("d", "2012-01-01")
    t.episode("d", "2024-12-23")  # 8 days to pe
    t.child("e", "2012-01-01")  # latest episode is too short, so the earlier one counts
    t.episode("e", "2023-06-01", "2024-02-01", placements=[
        ("2023-06-01", "foster_home", "e1"), ("2023-08-01", "foster_home", "e2"),
        ("2023-10-01", "foster_home", "e3")])
    t.episode("e", "2024-12-28")
    t.child("f", "2012-01-01")  # a setting starting after pe is not counted
    t.episode("f", "2024-06-01", placements=[
        ("2024-06-01", "foster_home", "f1"), ("2024-09-01", "foster_home", "f2"),
        ("2025-01-05", "foster_home", "f3")])
    t.child("g", "2006-09-01")  # a setting from the 18th birthday on is not counted
    t.episode("g", "2024-03-01", placements=[
        ("2024-03-01", "foster_home", "g1"), ("2024-05-01", "foster_home", "g2"),
        ("2024-10-01", "foster_home", "g3")])
    t.child("m", "2012-01-01")  # two episodes: the latest counts
    t.episode("m", "2024-01-10", "2024-03-01", placements=[
        ("2024-01-10", "foster_home", "m1"), ("2024-01-20", "foster_home", "m2"),
        ("2024-02-01", "foster_home", "m3")])
    t.episode("m", "2024-04-01")
    t.child("h", "2012-01-01")
    t.episode("h", "2023-12-31")  # 12 months to pe: C4.2
    t.child("i", "2012-01-01")  # 23 months to its exit, three settings: C4.2
    t.episode("i", "2023-01-01", "2024-12-31", placements=[
        ("2023-01-01", "foster_home", "i1"), ("2023-03-01", "foster_home", "i2"),
        ("2023-05-01", "group_home", "i3")])
    t.child("j", "2012-01-01")  # 24 months to pe, two settings: C4.3
    t.episode("j", "2022-12-31", placements=[
        ("2022-12-31", "foster_home", "j1"), ("2023-06-01", "kin", "j2")])
    t.child("k", "2012-01-01")  # exit on ps after 24 months, three settings: C4.3
    t.episode("k", "2022-01-01", "2024-01-01", placements=[
        ("2022-01-01", "foster_home", "k1"), ("2022-03-01", "foster_home", "k2"),
        ("2022-05-01", "foster_home", "k3")])
    assert states(t, engine, ["C4.1", "C4.2", "C4.3"]) == {
        "C4.1": (5, 7),  # b, d, f, g, m of a, b, d, e, f, g, m
        "C4.2": (1, 2),  # h of h, i
        "C4.3": (1, 2),  # j of j, k
    }


def test_data_quality_scope(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.flag("episodes", t.episode("a", "2023-01-01", "2024-03-01", "adoption"), "R9")  # C2.x keep R9
    t.child("b", "2012-01-01")
    t.flag("episodes", t.episode("b", "2023-06-01", "2024-03-01", "reunification"), "R9")
    t.child("c", "2012-01-01")
    t.episode("c", "2023-06-01", "2024-04-01", "reunification")
    t.child("d", "2012-01-01")
    t.flag("episodes", t.episode("d", "2024-05-01", "2024-05-01", "adoption"), "R10")
    t.child("e", "2012-01-01")
    t.episode("e", "2023-01-01", "2023-05-01", "reunification")
    t.flag("episodes", t.episode("e", "2023-06-01"), "R8")  # a flagged episode is no re-entry
    assert states(t, engine, ["C1.1", "C1.4", "C2.1"]) == {
        "C1.1": (1, 1), "C1.4": (0, 1), "C2.1": (1, 1),
    }
