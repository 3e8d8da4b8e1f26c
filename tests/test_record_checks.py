"""Record checks R1-R11 (data-quality.md §1) on tiny hand-made data sets.

Each test adds failing rows and near misses to the clean BASE data set (see ingest_helpers) and
compares the data_quality rows with the answer worked out by hand. Extract date: 2024-12-31.
"""

import datetime as dt

from ingest_helpers import BASE, D, base, dq, keys, load

REJECTED, FLAGGED = "rejected", "flagged"


def test_base_data_set_is_clean(tmp_path):
    summary, con = load(tmp_path, base())
    assert dq(con) == []
    assert summary.rule_counts == {f"R{i}": 0 for i in range(1, 12)}
    assert summary.row_counts == {"children": 3, "referrals": 1, "allegations": 1, "episodes": 4,
                                  "placements": 5, "counties": 2}


def test_r1_codes_unparseable_values_and_required_nulls_are_rejected(tmp_path):
    child = {"race_ethnicity": "white", "birth_date": "2011-01-05", "sex": "male"}
    tables = base(
        children=[
            {**child, "child_id": "C4", "sex": "Female"},  # codes are lower case
            {**child, "child_id": "C5", "birth_date": "2024-13-45", "race_ethnicity": "purple"},
            {**child, "child_id": "C6", "birth_date": "2011-1-5"},  # not ISO
            {**child, "child_id": "C7", "icwa_eligible": "yes"},
            {**child, "child_id": "C8", "sex": "unknown", "icwa_eligible": "TRUE"},  # passes
        ],
        episodes=[{"episode_id": "E5", "child_id": "C3", "county": "06037", "agency": "child_welfare",
                   "removal_date": None}],  # removal_date may not be null
        population=[
            {"year": 2020, "county": "06001", "age": "3.5", "sex": "female", "race_ethnicity": "white",
             "population": 100},
            {"year": 2020, "county": "06001", "age": "3.0", "sex": "female", "race_ethnicity": "white",
             "population": 90},  # a whole number written as a float passes
        ],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R1") == [
        ("children", "C4", "sex", "Female", "R1", REJECTED),
        ("children", "C5", "birth_date", "2024-13-45", "R1", REJECTED),
        ("children", "C5", "race_ethnicity", "purple", "R1", REJECTED),
        ("children", "C6", "birth_date", "2011-1-5", "R1", REJECTED),
        ("children", "C7", "icwa_eligible", "yes", "R1", REJECTED),
        ("episodes", "E5", "removal_date", None, "R1", REJECTED),
        ("population", "2020|06001|3.5|female|white", "age", "3.5", "R1", REJECTED),
    ]
    # C5 fails twice but is one record.
    assert summary.rule_counts["R1"] == 6
    assert keys(con, "children") == ["C1", "C2", "C3", "C8"]
    assert con.execute("SELECT icwa_eligible FROM children WHERE child_id = 'C8'").fetchone() == (True,)
    assert con.execute("SELECT age, population FROM population").fetchall() == [(3, 90)]
    assert "E5" not in keys(con, "episodes")


def test_r2_later_duplicates_are_rejected_in_source_order(tmp_path):
    tables = base(
        children=[
            {"child_id": "C1", "birth_date": D(2011, 11, 11), "sex": "male", "race_ethnicity": "asian"},
            # C9's first row fails R1, so its second row is the first valid one and stays.
            {"child_id": "C9", "birth_date": D(2013, 1, 1), "sex": "x", "race_ethnicity": "asian"},
            {"child_id": "C9", "birth_date": D(2013, 2, 2), "sex": "male", "race_ethnicity": "asian"},
        ],
        population=[
            {"year": 2020, "county": "06001", "age": 5, "sex": "female", "race_ethnicity": "white",
             "population": 10},
            {"year": 2020, "county": "06001", "age": 5, "sex": "female", "race_ethnicity": "white",
             "population": 11},
            {"year": 2020, "county": "06001", "age": 6, "sex": "female", "race_ethnicity": "white",
             "population": 12},
        ],
        siblings=[{"child_id": "C1", "sibling_group_id": "G1"}, {"child_id": "C2", "sibling_group_id": "G1"},
                  {"child_id": "C1", "sibling_group_id": "G1"}],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R2") == [
        ("children", "C1", "child_id", "C1", "R2", REJECTED),
        ("siblings", "C1|G1", "child_id|sibling_group_id", "C1|G1", "R2", REJECTED),
        ("population", "2020|06001|5|female|white", "year|county|age|sex|race_ethnicity",
         "2020|06001|5|female|white", "R2", REJECTED),
    ]
    assert summary.rule_counts["R1"] == 1 and summary.rule_counts["R2"] == 3
    assert con.execute("SELECT birth_date FROM children WHERE child_id = 'C1'").fetchall() == [(D(2010, 1, 1),)]
    assert con.execute("SELECT birth_date FROM children WHERE child_id = 'C9'").fetchall() == [(D(2013, 2, 2),)]
    assert con.execute("SELECT age, population FROM population ORDER BY age").fetchall() == [(5, 10), (6, 12)]
    assert con.execute("SELECT count(*) FROM siblings").fetchone() == (2,)


