"""Importing NCANDS child files (one row per report x child, yearly) as referrals, allegations
and children.

Read: the tab-delimited research release (NDACAN `CF<fy>.tab` style) with NDACAN variable names,
matched case-insensitively. A report-child row gives up to four allegations (ChMal1-4 with
Mal1Lev-Mal4Lev), the perpetrators (Per1-3: relationship and which maltreatments they
committed), the report and investigation dates, county and the AFCARS id that links a victim to
foster-care records. Child ids: a child with an AFCARS id gets the same id the AFCARS import
gives (state + AFCARS record number), so the two imports meet; other children get state + `#` +
ChID (`#` cannot occur in an AFCARS record number, so the two kinds never collide).

The research release has no birth date (only ChAge, age in years at the report); when no
ChBDate column is present, the birth date is estimated as the middle of the interval every one
of the child's reports allows (see `docs/import.md`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cwoutcomes.errors import InputError
from cwoutcomes.importers import codes
from cwoutcomes.importers.dataset import ImportSummary, Progress, write_source
from cwoutcomes.importers.parse import (
    STRING, UnreadableFile, as_mask, county_codes, delimited_columns, parse_codes, parse_dates,
    parse_ints, read_lines, strings, texts,
)
from cwoutcomes.importers.rejects import (
    FILE_SKIPPED, RECORD_DROPPED, SUPERSEDED, VALUE_DROPPED, Rejects,
)

SOURCE = "ncands"
SLOTS = (1, 2, 3, 4)
PERPETRATORS = (1, 2, 3)
REQUIRED = ("SUBYR", "STATERR", "RPTID", "CHID", "RPTDT")
FIELDS = (
    *REQUIRED, "RPTFIPS", "RPTTM", "INVDATE", "INVSTRTM", "RPDISPDT", "RPTDISP", "CHAGE", "CHBDATE",
    "CHSEX", *codes.NCANDS_RACE_FLAGS, codes.NCANDS_RACE_UNKNOWN_FLAG, "CETHN", "CHCNTY",
    *(f"CHMAL{k}" for k in SLOTS), *(f"MAL{k}LEV" for k in SLOTS), "MALDEATH",
    *(f"PER{p}REL" for p in PERPETRATORS),
    *(f"PER{p}MAL{k}" for p in PERPETRATORS for k in SLOTS), "AFCARSID", "INCIDDT",
)
# Spellings other than the upper-cased NDACAN name.
ALIASES = {"CHBDATE": ("ChBDate", "DOB", "ChDOB"), "RPTFIPS": ("RptFIPS", "RptCnty")}


def read_file(path: Path, rejects: Rejects) -> pd.DataFrame:
    lines = read_lines(path)
    wanted = {name: (*ALIASES.get(name, ()), name) for name in FIELDS}
    frame, bad, _ = delimited_columns(lines, wanted)
    for number, fields in bad:
        rejects.add(file=str(path), line=number, key="", field="record", value=f"{fields} fields",
                    reason="number of fields differs from the header", action=RECORD_DROPPED)
    missing = [name for name in REQUIRED if name not in frame]
    if missing:
        raise UnreadableFile(f"header lacks required column(s) {', '.join(missing)}")
    for name in FIELDS:
        if name not in frame:
            frame[name] = None
    return frame


def _times(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clock times (HHMM, HH:MM or HH:MM:SS) as timedeltas; NaT when missing or bad."""
    text = strings(raw)
    missing = as_mask(text == "")
    digits = text.str.replace(":", "", regex=False)
    ok = as_mask(digits.str.fullmatch(r"\d{4}(\d{2})?"))
    hours = pd.to_numeric(digits.str.slice(0, 2).astype(object).where(ok), errors="coerce")
    minutes = pd.to_numeric(digits.str.slice(2, 4).astype(object).where(ok), errors="coerce")
    long = ok & as_mask(digits.str.len() == 6)
    seconds = pd.to_numeric(digits.str.slice(4, 6).astype(object).where(long), errors="coerce").fillna(0)
    ok = ok & as_mask((hours < 24) & (minutes < 60) & (seconds < 60))
    delta = pd.to_timedelta(hours * 3600 + minutes * 60 + seconds, unit="s").where(ok)
    return delta, pd.Series(~missing & ~ok, index=raw.index)


