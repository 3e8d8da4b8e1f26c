"""4-P1..4-P3 on hand-made timelines (measures.md §1, G4, G6, G7, G11, G18)."""

from timelines import FRESNO, Timelines, cell


def test_p1_reunified_within_12_months_counts(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-01-31", "2025-01-30", "reunification")  # G4: 11 months -> within 12
    t.child("b", "2015-06-01")
    t.episode("b", "2024-01-31", "2025-01-31", "reunification")  # 12 months -> not within
    assert t.state(engine, "4-P1") == (1, 2)


def test_p1_feb29_removal_month_arithmetic(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-02-29", "2025-02-28", "adoption")  # G4 example: 11 completed months
    assert t.state(engine, "4-P1") == (1, 1)


def test_p1_eight_day_rule(engine):
    t = Timelines()
    t.child("seven", "2015-06-01")
    t.episode("seven", "2024-03-01", "2024-03-08", "reunification")  # 7 days: excluded
    t.child("eight", "2015-06-01")
    t.episode("eight", "2024-03-01", "2024-03-09", "reunification")  # 8 days: kept, permanency
    t.child("open", "2015-06-01")
    t.episode("open", "2024-12-30")  # open 1 day at extract: kept
    assert t.state(engine, "4-P1", extract="2024-12-31") == (1, 2)


def test_p1_first_entry_only_and_pick_then_exclude(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-02-01", "2024-02-05", "reunification")  # first entry, 4 days -> child out
    t.episode("a", "2024-03-01", "2024-04-01", "reunification")  # not moved to this one
    t.child("b", "2015-06-01")
    t.episode("b", "2024-05-01", "2024-06-01", "adoption")
    t.episode("b", "2024-08-01")
    assert t.state(engine, "4-P1") == (1, 1)


def test_p1_eighteenth_birthday(engine):
    t = Timelines()
    t.child("at18", "2006-03-01")
    t.episode("at18", "2024-03-01", "2024-05-01", "reunification")  # enters on 18th birthday: out
    t.child("turns18", "2006-09-01")
    t.episode("turns18", "2024-03-01", "2024-10-01", "reunification")  # exit after 18th: aged out
    t.child("before", "2006-09-01")
    t.episode("before", "2024-03-01", "2024-08-31", "reunification")  # day before 18th: permanency
    t.child("leap", "2006-02-28")
    t.episode("leap", "2024-01-10")
    assert t.state(engine, "4-P1") == (1, 3)


def test_p1_feb29_birth_turns_18_on_march_1(engine):
    t = Timelines()
    t.child("a", "2008-02-29")
    t.episode("a", "2025-06-01", "2026-02-28", "reunification")  # 2026-02-28 still 17
    t.child("b", "2008-02-29")
    t.episode("b", "2025-06-01", "2026-03-01", "reunification")  # exit on the 18th birthday
    assert t.state(engine, "4-P1", window="2025Q4") == (1, 2)


def test_p1_thv_adjustment_spec_examples(engine):
    t = Timelines()
    # THV began 2024-10-01, exit 2025-03-01 (151 days): treated as exit 2024-10-31 -> within 12.
    t.child("long", "2015-06-01")
    t.episode("long", "2024-01-15", "2025-03-01", "reunification", placements=[
        ("2024-01-15", "foster_home", "h1"), ("2024-10-01", "trial_home_visit", "home")])
    # THV of exactly 30 days: no adjustment; exit 2025-01-20 is 12 months after -> not within.
    t.child("short", "2015-06-01")
    t.episode("short", "2024-01-15", "2025-01-20", "reunification", placements=[
        ("2024-01-15", "foster_home", "h2"), ("2024-12-21", "trial_home_visit", "home2")])
    # THV before an adoption: no adjustment (reunification only).
    t.child("adopt", "2015-06-01")
    t.episode("adopt", "2024-01-15", "2025-03-01", "adoption", placements=[
        ("2024-01-15", "foster_home", "h3"), ("2024-10-01", "trial_home_visit", "home3")])
    assert t.state(engine, "4-P1") == (1, 3)


def test_p1_closed_without_reason_excluded_and_non_permanency(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-03-01", "2024-06-01", None)
    t.child("b", "2015-06-01")
    t.episode("b", "2024-03-01", "2024-06-01", "runaway")
    assert t.state(engine, "4-P1") == (0, 1)


def test_p1_data_quality_flag_and_missing_birth(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    flagged = t.episode("a", "2024-03-01", "2024-06-01")
    t.flag("episodes", flagged, "R8")
    t.child("b", None)
    t.episode("b", "2024-03-01", "2024-06-01")
    t.child("c", "2015-06-01")
    t.episode("c", "2024-03-01", "2024-06-01")
    assert t.state(engine, "4-P1") == (1, 1)


def test_p1_incomplete_until_12_months_after_window(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-03-01", "2024-06-01")
    results = t.results(engine, "4-P1", extract="2025-12-30")
    assert cell(results, "state").status == "incomplete"
    results = t.results(engine, "4-P1", extract="2025-12-31")
    assert cell(results, "state").status == "ok"


def test_p1_county_and_age_strata(engine):
    t = Timelines()
    t.child("a", "2024-01-01")
    t.episode("a", "2024-03-01", "2024-06-01", county=FRESNO)  # 2 months old: 0-3m
    t.child("b", "2014-01-01")
    t.episode("b", "2024-03-01")  # 10 years: 6-10
    results = t.results(engine, "4-P1")
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 1)
    assert (cell(results, "06001").numerator, cell(results, "06001").denominator) == (0, 1)
    assert cell(results, "state", "age_group", "0-3m").numerator == 1
    assert cell(results, "state", "age_group", "6-10").denominator == 1


def test_p2_in_care_12_to_23_months(engine):
    t = Timelines()
    t.child("in", "2012-01-01")
    t.episode("in", "2023-01-01", "2024-06-01", "guardianship")  # 12 months on 2024-01-01
    t.child("too_new", "2012-01-01")
    t.episode("too_new", "2023-01-02", "2024-06-01", "guardianship")  # 11 months
    t.child("left_on_ps", "2012-01-01")
    t.episode("left_on_ps", "2022-06-01", "2024-01-01", "reunification")  # exit on ps: in care
    t.child("stays", "2012-01-01")
    t.episode("stays", "2022-06-01")
    t.child("late", "2012-01-01")
    t.episode("late", "2022-06-01", "2025-01-01", "adoption")  # after pe
    assert t.state(engine, "4-P2") == (2, 4)


def test_p2_latest_episode_when_two_qualify_and_age(engine):
    t = Timelines()
    t.child("two", "2012-01-01")
    t.episode("two", "2022-06-01")  # overlapping records, both 12-23 months
    t.episode("two", "2022-12-01", "2024-05-01", "reunification")
    t.child("old", "2006-01-01")  # 18 on ps -> excluded
    t.episode("old", "2022-06-01")
    assert t.state(engine, "4-P2") == (1, 1)


def test_p3_in_care_24_months_or_more(engine):
    t = Timelines()
    t.child("a", "2012-01-01")
    t.episode("a", "2022-01-01", "2024-12-31", "adoption")  # exactly 24 months, exit on pe
    t.child("b", "2012-01-01")
    t.episode("b", "2022-01-02", "2024-12-31", "adoption")  # 23 months: P2 not P3
    t.child("aged", "2006-06-01")
    t.episode("aged", "2020-01-01", "2024-08-01", "adoption")  # turns 18 in care -> not permanency
    assert t.state(engine, "4-P3") == (1, 2)
