"""NCANDS importer: code mappings, perpetrators, the AFCARS link, birth-date estimates, report
times and counties, resubmissions, errors, and merging with an AFCARS import. Expected values
were worked out by hand from the rows written in each test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cwoutcomes.errors import InputError
from cwoutcomes.importers import import_afcars, import_ncands
from cwoutcomes.importers.afcars import format_fixed

D = dt.date
T = pd.Timestamp

BASE = dict(SubYr="2021", StaTerr="CA", RptFIPS="06037", RptDt="2021-03-01", RpDispDt="2021-04-01",
            ChAge="5", ChSex="2", ChRacAI="2", ChRacAs="2", ChRacBl="1", ChRacNH="2", ChRacWh="2",
            ChRacUD="2", CEthn="2", ChMal1="2", Mal1Lev="1")


def write_tab(path: Path, rows: list[dict], base: dict = BASE) -> Path:
    rows = [{**base, **row} for row in rows]
    header = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["\t".join(header)] + ["\t".join(str(r.get(h, "")) for h in header) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def load(out: Path) -> dict[str, pd.DataFrame]:
    tables = {name: pd.read_parquet(out / f"{name}.parquet")
              for name in ("children", "referrals", "allegations")}
    tables["rejects"] = pd.read_csv(out / "import_rejects.csv", dtype=str, keep_default_na=False)
    return tables


def run(tmp_path: Path, rows: list[dict], base: dict = BASE):
    path = write_tab(tmp_path / "CF2021.tab", rows, base)
    summary = import_ncands([path], tmp_path / "out")
    return load(tmp_path / "out"), summary


# --- mappings -----------------------------------------------------------------------------------

def test_maltreatment_types(tmp_path):
    rows = [dict(RptID=f"R{code}", ChID="C", ChMal1=str(code)) for code in range(1, 10)]
    t, _ = run(tmp_path, rows)
    got = t["allegations"].set_index("referral_id")["maltreatment_type"].to_dict()
    # 6 = no alleged maltreatment: no allegation row.
    assert got == {"CA-R1": "physical_abuse", "CA-R2": "general_neglect", "CA-R3": "general_neglect",
                   "CA-R4": "sexual_abuse", "CA-R5": "emotional_abuse", "CA-R7": "exploitation",
                   "CA-R8": "other", "CA-R9": "other"}
    assert len(t["referrals"]) == 9  # the report itself is still a referral


def test_maltreatment_levels(tmp_path):
    levels = ["1", "2", "3", "4", "5", "6", "7", "88", "99", "8"]
    rows = [dict(RptID=f"R{lev}", ChID="C", Mal1Lev=lev) for lev in levels]
    rows.append(dict(RptID="RB", ChID="C", Mal1Lev="", RptDisp="1"))
    t, _ = run(tmp_path, rows)
    got = t["allegations"].set_index("referral_id")["disposition"].to_dict()
    assert got == {"CA-R1": "substantiated", "CA-R2": "indicated", "CA-R3": "inconclusive",
                   "CA-R4": "inconclusive", "CA-R5": "unfounded", "CA-R6": "unfounded",
                   "CA-R7": "inconclusive", "CA-R88": "inconclusive", "CA-R99": "inconclusive",
                   # blank level: the report disposition stands in
                   "CA-RB": "substantiated"}


def test_four_slots_and_their_dates(tmp_path):
    row = dict(RptID="R", ChID="C", ChMal1="1", Mal1Lev="1", ChMal2="4", Mal2Lev="5", ChMal3="5",
               Mal3Lev="2", ChMal4="2", Mal4Lev="7", IncidDt="2021-02-20")
    t, _ = run(tmp_path, [row])
    a = t["allegations"].sort_values("allegation_id")
    assert a[["allegation_id", "maltreatment_type", "disposition"]].to_dict("records") == [
        {"allegation_id": "CA-R/C/1", "maltreatment_type": "physical_abuse", "disposition": "substantiated"},
        {"allegation_id": "CA-R/C/2", "maltreatment_type": "sexual_abuse", "disposition": "unfounded"},
        {"allegation_id": "CA-R/C/3", "maltreatment_type": "emotional_abuse", "disposition": "indicated"},
        {"allegation_id": "CA-R/C/4", "maltreatment_type": "general_neglect", "disposition": "inconclusive"},
    ]
    assert a["disposition_date"].unique().tolist() == [D(2021, 4, 1)]
    assert a["incident_date"].unique().tolist() == [D(2021, 2, 20)]


def test_perpetrators_linked_to_maltreatments(tmp_path):
    row = dict(RptID="R", ChID="C", ChMal1="1", Mal1Lev="1", ChMal2="2", Mal2Lev="1", ChMal3="5",
               Mal3Lev="1",
               Per1Rel="1", Per1Mal1="1", Per1Mal2="2", Per1Mal3="1",
               Per2Rel="4", Per2Mal1="1", Per2Mal2="1", Per2Mal3="2",
               Per3Rel="7", Per3Mal1="2", Per3Mal2="2", Per3Mal3="2")
    t, _ = run(tmp_path, [row])
    got = t["allegations"].set_index("allegation_id")["perpetrator_type"].to_dict()
    # Slot 1: parent and foster parent -> foster parent (decides the in-care measures).
    # Slot 2: foster parent only. Slot 3: parent only. Perpetrator 3 committed none.
    assert got == {"CA-R/C/1": "foster_parent", "CA-R/C/2": "foster_parent", "CA-R/C/3": "parent"}


@pytest.mark.parametrize("code, expected", [
    ("1", "parent"), ("2", "relative"), ("3", "foster_parent"), ("4", "foster_parent"),
    ("5", "facility_staff"), ("6", "other"), ("7", "other"), ("8", "other"), ("9", "other"),
    ("10", "other"), ("33", "foster_parent"), ("88", "other"), ("99", "unknown"), ("", "unknown"),
])
def test_perpetrator_relationships_without_link_columns(tmp_path, code, expected):
    t, _ = run(tmp_path, [dict(RptID="R", ChID="C", Per1Rel=code)])
    assert t["allegations"]["perpetrator_type"].tolist() == [expected]


def test_maltreatment_death_makes_a_victim(tmp_path):
    t, summary = run(tmp_path, [dict(RptID="R", ChID="C", Mal1Lev="5", MalDeath="1"),
                                dict(RptID="S", ChID="C", Mal1Lev="5", MalDeath="2")])
    a = t["allegations"].set_index("referral_id")
    assert a[["disposition", "fatality"]].to_dict("index") == {
        "CA-R": {"disposition": "indicated", "fatality": True},
        "CA-S": {"disposition": "unfounded", "fatality": False}}
    assert summary.notes["allegations made `indicated` because of a maltreatment death"] == 1


def test_afcars_id_links_every_report_of_the_child(tmp_path):
    rows = [dict(RptID="R1", ChID="N1", AFCARSID="A77"),
            dict(RptID="R2", ChID="N1", AFCARSID=""),
            dict(RptID="R2", ChID="N2", AFCARSID="")]
    t, summary = run(tmp_path, rows)
    got = t["allegations"].set_index("allegation_id")["child_id"].to_dict()
    assert got == {"CA-R1/N1/1": "CAA77", "CA-R2/N1/1": "CAA77", "CA-R2/N2/1": "CA#N2"}
    assert sorted(t["children"]["child_id"]) == ["CA#N2", "CAA77"]
    assert summary.notes["children linked to AFCARS by AFCARSID"] == 1


@pytest.mark.parametrize("flags, expected", [
    (dict(CEthn="1", ChRacWh="1", ChRacBl="2"), "hispanic"),
    (dict(ChRacAI="1", ChRacBl="2"), "aian"),
    (dict(ChRacAs="1", ChRacBl="2"), "asian"),
    (dict(), "black"),
    (dict(ChRacNH="1", ChRacBl="2"), "nhpi"),
    (dict(ChRacWh="1", ChRacBl="2"), "white"),
    (dict(ChRacWh="1"), "multiracial"),
    (dict(ChRacUD="1", ChRacBl="2"), "unknown"),
    (dict(ChRacAs="1", ChRacBl="2", CEthn="3"), "asian"),
])
def test_race_ethnicity_federal_convention(tmp_path, flags, expected):
    t, _ = run(tmp_path, [dict(RptID="R", ChID="C", **flags)])
    assert t["children"]["race_ethnicity"].tolist() == [expected]


def test_birth_dates(tmp_path):
    rows = [
        # (2015-03-01, 2016-03-01] and (2014-09-15, 2015-09-15] meet in 2015-03-02..2015-09-15,
        # 197 days: middle = 2015-03-02 + 98 days = 2015-06-08.
        dict(RptID="R1", ChID="TWO", RptDt="2021-03-01", ChAge="5"),
        dict(RptID="R2", ChID="TWO", RptDt="2021-09-15", ChAge="6"),
        # Unborn on 2021-03-01: 2021-03-02..2021-12-06 (280 days on), middle 2021-07-19.
        dict(RptID="R3", ChID="UNBORN", RptDt="2021-03-01", ChAge="77"),
        # Ages that cannot both be right: the later report decides, (2011-04-01, 2012-04-01],
        # middle 2011-04-02 + 182 days = 2011-10-01.
        dict(RptID="R4", ChID="CLASH", RptDt="2021-03-01", ChAge="5"),
        dict(RptID="R5", ChID="CLASH", RptDt="2021-04-01", ChAge="9"),
        dict(RptID="R6", ChID="UNKNOWN", ChAge="99"),
        dict(RptID="R7", ChID="GIVEN", ChAge="5", ChBDate="2015-11-30"),
    ]
    t, summary = run(tmp_path, rows)
    got = t["children"].set_index("child_id")["birth_date"].to_dict()
    assert got == {"CA#TWO": D(2015, 6, 8), "CA#UNBORN": D(2021, 7, 19), "CA#CLASH": D(2011, 10, 1),
                   "CA#UNKNOWN": None, "CA#GIVEN": D(2015, 11, 30)}
    assert summary.notes["birth dates estimated from ChAge"] == 3


def test_report_times_contacts_and_counties(tmp_path):
    rows = [
        dict(RptID="R1", ChID="A", RptTm="1430", InvDate="2021-03-03", InvStrTm="09:05"),
        dict(RptID="R1", ChID="B", RptTm="1430", InvDate="2021-03-02"),
        dict(RptID="R2", ChID="A", RptFIPS="", ChCnty="037"),
        dict(RptID="R3", ChID="A", RptFIPS="6001", RptTm="2561"),
        dict(RptID="R4", ChID="A", RptFIPS="99999"),
    ]
    t, _ = run(tmp_path, rows)
    r = t["referrals"].set_index("referral_id")
    assert r.loc["CA-R1", "received_at"] == T("2021-03-01 14:30")
    assert bool(r.loc["CA-R1", "received_at_has_time"]) is True
    # Earliest investigation start among the report's children (B's, which has no time).
    assert r.loc["CA-R1", "first_contact_at"] == T("2021-03-02")
    assert r.loc["CA-R1", "first_contact_status"] == "completed"
    assert pd.isna(r.loc["CA-R2", "first_contact_at"]) and r.loc["CA-R2", "first_contact_status"] is None
    assert r["county"].to_dict() == {"CA-R1": "06037", "CA-R2": "06037", "CA-R3": "06001", "CA-R4": None}
    assert r.loc["CA-R3", "received_at"] == T("2021-03-01")  # bad time dropped, date kept
    assert r["response_type"].isna().all()
    bad = t["rejects"][["line", "field", "value", "action"]].to_dict("records")
    assert bad == [{"line": "5", "field": "RPTTM", "value": "2561", "action": "value_dropped"},
                   {"line": "6", "field": "RPTFIPS", "value": "99999", "action": "value_dropped"}]


def test_later_submission_of_a_report_child_pair_wins(tmp_path):
    first = write_tab(tmp_path / "CF2021.tab", [dict(RptID="R", ChID="C", Mal1Lev="5")])
    later = write_tab(tmp_path / "CF2022.tab", [dict(RptID="R", ChID="C", SubYr="2022", Mal1Lev="1")])
    import_ncands([later, first], tmp_path / "out")  # order given does not matter: SubYr does
    t = load(tmp_path / "out")
    assert t["allegations"]["disposition"].tolist() == ["substantiated"]
    assert t["rejects"][["file", "line", "action"]].to_dict("records") == [
        {"file": str(first), "line": "2", "action": "superseded"}]


# --- errors -------------------------------------------------------------------------------------

def test_bad_rows_and_values_are_listed(tmp_path):
    rows = [dict(RptID="OK", ChID="C"),
            dict(RptID="NODATE", ChID="C", RptDt=""),
            dict(RptID="BADDATE", ChID="C", RptDt="2021-02-30"),
            dict(RptID="STATE", ChID="C", StaTerr="ZZ"),
            dict(RptID="NOCHILD", ChID=""),
            dict(RptID="CODE", ChID="C", ChMal2="12", Mal2Lev="1", ChSex="4")]
    t, summary = run(tmp_path, rows)
    assert sorted(t["referrals"]["referral_id"]) == ["CA-CODE", "CA-OK"]
    r = t["rejects"]
    assert r[["line", "field", "action"]].to_dict("records") == [
        {"line": "5", "field": "STATERR", "action": "record_dropped"},
        {"line": "6", "field": "CHID", "action": "record_dropped"},
        {"line": "4", "field": "RPTDT", "action": "record_dropped"},
        {"line": "3", "field": "RPTDT", "action": "record_dropped"},
        {"line": "7", "field": "CHSEX", "action": "value_dropped"},
        {"line": "7", "field": "CHMAL2", "action": "value_dropped"},
    ]
    assert set(r["reason"]) >= {"no report date", "report date is not a date", "unknown state"}
    assert summary.records_read == 6 and summary.records_used == 2


def test_file_without_required_columns_is_skipped(tmp_path):
    bad = tmp_path / "bad.tab"
    bad.write_text("SubYr\tStaTerr\tRptID\n2021\tCA\tR\n")
    good = write_tab(tmp_path / "CF2021.tab", [dict(RptID="R", ChID="C")])
    summary = import_ncands([bad, good], tmp_path / "out")
    r = load(tmp_path / "out")["rejects"]
    assert r[["file", "action"]].to_dict("records") == [{"file": str(bad), "action": "file_skipped"}]
    assert "CHID" in r["reason"].iloc[0] and "RPTDT" in r["reason"].iloc[0]
    assert summary.files_skipped == 1


def test_no_readable_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no NCANDS records"):
        import_ncands([tmp_path / "missing.tab"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- merging with AFCARS ------------------------------------------------------------------------

def _afcars_file(path: Path) -> Path:
    record = format_fixed(dict(STATE="06", REPDAT="202103", FIPSCODE="06037", RECNUMBR="A77",
                               DOB="20150420", SEX="2", BLKAFRAM="1", HISORGIN="2",
                               LATREMDT="20201001"))
    path.write_text("@\n" + " " * 174 + "\n" + record + "\n")
    return path


def test_afcars_and_ncands_merge_into_one_folder(tmp_path):
    afcars = _afcars_file(tmp_path / "21A.dat")
    ncands = write_tab(tmp_path / "CF2021.tab", [
        dict(RptID="R1", ChID="N1", AFCARSID="A77", ChAge="5", ChRacBl="2", ChRacWh="1", CEthn="1"),
        dict(RptID="R1", ChID="N2", ChAge="3")])
    out = tmp_path / "out"
    import_afcars([afcars], out)
    summary = import_ncands([ncands], out)
    children = pd.read_parquet(out / "children.parquet").set_index("child_id")
    # The linked child keeps AFCARS's exact birth date and race; NCANDS adds its other child.
    assert children[["birth_date", "race_ethnicity"]].to_dict("index") == {
        "CA#N2": {"birth_date": D(2017, 8, 31), "race_ethnicity": "black"},
        "CAA77": {"birth_date": D(2015, 4, 20), "race_ethnicity": "black"},
    }
    assert summary.merged_rows == {"children": 2, "episodes": 1, "placements": 0,
                                   "referrals": 1, "allegations": 2}
    # Re-importing AFCARS replaces only the AFCARS part.
    import_afcars([afcars], out)
    assert len(pd.read_parquet(out / "allegations.parquet")) == 2
    assert pd.read_parquet(out / "episodes.parquet")["child_id"].tolist() == ["CAA77"]
