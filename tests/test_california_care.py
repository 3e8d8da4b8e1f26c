"""California's own measures (version `ca`), part 2: 4A, 4B, 4E, 5B, 5F, 8A and LOS on
hand-made timelines (measures.md §4, G18.13, G21.8-G21.10). Expected numbers are worked out by
hand in the comments."""

import math

import pandas as pd
import pytest

from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import parse_windows
from cwoutcomes.errors import InputError
from cwoutcomes.measures.california_wellbeing import exam_measures, periodicity_schedule
from timelines import ALAMEDA, FRESNO, Timelines, cell


def counts(row):
    return row.numerator, row.denominator


def foster(home, start="2024-01-01"):
    return [(start, "foster_home", home)]


# -- 4A ---------------------------------------------------------------------------------------
def test_4a_siblings_split_thv_other_county_and_several_groups(engine):
    t = Timelines()  # PIT date 2024-10-01
    for child, home in (("a", "H1"), ("b", "H1"), ("c", "H2")):  # one group split over two homes
        t.child(child, "2015-01-01")
        t.episode(child, "2024-01-01", placements=foster(home))
    t.siblings("g1", "a", "b", "c")
    t.child("d", "2015-01-01")
    t.episode("d", "2024-01-01", placements=foster("H3"))
    t.child("e", "2015-01-01")  # on a trial home visit: its home is still H3
    t.episode("e", "2024-01-01", placements=[("2024-01-01", "foster_home", "H3"),
                                              ("2024-09-15", "trial_home_visit", "home-e")])
    t.siblings("g2", "d", "e")
    t.child("f", "2015-01-01")
    t.episode("f", "2024-01-01", placements=foster("H4"))
    t.child("g", "2015-01-01")
    t.episode("g", "2024-01-01", placements=foster("H4"), county=FRESNO)  # another county
    t.siblings("g3", "f", "g")
    t.child("h", "2015-01-01")
    t.episode("h", "2024-01-01", placements=foster("H8"))
    t.child("i", "2015-01-01")
    t.episode("i", "2024-01-01", "2024-10-01", placements=foster("H8"))  # left on the PIT date
    t.siblings("g4", "h", "i")
    t.child("j", "2015-01-01")
    t.episode("j", "2024-01-01", placements=foster("H9"))
    t.child("k", "2006-09-01")  # 18 before the PIT date
    t.episode("k", "2024-01-01", placements=foster("H9"))
    t.siblings("g5", "j", "k")
    for child, home in (("l", "H5"), ("m", "H5"), ("n", "H6")):  # l is in two groups
        t.child(child, "2015-01-01")
        t.episode(child, "2024-01-01", placements=foster(home))
    t.siblings("g6", "l", "m")
    t.siblings("g7", "l", "n")
    t.child("o", "2015-01-01")  # only a trial home visit so far: no home, with nobody
    t.episode("o", "2024-01-01", placements=[("2024-01-01", "trial_home_visit", "home-o")])
    t.child("p", "2015-01-01")
    t.episode("p", "2024-01-01", placements=foster("H7"))
    t.siblings("g8", "o", "p")
    # universe: a, b, c, d, e, l, m, n, o, p; all together: d, e, m; some: a, b, d, e, l, m
    every = t.results(engine, "4A.ALL")
    assert counts(cell(every, "state")) == (3, 10)
    assert counts(cell(every, FRESNO)) == (0, 0)
    assert counts(cell(every, "state", "siblings_in_care", "1")) == (3, 6)  # d, e, m of d, e, m, n, o, p
    assert counts(cell(every, "state", "siblings_in_care", "2")) == (0, 4)  # a, b, c, l
    some = t.results(engine, "4A.SOME")
    assert counts(cell(some, "state")) == (6, 10)
    assert counts(cell(some, "state", "siblings_in_care", "2")) == (3, 4)


# -- 4B ---------------------------------------------------------------------------------------
def shares(results, stratum="placement_setting"):
    rows = results[(results.county == "state") & (results.stratum == stratum)]
    return {row.stratum_value: (row.numerator, row.denominator) for row in rows.itertuples()}


