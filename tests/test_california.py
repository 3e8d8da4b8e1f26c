"""California's own measures (version `ca`), part 1: rates (ER, ER.FIRST, AR, SR, IC), 1B,
2B/2D and 2F/2S on hand-made timelines (measures.md §4, G18.12, G19, G21.2-G21.7). Every
expected number is worked out by hand in the comments."""

import numpy as np
import pytest

from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.explain import measure_sql
from cwoutcomes.engine.periods import parse_windows
from cwoutcomes.measures import registry
from timelines import ALAMEDA, FRESNO, Timelines, cell


def at(results, county="state", period_type=None, label=None, stratum="all", value="all"):
    """The one results row of a county, period and stratum value (2F/2S carry several periods)."""
    rows = results[(results.county == county) & (results.stratum == stratum) & (results.stratum_value == value)]
    if period_type is not None:
        rows = rows[rows.period_type == period_type]
    if label is not None:
        rows = rows[rows.period_label == label]
    assert len(rows) == 1, f"expected one row for {county}/{period_type}/{label}/{stratum}/{value}, got {len(rows)}"
    return rows.iloc[0]


def counts(row):
    return row.numerator, row.denominator


def test_explain_builds_sql_without_data():
    # `cwoutcomes explain` builds measures over unbound tables; one measure per construct
    # (period map, sibling pairs, caregiver flags, schedule, exit-type copies, anti-joins).
    for measure_id in ("2F", "4A.ALL", "4E.1", "5B.MED", "LOS.EXIT6", "1B"):
        assert "SELECT" in measure_sql(registry()[measure_id], "duckdb", "2024Q4").upper(), measure_id


# -- rates ------------------------------------------------------------------------------------
def test_er_entries_eight_days_age_first_entries_and_counties(engine):
    t = Timelines()
    t.population(2024, ALAMEDA, 1000)
    t.population(2024, FRESNO, 500)
    t.population(2023, ALAMEDA, 9999)  # another year: not the window's population
    t.child("a", "2015-01-01")
    t.episode("a", "2024-03-01", "2024-03-09")  # 8 days: an entry, and a first entry
    t.child("b", "2015-01-01")
    t.episode("b", "2024-03-01", "2024-03-08")  # 7 days: no
    t.child("c", "2015-01-01")
    t.episode("c", "2020-01-01", "2020-06-01")
    t.episode("c", "2024-12-30")  # open 1 day: an entry, but not a first entry
    t.child("d", "2006-05-01")
    t.episode("d", "2024-06-01")  # 18 at removal: no
    t.child("e", None)
    t.episode("e", "2024-06-01")  # no birth date: no
    t.child("f", "2015-01-01")
    t.episode("f", "2024-02-01", "2024-03-02")  # Alameda, 30 days, first ever
    t.episode("f", "2024-05-01", county=FRESNO)  # Fresno: counts there too, once statewide
    t.child("g", "2015-01-01")
    t.flag("episodes", t.episode("g", "2024-04-01", "2024-05-01"), "R4")  # left out (G21.2)
    t.child("h", "2006-09-01")
    # 17 at removal; G6 would end it on 2024-09-01 (7 days) but California uses the recorded
    # exit (G21.3): 11 days, an entry.
    t.episode("h", "2024-08-25", "2024-09-05")
    er = t.results(engine, "ER")
    # state: a, c, f, h = 4 per 1,500; Alameda: a, c, f, h = 4 per 1,000; Fresno: f = 1 per 500
    assert counts(cell(er, "state")) == (4, 1500)
    assert cell(er, "state").value == pytest.approx(4 / 1500 * 1000)
    assert counts(cell(er, ALAMEDA)) == (4, 1000)
    assert counts(cell(er, FRESNO)) == (1, 500)
    # age at removal: a, c, f are 9 (6-10), h is 17 (16-17); the population's age 5 is 3-5
    assert counts(cell(er, "state", "age_group", "6-10")) == (3, 0)
    assert counts(cell(er, "state", "age_group", "3-5")) == (0, 1500)
    first = t.results(engine, "ER.FIRST")
    # a, f (its Alameda episode is its first ever), h; Fresno none
    assert counts(cell(first, "state")) == (3, 1500)
    assert counts(cell(first, ALAMEDA)) == (3, 1000)
    assert counts(cell(first, FRESNO)) == (0, 500)


