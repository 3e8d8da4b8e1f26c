"""4-S1, 4-S2 and 3-S2 on hand-made timelines (G8, G18.4, G18.5)."""

from timelines import FRESNO, Timelines, cell


def test_s1_days_and_report_after_seven_days(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-03-01", "2024-04-10", "reunification")  # 40 days
    t.report("a", "2024-03-07")  # 6 days after removal: not counted
    t.report("a", "2024-03-08")  # removal + 7: counted
    t.report("a", "2024-04-10")  # exit day: outside the episode
    t.report("a", "2024-03-20", disposition="unfounded")  # not a victim report
    assert t.state(engine, "4-S1") == (1, 40)


def test_s1_incident_before_removal_dropped_and_duplicates_a_day_apart(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01")  # whole 2024 in care: 366 days capped at 365
    t.report("a", "2024-03-01", incident="2023-12-20")  # happened before care: dropped
    t.report("a", "2024-05-01")
    t.report("a", "2024-05-02")  # a day after a counted report: dropped
    t.report("a", "2024-05-03")  # two days after the counted one: counted
    t.report("a", "2024-07-01T09:00")
    t.report("a", "2024-07-01T15:00", county=FRESNO)  # same day: one report
    assert t.state(engine, "4-S1") == (3, 365)


def test_s1_turning_18_ends_days_and_reports(engine):
    t = Timelines()
    t.child("a", "2006-07-01")
    t.episode("a", "2024-01-01")  # 18 on 2024-07-01: 182 days
    t.report("a", "2024-06-30")
    t.report("a", "2024-07-01")  # on the 18th birthday: outside
    assert t.state(engine, "4-S1") == (1, 182)


def test_s1_short_episode_excluded_with_its_reports(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-03-01", "2024-03-08", "reunification")  # 7 days: excluded
    t.report("a", "2024-03-08")
    t.child("b", "2015-01-01")
    t.episode("b", "2024-12-01")  # 31 days to pe
    assert t.state(engine, "4-S1") == (0, 31)


def test_s2_recurrence_at_14_15_365_366_days(engine):
    t = Timelines()
    t.child("d14", "2015-01-01")
    t.report("d14", "2024-02-01")
    t.report("d14", "2024-02-15")  # 14 days: ignored
    t.child("d15", "2015-01-01")
    t.report("d15", "2024-02-01")
    t.report("d15", "2024-02-16")  # 15 days: recurrence
    t.child("d365", "2015-01-01")
    t.report("d365", "2024-03-01")
    t.report("d365", "2025-03-01")  # 365 days: recurrence
    t.child("d366", "2015-01-01")
    t.report("d366", "2024-03-01")
    t.report("d366", "2025-03-02")  # 366 days: not
    assert t.state(engine, "4-S2") == (2, 4)


def test_s2_same_incident_fatality_age_and_earlier_reports(engine):
    t = Timelines()
    t.child("same", "2015-01-01")
    t.report("same", "2024-02-01", incident="2024-01-20")
    t.report("same", "2024-04-01", incident="2024-01-20")  # same incident: not a recurrence
    t.child("fatal", "2015-01-01")
    t.report("fatal", "2024-02-01", fatality=True)  # fatality: excluded
    t.child("adult", "2006-01-01")
    t.report("adult", "2024-02-01")  # 18 on the initial report: excluded
    t.child("before", "2015-01-01")
    t.report("before", "2023-12-20")  # before the window: not an initial report
    t.report("before", "2024-02-01")  # initial report
    t.report("before", "2024-03-01")  # recurrence
    assert t.state(engine, "4-S2") == (1, 2)


def test_s2_follow_up_incomplete_and_county_of_initial_report(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.report("a", "2024-02-01", county=FRESNO)
    t.report("a", "2024-06-01")
    results = t.results(engine, "4-S2", extract="2025-12-30")
    assert cell(results, "state").status == "incomplete"
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 1)
    assert cell(results, "06001").denominator == 0


def test_3s2_first_two_kept_reports_compared(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.report("a", "2024-02-01", incident="2024-01-25")
    t.report("a", "2024-02-20", incident="2024-01-25")  # second kept report: same incident
    t.report("a", "2024-05-01")  # a later recurrence is not looked at in Round 3
    t.child("b", "2015-01-01")
    t.report("b", "2024-02-01")
    t.report("b", "2024-02-10")  # within 14 days: dropped
    t.report("b", "2024-03-01")  # second kept report: recurrence
    results_r3 = t.state(engine, "3-S2")
    results_r4 = t.state(engine, "4-S2")
    assert results_r3 == (1, 2)
    assert results_r4 == (2, 2)


def test_entry_rate_per_1000_children(engine):
    t = Timelines()
    t.child("a", "2019-01-01")
    t.episode("a", "2024-02-01", "2024-02-03", "reunification")  # 2 days: still an entry
    t.episode("a", "2024-05-01")  # same child: counted once
    t.child("b", "2006-01-01")
    t.episode("b", "2024-02-01")  # 18 at removal: not counted
    t.population(2024, "06001", 500)
    t.population(2024, FRESNO, 1500)
    t.population(2023, FRESNO, 99999)  # other year: not used
    results = t.results(engine, "4-ER")
    state = cell(results, "state")
    assert (state.numerator, state.denominator) == (1, 2000)
    assert state.value == 0.5
    assert cell(results, "06001").value == 2.0