def validate(raw: pd.DataFrame, rejects: Rejects) -> pd.DataFrame:
    raw = raw.reset_index(drop=True)
    state_text = strings(raw["STATERR"]).str.upper()
    known = as_mask(state_text.isin(list(codes.STATE_ABBR_TO_FIPS)))
    state = state_text.astype(object).where(
        known, state_text.str.pad(2, fillchar="0").map(codes.STATE_FIPS_TO_ABBR))
    report, no_report = texts(raw["RPTID"])
    chid, no_child = texts(raw["CHID"])
    raw["key"] = (state.fillna("").astype(STRING) + "-" + strings(raw["RPTID"]) + "/"
                  + strings(raw["CHID"]))

    dropped = np.zeros(len(raw), dtype=bool)

    def drop(mask, field, reason):
        nonlocal dropped
        mask = as_mask(mask) & ~dropped
        rejects.add_masked(raw, mask, field=field, raw=field, reason=reason, action=RECORD_DROPPED)
        dropped |= mask

    def bad_value(mask, field, reason):
        rejects.add_masked(raw, as_mask(mask) & ~dropped, field=field, raw=field, reason=reason,
                           action=VALUE_DROPPED)

    drop(state.isna(), "STATERR", "unknown state")
    drop(no_report, "RPTID", "no report id")
    drop(no_child, "CHID", "no child id")
    report_date, bad = parse_dates(raw["RPTDT"])
    drop(bad, "RPTDT", "report date is not a date")
    drop(report_date.isna(), "RPTDT", "no report date")
    year, bad = parse_ints(raw["SUBYR"], 1990, 2100)
    bad_value(bad, "SUBYR", "submission year is not a year")

    out = pd.DataFrame({"file_index": raw["file_index"], "file": raw["file"], "line": raw["line"],
                        "key": raw["key"], "state": state, "report": report, "chid": chid,
                        "subyr": year})
    report_time, bad = _times(raw["RPTTM"])
    bad_value(bad, "RPTTM", "not a clock time")
    out["received_at"] = report_date + report_time.fillna(pd.Timedelta(0))
    out["received_has_time"] = report_time.notna()
    contact, bad = parse_dates(raw["INVDATE"])
    bad_value(bad, "INVDATE", "not a date")
    contact_time, bad = _times(raw["INVSTRTM"])
    bad_value(bad, "INVSTRTM", "not a clock time")
    out["contact_at"] = contact + contact_time.fillna(pd.Timedelta(0))
    out["contact_has_time"] = contact.notna() & contact_time.notna()
    for element, column in (("RPDISPDT", "disposition_date"), ("INCIDDT", "incident_date"),
                            ("CHBDATE", "birth_date")):
        values, bad = parse_dates(raw[element])
        bad_value(bad, element, "not a date")
        out[column] = values
    age, bad = parse_ints(raw["CHAGE"], 0, 99)
    odd = (age.between(22, 76) | age.between(78, 98)).fillna(False).astype(bool)
    bad_value(bad | odd, "CHAGE", "age not 0-21, 77 (unborn) or 99 (unknown)")
    out["age"] = age.where(~odd & (age != 99).fillna(False).astype(bool))

    report_county = strings(raw["RPTFIPS"])
    county = report_county.where(as_mask(report_county != ""), strings(raw["CHCNTY"]))
    fips = state.map(codes.STATE_ABBR_TO_FIPS).fillna("")
    out["county"], bad = county_codes(county, fips)
    bad_value(bad, "RPTFIPS", "not a county FIPS code of the report's state")

    sex, bad = parse_codes(raw["CHSEX"], codes.NCANDS_SEX)
    bad_value(bad, "CHSEX", "code not in 1, 2, 9")
    out["sex"] = sex.map(codes.NCANDS_SEX).fillna("unknown")
    races = {}
    for name in (*codes.NCANDS_RACE_FLAGS, codes.NCANDS_RACE_UNKNOWN_FLAG):
        values, bad = parse_codes(raw[name], ("1", "2", "3", "9"))
        bad_value(bad, name, "code not in 1, 2, 3, 9")
        races[name] = values == "1"
    ethnicity, bad = parse_codes(raw["CETHN"], ("1", "2", "3", "9"))
    bad_value(bad, "CETHN", "code not in 1, 2, 3, 9")
    matrix = pd.DataFrame({n: races[n] for n in codes.NCANDS_RACE_FLAGS})
    n_races = matrix.sum(axis=1)
    out["race_ethnicity"] = np.select(
        [ethnicity == "1", n_races > 1, n_races == 1],
        ["hispanic", "multiracial", matrix.idxmax(axis=1).map(codes.NCANDS_RACE_FLAGS)],
        default="unknown")

    afcars_id, _ = texts(raw["AFCARSID"])
    bad = as_mask(strings(raw["AFCARSID"]).str.contains(r"[@$#%]", regex=True))
    bad_value(bad, "AFCARSID", "AFCARS id contains @ $ # or % (not a record number)")
    out["afcars_id"] = afcars_id.where(~bad, None)

    death, bad = parse_codes(raw["MALDEATH"], ("1", "2", "3", "9"))
    bad_value(bad, "MALDEATH", "code not in 1, 2, 3, 9")
    out["fatality"] = pd.Series(np.select([death == "1", death == "2"], [True, False], default=None),
                                index=raw.index, dtype="boolean")
    report_disposition, bad = parse_codes(raw["RPTDISP"], codes.NCANDS_DISPOSITION)
    bad_value(bad, "RPTDISP", "code not in the NCANDS disposition list")

    perp = {}
    for p in PERPETRATORS:
        rel, bad = parse_codes(raw[f"PER{p}REL"], codes.NCANDS_PERPETRATOR)
        bad_value(bad, f"PER{p}REL", "code not in the NCANDS relationship list")
        perp[p] = rel.map(codes.NCANDS_PERPETRATOR)
    links_given = any(raw[f"PER{p}MAL{k}"].notna().any() for p in PERPETRATORS for k in SLOTS)
    for k in SLOTS:
        kind, bad = parse_codes(raw[f"CHMAL{k}"], (*codes.NCANDS_MALTREATMENT, codes.NCANDS_NO_MALTREATMENT))
        bad_value(bad, f"CHMAL{k}", "code not in the NCANDS maltreatment list")
        level, bad = parse_codes(raw[f"MAL{k}LEV"], (*codes.NCANDS_DISPOSITION, codes.NCANDS_LEVEL_NO_MALTREATMENT))
        bad_value(bad, f"MAL{k}LEV", "code not in the NCANDS maltreatment-level list")
        alleged = kind.notna() & (kind != codes.NCANDS_NO_MALTREATMENT) & \
            (level.fillna("") != codes.NCANDS_LEVEL_NO_MALTREATMENT)
        out[f"type{k}"] = kind.map(codes.NCANDS_MALTREATMENT).where(alleged)
        disposition = level.map(codes.NCANDS_DISPOSITION)
        disposition = disposition.where(disposition.notna(),
                                        report_disposition.map(codes.NCANDS_DISPOSITION))
        out[f"disposition{k}"] = disposition.where(alleged)
        ranks = []
        for p in PERPETRATORS:
            linked = (parse_codes(raw[f"PER{p}MAL{k}"], ("1", "2", "3", "9"))[0] == "1") \
                if links_given else pd.Series(True, index=raw.index)
            rank = perp[p].map({t: i for i, t in enumerate(codes.PERPETRATOR_PRIORITY)})
            ranks.append(rank.where(linked & perp[p].notna()).fillna(99).to_numpy())
        best = np.min(np.vstack(ranks), axis=0).astype(int)
        priority = np.array([*codes.PERPETRATOR_PRIORITY, *["unknown"] * 100], dtype=object)
        out[f"perpetrator{k}"] = priority[np.minimum(best, len(priority) - 1)]
    # Ids and codes as Arrow strings: millions of rows cost bytes per value, not Python objects.
    text_columns = ["state", "report", "chid", "county", "sex", "race_ethnicity", "afcars_id",
                    *(f"{kind}{k}" for kind in ("type", "disposition", "perpetrator") for k in SLOTS)]
    out = out.loc[~dropped]
    for col in text_columns:
        out[col] = out[col].astype(object).where(out[col].notna(), None).astype(STRING)
    return out