def test_r3_orphans_cascade_and_child_mismatch(tmp_path):
    episode = {"county": "06037", "agency": "child_welfare", "removal_date": D(2023, 1, 1)}
    tables = base(
        referrals=[{"referral_id": "F2", "county": "6001", "received_at": dt.datetime(2020, 1, 1, 9, 0),
                    "response_type": "ten_day"}],  # not a county code: 06001 is
        allegations=[
            {"allegation_id": "A2", "referral_id": "F9", "child_id": "C1", "maltreatment_type": "other",
             "disposition": "pending"},
            {"allegation_id": "A3", "referral_id": None, "child_id": "C1", "maltreatment_type": "other",
             "disposition": "pending"},  # a null reference is not an orphan
        ],
        children=[{"child_id": "C4", "birth_date": D(2015, 1, 1), "sex": "boy", "race_ethnicity": "white"}],
        episodes=[{**episode, "episode_id": "E5", "child_id": "C4"},  # child rejected by R1
                  {**episode, "episode_id": "E6", "child_id": "C3", "county": "06999"}],
        placements=[
            # episode E5 is rejected, so P6 is orphaned too (and C4 does not exist)
            {"placement_id": "P6", "episode_id": "E5", "child_id": "C4", "start_date": D(2023, 1, 1),
             "setting": "kin"},
            # E1 belongs to C1
            {"placement_id": "P7", "episode_id": "E1", "child_id": "C2", "start_date": D(2020, 2, 1),
             "setting": "kin"},
        ],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R3") == [
        ("referrals", "F2", "county", "6001", "R3", REJECTED),
        ("allegations", "A2", "referral_id", "F9", "R3", REJECTED),
        ("episodes", "E5", "child_id", "C4", "R3", REJECTED),
        ("episodes", "E6", "county", "06999", "R3", REJECTED),
        ("placements", "P6", "episode_id", "E5", "R3", REJECTED),
        ("placements", "P6", "child_id", "C4", "R3", REJECTED),
        ("placements", "P7", "child_id", "C2", "R3", REJECTED),
    ]
    assert summary.rule_counts["R3"] == 6
    assert keys(con, "allegations") == ["A1", "A3"]
    assert keys(con, "episodes") == ["E1", "E2", "E3", "E4"]
    assert keys(con, "placements") == ["P1", "P2", "P3", "P4", "P5"]
    assert keys(con, "referrals") == ["F1"]


def test_r3_skips_references_to_tables_the_data_set_lacks(tmp_path):
    tables = base(assessments=[{"assessment_id": "S1", "referral_id": "F9", "child_id": "C1",
                                "assessment_type": "safety", "completed_date": D(2020, 1, 2),
                                "result": "safe"}])
    del tables["referrals"], tables["allegations"]
    summary, con = load(tmp_path, tables)
    assert dq(con) == []
    assert keys(con, "assessments") == ["S1"]