def test_ar_sr_count_children_once_with_their_most_severe_record(engine):
    t = Timelines()
    t.population(2024, ALAMEDA, 1000)
    t.population(2024, FRESNO, 500)
    t.child("x", "2013-06-01")
    t.allegation(t.timed_referral("2024-02-01T10:30"), "x", "physical_abuse", "unfounded")  # age 10
    t.allegation(t.timed_referral("2024-08-01", county=FRESNO), "x", "general_neglect")  # age 11, substantiated
    t.child("y", "2008-03-01")
    t.allegation(t.timed_referral("2024-01-15"), "y", "emotional_abuse")  # age 15
    t.allegation(t.timed_referral("2024-04-01"), "y", "sexual_abuse")  # age 16, more severe type
    t.child("z", "2006-01-01")
    t.allegation(t.timed_referral("2024-03-01"), "z", "general_neglect")  # 18 on receipt: out
    t.child("w", "2015-01-01")
    t.allegation(t.timed_referral("2023-12-31"), "w", "general_neglect")  # before the window
    t.child("v", "2020-01-01")
    t.allegation(t.timed_referral("2024-05-01"), "v", "general_neglect", "evaluated_out")
    ar = t.results(engine, "AR")
    assert counts(cell(ar, "state")) == (3, 1500)  # x, y, v
    assert counts(cell(ar, ALAMEDA)) == (3, 1000)  # x (Feb), y, v
    assert counts(cell(ar, FRESNO)) == (1, 500)  # x (Aug)
    # x's most severe record is the substantiated one at 11; y's the sexual abuse at 16
    assert cell(ar, "state", "age_group", "11-15").numerator == 1
    assert cell(ar, "state", "age_group", "16-17").numerator == 1
    assert cell(ar, "state", "age_group", "3-5").numerator == 1  # v
    sr = t.results(engine, "SR")
    assert counts(cell(sr, "state")) == (2, 1500)  # x, y
    assert counts(cell(sr, ALAMEDA)) == (1, 1000)  # y
    assert counts(cell(sr, FRESNO)) == (1, 500)  # x
    assert cell(sr, "state", "age_group", "16-17").numerator == 1


def test_ic_in_care_on_the_pit_date_with_that_years_population(engine):
    # Window 2025Q1: PIT 2025-01-01, so the 2025 population, not the window's 2024 one.
    t = Timelines()
    t.population(2024, ALAMEDA, 1000)
    t.population(2025, ALAMEDA, 800)
    t.child("a", "2015-01-01")
    t.episode("a", "2024-05-01")  # in care
    t.child("b", "2015-01-01")
    t.episode("b", "2024-05-01", "2025-01-01")  # left on the PIT date: not in care
    t.child("c", "2015-01-01")
    t.episode("c", "2025-01-01")  # removed on the PIT date: in care
    t.child("d", "2015-01-01")
    t.episode("d", "2025-01-02")
    t.child("e", "2007-01-01")
    t.episode("e", "2024-05-01")  # 18 on the PIT date
    t.child("f", "2015-01-01")
    t.flag("episodes", t.episode("f", "2024-05-01"), "R4")
    ic = t.results(engine, "IC", window="2025Q1")
    row = cell(ic, "state")
    assert counts(row) == (2, 800) and row.value == pytest.approx(2.5)
    assert (row.period_type, str(row.period_start), str(row.period_end)) == ("point_in_time", "2025-01-01", "2025-01-01")