def supersede(rows: pd.DataFrame, rejects: Rejects) -> pd.DataFrame:
    """One row per (state, report, child): the one from the latest submission year, then the
    file given last, then the later line (a corrected resubmission replaces the earlier row)."""
    # One integer sort key instead of sorting on the string keys: later wins among duplicates.
    order = (rows["subyr"].fillna(0).astype("int64").to_numpy() * 10**12
             + rows["file_index"].to_numpy(dtype="int64") * 10**9 + rows["line"].to_numpy(dtype="int64"))
    rows = rows.iloc[np.argsort(order, kind="stable")]
    dup = rows.duplicated(["state", "report", "chid"], keep="last")
    if dup.any():
        rejects.add(file=rows.loc[dup, "file"], line=rows.loc[dup, "line"],
                    key=rows.loc[dup, "key"], field="RPTID", value="",
                    reason="report-child pair submitted again later; the later row is kept",
                    action=SUPERSEDED)
    return rows.loc[~dup]


def _years_before(dates: pd.Series, years: pd.Series) -> pd.Series:
    """`dates` minus whole years (Feb 29 -> Feb 28)."""
    year = dates.dt.year - years
    day = dates.dt.day.where(~((dates.dt.month == 2) & (dates.dt.day == 29)), 28)
    return pd.to_datetime(pd.DataFrame({"year": year, "month": dates.dt.month, "day": day}),
                          errors="coerce")


