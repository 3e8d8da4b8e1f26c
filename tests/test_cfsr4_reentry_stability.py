"""4-P4, 3-P4 and 4-P5 on hand-made timelines (G7, G9, G18.6, G18.7)."""

from timelines import FRESNO, Timelines, cell


def test_p4_reentry_within_12_months_and_on_exit_day(engine):
    t = Timelines()
    t.child("same_day", "2015-01-01")
    t.episode("same_day", "2023-06-01", "2024-03-01", "reunification")
    t.episode("same_day", "2024-03-01")  # re-entry on the exit day counts
    t.child("eleven", "2015-01-01")
    t.episode("eleven", "2023-06-01", "2024-03-31", "guardianship")
    t.episode("eleven", "2025-03-30")  # 11 completed months after exit
    t.child("twelve", "2015-01-01")
    t.episode("twelve", "2023-06-01", "2024-03-31", "living_with_relative")
    t.episode("twelve", "2025-03-31", county=FRESNO)  # 12 months: not a re-entry
    t.child("adopted", "2015-01-01")
    t.episode("adopted", "2023-06-01", "2024-03-31", "adoption")  # not in the cohort
    t.episode("adopted", "2024-05-01")
    assert t.state(engine, "4-P4") == (2, 3)


def test_p4_eight_day_rule_and_first_qualifying_exit(engine):
    t = Timelines()
    t.child("short", "2015-01-01")
    t.episode("short", "2024-02-01", "2024-02-08", "reunification")  # 7 days: not a qualifying exit
    t.episode("short", "2024-03-01", "2024-04-01", "reunification")  # first qualifying exit
    t.episode("short", "2024-06-01")  # re-entry after the qualifying exit
    assert t.state(engine, "4-P4") == (1, 1)


def test_p4_reentry_must_start_before_18_and_exit_before_18(engine):
    t = Timelines()
    t.child("late", "2006-10-01")
    t.episode("late", "2024-01-01", "2024-06-01", "reunification")
    t.episode("late", "2024-10-01")  # re-entry on the 18th birthday does not count
    t.child("aged", "2006-05-01")
    t.episode("aged", "2023-01-01", "2024-06-01", "reunification")  # exit after 18th: aged out
    assert t.state(engine, "4-P4") == (0, 1)


def test_p4_overlapping_episode_is_data_quality_not_reentry(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2023-06-01", "2024-03-01", "reunification")
    overlap = t.episode("a", "2024-04-01")
    t.flag("episodes", overlap, "R8")
    assert t.state(engine, "4-P4") == (0, 1)


def test_p4_county_of_exiting_episode(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2023-06-01", "2024-03-01", "reunification", county=FRESNO)
    t.episode("a", "2024-05-01")  # re-enters in Alameda
    results = t.results(engine, "4-P4")
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 1)
    assert cell(results, "06001").denominator == 0
    assert cell(results, "state").status == "ok"


def test_3p4_entry_cohort_reentry(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-02-01", "2024-06-01", "reunification")
    t.episode("a", "2024-09-01")  # first entry in the window is the cohort episode; re-enters
    t.child("slow", "2015-01-01")
    t.episode("slow", "2024-02-01", "2025-02-01", "reunification")  # 12 months: not in denominator
    t.child("thv", "2015-01-01")  # no THV adjustment in 3-P4: exit 13 months after removal
    t.episode("thv", "2024-02-01", "2025-03-01", "reunification", placements=[
        ("2024-02-01", "foster_home", "h"), ("2024-06-01", "trial_home_visit", "home")])
    t.child("other", "2015-01-01")
    t.episode("other", "2024-02-01", "2024-05-01", "guardianship")
    assert t.state(engine, "3-P4") == (1, 2)


def test_p5_moves_and_days(engine):
    t = Timelines()
    # 2024-01-01 .. 2024-04-10 = 100 days; moves: h2 (2024-02-01), h3 (2024-03-01) = 2.
    # Respite and THV are not moves; returning from respite to h2 is no move (merged).
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01", "2024-04-10", "reunification", placements=[
        ("2024-01-01", "shelter", "h1"), ("2024-02-01", "foster_home", "h2"),
        ("2024-02-10", "respite", "r"), ("2024-02-12", "foster_home", "h2"),
        ("2024-03-01", "kin", "h3"), ("2024-04-01", "trial_home_visit", "home")])
    # Runaway then a new home: 1 move; re-licensed same provider is no move. 50 days.
    t.child("b", "2015-01-01")
    t.episode("b", "2024-05-01", "2024-06-20", "reunification", placements=[
        ("2024-05-01", "group_home", "g1"), ("2024-05-10", "runaway", None),
        ("2024-05-15", "group_home", "g2"), ("2024-06-01", "group_home", "g2")])
    assert t.state(engine, "4-P5") == (3, 150)


def test_p5_day_cap_open_episode_and_18th_birthday(engine):
    t = Timelines()
    t.child("open", "2015-01-01")
    t.episode("open", "2024-01-01")  # in care to pe: 366 days in 2024, capped at 365
    t.child("turns18", "2006-03-01")  # 18 on 2024-03-01: 60 days in care; a move after it ignored
    t.episode("turns18", "2024-01-01", "2024-06-01", "reunification", placements=[
        ("2024-01-01", "foster_home", "f1"), ("2024-02-01", "foster_home", "f2"),
        ("2024-04-01", "foster_home", "f3")])
    assert t.state(engine, "4-P5") == (1, 365 + 60)


def test_p5_more_moves_than_days_dropped(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01", "2024-01-09", "reunification", placements=[
        (f"2024-01-0{i}", "foster_home", f"h{i}") for i in range(1, 10)])
    # 8 days; moves on Jan 2..8 = 7 (the Jan 9 one is on the exit day, outside): kept.
    t.child("b", "2015-01-01")
    t.episode("b", "2024-02-01", "2024-02-09", "reunification", placements=[
        ("2024-02-01", "foster_home", "x0")] + [
        ("2024-02-0" + str(i), "2024-02-0" + str(i), "foster_home", f"x{i}{j}")
        for i in range(2, 9) for j in range(2)] + [("2024-02-08", "2024-02-09", "foster_home", "x9")])
    # b: 15 moves in 8 days -> dropped from numerator and denominator.
    assert t.state(engine, "4-P5") == (7, 8)


def test_p5_county_level_cap_per_child_per_county(engine):
    t = Timelines()
    t.child("a", "2015-01-01")
    t.episode("a", "2024-01-01", "2024-03-01", "reunification", county=FRESNO)  # 60 days
    t.episode("a", "2024-04-01", "2024-05-01", "reunification")  # 30 days
    results = t.results(engine, "4-P5")
    assert cell(results, FRESNO).denominator == 60
    assert cell(results, "06001").denominator == 30
    assert cell(results, "state").denominator == 90