def test_4b_first_placement_categories_missing_and_thv_first(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-02-01", placements=[("2024-02-01", "kin", "k1")])
    t.child("b", "2015-01-01")  # a trial home visit first: Other (no G9 dropping)
    t.episode("b", "2024-02-01", placements=[("2024-02-01", "trial_home_visit", "x"), ("2024-03-01", "foster_home", "f1")])
    t.child("c", "2015-01-01")
    t.episode("c", "2024-02-01", placements=[])  # no placement: Missing, kept
    t.child("d", "2015-01-01")
    t.episode("d", "2024-02-01", placements=[("2024-02-01", "group_home", "g1")])
    t.child("e", "2015-01-01")
    t.episode("e", "2024-02-01", placements=[("2024-02-01", "supervised_independent_living", "s1")])
    t.child("f", "2015-01-01")
    t.episode("f", "2024-02-01", "2024-02-06", placements=[("2024-02-01", "kin", "k2")])  # 5 days: out
    t.child("g", "2015-01-01")  # first entry too short, second counts (filter, then pick)
    t.episode("g", "2024-02-01", "2024-02-08", placements=[("2024-02-01", "kin", "k3")])
    t.episode("g", "2024-05-01", placements=[("2024-05-01", "shelter", "sh")])
    t.child("h", "2015-01-01")  # two placements starting the same day: the lower id first
    t.episode("h", "2024-02-01", placements=[("2024-02-01", "2024-02-01", "ffa_home", "ffa"),
                                              ("2024-02-01", None, "group_home", "g2")])
    distribution = t.results(engine, "4B.FIRST")
    assert counts(cell(distribution, "state")) == (7, 7)
    assert shares(distribution) == {
        "kin": (1, 7), "other": (2, 7), "missing": (1, 7), "group_home": (1, 7), "shelter": (1, 7),
        "ffa_home": (1, 7),
    }
    assert cell(distribution, "state", "placement_setting", "kin").value == pytest.approx(100 / 7)
    assert t.state(engine, "4B.FIRST.KIN") == (1, 7)
    assert t.state(engine, "4B.FIRST.GROUP") == (1, 7)


def test_4b_pit_setting_covering_the_date(engine):
    t = Timelines()  # PIT date 2024-10-01
    t.child("a", "2015-01-01")  # foster ends on the date, kin starts on it
    t.episode("a", "2024-01-01", placements=[("2024-01-01", "foster_home", "f"), ("2024-10-01", "kin", "k")])
    t.child("b", "2015-01-01")
    t.episode("b", "2024-01-01", placements=[("2024-01-01", "foster_home", "f2"), ("2024-09-20", "trial_home_visit", "h")])
    t.child("c", "2015-01-01")  # the last placement ended before the date: Missing
    t.episode("c", "2024-01-01", placements=[("2024-01-01", "2024-09-01", "foster_home", "f3")])
    t.child("d", "2015-01-01")
    t.episode("d", "2024-01-01", placements=[("2024-01-01", "group_home", "g")])
    t.child("e", "2015-01-01")  # respite overlapping a foster home: the later start wins -> Other
    t.episode("e", "2024-01-01", placements=[("2024-01-01", None, "foster_home", "f4"),
                                              ("2024-09-30", "2024-10-03", "respite", "r")])
    t.child("old", "2006-01-01")
    t.episode("old", "2024-01-01", placements=[("2024-01-01", "kin", "k2")])  # 18: outside
    assert shares(t.results(engine, "4B.PIT")) == {
        "kin": (1, 5), "other": (2, 5), "missing": (1, 5), "group_home": (1, 5),
    }
    assert t.state(engine, "4B.PIT.KIN") == (1, 5)
    assert t.state(engine, "4B.PIT.GROUP") == (1, 5)


# -- 4E ---------------------------------------------------------------------------------------
def test_4e_relative_indian_non_indian_unknown_group_and_other(engine):
    t = Timelines()  # PIT date 2024-10-01
    cases = [
        ("a", "kin", None, None, "aian"),  # relative
        ("b", "foster_home", True, None, "white"),  # related caregiver
        ("c", "foster_home", None, True, "white"),  # non-relative Indian
        ("d", "ffa_home", False, False, "white"),  # non-relative non-Indian
        ("e", "guardian", None, None, "white"),  # caregiver's ethnicity unknown
        ("f", "group_home", None, True, "white"),  # group home
        ("g", "shelter", None, True, "white"),  # not a family home: other
    ]
    for child, setting, relative, indian, race in cases:
        t.child(child, "2015-01-01", race=race)
        t.icwa(child)
        episode = t.episode(child, "2024-01-01", placements=[("2024-01-01", setting, f"p-{child}")])
        t.caregiver(f"{episode}-p1", relative=relative, indian=indian)
    t.child("h", "2015-01-01", race="aian")  # not ICWA-eligible: 4E.2 only
    t.caregiver(f"{t.episode('h', '2024-01-01')}-p1", indian=True)
    t.child("i", "2015-01-01")  # neither
    t.episode("i", "2024-01-01")
    first = t.results(engine, "4E.1")
    assert counts(cell(first, "state")) == (3, 7)  # a, b, c
    assert shares(first, "placement_status") == {
        "relative": (2, 7), "indian": (1, 7), "non_indian": (1, 7), "unknown": (1, 7),
        "group_home": (1, 7), "other": (1, 7),
    }
    second = t.results(engine, "4E.2")
    assert counts(cell(second, "state")) == (2, 2)  # a (relative), h (Indian foster parent)


# -- 5B ---------------------------------------------------------------------------------------
def exam_timeline():
    t = Timelines()  # D = 2024-12-31
    t.child("a", "2024-03-01")
    t.episode("a", "2024-11-30")  # open 31 days
    t.exam("a", "2024-10-31")  # before the episode; 2 months under age 1: too old
    t.child("b", "2024-03-01")
    t.episode("b", "2024-12-01")  # open 30 days: outside
    t.exam("b", "2024-12-15")
    t.child("c", "2024-01-15")
    t.episode("c", "2024-06-01")
    t.exam("c", "2024-11-01")  # 1 month: timely under 1
    t.child("d", "2022-06-01")  # age 2
    t.episode("d", "2024-01-01")
    t.exam("d", "2024-07-01")  # 5 months < 6: timely
    t.exam("d", "2024-06-30", "dental")  # 6 months: not within 6
    t.child("e", "2021-12-31")  # 3 on D
    t.episode("e", "2024-01-01")
    t.exam("e", "2024-01-01")  # 11 months < 12
    t.exam("e", "2023-12-31", "dental")  # 12 months: not within 12
    t.child("f", "2024-01-01")  # under 1: no dental
    t.episode("f", "2024-02-01")
    t.exam("f", "2025-01-02")  # after D: no exam yet
    t.child("g", "2015-01-01")
    t.episode("g", "2023-01-01")
    t.exam("g", "2023-06-01")
    t.exam("g", "2024-02-01")  # the latest counts: 10 months
    t.exam("g", "2024-07-15", "dental")
    t.child("h", "2015-01-01")
    t.episode("h", "2023-01-01", "2024-12-31")  # left on D
    t.exam("h", "2024-12-01")
    return t


def test_5b_periodicity_edges(engine):
    t = exam_timeline()
    medical = t.results(engine, "5B.MED")
    assert counts(cell(medical, "state")) == (4, 6)  # c, d, e, g of a, c, d, e, f, g
    assert str(cell(medical, "state").period_start) == "2024-12-31"
    assert counts(cell(medical, "state", "age_group", "<1")) == (1, 3)  # c of a, c, f
    assert t.state(engine, "5B.DEN") == (1, 3)  # g of d, e, g


def test_5b_user_schedule_replaces_the_default(engine, tmp_path):
    path = tmp_path / "schedule.csv"
    # Everyone within 2 months (medical) and 24 months (dental).
    path.write_text("exam_type,min_age,max_age,within_months\nmedical,0,17,2\ndental,1,17,24\n")
    medical, dental = exam_measures(path)
    t = exam_timeline()
    results = evaluate(t.dataset(engine), [medical, dental], parse_windows("2024Q4"), quality_limits=False)
    state = results[(results.county == "state") & (results.stratum == "all")].set_index("measure_id")
    assert counts(state.loc["5B.MED"]) == (1, 6)  # c only: 1 month; a is 2 months, d 5, e 11, g 10
    assert counts(state.loc["5B.DEN"]) == (3, 3)  # d 6, e 12, g 5 months: all within 24


def test_periodicity_schedule_errors_name_the_file_and_row(tmp_path):
    default = periodicity_schedule()
    assert default.to_dict("records")[0] == {"exam_type": "medical", "min_age": 0, "max_age": 0, "within_months": 2}
    bad = tmp_path / "bad.csv"
    bad.write_text("exam_type,min_age,max_age,within_months\nmedical,0,17,12\ndental,1,17,x\n")
    with pytest.raises(InputError, match=r"within_months must be a whole number.*bad.csv, row 2"):
        periodicity_schedule(bad)
    with pytest.raises(InputError, match="does not cover age"):
        periodicity_schedule(pd.DataFrame({"exam_type": ["medical", "dental"], "min_age": ["1", "1"],
                                           "max_age": ["17", "17"], "within_months": ["12", "12"]}))
    with pytest.raises(InputError, match="overlap"):
        periodicity_schedule(pd.DataFrame({"exam_type": ["medical", "medical", "dental"],
                                           "min_age": ["0", "5", "1"], "max_age": ["17", "6", "17"],
                                           "within_months": ["12", "12", "12"]}))
    with pytest.raises(InputError, match="lacks column"):
        periodicity_schedule(pd.DataFrame({"exam_type": ["medical"]}))


# -- 5F ---------------------------------------------------------------------------------------
def test_5f_in_care_a_day_of_the_quarter_and_authorization_in_force(engine):
    t = Timelines()  # quarter 2024-10-01 .. 2024-12-31
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01")
    t.medication("a", "2024-06-01", "2024-10-01")  # ends on the quarter's first day: not in force
    t.child("b", "2015-01-01")
    t.episode("b", "2024-01-01", "2024-10-01")  # left on the first day: no day in care
    t.medication("b", "2024-06-01")
    t.child("c", "2015-01-01")
    t.episode("c", "2024-01-01", "2024-10-02")  # one day in care
    t.medication("c", "2024-12-31")
    t.child("d", "2015-01-01")
    t.episode("d", "2024-12-31")
    t.child("e", "2006-12-31")  # 18 on the quarter's last day
    t.episode("e", "2024-01-01")
    t.medication("e", "2024-01-01")
    t.child("f", "2015-01-01")
    t.episode("f", "2024-01-01", county=FRESNO)
    t.medication("f", "2024-07-01", "2024-10-02")
    results = t.results(engine, "5F")
    assert counts(cell(results, "state")) == (2, 4)  # c, f of a, c, d, f
    assert counts(cell(results, FRESNO)) == (1, 1)
    assert cell(results, "state").period_type == "quarter"


# -- 8A ---------------------------------------------------------------------------------------
def test_8a_age_bands_first_exit_and_null_outcomes(engine):
    t = Timelines()
    youth = [("a", "2007-03-01", True), ("b", "2006-01-01", None), ("c", "2004-12-01", True),
             ("d", "2003-01-01", False), ("e", "2008-07-01", True), ("f", "2002-01-01", True)]
    for child, birth, school in youth:  # ages at 2024-06-01: 17, 18, 19, 21, 15, 22
        t.child(child, birth)
        t.youth_exit(child, t.episode(child, "2023-01-01", "2024-06-01"), "2024-06-01",
                     completed_high_school=school, employed=child == "a")
    t.child("g", "2005-06-01")  # 18; two exits in the window, the first counts
    episode = t.episode("g", "2023-01-01", "2024-03-01", county=FRESNO)
    t.youth_exit("g", episode, "2024-03-01", completed_high_school=True)
    t.youth_exit("g", t.episode("g", "2024-05-01", "2024-09-01"), "2024-09-01", completed_high_school=False)
    school = t.results(engine, "8A.HS")
    assert counts(cell(school, "state")) == (3, 5)  # a, c, g of a, b, c, d, g
    assert counts(cell(school, FRESNO)) == (1, 1)
    assert counts(cell(school, "state", "age_group", "<18")) == (1, 1)
    assert counts(cell(school, "state", "age_group", "18")) == (1, 2)  # g yes, b unknown
    assert counts(cell(school, "state", "age_group", "19")) == (1, 1)
    assert counts(cell(school, "state", "age_group", "20-21")) == (0, 1)
    assert t.state(engine, "8A.EMP") == (1, 5)


# -- LOS --------------------------------------------------------------------------------------
def los_timeline():
    t = Timelines()  # cohort 2024, extract 2025-06-30
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01", "2024-01-31", "reunification", county=FRESNO)  # 30 days
    t.child("b", "2015-01-01")
    t.episode("b", "2024-02-01", "2024-04-01", "adoption", county=FRESNO)  # 60 days
    t.child("c", "2015-01-01", sex="male")
    t.episode("c", "2024-03-01")  # open: censored at 486 days
    t.child("d", "2015-01-01")
    t.episode("d", "2024-04-01", "2024-07-01", "reunification")  # 91 days
    t.child("e", "2015-01-01")
    t.episode("e", "2024-05-01", "2024-05-05")  # 4 days: not in the cohort
    t.child("f", "2015-01-01")
    t.episode("f", "2024-06-01", "2024-11-01", "guardianship")  # 153 days
    return t


def test_los_kaplan_meier_median_and_quartiles_by_hand(engine):
    # Exits at 30, 60, 91, 153 days, one censored at 486, n = 5:
    # S(30) = 4/5, S(60) = 3/5, S(91) = 2/5, S(153) = 1/5.
    t = los_timeline()
    median = t.results(engine, "LOS", extract="2025-06-30")
    state = cell(median, "state")
    assert (state.value, state.denominator) == (91, 5) and math.isnan(state.numerator)
    assert state.note is None
    # Fresno: 30 and 60, S = 1/2 then 0: the median is the midpoint, 45 (as the plain median)
    assert cell(median, FRESNO).value == 45
    # Alameda: 91, 153 and the censored 486: S = 2/3, 1/3 -> 153
    assert cell(median, ALAMEDA).value == 153
    # only c is male and still in care: no estimate, a note instead
    male = cell(median, "state", "sex", "male")
    assert math.isnan(male.value) and male.note.startswith("**") and male.denominator == 1
    assert cell(t.results(engine, "LOS.Q1", extract="2025-06-30"), "state").value == 60  # S < 3/4
    third = t.results(engine, "LOS.Q3", extract="2025-06-30")
    assert cell(third, "state").value == 153  # S < 1/4
    assert math.isnan(cell(third, ALAMEDA).value)  # S stays at 1/3


def test_los_cumulative_exits_by_type_with_competing_exits(engine):
    t = los_timeline()
    six = t.results(engine, "LOS.EXIT6", extract="2025-06-30")  # 182.625 days
    assert cell(six, "state").value == pytest.approx(80)  # 1 - S(153) = 4/5
    # Aalen-Johansen: reunification 1/5 at 30 + S(91-) 3/5 x 1/3 at 91 = 2/5; adoption
    # S(60-) 4/5 x 1/4 = 1/5; guardianship S(153-) 2/5 x 1/2 = 1/5
    by_type = {v: cell(six, "state", "exit_type", v).value for v in
               ("reunification", "adoption", "guardianship", "emancipation", "other")}
    assert by_type == pytest.approx({"reunification": 40, "adoption": 20, "guardianship": 20,
                                     "emancipation": 0, "other": 0})
    assert cell(six, "state", "exit_type", "adoption").denominator == 5
    # Fresno: everyone left before the horizon, so the estimate exists: 100%
    assert cell(six, FRESNO).value == pytest.approx(100)
    two_years = t.results(engine, "LOS.EXIT24", extract="2025-06-30")  # 730.5 days
    row = cell(two_years, "state")  # nobody observed that long, one still in care
    assert math.isnan(row.value) and row.note.startswith("**")
    assert cell(two_years, FRESNO).value == pytest.approx(100)


def test_compute_option_replaces_the_schedule(tmp_path):
    from cwoutcomes.cli import selected_measures

    path = tmp_path / "schedule.csv"
    path.write_text("exam_type,min_age,max_age,within_months\nmedical,0,17,2\ndental,1,17,24\n")
    selection = selected_measures("5B.MED,5B.DEN,5F", periodicity_schedule=path)
    assert [m.id for m in selection] == ["5B.MED", "5B.DEN", "5F"]
    results = evaluate(exam_timeline().dataset("duckdb"), selection[:2], parse_windows("2024Q4"),
                       quality_limits=False)
    state = results[(results.county == "state") & (results.stratum == "all")].set_index("measure_id")
    assert counts(state.loc["5B.MED"]) == (1, 6) and counts(state.loc["5B.DEN"]) == (3, 3)
    path.write_text("exam_type,min_age,max_age,within_months\nmedical,0,17,2\n")
    with pytest.raises(InputError, match="schedule"):
        selected_measures("5B.MED", periodicity_schedule=path)