def test_r4_spells_ending_before_they_start_are_flagged(tmp_path):
    tables = base(
        episodes=[{"episode_id": "E5", "child_id": "C3", "county": "06037", "agency": "child_welfare",
                   "removal_date": D(2023, 5, 1), "exit_date": D(2023, 4, 1), "exit_reason": "reunification"}],
        placements=[
            {"placement_id": "P7", "episode_id": "E4", "child_id": "C3", "start_date": D(2020, 1, 1),
             "end_date": D(2019, 12, 31), "setting": "kin"},
            {"placement_id": "P8", "episode_id": "E4", "child_id": "C3", "start_date": D(2020, 2, 1),
             "end_date": D(2020, 2, 1), "setting": "kin"},  # zero length is not reversed
        ],
        service_cases=[
            {"case_id": "S1", "child_id": "C1", "county": "06001", "start_date": D(2020, 1, 1),
             "end_date": D(2019, 1, 1), "service_type": "family_maintenance"},
            {"case_id": "S2", "child_id": "C1", "county": "06001", "start_date": D(2020, 1, 1),
             "end_date": None, "service_type": "other"},
        ],
        medication_authorizations=[
            {"child_id": "C1", "start_date": D(2020, 1, 1), "end_date": D(2020, 2, 1)},
            {"child_id": "C2", "start_date": D(2021, 5, 1), "end_date": D(2021, 4, 1)},
        ],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R4") == [
        ("episodes", "E5", "exit_date", "2023-04-01", "R4", FLAGGED),
        ("placements", "P7", "end_date", "2019-12-31", "R4", FLAGGED),
        ("service_cases", "S1", "end_date", "2019-01-01", "R4", FLAGGED),
        # keyless table: the record is named by its row number
        ("medication_authorizations", "2", "end_date", "2021-04-01", "R4", FLAGGED),
    ]
    assert summary.rule_counts["R4"] == 4
    assert "E5" in keys(con, "episodes") and "P7" in keys(con, "placements")
    assert con.execute("SELECT count(*) FROM medication_authorizations").fetchone() == (2,)


def test_r5_birth_after_removal_or_exit_and_age_over_21(tmp_path):
    def child(cid, born):
        return {"child_id": cid, "birth_date": born, "sex": "male", "race_ethnicity": "white"}

    def episode(eid, cid, removal, exit_date):
        return {"episode_id": eid, "child_id": cid, "county": "06001", "agency": "child_welfare",
                "removal_date": removal, "exit_date": exit_date,
                "exit_reason": "reunification" if exit_date else None}

    tables = base(
        children=[child("C4", D(2015, 6, 1)), child("C5", D(2016, 6, 1)), child("C6", D(2000, 2, 29)),
                  child("C7", D(2010, 5, 5))],
        episodes=[
            episode("E5", "C4", D(2015, 5, 1), D(2015, 7, 1)),  # born after removal
            episode("E6", "C5", D(2016, 1, 1), D(2016, 2, 1)),  # born after removal and exit
            # Born 29 Feb 2000: 22 on 1 Mar 2022 (G4/G18), so 21 on 28 Feb 2022.
            episode("E7", "C6", D(2022, 2, 28), D(2022, 3, 1)),
            episode("E8", "C6", D(2022, 3, 1), None),
            episode("E9", "C7", D(2010, 5, 5), D(2010, 6, 1)),  # removed on the birth day: fine
        ],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R5") == [
        ("episodes", "E5", "removal_date", "2015-05-01", "R5", FLAGGED),
        ("episodes", "E6", "removal_date", "2016-01-01", "R5", FLAGGED),
        ("episodes", "E6", "exit_date", "2016-02-01", "R5", FLAGGED),
        ("episodes", "E8", "removal_date", "2022-03-01", "R5", FLAGGED),
    ]
    assert summary.rule_counts["R5"] == 3
    assert {"E5", "E6", "E8"} <= set(keys(con, "episodes"))