# -- 1B ---------------------------------------------------------------------------------------
def test_1b_anchor_exclusions_and_recurrence_window(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.report("a", "2024-02-01")
    t.report("a", "2024-02-16")  # 15 days later: recurrence
    t.child("b", "2015-01-01")
    t.report("b", "2024-03-01")
    t.report("b", "2024-03-15")  # 14 days: too soon
    t.report("b", "2024-09-01")  # 6 months: too late
    t.child("c", "2015-01-01")
    t.report("c", "2024-04-30")
    t.report("c", "2024-10-29", county=FRESNO)  # 5 completed months (G4): recurrence, any county
    t.child("d", "2015-01-01")
    t.episode("d", "2024-01-10")
    t.report("d", "2024-02-01")  # in care that day: excluded
    t.child("e", "2015-01-01")
    t.report("e", "2024-05-01")
    t.episode("e", "2024-05-31")  # removed 30 days after: excluded
    t.child("f", "2015-01-01")
    t.report("f", "2024-05-01")
    t.episode("f", "2024-06-01")  # 31 days after: kept, no recurrence
    t.child("g", "2015-01-01")
    t.episode("g", "2023-12-01", "2024-01-20")
    t.report("g", "2024-01-05")  # the anchor is in care: child excluded (pick, then exclude)
    t.report("g", "2024-03-01")
    t.child("h", "2015-01-01")
    t.report("h", "2024-01-03", disposition="unfounded")
    t.report("h", "2024-07-01")  # first substantiated after the first 6 months: not in the cohort
    results = t.results(engine, "1B")
    assert counts(cell(results, "state")) == (2, 4)  # a, c of a, b, c, f
    assert counts(cell(results, FRESNO)) == (0, 0)  # the anchor's county counts


# -- 2B / 2D ----------------------------------------------------------------------------------
def test_2b_2d_immediate_24_hours_with_times_and_dates(engine):
    t = Timelines()
    t.timed_referral("2024-10-01T08:00", contact="2024-10-02T08:00", status="attempted")  # exactly 24 h
    t.timed_referral("2024-10-01T08:00", contact="2024-10-02T08:01")  # 24 h 1 min
    t.timed_referral("2024-10-01T08:00", contact="2024-10-02")  # a date only: next day counts
    t.timed_referral("2024-10-01", contact="2024-10-03T01:00")  # two days
    t.timed_referral("2024-10-05T10:00", contact="2024-10-05T09:00")  # before receipt
    t.timed_referral("2024-10-05", contact="2024-10-04")  # before receipt (dates)
    t.timed_referral("2024-10-06T10:00")  # never contacted
    t.timed_referral("2024-09-30T23:00", contact="2024-10-01T01:00")  # previous quarter
    t.timed_referral("2024-10-07T10:00", response="ten_day", contact="2024-10-07T11:00")
    t.timed_referral("2024-10-07T10:00", response="evaluated_out")
    t.timed_referral("2024-12-31T23:00", contact="2025-01-01T10:00", county=FRESNO)  # 11 h
    b = t.results(engine, "2B.IR")
    assert counts(cell(b, "state")) == (3, 8)  # the exact 24 h, the next day, Fresno's 11 h
    assert counts(cell(b, FRESNO)) == (1, 1)
    assert cell(b, "state").period_type == "quarter" and str(cell(b, "state").period_start) == "2024-10-01"
    d = t.results(engine, "2D.IR")
    assert counts(cell(d, "state")) == (2, 8)  # the attempted contact does not count


def test_2b_2d_ten_day_rule_on_dates(engine):
    t = Timelines()
    t.timed_referral("2024-11-01T15:00", response="ten_day", contact="2024-11-11T16:00")  # 10 days (> 240 h)
    t.timed_referral("2024-11-01", response="ten_day", contact="2024-11-12")  # 11 days
    t.timed_referral("2024-11-01T15:00", response="ten_day", contact="2024-11-01T09:00")  # before receipt
    t.timed_referral("2024-11-01", response="ten_day", contact="2024-11-01", status="attempted")  # same day
    t.timed_referral("2024-11-01T15:00", response="ten_day", contact="2024-11-01")  # same day, no time
    assert t.state(engine, "2B.10D") == (3, 5)
    assert t.state(engine, "2D.10D") == (2, 5)


# -- 2F / 2S ----------------------------------------------------------------------------------
def test_2f_whole_months_visits_residence_and_periods(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-03-01", "2024-06-01")  # March, April, May (leaves on June 1)
    t.contact("a", "2024-03-15")  # visited at home
    t.contact("a", "2024-04-10", method="phone")
    t.contact("a", "2024-05-10", status="attempted")
    t.child("b", "2015-01-01")
    t.episode("b", "2024-03-02")  # April to December: 9 months
    t.contact("b", "2024-04-20", location="other")
    t.contact("b", "2024-10-31")
    t.child("c", "2006-11-15")
    t.episode("c", "2023-01-01")  # under 18 on the first day up to November: 11 months
    t.contact("c", "2024-12-05")  # December is not eligible
    t.child("d", "2015-01-01")
    t.episode("d", "2024-01-01", "2024-02-10")  # January (Alameda)
    t.episode("d", "2024-02-10", county=FRESNO)  # February: no single episode; March on: Fresno
    results = t.results(engine, "2F")
    # eligible 3 + 9 + 11 + 11 = 34; visited a-Mar, b-Apr, b-Oct
    assert counts(at(results, period_type="year")) == (3, 34)
    assert counts(at(results, ALAMEDA, period_type="year")) == (3, 24)
    assert counts(at(results, FRESNO, period_type="year")) == (0, 10)
    assert counts(at(results, period_type="month", label="2024-03")) == (1, 3)  # a, c, d
    assert counts(at(results, period_type="month", label="2024-02")) == (0, 1)  # c only
    assert counts(at(results, period_type="quarter", label="2024Q4")) == (1, 8)  # b 3, c 2, d 3
    month = at(results, period_type="month", label="2024-10")
    assert (str(month.period_start), str(month.period_end)) == ("2024-10-01", "2024-10-31")
    residence = t.results(engine, "2F.RES")
    assert counts(at(residence, period_type="year")) == (2, 3)  # a-Mar and b-Oct at home
    # Overlapping windows do not repeat a month's or a quarter's rows.
    both = evaluate(t.dataset(engine), [registry()["2F"]], parse_windows("2024Q4,2025Q1"), quality_limits=False)
    assert counts(at(both, period_type="month", label="2024-10")) == counts(at(results, period_type="month", label="2024-10"))
    assert counts(at(both, period_type="quarter", label="2024Q4")) == (1, 8)
    # 2025Q1 (April 2024 - March 2025): a 2 + b 12 + c 8 + d 12 = 34; visited b-Apr, b-Oct
    assert counts(at(both, period_type="year", label="2025Q1")) == (2, 34)


def test_2s_in_home_months(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.service_case("a", "2024-01-01")  # every month
    t.contact("a", "2024-01-20")
    t.child("b", "2015-01-01")
    t.service_case("b", "2024-01-15", "2024-04-30")  # February and March (not open after April 30)
    t.child("c", "2015-01-01")
    t.service_case("c", "2024-01-01")
    t.episode("c", "2024-06-15", "2024-08-10")  # June, July, August have days in care
    t.contact("c", "2024-07-01")  # in a month in care: not a 2S visit
    t.child("e", "2006-07-15")
    t.service_case("e", "2024-01-01")  # under 18 on the first day through July: 7 months
    t.child("f", "2015-01-01")
    t.service_case("f", "2024-01-01")
    t.service_case("f", "2024-01-01", county=FRESNO)  # counted in both counties, once statewide
    t.contact("f", "2024-03-05", location="other")
    results = t.results(engine, "2S")
    # 12 (a) + 2 (b) + 9 (c) + 7 (e) + 12 (f) = 42; visited a-Jan, f-Mar
    assert counts(at(results, period_type="year")) == (2, 42)
    assert counts(at(results, ALAMEDA, period_type="year")) == (2, 42)
    assert counts(at(results, FRESNO, period_type="year")) == (1, 12)
    residence = t.results(engine, "2S.RES")
    assert counts(at(residence, period_type="year")) == (1, 2)


def test_visit_and_sibling_measures_not_available_without_their_tables(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01")
    for measure_id in ("2F", "2S", "4A.ALL", "5B.MED", "5F", "8A.HS"):
        results = t.results(engine, measure_id)
        assert set(results.status) == {"not_available"}, measure_id
        assert np.isnan(cell(results, "state").value)
