"""Core Practice Model process measures (measures.md §5, G19, G21.2, G21.3, G21.11) on
hand-made timelines. Window 2024Q4 = 2024-01-01 .. 2024-12-31 unless a test says otherwise."""

from timelines import FRESNO, Timelines, cell

from cwoutcomes.engine.evaluator import evaluate
from cwoutcomes.engine.periods import parse_window
from cwoutcomes.measures import registry

CPM = ("CPM-CFT", "CPM-NET", "CPM-SA", "CPM-RA", "CPM-ALIGN", "CPM-PLAN", "CPM-AFTER", "CPM-VOICE")


def test_cft_counts_meetings_0_to_60_days_after_removal(engine):
    t = Timelines()
    for child, meeting in (("day0", "2024-03-01"), ("day60", "2024-04-30"), ("day61", "2024-05-01"),
                           ("before", "2024-02-29")):
        t.child(child, "2015-06-01")
        t.episode(child, "2024-03-01")
        t.practice_event(child, "cft_meeting", meeting)
    # Events match by child and date: a meeting recorded on no episode still counts.
    t.child("unlinked", "2015-06-01")
    t.episode("unlinked", "2024-07-01", "2024-12-01")
    t.practice_event("unlinked", "cft_meeting", "2024-07-20", episode_id=None)
    # Another practice is not a CFT meeting.
    t.child("other", "2015-06-01")
    t.episode("other", "2024-07-01")
    t.practice_event("other", "safety_plan", "2024-07-02")
    assert t.state(engine, "CPM-CFT") == (3, 6)


def test_cft_eight_day_rule_filter_then_pick_and_r4(engine):
    t = Timelines()
    # A 7-day first entry is passed over for the child's next entry (filter, then pick), whose
    # 0-60 days hold no meeting; the meeting during the short stay does not count.
    t.child("short", "2015-06-01")
    t.episode("short", "2024-02-01", "2024-02-08")
    t.episode("short", "2024-03-01")
    t.practice_event("short", "cft_meeting", "2024-02-02")
    t.child("eight", "2015-06-01")
    t.episode("eight", "2024-05-01", "2024-05-09")  # 8 days: kept
    t.practice_event("eight", "cft_meeting", "2024-05-05")
    t.child("open", "2015-06-01")
    t.episode("open", "2024-12-30")  # open: kept whatever its length
    t.child("r4", "2015-06-01")
    flagged = t.episode("r4", "2024-06-01")
    t.flag("episodes", flagged, "R4")
    t.practice_event("r4", "cft_meeting", "2024-06-02")
    assert t.state(engine, "CPM-CFT") == (1, 3)


def test_voice_ages_4_to_17_and_cft_0_to_17_at_removal(engine):
    t = Timelines()
    t.child("three", "2020-03-02")  # 3 on 2024-03-01: CFT only
    t.episode("three", "2024-03-01")
    t.practice_event("three", "cft_meeting", "2024-03-10")
    t.practice_event("three", "three_houses", "2024-03-10")
    t.child("four", "2020-03-01")  # 4 on its birthday
    t.episode("four", "2024-03-01")
    t.practice_event("four", "three_houses", "2024-04-01")
    t.child("eighteen", "2006-03-01")  # 18 on removal: neither
    t.episode("eighteen", "2024-03-01")
    t.practice_event("eighteen", "three_houses", "2024-03-02")
    t.practice_event("eighteen", "cft_meeting", "2024-03-02")
    t.child("seventeen", "2006-03-02")
    t.episode("seventeen", "2024-03-01")
    t.practice_event("seventeen", "three_houses", "2024-05-01")  # 61 days: late
    t.child("unknown", None)  # no birth date: neither
    t.episode("unknown", "2024-03-01")
    t.practice_event("unknown", "cft_meeting", "2024-03-02")
    # Aged 3 at the first entry, 4 at the second: VOICE picks the second, CFT the first.
    t.child("grows", "2020-06-01")
    t.episode("grows", "2024-02-01", "2024-03-01")
    t.episode("grows", "2024-07-01")
    t.practice_event("grows", "three_houses", "2024-07-15")
    assert t.state(engine, "CPM-VOICE") == (2, 3)
    results = t.results(engine, "CPM-CFT")
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (1, 4)
    assert cell(results, "state", "age_group", "3-5").denominator == 3  # three, four, grows
    assert cell(results, "state", "age_group", "16-17").denominator == 1