def test_r6_dates_after_the_extract_date_in_any_table(tmp_path):
    tables = base(
        children=[{"child_id": "C4", "birth_date": D(2025, 3, 1), "sex": "male", "race_ethnicity": "white"}],
        referrals=[
            # received late on the extract day: not after it; contacted after midnight: after it
            {"referral_id": "F2", "county": "06001", "received_at": dt.datetime(2024, 12, 31, 23, 59),
             "response_type": "immediate", "first_contact_at": dt.datetime(2025, 1, 1, 0, 5),
             "first_contact_status": "completed"},
            {"referral_id": "F3", "county": "06001", "received_at": D(2025, 1, 1), "response_type": "other"},
        ],
        episodes=[{"episode_id": "E5", "child_id": "C3", "county": "06037", "agency": "child_welfare",
                   "removal_date": D(2024, 12, 31), "exit_date": D(2025, 1, 1), "exit_reason": "reunification"}],
        health_exams=[{"child_id": "C1", "exam_date": D(2024, 12, 31), "exam_type": "medical"},
                      {"child_id": "C1", "exam_date": D(2025, 1, 2), "exam_type": "dental"}],
        # SIP goals lie in the future by design: not records, not checked
        targets=[{"county": "06001", "measure_id": "4-P1", "baseline_period": "2024Q4", "baseline_value": 0.3,
                  "target_value": 0.4, "target_date": D(2026, 6, 30)}],
    )
    summary, con = load(tmp_path, tables, extract_date=D(2024, 12, 31))
    assert dq(con, "R6") == [
        ("children", "C4", "birth_date", "2025-03-01", "R6", FLAGGED),
        ("referrals", "F2", "first_contact_at", "2025-01-01 00:05:00", "R6", FLAGGED),
        ("referrals", "F3", "received_at", "2025-01-01", "R6", FLAGGED),
        ("episodes", "E5", "exit_date", "2025-01-01", "R6", FLAGGED),
        ("health_exams", "2", "exam_date", "2025-01-02", "R6", FLAGGED),
    ]
    assert summary.rule_counts["R6"] == 5
    assert "C4" in keys(con, "children")


def test_r7_placements_outside_their_episode(tmp_path):
    def placement(pid, eid, cid, start):
        return {"placement_id": pid, "episode_id": eid, "child_id": cid, "start_date": start, "setting": "kin"}

    tables = base(placements=[
        placement("P6", "E4", "C3", D(2019, 5, 4)),  # day before removal
        placement("P7", "E4", "C3", D(2022, 1, 2)),  # day after exit
        placement("P8", "E4", "C3", D(2022, 1, 1)),  # on the exit day: not after it
        placement("P9", "E2", "C1", D(2023, 1, 1)),  # open episode
    ])
    summary, con = load(tmp_path, tables)
    assert dq(con, "R7") == [
        ("placements", "P6", "start_date", "2019-05-04", "R7", FLAGGED),
        ("placements", "P7", "start_date", "2022-01-02", "R7", FLAGGED),
    ]
    assert {"P6", "P7"} <= set(keys(con, "placements"))


def test_r8_overlapping_episodes_flag_both(tmp_path):
    def episode(eid, cid, removal, exit_date):
        return {"episode_id": eid, "child_id": cid, "county": "06037", "agency": "child_welfare",
                "removal_date": removal, "exit_date": exit_date,
                "exit_reason": "reunification" if exit_date else None}

    tables = base(
        children=[{"child_id": "C4", "birth_date": D(2015, 1, 1), "sex": "male", "race_ethnicity": "white"}],
        episodes=[
            episode("E5", "C3", D(2021, 1, 1), D(2021, 2, 1)),  # inside E4 (2019-05-05 .. 2022-01-01)
            episode("E6", "C2", D(2023, 1, 1), None),  # open: runs on ...
            episode("E7", "C2", D(2024, 1, 1), D(2024, 2, 1)),  # ... so this overlaps it
            episode("E8", "C4", D(2020, 1, 1), D(2020, 2, 1)),  # same removal day
            episode("E9", "C4", D(2020, 1, 1), D(2020, 3, 1)),
        ],
    )
    summary, con = load(tmp_path, tables)
    # E1/E2 (re-entry on the exit day) and E3 (before E6) are not overlaps.
    assert dq(con, "R8") == [
        ("episodes", eid, "removal_date", removal, "R8", FLAGGED)
        for eid, removal in [("E4", "2019-05-05"), ("E5", "2021-01-01"), ("E6", "2023-01-01"),
                             ("E7", "2024-01-01"), ("E8", "2020-01-01"), ("E9", "2020-01-01")]
    ]
    assert summary.rule_counts["R8"] == 6