def estimate_birth_dates(rows: pd.DataFrame) -> pd.Series:
    """Per child: the middle of the interval of birth dates every report's age allows. Age a at
    report date d means d - (a+1) years < birth <= d - a years; unborn (77) means
    d < birth <= d + 280 days. When the intervals do not meet, the latest report decides."""
    rows = rows.loc[rows["age"].notna()]
    if rows.empty:
        return pd.Series(dtype="datetime64[s]")
    day = rows["received_at"].dt.normalize()
    age = rows["age"].astype(int)
    unborn = age == 77
    whole = age.where(~unborn, 0)
    hi = _years_before(day, whole).where(~unborn, day + pd.Timedelta(days=280))
    lo = (_years_before(day, whole + 1) + pd.Timedelta(days=1)).where(~unborn, day + pd.Timedelta(days=1))
    frame = pd.DataFrame({"child_id": rows["child_id"], "lo": lo, "hi": hi, "order": rows["order"]})
    bounds = frame.groupby("child_id").agg(lo=("lo", "max"), hi=("hi", "min"))
    latest = frame.sort_values("order").groupby("child_id").last()
    clash = bounds["lo"] > bounds["hi"]
    bounds.loc[clash, ["lo", "hi"]] = latest.loc[clash[clash].index, ["lo", "hi"]].to_numpy()
    return (bounds["lo"] + (bounds["hi"] - bounds["lo"]) / 2).dt.floor("D")