def test_net_counts_events_and_null_network_is_absent(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    episode = t.episode("a", "2024-01-15", county=FRESNO)
    t.practice_event("a", "cft_meeting", "2024-02-01", network=True, episode_id=episode)
    t.practice_event("a", "safety_plan", "2024-03-01", network=None, episode_id=episode)
    t.practice_event("a", "aftercare_safety_plan", "2024-04-01", network=False, episode_id=episode)
    t.practice_event("a", "three_houses", "2024-05-01", network=True)  # not a network practice
    t.practice_event("a", "cft_meeting", "2023-12-31", network=True)  # before the window
    t.practice_event("a", "safety_plan", "2025-01-01", network=True)  # after it
    t.child("b", "2006-06-01")  # turns 18 on 2024-06-01
    t.practice_event("b", "cft_meeting", "2024-05-31", network=True)
    t.practice_event("b", "cft_meeting", "2024-06-01", network=True)
    results = t.results(engine, "CPM-NET")
    state = cell(results, "state")
    assert (state.numerator, state.denominator) == (2, 4)
    cft = cell(results, "state", "practice", "cft_meeting")
    assert (cft.numerator, cft.denominator) == (2, 2)
    # County: the event's own episode (a); b has no episode or referral, so state only.
    fresno = cell(results, FRESNO)
    assert (fresno.numerator, fresno.denominator) == (1, 3)


def test_net_county_of_referral_stage_events(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2020-01-01", "2020-06-01")  # Alameda, earlier
    t.referral("a", "2024-03-01", county=FRESNO, contact="2024-03-01")
    t.practice_event("a", "safety_plan", "2024-03-02", network=True)  # latest anchor: Fresno referral
    t.practice_event("a", "safety_plan", "2024-02-01", network=False)  # latest anchor: Alameda episode
    results = t.results(engine, "CPM-NET")
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 1)
    assert (cell(results, "06001").numerator, cell(results, "06001").denominator) == (0, 1)
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (1, 2)


def test_sa_safety_assessment_0_to_2_days_after_contact_contacted_or_not(engine):
    t = Timelines()
    t.child("c", "2015-06-01")
    t.child("adult", "2006-01-01")
    t.episode("c", "2020-01-01", "2020-02-01")
    r1 = t.referral("c", "2024-03-01T10:00", contact="2024-03-01T12:00")
    t.assessment("c", "safety", "2024-03-03", "safe", referral_id=r1)  # 2 days after contact
    r2 = t.referral("c", "2024-03-01", response="ten_day", contact="2024-03-05")
    t.assessment("c", "safety", "2024-03-08", "safe", referral_id=r2)  # 3 days: late
    r3 = t.referral("c", "2024-03-01")  # never contacted: fails
    t.assessment("c", "safety", "2024-03-01", "safe", referral_id=r3)
    r4 = t.referral("c", "2024-03-01", contact="2024-02-28")  # contact before receipt: none
    t.assessment("c", "safety", "2024-02-29", "safe", referral_id=r4)
    r5 = t.referral("c", "2024-03-01", response="evaluated_out", contact="2024-03-01")  # not counted
    t.assessment("c", "safety", "2024-03-01", "safe", referral_id=r5)
    r6 = t.referral("c", "2024-05-01", response="ten_day", contact="2024-05-02", contact_status="attempted")
    t.assessment("c", "safety", "2024-05-02", "unsafe", referral_id=r6)  # same day as contact
    r7 = t.referral("c", "2024-06-01", contact="2024-06-02")
    t.assessment("c", "safety", "2024-06-01", "safe", referral_id=r7)  # before the contact
    r8 = t.referral("adult", "2024-06-01", contact="2024-06-01")  # no victim aged 0-17
    t.assessment("adult", "safety", "2024-06-01", "safe", referral_id=r8)
    r9 = t.referral("c", "2023-12-31", contact="2023-12-31")  # before the window
    t.assessment("c", "safety", "2023-12-31", "safe", referral_id=r9)
    t.referral("c", "2024-07-01", contact="2024-07-01")  # assessed only on another referral
    t.assessment("c", "safety", "2024-07-01", "safe", referral_id=r1)
    t.referral(["adult", "c"], "2024-08-01", contact="2024-08-05")  # one minor is enough
    results = t.results(engine, "CPM-SA")
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (2, 8)
    immediate = cell(results, "state", "response_type", "immediate")
    assert (immediate.numerator, immediate.denominator) == (1, 6)
    ten_day = cell(results, "state", "response_type", "ten_day")
    assert (ten_day.numerator, ten_day.denominator) == (1, 2)


def test_ra_risk_assessment_within_30_days_of_receipt(engine):
    t = Timelines()
    t.child("c", "2015-06-01")
    t.episode("c", "2020-01-01", "2020-02-01")
    r1 = t.referral("c", "2024-03-01")  # never contacted still counts for RA
    t.assessment("c", "risk", "2024-03-31", "low", referral_id=r1)  # 30 days
    r2 = t.referral("c", "2024-03-01", contact="2024-03-01")
    t.assessment("c", "risk", "2024-04-01", "low", referral_id=r2)  # 31 days
    r3 = t.referral("c", "2024-03-01T23:00", contact="2024-03-01T23:30")
    t.assessment("c", "risk", "2024-03-01", "high", referral_id=r3)  # same date
    r4 = t.referral("c", "2024-03-01", contact="2024-03-01")
    t.assessment("c", "risk_reassessment", "2024-03-02", "low", referral_id=r4)  # other type
    r5 = t.referral("c", "2024-03-01", contact="2024-03-01")
    t.assessment("c", "safety", "2024-03-01", "safe", referral_id=r5)
    r6 = t.referral("c", "2024-03-01", response="ten_day", contact="2024-03-03")
    t.assessment("c", "risk", None, None, referral_id=r6)  # never completed
    assert t.state(engine, "CPM-RA") == (2, 6)


def test_align_first_high_risk_in_window_and_services_0_to_30_days(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    ra = t.referral("a", "2024-01-30", county=FRESNO, contact="2024-01-30")
    t.assessment("a", "risk", "2024-02-01", "high", referral_id=ra)
    t.service_referral("a", "2024-03-02")  # 30 days (leap February)
    t.child("b", "2015-06-01")
    t.assessment("b", "risk", "2024-01-10", "moderate")
    t.assessment("b", "risk", "2024-04-01", "very_high")  # b's first high result
    t.service_referral("b", "2024-05-02")  # 31 days: late
    t.assessment("b", "risk", "2024-06-01", "very_high")  # a later high result does not restart
    t.service_referral("b", "2024-06-05")
    t.child("c", "2015-06-01")
    t.assessment("c", "risk", "2023-12-20", "very_high")  # before the window
    t.service_referral("c", "2023-12-21")
    t.assessment("c", "risk", "2024-03-01", "high")
    t.service_referral("c", "2024-02-28")  # before the assessment
    t.child("d", "2015-06-01")
    t.assessment("d", "risk", "2024-05-01", "high")
    t.service_referral("d", "2024-05-01")  # same day
    t.child("adult", "2006-01-01")
    t.assessment("adult", "risk", "2024-05-01", "high")
    t.service_referral("adult", "2024-05-02")
    t.child("e", "2015-06-01")
    t.assessment("e", "risk", None, "high")  # not completed
    t.assessment("e", "risk_reassessment", "2024-05-01", "high")  # not the risk assessment
    results = t.results(engine, "CPM-ALIGN")
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (2, 4)
    assert (cell(results, FRESNO).numerator, cell(results, FRESNO).denominator) == (1, 1)


def test_plan_episodes_with_60_days_in_window_and_plans_up_to_window_end(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2023-06-01", "2024-03-01")  # Jan 1 - Feb 29: 60 days in the window
    t.practice_event("a", "behaviorally_based_case_plan", "2023-07-01")  # before the window: counts
    t.child("b", "2015-06-01")
    t.episode("b", "2023-06-01", "2024-02-29")  # 59 days: out
    t.practice_event("b", "behaviorally_based_case_plan", "2024-01-05")
    t.child("c", "2015-06-01")
    t.episode("c", "2024-11-02")  # Nov 2 - Dec 31: 60 days
    t.practice_event("c", "behaviorally_based_case_plan", "2025-01-05")  # after the window
    t.child("d", "2015-06-01")
    t.episode("d", "2024-03-01", "2024-08-01")
    t.practice_event("d", "behaviorally_based_case_plan", "2024-08-01")  # on the exit day: outside
    t.child("e", "2015-06-01")
    t.episode("e", "2024-03-01")
    t.practice_event("e", "behaviorally_based_case_plan", "2024-02-28")  # before removal
    t.child("adult", "2006-01-01")  # 18 on the window's first day
    t.episode("adult", "2023-01-01")
    t.practice_event("adult", "behaviorally_based_case_plan", "2024-02-01")
    t.child("g", "2015-06-01")
    t.episode("g", "2024-02-01", agency="probation")
    t.practice_event("g", "behaviorally_based_case_plan", "2024-12-31")
    results = t.results(engine, "CPM-PLAN")
    assert (cell(results, "state").numerator, cell(results, "state").denominator) == (2, 5)
    probation = cell(results, "state", "agency", "probation")
    assert (probation.numerator, probation.denominator) == (1, 1)


def test_after_network_plan_1_to_90_days_before_exit(engine):
    t = Timelines()
    cases = (
        ("a", "reunification", "2024-05-31", True),  # 1 day before
        ("b", "reunification", "2024-06-01", True),  # exit day: not before
        ("c", "guardianship", "2024-03-03", True),  # 90 days
        ("d", "living_with_relative", "2024-03-02", True),  # 91 days
        ("e", "reunification", "2024-05-01", None),  # network unknown = absent
        ("f", "adoption", "2024-05-01", True),  # not an after-care exit
        ("h", "reunification", "2024-05-01", False),
    )
    for child, reason, plan, network in cases:
        t.child(child, "2015-06-01")
        t.episode(child, "2024-01-10", "2024-06-01", reason)
        t.practice_event(child, "aftercare_safety_plan", plan, network=network)
    t.practice_event("h", "cft_meeting", "2024-05-01", network=True)  # not an after-care plan
    t.child("adult", "2006-06-01")  # 18 on the exit day
    t.episode("adult", "2024-01-10", "2024-06-01", "reunification")
    t.practice_event("adult", "aftercare_safety_plan", "2024-05-01", network=True)
    assert t.state(engine, "CPM-AFTER") == (2, 6)


def test_measures_are_not_available_without_their_tables(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-03-01")
    t.report("a", "2024-03-01")
    ds = t.dataset(engine)
    results = evaluate(ds, [registry()[m] for m in CPM], [parse_window("2024Q4")], quality_limits=False)
    assert set(results.status) == {"not_available"}
    assert set(results.measure_id) == set(CPM)
    assert results.value.isna().all()

    # With practice events but no assessments: only the assessment measures are unavailable.
    t.practice_event("a", "cft_meeting", "2024-03-02")
    ds = t.dataset(engine)
    results = evaluate(ds, [registry()[m] for m in CPM], [parse_window("2024Q4")], quality_limits=False)
    status = results[results.county == "state"].groupby("measure_id").status.first().to_dict()
    assert {m for m, s in status.items() if s == "not_available"} == {"CPM-SA", "CPM-RA", "CPM-ALIGN"}
    assert cell(results[results.measure_id == "CPM-CFT"], "state").value == 100.0


def test_follow_up_marks_recent_windows_incomplete(engine):
    t = Timelines()
    t.child("a", "2015-06-01")
    t.episode("a", "2024-12-01")
    t.practice_event("a", "cft_meeting", "2024-12-05")
    # CFT needs 60 days after the window's end (2024-12-31 + 60 days = 2025-03-01).
    assert cell(t.results(engine, "CPM-CFT", extract="2025-02-28"), "state").status == "incomplete"
    assert cell(t.results(engine, "CPM-CFT", extract="2025-03-01"), "state").status == "ok"


def test_practice_outcomes_compare_received_with_not_received(engine):
    from cwoutcomes.measures.practice_outcomes import practice_outcomes

    t = Timelines()
    for child in "abcdefg":
        t.child(child, "2015-06-01")
    # 4-P1 entries of 2024: CFT meeting 0-60 days after removal?
    t.episode("a", "2024-02-01", "2024-06-01", "reunification")  # permanency; CFT on day 9
    t.episode("a", "2024-09-01")  # re-entry within 12 months of the June exit
    t.practice_event("a", "cft_meeting", "2024-02-10")
    t.episode("b", "2024-03-01")  # no permanency; CFT on day 75: not received
    t.practice_event("b", "cft_meeting", "2024-05-15")
    t.episode("c", "2024-04-01", "2025-06-01", "adoption")  # permanency after 12 months
    t.episode("d", "2024-05-01", "2024-07-01", "reunification", county=FRESNO)  # CFT with network
    t.practice_event("d", "cft_meeting", "2024-05-02", network=True)
    t.episode("e", "2023-06-01", "2024-03-01", "reunification")  # exits in 2024, re-enters
    t.episode("e", "2024-05-01")  # e's 2024 entry: no permanency
    # 4-S2: f recurs 31 days later after a safety plan on day 4; g's plan on day 19 is late.
    t.report("f", "2024-03-01")
    t.report("f", "2024-04-01")
    t.practice_event("f", "safety_plan", "2024-03-05")
    t.report("g", "2024-03-01")
    t.practice_event("g", "safety_plan", "2024-03-20")
    ds = t.dataset(engine)
    table = practice_outcomes(ds, ["2024Q4"])

    def pair(practice, measure, county="state"):
        rows = table[(table.county == county) & (table.practice == practice) & (table.outcome_measure == measure)]
        rows = rows.drop_duplicates(["group"]).set_index("group")
        return [tuple(rows.loc[g, ["numerator", "denominator"]]) for g in ("received", "not_received")]

    # Entries a, b, c, d, e: a and d had a CFT meeting in time, both reached permanency.
    assert pair("cft_meeting", "4-P1") == [(2, 2), (0, 3)]
    assert pair("network_present", "4-P1") == [(1, 1), (1, 4)]
    # Exits a, d, e: CFT during the episode for a (re-entered) and d; e re-entered without.
    assert pair("cft_meeting", "4-P4") == [(1, 2), (1, 1)]
    assert pair("safety_plan", "4-S2") == [(1, 1), (0, 1)]
    assert pair("cft_meeting", "4-P1", FRESNO) == [(1, 1), (0, 0)]
    # Each pair adds up to the outcome measure itself.
    for measure in ("4-P1", "4-P4", "4-S2"):
        num, den = t.state(engine, measure)
        for practice in ("cft_meeting", "safety_plan", "coaching"):
            (n1, d1), (n0, d0) = pair(practice, measure)
            assert (n1 + n0, d1 + d0) == (num, den)
    # One row per component the crosswalk links the practice and outcome in; no assessments table.
    cft = table[(table.county == "state") & (table.practice == "cft_meeting") & (table.outcome_measure == "4-P1")]
    assert sorted(cft.component.unique()) == ["assessment", "engaging", "monitoring", "service_planning",
                                              "transitions"]
    assert "assessments" not in set(table.practice)
    assert table.note.str.contains("not causal").all()
    assert cell_value(table, "cft_meeting", "4-P1", "received") == 100.0

    public = practice_outcomes(ds, ["2024Q4"], public=True)
    fresno = public[(public.county == FRESNO) & (public.practice == "cft_meeting") & (public.outcome_measure == "4-P1")]
    assert set(fresno.status) == {"masked"} and fresno.numerator.isna().all()


def cell_value(table, practice, measure, group):
    rows = table[(table.county == "state") & (table.practice == practice) & (table.outcome_measure == measure)
                 & (table.group == group)]
    assert rows.value.nunique() == 1
    return rows.value.iloc[0]
