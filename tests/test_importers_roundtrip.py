"""Export a canonical data set to federal files and import it back.

The hand-built data set below is small enough that every AFCARS record and every rebuilt
episode and placement was worked out by hand (comments give the reasoning); a small synthetic
data set then checks the invariants the snapshot structure must keep exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cwoutcomes.importers import export_afcars, export_ncands, import_afcars, import_ncands
from cwoutcomes.importers.afcars import format_fixed
from cwoutcomes.importers.export import _fixed_lines, afcars_records

D = dt.date
T = pd.Timestamp
EXTRACT = dt.date(2021, 12, 31)


def make_dataset(folder: Path) -> Path:
    folder.mkdir(parents=True)
    children = pd.DataFrame({
        "child_id": ["k1", "k2", "k3", "k4"],
        "birth_date": [T("2012-05-01"), T("2019-02-28"), T("2008-01-01"), T("2006-06-15")],
        "sex": ["female", "male", "female", "female"],
        "race_ethnicity": ["black", "hispanic", "multiracial", "white"]})
    episodes = pd.DataFrame({
        "episode_id": ["e1", "e2", "e3", "e4"], "child_id": ["k1", "k1", "k2", "k4"],
        "county": ["06037", "06037", "06001", "06059"],
        "agency": ["child_welfare", "child_welfare", "child_welfare", "probation"],
        "removal_date": [T("2020-11-05"), T("2021-09-01"), T("2021-01-10"), T("2020-12-01")],
        "exit_date": [T("2021-08-01"), None, T("2021-02-15"), T("2021-05-10")],
        "exit_reason": ["reunification", None, "adoption", "other"],
        "legally_free_date": [None, None, T("2021-01-20"), None]})
    placements = pd.DataFrame([
        ("p01", "e1", "k1", "2020-11-05", "2021-01-10", "shelter", "a", None),
        ("p02", "e1", "k1", "2021-01-10", "2021-03-01", "foster_home", "b", False),
        ("p03", "e1", "k1", "2021-03-01", "2021-06-01", "kin", "c", True),
        ("p04", "e1", "k1", "2021-06-01", "2021-08-01", "trial_home_visit", "h", None),
        ("p05", "e2", "k1", "2021-09-01", "2021-09-20", "kin", "d", True),
        ("p06", "e2", "k1", "2021-09-20", None, "group_home", "e", None),
        ("p07", "e3", "k2", "2021-01-10", "2021-02-15", "pre_adoptive", "f", None),
        ("p08", "e4", "k4", "2020-12-01", "2021-01-15", "group_home", "g1", None),
        ("p09", "e4", "k4", "2021-01-15", "2021-01-20", "respite", "r", None),
        ("p10", "e4", "k4", "2021-01-20", "2021-03-01", "group_home", "g1", None),
        ("p11", "e4", "k4", "2021-03-01", "2021-05-10", "guardian", "q", True),
    ], columns=["placement_id", "episode_id", "child_id", "start_date", "end_date", "setting",
                "provider_id", "caregiver_relative"])
    for col in ("start_date", "end_date"):
        placements[col] = pd.to_datetime(placements[col])
    referrals = pd.DataFrame({
        "referral_id": ["r1", "r2", "r3"], "county": ["06037", "06001", "06001"],
        "received_at": [T("2020-10-20 10:30"), T("2021-05-02"), T("2021-07-01 09:00")],
        "response_type": ["immediate", "ten_day", "ten_day"],
        "first_contact_at": [T("2020-10-20 15:00"), None, T("2021-07-02")],
        "first_contact_status": ["completed", None, "attempted"]})
    allegations = pd.DataFrame([
        ("a1", "r1", "k1", "general_neglect", "substantiated", "2020-11-01", "parent", False),
        ("a2", "r1", "k1", "physical_abuse", "unfounded", "2020-11-01", "relative", False),
        ("a3", "r2", "k3", "sexual_abuse", "indicated", "2021-06-01", "foster_parent", False),
        ("a4", "r3", "k2", "severe_neglect", "inconclusive", "2021-08-01", "other", False),
        ("a5", "r3", "k2", "emotional_abuse", "pending", None, "other", False),
        ("a6", "r3", "k2", "caretaker_absence", "evaluated_out", "2021-07-01", "other", False),
    ], columns=["allegation_id", "referral_id", "child_id", "maltreatment_type", "disposition",
                "disposition_date", "perpetrator_type", "fatality"])
    allegations["disposition_date"] = pd.to_datetime(allegations["disposition_date"])
    for name, frame in dict(children=children, episodes=episodes, placements=placements,
                            referrals=referrals, allegations=allegations).items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture()
def data(tmp_path) -> Path:
    return make_dataset(tmp_path / "data")


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def test_afcars_records_by_hand(data):
    by_period = afcars_records(data, extract_date=EXTRACT)
    assert sorted(by_period) == [2021 * 2, 2021 * 2 + 1, 2022 * 2]  # 21A, 21B, 22A
    cols = ["RECNUMBR", "TOTALREM", "DLSTFCDT", "LATREMDT", "CURSETDT", "NUMPLEP", "CURPLSET",
            "DODFCDT", "DISREASN", "TPRMOMDT", "FIPSCODE"]
    a21 = by_period[2021 * 2][cols].to_dict("records")
    assert a21 == [
        # k1 on 2021-03-31: third setting (kin since 03-01) after shelter and foster home.
        dict(RECNUMBR="k1", TOTALREM="1", DLSTFCDT="", LATREMDT="20201105", CURSETDT="20210301",
             NUMPLEP="3", CURPLSET="2", DODFCDT="", DISREASN="0", TPRMOMDT="", FIPSCODE="06037"),
        # k2 adopted 02-15 from its only (pre-adoptive) setting; legally free 01-20.
        dict(RECNUMBR="k2", TOTALREM="1", DLSTFCDT="", LATREMDT="20210110", CURSETDT="20210110",
             NUMPLEP="1", CURPLSET="1", DODFCDT="20210215", DISREASN="3", TPRMOMDT="20210120",
             FIPSCODE="06001"),
        # k4: group home, respite (not shown), same group home (one setting), then a relative
        # guardian home (setting 2, coded relative foster home).
        dict(RECNUMBR="k4", TOTALREM="1", DLSTFCDT="", LATREMDT="20201201", CURSETDT="20210301",
             NUMPLEP="2", CURPLSET="2", DODFCDT="", DISREASN="0", TPRMOMDT="", FIPSCODE="06059"),
    ]
    b21 = by_period[2021 * 2 + 1][cols].to_dict("records")
    assert b21 == [
        # k1 re-entered 09-01: the 21B record shows only the new episode; its first setting
        # (kin, 09-01) was left on 09-20 for a group home.
        dict(RECNUMBR="k1", TOTALREM="2", DLSTFCDT="20210801", LATREMDT="20210901",
             CURSETDT="20210920", NUMPLEP="2", CURPLSET="4", DODFCDT="", DISREASN="0", TPRMOMDT="",
             FIPSCODE="06037"),
        # k4 left on 05-10 for `other`, which has no DISREASN code.
        dict(RECNUMBR="k4", TOTALREM="1", DLSTFCDT="", LATREMDT="20201201", CURSETDT="20210301",
             NUMPLEP="2", CURPLSET="2", DODFCDT="20210510", DISREASN="", TPRMOMDT="",
             FIPSCODE="06059"),
    ]
    assert by_period[2022 * 2]["RECNUMBR"].tolist() == ["k1"]
    # The vectorised writer and the one-record formatter agree character for character.
    values = by_period[2021 * 2]
    assert _fixed_lines(values) == [format_fixed(row) for row in values.to_dict("records")]


def test_afcars_round_trip_by_hand(data, tmp_path):
    exported = export_afcars(data, tmp_path / "files", extract_date=EXTRACT)
    assert [p.name for p in exported.files] == ["FC2021A.dat", "FC2021B.dat", "FC2022A.dat"]
    assert {k: v for k, v in exported.notes.items() if v} == {
        "respite placements (not shown: AFCARS has no respite setting)": 1,
        "exit reason `other` written blank (no DISREASN code)": 1,
        "episodes with agency probation (AFCARS has no agency element)": 1}
    summary = import_afcars(exported.files, tmp_path / "out")
    eps = read(tmp_path / "out", "episodes")
    assert eps.drop(columns="child_id").to_dict("records") == [
        # k1's exit and re-entry fell between two snapshots: the date comes back from
        # DLSTFCDT, the reason (reunification) is lost.
        dict(episode_id="CAk1/20201105", county="06037", agency="child_welfare",
             removal_date=D(2020, 11, 5), exit_date=D(2021, 8, 1), exit_reason=None, legally_free_date=None),
        dict(episode_id="CAk1/20210901", county="06037", agency="child_welfare",
             removal_date=D(2021, 9, 1), exit_date=None, exit_reason=None, legally_free_date=None),
        dict(episode_id="CAk2/20210110", county="06001", agency="child_welfare",
             removal_date=D(2021, 1, 10), exit_date=D(2021, 2, 15), exit_reason="adoption",
             legally_free_date=D(2021, 1, 20)),
        # Probation becomes child_welfare; `other` comes back without a reason.
        dict(episode_id="CAk4/20201201", county="06059", agency="child_welfare",
             removal_date=D(2020, 12, 1), exit_date=D(2021, 5, 10), exit_reason=None, legally_free_date=None),
    ]
    p = read(tmp_path / "out", "placements")
    got = list(zip(p["episode_id"].str[:4], p["start_date"], p["end_date"], p["setting"],
                   p["provider_id"].str.split("#").str[1]))
    assert got == [
        # e1 seen once (21A: kin since 03-01, NUMPLEP 3): two settings of unknown kind spread
        # over the 116 days from the removal (at 0 and 58 days). The THV never showed.
        ("CAk1", D(2020, 11, 5), D(2021, 1, 2), "other", "1"),
        ("CAk1", D(2021, 1, 2), D(2021, 3, 1), "other", "2"),
        ("CAk1", D(2021, 3, 1), D(2021, 8, 1), "kin", "3"),
        # e2: group home since 09-20 as the second setting; the first began at the removal.
        ("CAk1", D(2021, 9, 1), D(2021, 9, 20), "other", "1"),
        ("CAk1", D(2021, 9, 20), None, "group_home", "2"),
        ("CAk2", D(2021, 1, 10), D(2021, 2, 15), "pre_adoptive", "1"),
        ("CAk4", D(2020, 12, 1), D(2021, 3, 1), "other", "1"),
        ("CAk4", D(2021, 3, 1), D(2021, 5, 10), "kin", "2"),
    ]
    # Moves (G9) survive: e1 had 2 moves (shelter->foster->kin; THV is none), e4 had 1.
    assert summary.notes["placements inserted from NUMPLEP (setting unknown)"] == 4
    assert summary.notes["exit dates taken from the next removal's DLSTFCDT"] == 1
    kids = read(tmp_path / "out", "children").set_index("child_id")
    assert kids[["birth_date", "sex", "race_ethnicity"]].to_dict("index") == {
        "CAk1": dict(birth_date=D(2012, 5, 1), sex="female", race_ethnicity="black"),
        "CAk2": dict(birth_date=D(2019, 2, 28), sex="male", race_ethnicity="hispanic"),
        "CAk4": dict(birth_date=D(2006, 6, 15), sex="female", race_ethnicity="white"),
    }


def test_tab_layout_round_trip_equals_fixed(data, tmp_path):
    fixed = export_afcars(data, tmp_path / "fixed", extract_date=EXTRACT)
    tab = export_afcars(data, tmp_path / "tab", layout_name="tab", extract_date=EXTRACT)
    assert [p.name for p in tab.files] == ["FC2021A.tab", "FC2021B.tab", "FC2022A.tab"]
    import_afcars(fixed.files, tmp_path / "a")
    import_afcars(tab.files, tmp_path / "b")
    for name in ("children", "episodes", "placements"):
        pd.testing.assert_frame_equal(read(tmp_path / "a", name), read(tmp_path / "b", name))


def test_annual_research_files(data, tmp_path):
    annual = export_afcars(data, tmp_path / "files", layout_name="tab", annual=True,
                           extract_date=EXTRACT)
    assert annual.records == {"FC2021.tab": 3, "FC2022.tab": 1}
    import_afcars(annual.files, tmp_path / "out")
    eps = read(tmp_path / "out", "episodes").set_index("episode_id")
    # FY2021 keeps k1's 21B record only: e1 is known just from TOTALREM 2, REM1DT and
    # DLSTFCDT, so it is rebuilt with its dates and without reason or placements.
    assert eps.loc["CAk1/20201105", ["removal_date", "exit_date", "exit_reason"]].tolist() == [
        D(2020, 11, 5), D(2021, 8, 1), None]
    p = read(tmp_path / "out", "placements")
    assert "CAk1/20201105" not in set(p["episode_id"])
    assert len(eps) == 4


def test_ncands_round_trip_by_hand(data, tmp_path):
    exported = export_ncands(data, tmp_path / "files", with_birth_date=True)
    assert exported.records == {"CF2021.tab": 3}
    assert exported.notes["allegations pending or evaluated out (not in NCANDS)"] == 2
    import_afcars(export_afcars(data, tmp_path / "afcars", extract_date=EXTRACT).files, tmp_path / "out")
    import_ncands(exported.files, tmp_path / "out")
    a = read(tmp_path / "out", "allegations").sort_values("allegation_id")
    assert a[["allegation_id", "child_id", "maltreatment_type", "disposition", "perpetrator_type",
              "disposition_date"]].to_dict("records") == [
        dict(allegation_id="CA-r1/k1/1", child_id="CAk1", maltreatment_type="physical_abuse",
             disposition="unfounded", perpetrator_type="relative", disposition_date=D(2020, 11, 1)),
        dict(allegation_id="CA-r1/k1/2", child_id="CAk1", maltreatment_type="general_neglect",
             disposition="substantiated", perpetrator_type="parent", disposition_date=D(2020, 11, 1)),
        # k3 was never in care: no AFCARS id, so an NCANDS-only id.
        dict(allegation_id="CA-r2/k3/1", child_id="CA#k3", maltreatment_type="sexual_abuse",
             disposition="indicated", perpetrator_type="foster_parent", disposition_date=D(2021, 6, 1)),
        # severe neglect has no NCANDS twin: neglect comes back as general neglect.
        dict(allegation_id="CA-r3/k2/1", child_id="CAk2", maltreatment_type="general_neglect",
             disposition="inconclusive", perpetrator_type="other", disposition_date=D(2021, 8, 1)),
    ]
    r = read(tmp_path / "out", "referrals").set_index("referral_id")
    assert r[["county", "received_at", "first_contact_at", "first_contact_status"]].to_dict("index") == {
        "CA-r1": dict(county="06037", received_at=T("2020-10-20 10:30"),
                      first_contact_at=T("2020-10-20 15:00"), first_contact_status="completed"),
        "CA-r2": dict(county="06001", received_at=T("2021-05-02"), first_contact_at=pd.NaT,
                      first_contact_status=None),
        # NCANDS has one investigation start date: an attempted contact comes back completed.
        "CA-r3": dict(county="06001", received_at=T("2021-07-01 09:00"),
                      first_contact_at=T("2021-07-02"), first_contact_status="completed"),
    }
    kids = read(tmp_path / "out", "children").set_index("child_id")
    assert kids["birth_date"].to_dict() == {
        "CA#k3": D(2008, 1, 1), "CAk1": D(2012, 5, 1), "CAk2": D(2019, 2, 28), "CAk4": D(2006, 6, 15)}
    assert kids.loc["CA#k3", "race_ethnicity"] == "multiracial"


def test_ncands_without_birth_dates_estimates_them(data, tmp_path):
    exported = export_ncands(data, tmp_path / "files")
    import_ncands(exported.files, tmp_path / "out")
    kids = read(tmp_path / "out", "children").set_index("child_id")
    # k3 was 13 on 2021-05-02: born 2007-05-03..2008-05-02 (365 days), middle 2007-11-01
    # (true: 2008-01-01).
    assert kids.loc["CA#k3", "birth_date"] == D(2007, 11, 1)


def test_cli_import_and_export_print_no_child_level_data(data, tmp_path):
    from cwoutcomes.cli import app

    runner = CliRunner()
    files = tmp_path / "files"
    result = runner.invoke(app, ["export", "afcars", str(data), "--out", str(files / "afcars"),
                                 "--extract-date", "2021-12-31"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "ncands", str(data), "--out", str(files / "ncands")])
    assert result.exit_code == 0, result.output
    afcars = sorted(str(p) for p in (files / "afcars").iterdir())
    result = runner.invoke(app, ["import", "afcars", *afcars, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "episodes" in result.output and "3" in result.output
    result2 = runner.invoke(app, ["import", "ncands", str(files / "ncands" / "CF2021.tab"),
                                  "--out", str(tmp_path / "out")])
    assert result2.exit_code == 0, result2.output
    for text in (result.output, result2.output):
        for child in ("k1", "k2", "k3", "k4"):
            assert child not in text
    bad = runner.invoke(app, ["import", "afcars", str(tmp_path / "nothing.dat"), "--out",
                              str(tmp_path / "out2")])
    assert bad.exit_code == 2 and "no AFCARS records" in bad.output


def test_synthetic_round_trip_keeps_points_in_time_and_victims(tmp_path):
    from cwoutcomes.synth import generate

    data = tmp_path / "synth"
    generate(data, scale=0.002, seed=3, start=dt.date(2018, 1, 1), end=dt.date(2021, 12, 31))
    files = tmp_path / "files"
    a = export_afcars(data, files / "afcars", extract_date=EXTRACT)
    n = export_ncands(data, files / "ncands", extract_date=EXTRACT)
    out = tmp_path / "out"
    import_afcars(a.files, out)
    import_ncands(n.files, out)

    before, after = read(data, "episodes"), read(out, "episodes")
    rejects = pd.read_csv(out / "import_rejects.csv", dtype=str)
    assert set(rejects["action"]) <= {"record_dropped"}  # the export writes no bad values
    dropped = rejects.merge(before.assign(value=before["removal_date"].astype(str)),
                            left_on=["key", "value"], right_on=["child_id", "value"])
    assert len(dropped) == len(rejects)

    def in_care(episodes, day):
        rem, ex = pd.to_datetime(episodes["removal_date"]), pd.to_datetime(episodes["exit_date"])
        return (rem <= day) & (ex.isna() | (ex > day))

    # Every period start: the same children in care, except episodes the rebuilding dropped.
    for day in pd.date_range("2018-04-01", "2021-10-01", freq="6MS"):
        expected = int(in_care(before, day).sum()) - int(in_care(dropped, day).sum())
        assert int(in_care(after, day).sum()) == expected, day

    # Every disposed, screened-in allegation comes back, on the same victim/non-victim side.
    orig = read(data, "allegations")
    kept = orig.loc[~orig["disposition"].isin(["pending", "evaluated_out"])
                    & orig["disposition_date"].notna()]
    back = read(out, "allegations")
    assert len(back) == len(kept)
    victim = ["substantiated", "indicated"]
    # A report-child pair with a maltreatment death and no victim allegation gets one
    # `indicated` allegation (federal victim definition).
    pairs = kept.assign(v=kept["disposition"].isin(victim), f=kept["fatality"].astype(bool)).groupby(
        ["referral_id", "child_id"])[["v", "f"]].any()
    fatal_upgrades = int((pairs["f"] & ~pairs["v"]).sum())
    assert back["disposition"].isin(victim).sum() == kept["disposition"].isin(victim).sum() + fatal_upgrades