def build_tables(rows: pd.DataFrame, notes: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Referrals, allegations and children from validated, superseded rows. Takes ownership of
    `rows` (columns are added and dropped in place to keep state-sized imports in memory)."""
    rows.index = pd.RangeIndex(len(rows))
    rows["order"] = np.arange(len(rows))  # supersede left the rows in submission order
    # A child's AFCARS id, when any of its rows gives one (the latest wins), names the child
    # in every one of its reports.
    linked = rows.loc[rows["afcars_id"].notna()].groupby(["state", "chid"])["afcars_id"].last()
    link = rows[["state", "chid"]].merge(linked.rename("link").reset_index(), how="left",
                                         on=["state", "chid"])["link"].set_axis(rows.index)
    has_link = link.notna().to_numpy()
    rows["child_id"] = (rows["state"] + link.fillna("")).where(
        has_link, rows["state"] + "#" + rows["chid"])
    notes["children linked to AFCARS by AFCARSID"] = int(rows.loc[has_link, "child_id"].nunique())
    rows["referral_id"] = rows["state"] + "-" + rows["report"]
    rows.drop(columns=["key", "file", "line", "file_index", "report", "state", "afcars_id"],
              inplace=True)

    # Referrals: report-level values from the latest row of the report; first contact is the
    # earliest investigation start over the report's children.
    by_report = rows.groupby("referral_id", sort=True)
    referrals = by_report[["county", "received_at", "received_has_time"]].last()
    differing = by_report["received_at"].nunique()
    notes["reports whose rows disagree on the report date (latest row kept)"] = int((differing > 1).sum())
    contacts = rows.loc[rows["contact_at"].notna()].sort_values("contact_at")
    first_contact = contacts.groupby("referral_id")[["contact_at", "contact_has_time"]].first()
    referrals = referrals.join(first_contact, how="left").reset_index()
    referrals = referrals.rename(columns={"received_has_time": "received_at_has_time",
                                          "contact_at": "first_contact_at",
                                          "contact_has_time": "first_contact_at_has_time"})
    referrals["received_at_has_time"] = referrals["received_at_has_time"].astype(bool)
    referrals["first_contact_at_has_time"] = referrals["first_contact_at_has_time"].astype("boolean")
    referrals["first_contact_status"] = np.where(referrals["first_contact_at"].notna(), "completed", None)
    referrals["response_type"] = None  # NCANDS does not say whether the response was immediate
    del by_report, contacts, first_contact
    rows.drop(columns=["county", "received_has_time", "contact_at", "contact_has_time"], inplace=True)

    parts = []
    for k in SLOTS:
        part = rows.loc[rows[f"type{k}"].notna(), [
            "referral_id", "chid", "child_id", "disposition_date", "incident_date", "fatality",
            f"type{k}", f"disposition{k}", f"perpetrator{k}"]]
        part = part.rename(columns={f"type{k}": "maltreatment_type",
                                    f"disposition{k}": "disposition",
                                    f"perpetrator{k}": "perpetrator_type"})
        part["allegation_id"] = part["referral_id"] + "/" + part["chid"] + f"/{k}"
        parts.append(part)
        rows.drop(columns=[f"type{k}", f"disposition{k}", f"perpetrator{k}"], inplace=True)
    allegations = pd.concat(parts, ignore_index=True)
    del parts
    # Federal victims include a child whose maltreatment death is reported, whatever the levels
    # (input-formats.md 3.3). MalDeath belongs to the report-child pair, and the model decides
    # victims by disposition alone: when no allegation of such a pair is a victim allegation,
    # its first one becomes `indicated` (one is enough for a victim report, G8).
    pair = [allegations["referral_id"], allegations["chid"]]
    victim = allegations["disposition"].isin(("substantiated", "indicated"))
    fatal = allegations["fatality"].astype("boolean").fillna(False).astype(bool)
    pair_has_victim = victim.groupby(pair).transform("any")
    first = ~allegations.assign(_slot=allegations["allegation_id"].str[-1]).sort_values(
        "_slot").duplicated(["referral_id", "chid"]).sort_index()
    upgrade = fatal & ~pair_has_victim & first
    allegations.loc[upgrade, "disposition"] = "indicated"
    notes["allegations made `indicated` because of a maltreatment death"] = int(upgrade.sum())
    allegations = allegations.drop(columns="chid")

    estimates = estimate_birth_dates(rows)
    child_rows = rows[["child_id", "birth_date", "sex", "race_ethnicity", "order"]].copy()
    child_rows["sex"] = child_rows["sex"].where(child_rows["sex"] != "unknown", None)
    child_rows["race_ethnicity"] = child_rows["race_ethnicity"].where(
        child_rows["race_ethnicity"] != "unknown", None)
    children = child_rows.sort_values("order").groupby("child_id", sort=True)[
        ["birth_date", "sex", "race_ethnicity"]].last()
    given = children["birth_date"].notna()
    estimated = estimates.reindex(children.index)
    children["birth_date"] = children["birth_date"].where(given, estimated)
    notes["birth dates estimated from ChAge"] = int((~given & estimated.notna()).sum())
    children["sex"] = children["sex"].fillna("unknown")
    children["race_ethnicity"] = children["race_ethnicity"].fillna("unknown")
    return {"children": children.reset_index(), "referrals": referrals, "allegations": allegations}


def import_ncands(files: list[Path], out: Path, progress: Progress | None = None) -> ImportSummary:
    """Import NCANDS child files (any number of years, corrected resubmissions given after the
    files they correct) into the data-set folder `out`, replacing an earlier NCANDS import there
    and keeping everything else."""
    files = [Path(f) for f in files]
    if not files:
        raise InputError("no NCANDS files given")
    rejects = Rejects(SOURCE)
    parts = []
    read_files = []
    records_read = 0
    for index, path in enumerate(files):
        if progress:
            progress(f"reading {path.name}", index, len(files) + 1)
        try:
            frame = read_file(path, rejects)
        except UnreadableFile as exc:
            rejects.add(file=str(path), line=None, key="", field="file", value="",
                        reason=f"file not imported: {exc}", action=FILE_SKIPPED)
            continue
        frame["file_index"] = index
        frame["file"] = str(path)
        records_read += len(frame)
        parts.append(validate(frame, rejects))  # checked file by file: raw text is let go early
        read_files.append(str(path))
    if not records_read:
        reasons = "; ".join(sorted(set(rejects.frame()["reason"]))) or "no records"
        raise InputError(f"no NCANDS records could be read from {len(files)} file(s): {reasons}; "
                         f"nothing was written to {out}")
    if progress:
        progress("building reports", len(files), len(files) + 1)
    rows = supersede(pd.concat(parts, ignore_index=True), rejects)
    del parts
    records_used = len(rows)
    years = sorted(int(y) for y in rows["subyr"].dropna().unique())
    coverage = f"FY{years[0]}-FY{years[-1]}" if years else ""
    notes: dict[str, int] = {}
    tables = build_tables(rows, notes)
    del rows
    summary = write_source(out, SOURCE, tables, rejects, files=read_files, notes=notes,
                           records_read=records_read, records_used=records_used, coverage=coverage)
    if progress:
        progress("done", len(files) + 1, len(files) + 1)
    return summary
