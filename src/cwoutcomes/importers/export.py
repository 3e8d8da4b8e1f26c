"""Writing a canonical data set in the federal layouts: six-month AFCARS foster-care files (the
fixed-width state submission or tab-delimited research-release columns) and yearly NCANDS child
files (tab-delimited, NDACAN column names).

An AFCARS file shows, for every child in care at any time in the period, the child's latest
removal episode as of the period end (or the extract date, for the period that contains it):
removal and discharge dates, the current placement setting and the date it began, and the
counters TOTALREM and NUMPLEP. NUMPLEP counts settings as G9 does (trial home visits, runaways
and respite are not settings; consecutive placements with one provider are one setting), which
is also what CB policy asks of states. Elements the model has no value for are written blank.
An NCANDS file holds the report-child pairs whose report got its disposition in that federal
fiscal year. What is lost on the way (codes without a federal twin, more than four allegations
or three perpetrators on one report-child pair) is counted in the returned summary and listed
in `docs/import.md`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cwoutcomes.errors import InputError
from cwoutcomes.importers import codes
from cwoutcomes.importers.afcars import layout, period_label
from cwoutcomes.importers.dataset import Progress
from cwoutcomes.model.tables import NON_MOVE_SETTINGS, TABLES, DType


@dataclass
class ExportSummary:
    files: list[Path]
    records: dict[str, int]  # file name -> records written
    notes: dict[str, int] = field(default_factory=dict)  # what the layout could not carry


# --- reading the data set -----------------------------------------------------------------------

def read_table(data_dir: Path, name: str) -> pd.DataFrame | None:
    """A model table from a data-set folder (Parquet or CSV), dates as datetime64; None if absent."""
    data_dir = Path(data_dir)
    parquet, csv = data_dir / f"{name}.parquet", data_dir / f"{name}.csv"
    if parquet.exists():
        frame = pq.read_table(parquet).to_pandas(date_as_object=False)
    elif csv.exists():
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False).replace("", None)
    else:
        return None
    for col in TABLES[name].columns:
        if col.name not in frame:  # optional column left out of the data set
            frame[col.name] = pd.Series(
                pd.NaT if col.dtype in (DType.DATE, DType.DATETIME) else None, index=frame.index,
                dtype="datetime64[ns]" if col.dtype in (DType.DATE, DType.DATETIME) else object)
        elif col.dtype in (DType.DATE, DType.DATETIME):
            if not pd.api.types.is_datetime64_any_dtype(frame[col.name]):
                frame[col.name] = pd.to_datetime(frame[col.name], errors="coerce", format="mixed")
            frame[col.name] = frame[col.name].astype("datetime64[ns]")
        elif col.dtype is DType.BOOLEAN and frame[col.name].dtype == object:
            frame[col.name] = frame[col.name].map({"true": True, "false": False, True: True,
                                                   False: False})
    return frame


def _require(data_dir: Path, name: str) -> pd.DataFrame:
    frame = read_table(data_dir, name)
    if frame is None:
        raise InputError(f"{data_dir} has no {name} table ({name}.parquet or {name}.csv)")
    return frame


def _extract_date(frames: list[tuple[pd.DataFrame, list[str]]]) -> pd.Timestamp:
    latest = [frame[col].max() for frame, cols in frames for col in cols if frame is not None]
    latest = [d for d in latest if pd.notna(d)]
    if not latest:
        raise InputError("the data set has no dates to take an extract date from")
    return pd.Timestamp(max(latest)).normalize()


def _state(counties: pd.Series, state: str | None) -> str:
    """State FIPS: given, or the one most county codes start with."""
    if state is not None:
        fips = state if state in codes.STATE_FIPS_TO_ABBR else codes.STATE_ABBR_TO_FIPS.get(state.upper())
        if fips is None:
            raise InputError(f"unknown state {state!r} (give a FIPS number or postal abbreviation)")
        return fips
    prefixes = counties.dropna().astype(str).str[:2]
    prefixes = prefixes[prefixes.isin(codes.STATE_FIPS_TO_ABBR)]
    if prefixes.empty:
        raise InputError("cannot tell the state from the county codes; give --state")
    return prefixes.value_counts().index[0]


_RECORD_NUMBER = re.compile(r"^[\x21-\x7e]{1,12}$")


def record_numbers(ids: pd.Series) -> pd.Series:
    """Child ids as AFCARS record numbers (<= 12 printable characters without @ $ # %). Ids
    that do not fit are replaced by 12 characters of a hash, the same in every export, so that
    the AFCARS RECNUMBR and the NCANDS AFCARSID of one child agree."""
    ids = ids.astype(str)
    fits = ids.str.match(_RECORD_NUMBER) & ~ids.str.contains(r"[@$#%]", regex=True)
    out = ids.copy()
    out[~fits] = [base64.b32encode(hashlib.sha1(i.encode()).digest()).decode()[:12]
                  for i in ids[~fits]]
    return out


def _ymd(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y%m%d").fillna("")


def _iso(series: pd.Series) -> pd.Series:
    return series.dt.strftime("%Y-%m-%d").fillna("")


# --- AFCARS -------------------------------------------------------------------------------------

def _periods(first: pd.Timestamp, last: pd.Timestamp) -> list[int]:
    """Period indexes (fy*2 + 0 for A, 1 for B) from the one containing `first` to the one
    containing `last`."""
    def index(day: pd.Timestamp) -> int:
        fy = day.year + (1 if day.month >= 10 else 0)
        return fy * 2 + (1 if 4 <= day.month <= 9 else 0)
    return list(range(index(first), index(last) + 1))


def _period_bounds(period: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    fy, half = divmod(period, 2)
    if half:
        return pd.Timestamp(fy, 4, 1), pd.Timestamp(fy, 9, 30)
    return pd.Timestamp(fy - 1, 10, 1), pd.Timestamp(fy, 3, 31)


def _prepare_placements(placements: pd.DataFrame, notes: Counter) -> pd.DataFrame:
    """Placements as the AFCARS record sees them: respite is not shown (the record keeps the
    setting the child returns to) and rows ending before they start are ignored (G18.9). Adds
    the G9 setting number (`numplep`) and the date the current setting began (`setting_date`)."""
    p = placements.loc[placements["start_date"].notna()].copy()
    bad = p["end_date"].notna() & (p["end_date"] < p["start_date"])
    notes["placements ending before they start (not exported)"] += int(bad.sum())
    respite = p["setting"] == "respite"
    notes["respite placements (not shown: AFCARS has no respite setting)"] += int(respite.sum())
    p = p.loc[~bad & ~respite].sort_values(["episode_id", "start_date", "placement_id"], kind="stable")
    countable = ~p["setting"].isin(NON_MOVE_SETTINGS)
    provider = p["provider_id"].where(p["provider_id"].notna(), None)
    same_episode = p["episode_id"].eq(p["episode_id"].shift())
    # G9 merging looks through THV/runaway rows: compare with the previous countable row.
    prev_provider = provider.where(countable).groupby(p["episode_id"]).ffill() \
        .groupby(p["episode_id"]).shift()
    continues = countable & provider.notna() & (provider == prev_provider)
    new_setting = countable & ~continues.astype("boolean").fillna(False).astype(bool)
    p["numplep"] = new_setting.astype(int).groupby(p["episode_id"]).cumsum()
    # CURSETDT: a directly consecutive row with the same provider continues the setting (a
    # re-licensing); a return after a THV or runaway starts a new date (NUMPLEP stays).
    prev_row_countable = countable.shift(fill_value=False) & same_episode
    direct = countable & prev_row_countable & provider.notna() & (provider == provider.shift())
    run = (~direct).cumsum()
    p["setting_date"] = p.groupby(run)["start_date"].transform("first")
    p["countable"] = countable
    return p


def afcars_records(data_dir: Path, *, extract_date: dt.date | None = None, state: str | None = None,
                   notes: Counter | None = None) -> dict[int, pd.DataFrame]:
    """Per report period, one row per child with the AFCARS element values as strings."""
    notes = notes if notes is not None else Counter()
    children = _require(data_dir, "children")
    episodes = _require(data_dir, "episodes")
    placements = _require(data_dir, "placements")
    state_fips = _state(episodes["county"], state)
    extract = pd.Timestamp(extract_date) if extract_date else _extract_date([
        (episodes, ["removal_date", "exit_date"]), (placements, ["start_date", "end_date"])])

    e = episodes.loc[episodes["removal_date"].notna() & (episodes["removal_date"] <= extract)].copy()
    e = e.sort_values(["child_id", "removal_date", "episode_id"], kind="stable")
    e["total"] = e.groupby("child_id").cumcount() + 1
    e["first_removal"] = e.groupby("child_id")["removal_date"].transform("first")
    e["previous_exit"] = e.groupby("child_id")["exit_date"].shift()
    e["recnumbr"] = record_numbers(e["child_id"])
    kids = children.set_index("child_id")
    e = e.join(kids[["birth_date", "sex", "race_ethnicity"]], on="child_id")
    p = _prepare_placements(placements.loc[placements["episode_id"].isin(e["episode_id"])], notes)
    p = p.sort_values("start_date", kind="stable")

    notes["exit reason `other` written blank (no DISREASN code)"] += int((e["exit_reason"] == "other").sum())
    notes["multiracial children written as Black and White flags"] += int(
        e.drop_duplicates("child_id")["race_ethnicity"].eq("multiracial").sum())
    notes["episodes with agency probation (AFCARS has no agency element)"] += int(
        (e["agency"] == "probation").sum())

    result = {}
    for period in _periods(e["removal_date"].min(), extract):
        start, end = _period_bounds(period)
        as_of = min(end, extract)
        cur = e.loc[e["removal_date"] <= as_of].drop_duplicates("child_id", keep="last")
        cur = cur.loc[cur["exit_date"].isna() | (cur["exit_date"] >= start)].copy()
        if cur.empty:
            continue
        exited = cur["exit_date"].notna() & (cur["exit_date"] <= as_of)
        cur["cutoff"] = as_of
        cur.loc[exited, "cutoff"] = cur.loc[exited, "exit_date"] - pd.Timedelta(days=1)
        cur["cutoff"] = cur["cutoff"].astype("datetime64[ns]")
        cur = cur.sort_values("cutoff", kind="stable")
        cur = pd.merge_asof(cur, p[["episode_id", "start_date", "setting_date", "setting", "numplep",
                                    "countable", "caregiver_relative", "caregiver_indian"]],
                            left_on="cutoff", right_on="start_date", by="episode_id",
                            direction="backward")
        exited = cur["exit_date"].notna() & (cur["exit_date"] <= as_of)
        result[period] = _afcars_values(cur, exited, as_of, period, state_fips)
    return result


def _afcars_values(cur: pd.DataFrame, exited: pd.Series, as_of: pd.Timestamp, period: int,
                   state_fips: str) -> pd.DataFrame:
    fy, half = divmod(period, 2)
    v = pd.DataFrame(index=cur.index)
    v["STATE"] = state_fips
    v["REPDAT"] = f"{fy}{'09' if half else '03'}"
    county = cur["county"].fillna("").astype(str)
    v["FIPSCODE"] = county.where(county.str.fullmatch(r"\d{5}"), "")
    v["RECNUMBR"] = cur["recnumbr"]
    v["DOB"] = _ymd(cur["birth_date"])
    v["SEX"] = cur["sex"].map({"male": "1", "female": "2"}).fillna("")
    race = cur["race_ethnicity"].fillna("unknown")
    for flag, name in codes.AFCARS_RACE_FLAGS.items():
        v[flag] = np.where(race == name, "1", "0")
    v["BLKAFRAM"] = np.where(race == "multiracial", "1", v["BLKAFRAM"])
    v["WHITE"] = np.where(race == "multiracial", "1", v["WHITE"])
    v[codes.AFCARS_RACE_UNKNOWN_FLAG] = np.where(race.isin(("unknown", "hispanic")), "1", "0")
    v["HISORGIN"] = np.select([race == "hispanic", race == "unknown"], ["1", "3"], default="2")
    v["REM1DT"] = _ymd(cur["first_removal"])
    v["TOTALREM"] = cur["total"].clip(upper=99).astype(int).astype(str)
    prev = cur["previous_exit"].where(cur["previous_exit"] <= as_of)
    v["DLSTFCDT"] = _ymd(prev)
    v["LATREMDT"] = _ymd(cur["removal_date"])
    v["REMTRNDT"] = v["LATREMDT"]
    has_setting = cur["setting"].notna()
    v["CURSETDT"] = _ymd(cur["setting_date"].where(has_setting))
    numplep = cur["numplep"].where(has_setting)
    # A THV or runaway at the very start of an episode has no setting to count yet.
    v["NUMPLEP"] = numplep.where(numplep >= 1).astype("Int64").clip(upper=99).astype(str).replace(
        "<NA>", "")
    setting = cur["setting"].map(codes.AFCARS_SETTING_OUT).fillna("")
    relative_guardian = (cur["setting"] == "guardian") & cur["caregiver_relative"].astype("boolean").fillna(False).astype(bool)
    v["CURPLSET"] = setting.where(~relative_guardian, "2")
    family = v["CURPLSET"].isin(("1", "2", "3"))
    indian = cur["caregiver_indian"].astype("boolean")
    v["RF1AMAKN"] = np.where(family & indian.notna(),
                             np.where(indian.astype("boolean").fillna(False).astype(bool), "1", "0"), "")
    free = cur["legally_free_date"].where(cur["legally_free_date"] <= as_of) \
        if "legally_free_date" in cur else pd.Series(pd.NaT, index=cur.index)
    v["TPRMOMDT"] = _ymd(free)
    v["TPRDADDT"] = _ymd(free)
    v["DODFCDT"] = _ymd(cur["exit_date"].where(exited))
    v["DODTRNDT"] = v["DODFCDT"]
    reason = cur["exit_reason"].map(codes.AFCARS_DISCHARGE_OUT).fillna("")
    v["DISREASN"] = np.where(exited, reason, "0")
    return v.sort_values("RECNUMBR", kind="stable").reset_index(drop=True)


def export_afcars(data_dir: Path, out_dir: Path, *, layout_name: str = "fixed", annual: bool = False,
                  extract_date: dt.date | None = None, state: str | None = None,
                  progress: Progress | None = None) -> ExportSummary:
    """Write the data set's foster-care history as AFCARS files in `out_dir`: one file per
    six-month period (`FC2021A.dat` fixed-width, or `FC2021A.tab`), or with `annual` (tab layout
    only) one research-style file per fiscal year holding each child's latest record."""
    if layout_name not in ("fixed", "tab"):
        raise InputError(f"unknown AFCARS layout {layout_name!r}: use fixed or tab")
    if annual and layout_name != "tab":
        raise InputError("annual files exist only in the tab-delimited research layout")
    notes: Counter = Counter()
    if progress:
        progress("building records", 0, 1)
    by_period = afcars_records(data_dir, extract_date=extract_date, state=state, notes=notes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if annual:
        by_year: dict[int, list[pd.DataFrame]] = {}
        for period, values in by_period.items():
            by_year.setdefault(period // 2, []).append(values)
        groups = {f"FC{fy}": pd.concat(parts).drop_duplicates("RECNUMBR", keep="last")
                  for fy, parts in by_year.items()}
    else:
        groups = {f"FC{period_label(p)}": v for p, v in by_period.items()}
    files, records = [], {}
    for i, (stem, values) in enumerate(sorted(groups.items())):
        if progress:
            progress(f"writing {stem}", i, len(groups))
        if layout_name == "fixed":
            path = out_dir / f"{stem}.dat"
            _write_fixed(values, path)
        else:
            path = out_dir / f"{stem}.tab"
            _write_afcars_tab(values, path)
        files.append(path)
        records[path.name] = len(values)
    if progress:
        progress("done", len(groups), len(groups))
    return ExportSummary(files, records, dict(notes))


def _write_fixed(values: pd.DataFrame, path: Path) -> None:
    first = values.iloc[0] if len(values) else None
    # TB#2 summary record: 174 characters; its layout is not in our references, so only the
    # state and report period are filled (the importer skips it).
    summary = ((first["STATE"] + first["REPDAT"]) if first is not None else "").ljust(174)
    lines = ["@", summary]
    lines += _fixed_lines(values)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def _fixed_lines(values: pd.DataFrame) -> list[str]:
    """`format_fixed` over all records at once (Arrow kernels: millions of records per file)."""
    n = len(values)
    pieces = []
    for el in layout():
        width = el.end - el.start + 1
        if el.name not in values:
            pieces.append(pa.array([" " * width] * n, type=pa.string()) if n else pa.array([], pa.string()))
            continue
        col = pa.array(values[el.name].astype(str).tolist(), type=pa.string())
        if pc.any(pc.greater(pc.utf8_length(col), width)).as_py():
            raise InputError(f"AFCARS element {el.name}: a value is wider than {width} characters")
        if el.name == "RECNUMBR":
            col = pc.utf8_rpad(col, width, " ")
        else:  # numbers, codes and dates are zero-padded on the left; blanks stay blank
            col = pc.if_else(pc.equal(col, ""), " " * width, pc.utf8_lpad(col, width, "0"))
        pieces.append(col)
    if not n:
        return []
    return pc.binary_join_element_wise(*pieces, "").to_pylist()


def _write_afcars_tab(values: pd.DataFrame, path: Path) -> None:
    frame = pd.DataFrame({
        "FY": values["REPDAT"].str[:4],
        "RepDatYr": values["REPDAT"].str[:4],
        "RepDatMo": values["REPDAT"].str[4:6].str.lstrip("0"),
        "State": values["STATE"].str.lstrip("0"),
        "St": values["STATE"].map(codes.STATE_FIPS_TO_ABBR),
    })
    for el in layout():
        if el.name in ("STATE", "REPDAT"):
            continue
        col = values[el.name] if el.name in values else pd.Series("", index=values.index)
        if el.end - el.start + 1 == 8 and el.name.endswith("DT") or el.name == "DOB":
            col = pd.to_datetime(col, format="%Y%m%d", errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
        elif el.name in ("FIPSCODE",):
            col = col.str.lstrip("0")  # NDACAN writes county codes as numbers
        frame[el.research_names[0]] = col
    frame.to_csv(path, sep="\t", index=False)


# --- NCANDS -------------------------------------------------------------------------------------

def ncands_records(data_dir: Path, *, extract_date: dt.date | None = None, state: str | None = None,
                   with_birth_date: bool = False, notes: Counter | None = None) -> pd.DataFrame:
    """One row per report-child pair with the NCANDS values as strings, plus `SubYr`."""
    notes = notes if notes is not None else Counter()
    a, children, in_care, state_fips = _ncands_allegations(data_dir, extract_date, state, notes)
    return _ncands_rows(a, children, in_care, state_fips, with_birth_date, notes)


def _ncands_allegations(data_dir: Path, extract_date, state, notes: Counter):
    """The allegations NCANDS can hold, with their report's disposition date and referral."""
    children = _require(data_dir, "children")
    referrals = _require(data_dir, "referrals")
    allegations = _require(data_dir, "allegations")
    episodes = read_table(data_dir, "episodes")
    state_fips = _state(referrals["county"], state)
    extract = pd.Timestamp(extract_date) if extract_date else _extract_date([
        (referrals, ["received_at"]), (allegations, ["disposition_date"])])

    a = allegations.copy()
    unexported = a["disposition"].isin(("pending", "evaluated_out")) | a["disposition"].isna()
    notes["allegations pending or evaluated out (not in NCANDS)"] += int(unexported.sum())
    a = a.loc[~unexported]
    report_disposition = a.groupby("referral_id")["disposition_date"].max()
    a = a.join(report_disposition.rename("report_disposition_date"), on="referral_id")
    late = a["report_disposition_date"].isna() | (a["report_disposition_date"] > extract)
    notes["allegations of reports without a disposition date by the extract date"] += int(late.sum())
    a = a.loc[~late]
    a = a.join(referrals.set_index("referral_id")[["county", "received_at", "first_contact_at"]],
               on="referral_id", how="inner")
    in_care = set(episodes["child_id"]) if episodes is not None else set()
    return a, children, in_care, state_fips


def _ncands_rows(a: pd.DataFrame, children: pd.DataFrame, in_care: set, state_fips: str,
                 with_birth_date: bool, notes: Counter) -> pd.DataFrame:
    a = a.copy()
    type_rank = {t: i for i, t in enumerate(TABLES["allegations"].column("maltreatment_type").codes)}
    disp_rank = {t: i for i, t in enumerate(TABLES["allegations"].column("disposition").codes)}
    a["_type_rank"] = a["maltreatment_type"].map(type_rank)
    a["_disp_rank"] = a["disposition"].map(disp_rank)
    a["_fatal"] = a["fatality"].astype("boolean").fillna(False).astype(bool)
    a = a.sort_values(["referral_id", "child_id", "_type_rank", "_disp_rank", "allegation_id"],
                      kind="stable")
    a["slot"] = a.groupby(["referral_id", "child_id"]).cumcount() + 1
    notes["allegations beyond four per report-child pair (not exported)"] += int((a["slot"] > 4).sum())
    best = a.groupby("referral_id")["_disp_rank"].min()

    pairs = a.groupby(["referral_id", "child_id"], sort=True).agg(
        county=("county", "first"), received_at=("received_at", "first"),
        first_contact_at=("first_contact_at", "first"),
        disposition_date=("report_disposition_date", "first"),
        incident_date=("incident_date", "min"),
        fatality=("_fatal", "max"),
    ).reset_index()
    kept = a.loc[a["slot"] <= 4]

    rows = pd.DataFrame(index=pairs.index)
    fy = pairs["disposition_date"].dt.year + (pairs["disposition_date"].dt.month >= 10).astype(int)
    rows["SubYr"] = fy.astype(str)
    rows["StaTerr"] = codes.STATE_FIPS_TO_ABBR[state_fips]
    rows["RptID"] = pairs["referral_id"].astype(str)
    rows["ChID"] = record_numbers(pairs["child_id"]).to_numpy()
    county = pairs["county"].fillna("").astype(str)
    rows["RptFIPS"] = county.where(county.str.fullmatch(r"\d{5}"), "")
    rows["RptDt"] = _iso(pairs["received_at"])
    has_time = pairs["received_at"].notna() & (pairs["received_at"] != pairs["received_at"].dt.normalize())
    rows["RptTm"] = pairs["received_at"].dt.strftime("%H%M").where(has_time, "")
    rows["InvDate"] = _iso(pairs["first_contact_at"])
    contact_time = pairs["first_contact_at"].notna() & (
        pairs["first_contact_at"] != pairs["first_contact_at"].dt.normalize())
    rows["InvStrTm"] = pairs["first_contact_at"].dt.strftime("%H%M").where(contact_time, "")
    rows["RptDisp"] = pairs["referral_id"].map(best).map(
        {disp_rank[d]: c for d, c in codes.NCANDS_DISPOSITION_OUT.items()}).fillna("")
    rows["RpDispDt"] = _iso(pairs["disposition_date"])

    kids = children.set_index("child_id")
    birth = pairs["child_id"].map(kids["birth_date"])
    age = _completed_years(birth, pairs["received_at"].dt.normalize())
    rows["ChAge"] = np.select([birth.isna(), birth > pairs["received_at"], age > 21],
                              [codes.NCANDS_AGE_UNKNOWN, codes.NCANDS_AGE_UNBORN, codes.NCANDS_AGE_UNKNOWN],
                              default=age.astype("Int64").astype(str))
    if with_birth_date:
        rows["ChBDate"] = _iso(birth)
    rows["ChSex"] = pairs["child_id"].map(kids["sex"]).map({"male": "1", "female": "2"}).fillna("9")
    race = pairs["child_id"].map(kids["race_ethnicity"]).fillna("unknown")
    for flag, name in codes.NCANDS_RACE_FLAGS.items():
        yes = (race == name) | ((race == "multiracial") & (name in ("black", "white")))
        rows[_ndacan(flag)] = np.where(yes, "1", "2")
    rows["ChRacUD"] = np.where(race.isin(("unknown", "hispanic")), "1", "2")
    rows["CEthn"] = np.select([race == "hispanic", race == "unknown"], ["1", "3"], default="2")
    rows["ChCnty"] = rows["RptFIPS"]

    key = pd.MultiIndex.from_frame(pairs[["referral_id", "child_id"]])
    slots = kept.set_index(["referral_id", "child_id", "slot"])
    # Perpetrators: the distinct perpetrator types of the pair in slot order, numbered 1-3.
    perps = kept[["referral_id", "child_id", "slot", "perpetrator_type"]].dropna(
        subset=["perpetrator_type"]).drop_duplicates(["referral_id", "child_id", "perpetrator_type"])
    perps = perps.assign(number=perps.groupby(["referral_id", "child_id"]).cumcount() + 1)
    notes["perpetrator types beyond three per report-child pair (not exported)"] += int(
        (perps["number"] > 3).sum())
    number_of = perps.set_index(["referral_id", "child_id", "perpetrator_type"])["number"]
    by_number = perps.set_index(["referral_id", "child_id", "number"])["perpetrator_type"]
    slot_perp = {}
    for k in (1, 2, 3, 4):
        slot = slots.xs(k, level="slot").reindex(key) if k in slots.index.levels[2] else \
            pd.DataFrame(index=key, columns=slots.columns)
        rows[f"ChMal{k}"] = slot["maltreatment_type"].map(codes.NCANDS_MALTREATMENT_OUT).fillna("").to_numpy()
        rows[f"Mal{k}Lev"] = slot["disposition"].map(codes.NCANDS_DISPOSITION_OUT).fillna("").to_numpy()
        lookup = pd.MultiIndex.from_arrays([pairs["referral_id"], pairs["child_id"],
                                            slot["perpetrator_type"].to_numpy()])
        slot_perp[k] = number_of.reindex(lookup).to_numpy()
    rows["MalDeath"] = np.where(pairs["fatality"], "1", "2")
    for p in (1, 2, 3):
        lookup = pd.MultiIndex.from_arrays([pairs["referral_id"], pairs["child_id"],
                                            np.full(len(pairs), p)])
        kind = by_number.reindex(lookup).to_numpy()
        present = pd.notna(kind)
        rows[f"Per{p}Rel"] = pd.Series(kind, index=pairs.index).map(codes.NCANDS_PERPETRATOR_OUT).fillna("")
        for k in (1, 2, 3, 4):
            filled = (rows[f"ChMal{k}"] != "").to_numpy()
            rows[f"Per{p}Mal{k}"] = np.where(present & filled,
                                             np.where(slot_perp[k] == p, "1", "2"), "")
    linked = pairs["child_id"].isin(in_care)
    rows["AFCARSID"] = np.where(linked, record_numbers(pairs["child_id"]).to_numpy(), "")
    rows["IncidDt"] = _iso(pairs["incident_date"])
    return rows


def _ndacan(flag: str) -> str:
    return {"CHRACAI": "ChRacAI", "CHRACAS": "ChRacAs", "CHRACBL": "ChRacBl", "CHRACNH": "ChRacNH",
            "CHRACWH": "ChRacWh"}[flag]


def _completed_years(birth: pd.Series, day: pd.Series) -> pd.Series:
    years = day.dt.year - birth.dt.year
    before = (day.dt.month < birth.dt.month) | ((day.dt.month == birth.dt.month) & (day.dt.day < birth.dt.day))
    return years - before.astype(int)


def export_ncands(data_dir: Path, out_dir: Path, *, extract_date: dt.date | None = None,
                  state: str | None = None, with_birth_date: bool = False,
                  progress: Progress | None = None) -> ExportSummary:
    """Write the data set's reports as yearly NCANDS child files `CF<fy>.tab` in `out_dir`
    (federal fiscal year of the report disposition). `with_birth_date` adds the state file's
    ChBDate column, which the research release leaves out."""
    notes: Counter = Counter()
    if progress:
        progress("building records", 0, 1)
    a, children, in_care, state_fips = _ncands_allegations(data_dir, extract_date, state, notes)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files, records = [], {}
    # A report belongs to one fiscal year (its disposition date): one year at a time keeps the
    # memory of a state-sized export to one year's rows.
    day = a["report_disposition_date"]
    fiscal = (day.dt.year + (day.dt.month >= 10).astype(int)).to_numpy()
    years = sorted(set(fiscal.tolist()))
    for i, year in enumerate(years):
        if progress:
            progress(f"writing CF{year}", i, len(years))
        part = _ncands_rows(a.loc[fiscal == year], children, in_care, state_fips, with_birth_date,
                            notes)
        path = out_dir / f"CF{year}.tab"
        part.to_csv(path, sep="\t", index=False)
        files.append(path)
        records[path.name] = len(part)
    if progress:
        progress("done", len(years), len(years))
    return ExportSummary(files, records, dict(notes))