def test_r8_reversed_and_empty_episodes(tmp_path):
    def episode(eid, removal, exit_date):
        return {"episode_id": eid, "child_id": "C4", "county": "06037", "agency": "child_welfare",
                "removal_date": removal, "exit_date": exit_date, "exit_reason": "reunification"}

    tables = base(
        children=[{"child_id": "C4", "birth_date": D(2015, 1, 1), "sex": "male", "race_ethnicity": "white"}],
        episodes=[
            episode("E5", D(2020, 1, 1), D(2020, 3, 1)),
            # Removed and out the same day inside E5: a day of E5 is also in E6's record.
            episode("E6", D(2020, 2, 1), D(2020, 2, 1)),
            # E7, in and out on E8's removal day, shares no day with E8 (E7 has no length); E9
            # exits before its removal (R4) and so has no span at all.
            episode("E7", D(2021, 1, 1), D(2021, 1, 1)),
            episode("E8", D(2021, 1, 1), D(2021, 2, 1)),
            episode("E9", D(2021, 1, 20), D(2021, 1, 10)),
        ],
    )
    summary, con = load(tmp_path, tables)
    assert [(k, v) for _, k, _, v, _, _ in dq(con, "R8")] == [("E5", "2020-01-01"), ("E6", "2020-02-01")]


def test_r9_r10_r11_episode_rules(tmp_path):
    def episode(eid, cid, removal, exit_date, reason):
        return {"episode_id": eid, "child_id": cid, "county": "06001", "agency": "child_welfare",
                "removal_date": removal, "exit_date": exit_date, "exit_reason": reason}

    tables = base(
        children=[{"child_id": "C4", "birth_date": D(2010, 1, 1), "sex": "male", "race_ethnicity": "white"}],
        episodes=[
            episode("E5", "C4", D(2015, 1, 1), D(2015, 2, 1), None),  # R9 (E2: open, no reason: fine)
            episode("E6", "C4", D(2016, 5, 5), D(2016, 5, 5), "reunification"),  # R10 (E3 exits next day)
            episode("E7", "C4", D(2017, 1, 1), D(2017, 2, 1), "reunification"),  # R11: no placement
            episode("E8", "C4", D(2018, 1, 1), D(2018, 2, 1), "reunification"),  # R11: placement rejected
        ],
        placements=[
            {"placement_id": "P6", "episode_id": "E5", "child_id": "C4", "start_date": D(2015, 1, 1), "setting": "kin"},
            {"placement_id": "P7", "episode_id": "E6", "child_id": "C4", "start_date": D(2016, 5, 5), "setting": "kin"},
            {"placement_id": "P8", "episode_id": "E8", "child_id": "C4", "start_date": D(2018, 1, 1),
             "setting": "hotel"},
        ],
    )
    summary, con = load(tmp_path, tables)
    assert dq(con, "R9") == [("episodes", "E5", "exit_reason", None, "R9", FLAGGED)]
    assert dq(con, "R10") == [("episodes", "E6", "exit_date", "2016-05-05", "R10", FLAGGED)]
    assert dq(con, "R11") == [("episodes", "E7", "episode_id", "E7", "R11", FLAGGED),
                              ("episodes", "E8", "episode_id", "E8", "R11", FLAGGED)]
    assert dq(con, "R1") == [("placements", "P8", "setting", "hotel", "R1", REJECTED)]
    assert summary.rule_counts == {"R1": 1, "R2": 0, "R3": 0, "R4": 0, "R5": 0, "R6": 0, "R7": 0, "R8": 0,
                                   "R9": 1, "R10": 1, "R11": 2}
    assert keys(con, "episodes") == ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]


def test_data_quality_rows_carry_source_file_and_row(tmp_path):
    tables = base(children=[{"child_id": "C4", "birth_date": D(2010, 1, 1), "sex": "girl",
                             "race_ethnicity": "white"}])
    summary, con = load(tmp_path, tables)
    assert con.execute("SELECT source_file, source_row FROM data_quality").fetchall() == [("children.csv", 4)]
    assert len(BASE["children"]) == 3  # the base set was not changed by base()
