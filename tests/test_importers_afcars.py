"""AFCARS importer: both layouts, every code mapping, episode and placement rebuilding across
snapshots, and the error reports. Every expected value below was worked out by hand from the
records written in the test (comments give the arithmetic where there is any)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cwoutcomes.errors import InputError
from cwoutcomes.importers import import_afcars
from cwoutcomes.importers.afcars import format_fixed, layout

D = dt.date

BASE = dict(STATE="06", FIPSCODE="06037", DOB="20150310", SEX="2", AMIAKN="0", ASIAN="0",
            BLKAFRAM="1", HAWAIIPI="0", WHITE="0", UNTODETM="0", HISORGIN="2")


def rec(**values) -> str:
    return format_fixed({**BASE, **values})


def write_fixed(path: Path, records: list[str]) -> Path:
    summary = (records[0][:8] if records else "").ljust(174)
    path.write_text("\n".join(["@", summary, *records]) + "\n")
    return path


def load(out: Path) -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_parquet(out / f"{name}.parquet")
              for name in ("children", "episodes", "placements")}
    tables["rejects"] = pd.read_csv(out / "import_rejects.csv", dtype=str, keep_default_na=False)
    return tables


def run(tmp_path: Path, files: dict[str, list[str]]):
    paths = [write_fixed(tmp_path / name, records) for name, records in files.items()]
    out = tmp_path / "out"
    summary = import_afcars(paths, out)
    return load(out), summary


def episode(tables, episode_id):
    rows = tables["episodes"].set_index("episode_id")
    return rows.loc[episode_id]


# --- layout -------------------------------------------------------------------------------------

def test_layout_table_matches_reference_positions():
    pos = {el.name: (el.start, el.end) for el in layout()}
    assert pos["STATE"] == (1, 2)
    assert pos["RECNUMBR"] == (14, 25)
    assert pos["DOB"] == (34, 41)
    assert pos["LATREMDT"] == (76, 83)
    assert pos["NUMPLEP"] == (100, 101)
    assert pos["CURPLSET"] == (118, 118)
    assert pos["TPRMOMDT"] == (130, 137)
    assert pos["DODFCDT"] == (169, 176)
    assert pos["DISREASN"] == (185, 185)
    assert pos["FCMNTPAY"] == (193, 197)
    assert layout()[-1].end == 197


def test_literal_fixed_width_record(tmp_path):
    # Written out field by field from the TB#1/TB#2 positions, not with the package's formatter.
    line = (
        "06" "202103" "06001" "X7          "  # STATE 1-2, REPDAT 3-8, FIPS 9-13, RECNUMBR 14-25
        "        " "20140704" "1"            # PEDREVDT 26-33, DOB 34-41, SEX 42
        "000010" "2"                         # race flags 43-48 (WHITE), HISORGIN 49
        "2" "00000" "2" "0"                  # CLINDIS 50, disabilities 51-55, EVERADPT 56, AGEADOPT 57
        "20200902" "01" "        "           # REM1DT 58-65, TOTALREM 66-67, DLSTFCDT 68-75
        "20200902" "20200902" "20201015"     # LATREMDT 76-83, REMTRNDT 84-91, CURSETDT 92-99
        "02" "2" "001000000000000"           # NUMPLEP 100-101, MANREM 102, reasons 103-117
        "2" "2" "1" "3" "1990" "    "        # CURPLSET 118, PLACEOUT, CASEGOAL, CTKFAMST, CTK1YR, CTK2YR
        "        " "        " "0"            # TPRMOMDT 130-137, TPRDADDT 138-145, FOSFAMST 146
        "        " "000010" "2" "      " "0" # FCCTK1YR/2YR 147-154, RF1 155-160, HOFCCTK1, RF2, HOFCCTK2
        "20210220" "20210222" "1"            # DODFCDT 169-176, DODTRNDT 177-184, DISREASN 185
        "1000100" "00650"                    # funding 186-192, FCMNTPAY 193-197
    )
    assert len(line) == 197
    path = tmp_path / "a.dat"
    path.write_text("@\n" + " " * 174 + "\n" + line + "\n#\nadoption record\n")
    summary = import_afcars([path], tmp_path / "out")
    t = load(tmp_path / "out")
    assert t["children"].to_dict("records") == [{
        "child_id": "CAX7", "birth_date": D(2014, 7, 4), "sex": "male", "race_ethnicity": "white",
        "icwa_eligible": None}]
    ep = t["episodes"].iloc[0]
    assert (ep.episode_id, ep.county, ep.removal_date, ep.exit_date, ep.exit_reason) == (
        "CAX7/20200902", "06001", D(2020, 9, 2), D(2021, 2, 20), "reunification")
    # NUMPLEP 2 with the current (relative) home begun 2020-10-15: one earlier setting, from
    # the removal day to the day the current one began.
    p = t["placements"]
    assert p[["start_date", "end_date", "setting", "caregiver_relative"]].to_dict("records") == [
        {"start_date": D(2020, 9, 2), "end_date": D(2020, 10, 15), "setting": "other", "caregiver_relative": None},
        {"start_date": D(2020, 10, 15), "end_date": D(2021, 2, 20), "setting": "kin", "caregiver_relative": True},
    ]
    assert summary.notes["adoption lines ignored"] == 1
    assert summary.notes["summary records skipped"] == 1
    assert t["rejects"].empty


# --- mappings -----------------------------------------------------------------------------------

def test_discharge_reasons(tmp_path):
    records = [rec(REPDAT="202109", RECNUMBR=f"D{code}", LATREMDT="20201001", DODFCDT="20210501",
                   DISREASN=str(code)) for code in range(0, 9)]
    t, _ = run(tmp_path, {"a.dat": records})
    reasons = t["episodes"].set_index("child_id")["exit_reason"].to_dict()
    assert reasons == {
        "CAD0": None, "CAD1": "reunification", "CAD2": "living_with_relative", "CAD3": "adoption",
        "CAD4": "emancipation", "CAD5": "guardianship", "CAD6": "transfer", "CAD7": "runaway",
        "CAD8": "death"}


def test_discharge_reason_without_date_is_dropped_and_listed(tmp_path):
    t, _ = run(tmp_path, {"a.dat": [rec(REPDAT="202109", RECNUMBR="R1", LATREMDT="20201001",
                                        DISREASN="3")]})
    assert t["episodes"]["exit_reason"].tolist() == [None]
    bad = t["rejects"]
    assert bad[["line", "field", "value", "action"]].to_dict("records") == [
        {"line": "3", "field": "DISREASN", "value": "3", "action": "value_dropped"}]


def test_placement_settings(tmp_path):
    records = [rec(REPDAT="202103", RECNUMBR=f"S{code}", LATREMDT="20201001", CURSETDT="20201001",
                   NUMPLEP="1" if code < 7 else "", CURPLSET=str(code), RF1AMAKN="1")
               for code in range(1, 9)]
    t, _ = run(tmp_path, {"a.dat": records})
    p = t["placements"].set_index("child_id")
    assert p["setting"].to_dict() == {
        "CAS1": "pre_adoptive", "CAS2": "kin", "CAS3": "foster_home", "CAS4": "group_home",
        "CAS5": "group_home", "CAS6": "supervised_independent_living", "CAS7": "runaway",
        "CAS8": "trial_home_visit"}
    assert p["caregiver_relative"].to_dict() == {
        "CAS1": None, "CAS2": True, "CAS3": False, "CAS4": None, "CAS5": None, "CAS6": None,
        "CAS7": None, "CAS8": None}
    # Caregiver race is reported for foster family homes only (CURPLSET 1-3).
    assert p["caregiver_indian"].to_dict() == {
        "CAS1": True, "CAS2": True, "CAS3": True, "CAS4": None, "CAS5": None, "CAS6": None,
        "CAS7": None, "CAS8": None}
    # Runaway and THV are not settings NUMPLEP counts: no setting number, no provider.
    assert p.loc["CAS7", "provider_id"] is None and p.loc["CAS8", "provider_id"] is None
    assert p.loc["CAS3", "provider_id"] == "CAS3/20201001#1"


@pytest.mark.parametrize("flags, hispanic, expected", [
    (dict(WHITE="1"), "1", "hispanic"),
    (dict(AMIAKN="1"), "2", "aian"),
    (dict(ASIAN="1"), "2", "asian"),
    (dict(BLKAFRAM="1"), "2", "black"),
    (dict(HAWAIIPI="1"), "2", "nhpi"),
    (dict(WHITE="1"), "2", "white"),
    (dict(BLKAFRAM="1", WHITE="1"), "2", "multiracial"),
    (dict(UNTODETM="1"), "2", "unknown"),
    (dict(), "3", "unknown"),
    (dict(ASIAN="1"), "3", "asian"),  # ethnicity undetermined does not erase a known race
    (dict(UNTODETM="1"), "1", "hispanic"),
])
def test_race_ethnicity_federal_convention(tmp_path, flags, hispanic, expected):
    zero = dict(AMIAKN="0", ASIAN="0", BLKAFRAM="0", HAWAIIPI="0", WHITE="0", UNTODETM="0")
    record = rec(REPDAT="202103", RECNUMBR="R", LATREMDT="20201001", HISORGIN=hispanic,
                 **{**zero, **flags})
    t, _ = run(tmp_path, {"a.dat": [record]})
    assert t["children"]["race_ethnicity"].tolist() == [expected]


def test_sex_codes(tmp_path):
    records = [rec(REPDAT="202103", RECNUMBR=r, LATREMDT="20201001", SEX=s)
               for r, s in (("M", "1"), ("F", "2"), ("B", ""), ("X", "7"))]
    t, _ = run(tmp_path, {"a.dat": records})
    assert t["children"].set_index("child_id")["sex"].to_dict() == {
        "CAM": "male", "CAF": "female", "CAB": "unknown", "CAX": "unknown"}
    assert t["rejects"][["field", "value", "action"]].to_dict("records") == [
        {"field": "SEX", "value": "7", "action": "value_dropped"}]


def test_county_fips_codes(tmp_path):
    records = [rec(REPDAT="202103", RECNUMBR=r, LATREMDT="20201001", FIPSCODE=f)
               for r, f in (("A", "06037"), ("B", "037"), ("C", "06000"), ("D", "48201"), ("E", ""))]
    t, _ = run(tmp_path, {"a.dat": records})
    assert t["episodes"].set_index("child_id")["county"].to_dict() == {
        "CAA": "06037", "CAB": "06037", "CAC": None, "CAD": None, "CAE": None}
    # Only the other state's code is an error; 000 means "not reported", blank is missing.
    assert t["rejects"][["line", "field", "value"]].to_dict("records") == [
        {"line": "6", "field": "FIPSCODE", "value": "48201"}]


def test_legally_free_needs_both_parents(tmp_path):
    records = [
        rec(REPDAT="202103", RECNUMBR="B", LATREMDT="20190101", TPRMOMDT="20200601", TPRDADDT="20200815"),
        rec(REPDAT="202103", RECNUMBR="M", LATREMDT="20190101", TPRMOMDT="20200601"),
    ]
    t, _ = run(tmp_path, {"a.dat": records})
    assert t["episodes"].set_index("child_id")["legally_free_date"].to_dict() == {
        "CAB": D(2020, 8, 15), "CAM": None}


# --- episodes across snapshots ------------------------------------------------------------------

def test_reentry_between_files_takes_exit_from_dlstfcdt(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C1", REM1DT="20201105", TOTALREM="1", LATREMDT="20201105",
             CURSETDT="20201105", NUMPLEP="1", CURPLSET="3")]
    b = [rec(REPDAT="202109", RECNUMBR="C1", REM1DT="20201105", TOTALREM="2", DLSTFCDT="20210415",
             LATREMDT="20210701", CURSETDT="20210701", NUMPLEP="1", CURPLSET="2")]
    t, summary = run(tmp_path, {"21A.dat": a, "21B.dat": b})
    eps = t["episodes"][["episode_id", "removal_date", "exit_date", "exit_reason"]].to_dict("records")
    # The exit (and re-entry) happened between the snapshots: its date comes from the next
    # record's DLSTFCDT, its reason is nowhere in the files.
    assert eps == [
        {"episode_id": "CAC1/20201105", "removal_date": D(2020, 11, 5), "exit_date": D(2021, 4, 15), "exit_reason": None},
        {"episode_id": "CAC1/20210701", "removal_date": D(2021, 7, 1), "exit_date": None, "exit_reason": None},
    ]
    p = t["placements"][["episode_id", "start_date", "end_date", "setting"]].to_dict("records")
    assert p == [
        {"episode_id": "CAC1/20201105", "start_date": D(2020, 11, 5), "end_date": D(2021, 4, 15), "setting": "foster_home"},
        {"episode_id": "CAC1/20210701", "start_date": D(2021, 7, 1), "end_date": None, "setting": "kin"},
    ]
    assert summary.notes["exit dates taken from the next removal's DLSTFCDT"] == 1


def test_reentry_with_exit_seen_keeps_reason(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C2", TOTALREM="1", LATREMDT="20201001", DODFCDT="20210115",
             DISREASN="1")]
    b = [rec(REPDAT="202109", RECNUMBR="C2", TOTALREM="2", DLSTFCDT="20210115", LATREMDT="20210601")]
    t, _ = run(tmp_path, {"21A.dat": a, "21B.dat": b})
    eps = t["episodes"][["removal_date", "exit_date", "exit_reason"]].to_dict("records")
    assert eps == [
        {"removal_date": D(2020, 10, 1), "exit_date": D(2021, 1, 15), "exit_reason": "reunification"},
        {"removal_date": D(2021, 6, 1), "exit_date": None, "exit_reason": None},
    ]


def test_child_dropped_from_later_files(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C3", LATREMDT="20201001"),
         rec(REPDAT="202103", RECNUMBR="C4", LATREMDT="20201101")]
    b = [rec(REPDAT="202109", RECNUMBR="C4", LATREMDT="20201101")]
    t, _ = run(tmp_path, {"21A.dat": a, "21B.dat": b})
    # C3 was open at the end of 21A and is missing from 21B: a federal "dropped record".
    assert t["episodes"]["child_id"].tolist() == ["CAC4"]
    assert sorted(t["children"]["child_id"]) == ["CAC3", "CAC4"]
    r = t["rejects"]
    assert r[["file", "line", "key", "field", "action"]].to_dict("records") == [
        {"file": str(tmp_path / "21A.dat"), "line": "3", "key": "C3", "field": "LATREMDT",
         "action": "record_dropped"}]
    assert r["reason"].iloc[0].startswith("dropped record")


def test_child_missing_from_one_file_continues(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C5", LATREMDT="20201201")]
    b = [rec(REPDAT="202109", RECNUMBR="OTHER", LATREMDT="20210501")]
    c = [rec(REPDAT="202203", RECNUMBR="C5", LATREMDT="20201201"),
         rec(REPDAT="202203", RECNUMBR="OTHER", LATREMDT="20210501")]
    t, _ = run(tmp_path, {"21A.dat": a, "21B.dat": b, "22A.dat": c})
    eps = t["episodes"].set_index("child_id")
    assert eps.loc["CAC5", "removal_date"] == D(2020, 12, 1) and eps.loc["CAC5", "exit_date"] is None
    assert t["rejects"].empty


def test_corrected_later_submission_replaces_the_period(tmp_path):
    v1 = [rec(REPDAT="202103", RECNUMBR="C6", LATREMDT="20201105"),
          rec(REPDAT="202103", RECNUMBR="C7", LATREMDT="20210101")]
    v2 = [rec(REPDAT="202103", RECNUMBR="C6", LATREMDT="20201105", DODFCDT="20210301", DISREASN="3")]
    t, summary = run(tmp_path, {"21A_v1.dat": v1, "21A_v2.dat": v2})
    eps = t["episodes"][["child_id", "exit_date", "exit_reason"]].to_dict("records")
    assert eps == [{"child_id": "CAC6", "exit_date": D(2021, 3, 1), "exit_reason": "adoption"}]
    assert t["children"]["child_id"].tolist() == ["CAC6"]
    r = t["rejects"]
    assert r[["file", "line", "key", "action"]].to_dict("records") == [
        {"file": str(tmp_path / "21A_v1.dat"), "line": "3", "key": "C6", "action": "superseded"},
        {"file": str(tmp_path / "21A_v1.dat"), "line": "4", "key": "C7", "action": "superseded"},
    ]
    assert summary.records_read == 3 and summary.records_used == 1


def test_removal_date_corrected_in_later_period(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C9", LATREMDT="20201105", CURSETDT="20201105", NUMPLEP="1",
             CURPLSET="3")]
    b = [rec(REPDAT="202109", RECNUMBR="C9", LATREMDT="20201103", CURSETDT="20201103", NUMPLEP="1",
             CURPLSET="3")]
    t, _ = run(tmp_path, {"21A.dat": a, "21B.dat": b})
    assert t["episodes"]["removal_date"].tolist() == [D(2020, 11, 3)]
    assert t["placements"]["start_date"].tolist() == [D(2020, 11, 3)]
    r = t["rejects"]
    assert r[["file", "value", "action"]].to_dict("records") == [
        {"file": str(tmp_path / "21A.dat"), "value": "2020-11-05", "action": "record_dropped"}]
    assert "later submission" in r["reason"].iloc[0]


def test_first_episode_rebuilt_from_counters(tmp_path):
    records = [
        rec(REPDAT="202103", RECNUMBR="C10", TOTALREM="2", REM1DT="20190301", DLSTFCDT="20190915",
            LATREMDT="20210201"),
        rec(REPDAT="202103", RECNUMBR="C11", TOTALREM="3", REM1DT="20170301", DLSTFCDT="20190915",
            LATREMDT="20210201"),
    ]
    t, summary = run(tmp_path, {"21A.dat": records})
    eps = t["episodes"][["episode_id", "removal_date", "exit_date", "exit_reason"]].to_dict("records")
    assert eps == [
        {"episode_id": "CAC10/20190301", "removal_date": D(2019, 3, 1), "exit_date": D(2019, 9, 15), "exit_reason": None},
        {"episode_id": "CAC10/20210201", "removal_date": D(2021, 2, 1), "exit_date": None, "exit_reason": None},
        {"episode_id": "CAC11/20210201", "removal_date": D(2021, 2, 1), "exit_date": None, "exit_reason": None},
    ]
    assert summary.notes["episodes rebuilt from TOTALREM, REM1DT and DLSTFCDT"] == 1
    # C11's first and second removals: the start of the second is unknown, so neither is built.
    assert summary.notes["earlier removals known only from TOTALREM (not rebuilt)"] == 2


def test_placements_rebuilt_from_numplep(tmp_path):
    files = {
        "21A.dat": [rec(REPDAT="202103", RECNUMBR="C12", LATREMDT="20201001", CURSETDT="20201201",
                        NUMPLEP="2", CURPLSET="3")],
        "21B.dat": [rec(REPDAT="202109", RECNUMBR="C12", LATREMDT="20201001", CURSETDT="20210301",
                        NUMPLEP="2", CURPLSET="8")],
        "22A.dat": [rec(REPDAT="202203", RECNUMBR="C12", LATREMDT="20201001", CURSETDT="20210801",
                        NUMPLEP="2", CURPLSET="3")],
        "22B.dat": [rec(REPDAT="202209", RECNUMBR="C12", LATREMDT="20201001", CURSETDT="20220501",
                        NUMPLEP="5", CURPLSET="4", DODFCDT="20220901", DISREASN="1")],
    }
    t, summary = run(tmp_path, files)
    p = t["placements"]
    got = list(zip(p["start_date"], p["end_date"], p["setting"],
                   p["provider_id"].str.split("#").str[1]))
    # 21A: second setting begun 12-01, so one setting before it, from the removal day.
    # 21B: on a THV (not counted by NUMPLEP, so still 2). 22A: back in foster care with NUMPLEP
    # still 2: the same setting as before the THV (same setting number, one setting in G9).
    # 22B: NUMPLEP 5 with a group home begun 2022-05-01: settings 3 and 4 fell between
    # 2021-08-01 and 2022-05-01 (273 days), placed at 273*1//3 = 91 and 273*2//3 = 182 days.
    assert got == [
        (D(2020, 10, 1), D(2020, 12, 1), "other", "1"),
        (D(2020, 12, 1), D(2021, 3, 1), "foster_home", "2"),
        (D(2021, 3, 1), D(2021, 8, 1), "trial_home_visit", None),
        (D(2021, 8, 1), D(2021, 10, 31), "foster_home", "2"),
        (D(2021, 10, 31), D(2022, 1, 30), "other", "3"),
        (D(2022, 1, 30), D(2022, 5, 1), "other", "4"),
        (D(2022, 5, 1), D(2022, 9, 1), "group_home", "5"),
    ]
    assert summary.notes["placements inserted from NUMPLEP (setting unknown)"] == 3


def test_second_record_in_one_file_wins(tmp_path):
    records = [rec(REPDAT="202103", RECNUMBR="C13", LATREMDT="20201001", CURSETDT="20201001",
                   NUMPLEP="1", CURPLSET="3"),
               rec(REPDAT="202103", RECNUMBR="C13", LATREMDT="20201001", CURSETDT="20201001",
                   NUMPLEP="1", CURPLSET="4")]
    t, _ = run(tmp_path, {"21A.dat": records})
    assert t["placements"]["setting"].tolist() == ["group_home"]
    assert t["rejects"][["line", "action"]].to_dict("records") == [{"line": "3", "action": "superseded"}]


def test_later_value_wins_for_child_attributes(tmp_path):
    a = [rec(REPDAT="202103", RECNUMBR="C14", LATREMDT="20201001", DOB="20150310", SEX="2")]
    b = [rec(REPDAT="202109", RECNUMBR="C14", LATREMDT="20201001", DOB="20150311", SEX="")]
    t, _ = run(tmp_path, {"21A.dat": a, "21B.dat": b})
    # Later birth date replaces the earlier; a later blank does not erase a known sex.
    assert t["children"][["birth_date", "sex"]].to_dict("records") == [
        {"birth_date": D(2015, 3, 11), "sex": "female"}]


# --- research release (tab-delimited) -----------------------------------------------------------

def test_tab_layout_matches_fixed_width(tmp_path):
    fixed = [rec(REPDAT="202109", RECNUMBR="T1", FIPSCODE="06037", DOB="20150310", REM1DT="20201001",
                 TOTALREM="1", LATREMDT="20201001", CURSETDT="20201201", NUMPLEP="2", CURPLSET="3",
                 DODFCDT="20210801", DISREASN="1")]
    header = ["FY", "RepDatYr", "RepDatMo", "State", "St", "FIPSCode", "RecNumbr", "DOB", "Sex",
              "AmIAKN", "Asian", "BlkAfrAm", "HawaiiPI", "White", "UnToDetm", "HisOrgin", "Rem1Dt",
              "TotalRem", "LatRemDt", "CurSetDt", "NumPlep", "CurPlSet", "DoDFCDt", "DisReasn",
              "LatRemLOS"]
    row = ["2021", "2021", "9", "6", "CA", "6037", "T1", "2015-03-10", "2", "0", "0", "1", "0",
           "0", "0", "2", "2020-10-01", "1", "2020-10-01", "2020-12-01", "2", "3", "2021-08-01",
           "1", "304"]
    tab = tmp_path / "FC2021.tab"
    tab.write_text("\t".join(header) + "\n" + "\t".join(row) + "\n")
    write_fixed(tmp_path / "21B.dat", fixed)
    import_afcars([tab], tmp_path / "from_tab")
    import_afcars([tmp_path / "21B.dat"], tmp_path / "from_fixed")
    a, b = load(tmp_path / "from_tab"), load(tmp_path / "from_fixed")
    for name in ("children", "episodes", "placements"):
        pd.testing.assert_frame_equal(a[name], b[name])
    assert a["episodes"]["county"].tolist() == ["06037"]


def test_tab_file_without_required_column_is_skipped(tmp_path):
    tab = tmp_path / "FC2021.tab"
    tab.write_text("RepDatYr\tRepDatMo\tSt\tRecNumbr\n2021\t3\tCA\tT2\n")
    good = write_fixed(tmp_path / "21A.dat", [rec(REPDAT="202103", RECNUMBR="G", LATREMDT="20201001")])
    summary = import_afcars([tab, good], tmp_path / "out")
    t = load(tmp_path / "out")
    assert t["episodes"]["child_id"].tolist() == ["CAG"]
    r = t["rejects"]
    assert r[["file", "line", "action"]].to_dict("records") == [
        {"file": str(tab), "line": "", "action": "file_skipped"}]
    assert "LATREMDT" in r["reason"].iloc[0]
    assert summary.files_skipped == 1


def test_tab_line_with_wrong_field_count(tmp_path):
    tab = tmp_path / "FC2021.tab"
    tab.write_text("RepDatYr\tRepDatMo\tSt\tRecNumbr\tLatRemDt\n"
                   "2021\t3\tCA\tT3\t2020-10-01\n"
                   "2021\t3\tCA\tT4\n")
    import_afcars([tab], tmp_path / "out")
    t = load(tmp_path / "out")
    assert t["children"]["child_id"].tolist() == ["CAT3"]
    assert t["rejects"][["line", "field", "value", "action"]].to_dict("records") == [
        {"line": "3", "field": "record", "value": "4 fields", "action": "record_dropped"}]


# --- errors -------------------------------------------------------------------------------------

def test_truncated_record_and_bad_values_are_listed(tmp_path):
    good = rec(REPDAT="202103", RECNUMBR="E1", LATREMDT="20201001", DOB="20151340")
    cut = rec(REPDAT="202103", RECNUMBR="E2", LATREMDT="20201001")[:120]
    no_removal = rec(REPDAT="202103", RECNUMBR="E3")
    bad_period = rec(REPDAT="202106", RECNUMBR="E4", LATREMDT="20201001")
    t, summary = run(tmp_path, {"a.dat": [good, cut, no_removal, bad_period]})
    assert t["children"][["child_id", "birth_date"]].to_dict("records") == [
        {"child_id": "CAE1", "birth_date": None}]
    r = t["rejects"].sort_values("line")
    assert r[["line", "key", "field", "action"]].to_dict("records") == [
        {"line": "3", "key": "E1", "field": "DOB", "action": "value_dropped"},
        {"line": "4", "key": "E2", "field": "record", "action": "record_dropped"},
        {"line": "5", "key": "E3", "field": "LATREMDT", "action": "record_dropped"},
        {"line": "6", "key": "E4", "field": "REPDAT", "action": "record_dropped"},
    ]
    assert "shorter than 185" in r["reason"].iloc[1]
    assert summary.records_read == 3  # the truncated line never became a record


def test_unreadable_file_is_reported_and_others_imported(tmp_path):
    binary = tmp_path / "broken.dat"
    binary.write_bytes(b"\x00\x01\x02garbage")
    good = write_fixed(tmp_path / "21A.dat", [rec(REPDAT="202103", RECNUMBR="G", LATREMDT="20201001")])
    summary = import_afcars([binary, tmp_path / "missing.dat", good], tmp_path / "out")
    t = load(tmp_path / "out")
    assert t["children"]["child_id"].tolist() == ["CAG"]
    r = t["rejects"]
    assert r["file"].tolist() == [str(binary), str(tmp_path / "missing.dat")]
    assert r["action"].unique().tolist() == ["file_skipped"]
    assert "binary" in r["reason"].iloc[0] and "not found" in r["reason"].iloc[1]
    assert summary.files_skipped == 2
    assert summary.skipped_files == {
        str(binary): "file not imported: binary file (contains NUL bytes), not a text export",
        str(tmp_path / "missing.dat"): "file not imported: file not found"}


def test_nothing_readable_leaves_earlier_import_untouched(tmp_path):
    good = write_fixed(tmp_path / "21A.dat", [rec(REPDAT="202103", RECNUMBR="G", LATREMDT="20201001")])
    out = tmp_path / "out"
    import_afcars([good], out)
    before = (out / "episodes.parquet").read_bytes()
    empty = tmp_path / "empty.dat"
    empty.write_text("")
    with pytest.raises(InputError, match="nothing was written"):
        import_afcars([empty], out)
    assert (out / "episodes.parquet").read_bytes() == before


def test_refuses_to_overwrite_a_foreign_data_set(tmp_path):
    out = tmp_path / "synthetic"
    out.mkdir()
    (out / "episodes.parquet").write_bytes(b"not ours")
    good = write_fixed(tmp_path / "21A.dat", [rec(REPDAT="202103", RECNUMBR="G", LATREMDT="20201001")])
    with pytest.raises(InputError, match="not written by the importers"):
        import_afcars([good], out)
    assert (out / "episodes.parquet").read_bytes() == b"not ours"
