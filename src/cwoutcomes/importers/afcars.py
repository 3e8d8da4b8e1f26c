"""Reading legacy AFCARS foster-care files (45 CFR 1355 App. A, used through FY2022) in both
layouts and importing them as children, episodes and placements.

* Fixed-width state submission (TB#2): `@` foster-care delimiter, one summary record, one
  197-character detail record per child, then `#` and the adoption records (ignored). Column
  positions come from `data/afcars_foster_care_layout.csv`, the least certain part of the
  format, kept as data so it can be corrected without touching code.
* Tab-delimited research release (NDACAN `FC<fy>.tab` style): a header of element names, one row
  per child per file. Names are matched case-insensitively, including NDACAN's spellings
  (RepDatYr + RepDatMo, St, EmotDist).

Only the elements the model has a place for are read and checked; the others are ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from cwoutcomes.errors import InputError
from cwoutcomes.importers import codes
from cwoutcomes.importers.dataset import ImportSummary, Progress, write_source
from cwoutcomes.importers.episodes import rebuild
from cwoutcomes.importers.parse import (
    STRING, UnreadableFile, _mask, as_mask, county_codes, delimited_columns, fixed_width_columns, parse_codes,
    parse_dates, parse_ints, read_lines, strings,
)
from cwoutcomes.importers.rejects import (
    FILE_SKIPPED, RECORD_DROPPED, SUPERSEDED, VALUE_DROPPED, Rejects,
)

SOURCE = "afcars"


@dataclass(frozen=True)
class Element:
    element: str
    name: str
    start: int
    end: int
    research_names: tuple[str, ...]


@lru_cache(maxsize=1)
def layout() -> tuple[Element, ...]:
    """The detail-record layout, checked: contiguous positions from 1, unique names."""
    text = resources.files("cwoutcomes.importers").joinpath("data/afcars_foster_care_layout.csv")
    with text.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    elements = tuple(
        Element(r["element"], r["name"], int(r["start"]), int(r["end"]),
                tuple(n for n in r["research_names"].split("|") if n))
        for r in rows
    )
    position = 1
    for el in elements:
        if el.start != position or el.end < el.start:
            raise AssertionError(f"AFCARS layout: element {el.element} {el.name} starts at "
                                 f"{el.start}, expected {position}")
        position = el.end + 1
    if len({el.name for el in elements}) != len(elements):
        raise AssertionError("AFCARS layout: duplicate element names")
    return elements


def detail_length() -> int:
    return layout()[-1].end


RACE_FLAGS = (*codes.AFCARS_RACE_FLAGS, codes.AFCARS_RACE_UNKNOWN_FLAG)
USED = (
    "STATE", "REPDAT", "FIPSCODE", "RECNUMBR", "DOB", "SEX", *RACE_FLAGS, "HISORGIN", "REM1DT",
    "TOTALREM", "DLSTFCDT", "LATREMDT", "CURSETDT", "NUMPLEP", "CURPLSET", "TPRMOMDT", "TPRDADDT",
    "RF1AMAKN", "RF2AMAKN", "DODFCDT", "DISREASN",
)


def _used_end() -> int:
    """A detail record must reach the last element we read; shorter means truncated."""
    return max(el.end for el in layout() if el.name in USED)


# --- reading ------------------------------------------------------------------------------------

def read_file(path: Path, rejects: Rejects) -> tuple[pd.DataFrame, dict[str, int]]:
    """Raw string columns (USED elements) plus `line` for one file, and counts for the summary.
    Raises UnreadableFile when nothing in the file can be read."""
    lines = read_lines(path)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise UnreadableFile("empty file")
    if "\t" in first:
        return _read_tab(path, lines, rejects)
    return _read_fixed(path, lines, rejects)


def _read_fixed(path: Path, lines: list[str], rejects: Rejects):
    full, minimum = detail_length(), _used_end()
    records: list[str] = []
    numbers: list[int] = []
    stats = {"adoption lines ignored": 0, "summary records skipped": 0}
    in_adoption = False
    summary_pending = True  # the first non-delimiter record of the foster-care section
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if summary_pending and line and not in_adoption:  # a summary record left all blank
                summary_pending = False
                stats["summary records skipped"] += 1
            continue
        if in_adoption:
            stats["adoption lines ignored"] += 1
            continue
        if line.startswith("#"):
            in_adoption = True
            continue
        if line.startswith("@"):
            summary_pending = True
            if len(line.rstrip()) == 1:
                continue
            line = line[1:]  # delimiter and summary on one line
        # TB#2: one 174-character summary record follows the delimiter. A longer line there is
        # a detail record of a file without summary. (Not judged on the trimmed length: a
        # detail record of a child still in care ends in blanks.)
        if summary_pending and len(line) <= 174:
            summary_pending = False
            stats["summary records skipped"] += 1
            continue
        summary_pending = False
        if len(line) > full:
            rejects.add(file=str(path), line=number, key=line[13:25].strip(), field="record",
                        value=f"{len(line)} characters",
                        reason=f"record longer than the {full}-character detail layout",
                        action=RECORD_DROPPED)
            continue
        if len(line) < minimum:
            rejects.add(file=str(path), line=number, key=line[13:25].strip(), field="record",
                        value=f"{len(line)} characters",
                        reason=f"record shorter than {minimum} characters (truncated file?)",
                        action=RECORD_DROPPED)
            continue
        records.append(line.ljust(full))
        numbers.append(number)
    positions = {el.name: (el.start, el.end) for el in layout() if el.name in USED}
    frame = fixed_width_columns(records, positions)
    frame.insert(0, "line", np.asarray(numbers, dtype=np.int64))
    return frame, stats


def _read_tab(path: Path, lines: list[str], rejects: Rejects):
    by_name = {el.name: el for el in layout()}
    wanted = {name: (*by_name[name].research_names, name) for name in USED}
    wanted["REPDATYR"] = ("RepDatYr",)
    wanted["REPDATMO"] = ("RepDatMo",)
    wanted["ST"] = ("St",)
    frame, bad, header = delimited_columns(lines, wanted)
    for number, fields in bad:
        rejects.add(file=str(path), line=number, key="", field="record", value=f"{fields} fields",
                    reason="number of fields differs from the header", action=RECORD_DROPPED)
    missing = [name for name in ("RECNUMBR", "LATREMDT") if name not in frame]
    if "REPDAT" not in frame and not {"REPDATYR", "REPDATMO"} <= set(frame):
        missing.append("REPDAT (or RepDatYr and RepDatMo)")
    if "STATE" not in frame and "ST" not in frame:
        missing.append("STATE (or St)")
    if missing:
        raise UnreadableFile(f"header lacks required column(s) {', '.join(missing)}")
    if "REPDAT" not in frame:
        month = strings(frame["REPDATMO"]).str.pad(2, fillchar="0")
        frame["REPDAT"] = strings(frame["REPDATYR"]) + month
    if "STATE" not in frame:
        abbr = strings(frame["ST"]).str.upper()
        frame["STATE"] = abbr.map(codes.STATE_ABBR_TO_FIPS).where(
            abbr.isin(list(codes.STATE_ABBR_TO_FIPS)), abbr.astype(object))
    else:
        frame["STATE"] = strings(frame["STATE"]).str.pad(2, fillchar="0")
    absent = [name for name in USED if name not in frame]
    for name in absent:
        frame[name] = ""
    return frame[["line", *USED]], {"elements absent from a research-file header": len(absent)}


def format_fixed(values: dict[str, str]) -> str:
    """One detail record in the fixed-width layout: each element right-aligned with zeros if it
    is a number (as TB#2 pads counts and codes), left-aligned with blanks otherwise."""
    parts = []
    for el in layout():
        width = el.end - el.start + 1
        value = str(values.get(el.name, "") or "")
        if len(value) > width:
            raise ValueError(f"AFCARS element {el.name}: {value!r} is wider than {width}")
        parts.append(value.zfill(width) if value.isdigit() and el.name not in _TEXT_ELEMENTS
                     else value.ljust(width))
    return "".join(parts)


# Identifiers are text even when they are all digits: padding them would change them.
_TEXT_ELEMENTS = frozenset({"RECNUMBR"})


# --- checking -----------------------------------------------------------------------------------

def validate(raw: pd.DataFrame, rejects: Rejects) -> pd.DataFrame:
    """Typed snapshot records. Records without a usable child id, state, report period or
    removal date are dropped; other bad values are set to null; both are listed in rejects."""
    raw = raw.reset_index(drop=True)
    recnumbr = strings(raw["RECNUMBR"])
    raw["key"] = recnumbr

    def bad_value(mask, field, reason):
        rejects.add_masked(raw, as_mask(mask) & ~dropped, field=field, raw=field, reason=reason,
                           action=VALUE_DROPPED)

    dropped = np.zeros(len(raw), dtype=bool)

    def drop(mask, field, reason):
        nonlocal dropped
        mask = as_mask(mask) & ~dropped
        rejects.add_masked(raw, mask, field=field, raw=field, reason=reason, action=RECORD_DROPPED)
        dropped |= mask

    drop(recnumbr == "", "RECNUMBR", "no child record number")
    drop(_mask(recnumbr.str.contains(r"[@$#%]", regex=True)), "RECNUMBR",
         "child record number contains @ $ # or % (not allowed by TB#1)")
    state = strings(raw["STATE"])
    abbr = state.map(codes.STATE_FIPS_TO_ABBR)
    drop(abbr.isna(), "STATE", "unknown state FIPS code")
    repdat = strings(raw["REPDAT"])
    period_ok = _mask(repdat.str.fullmatch(r"\d{4}(03|09)"))
    drop(~period_ok, "REPDAT", "report period is not ccyymm with mm 03 or 09")
    removal, bad_removal = parse_dates(raw["LATREMDT"])
    drop(removal.isna() & ~bad_removal, "LATREMDT", "no date of latest removal")
    drop(bad_removal, "LATREMDT", "date of latest removal is not a date")

    out = pd.DataFrame({"file_index": raw["file_index"], "file": raw["file"], "line": raw["line"],
                        "key": raw["key"]})
    out["state"] = state
    out["child_id"] = (abbr.fillna("").astype(STRING) + recnumbr).astype(object)
    year = pd.to_numeric(repdat.str.slice(0, 4).astype(object).where(period_ok), errors="coerce")
    is_b = _mask(repdat.str.slice(4, 6) == "09")
    out["period"] = pd.array(year * 2 + is_b, dtype="Int64")
    end = pd.to_datetime({"year": year.fillna(2000), "month": np.where(is_b, 9, 3),
                          "day": np.where(is_b, 30, 31)})
    out["period_end"] = end.where(period_ok)
    out["removal_date"] = removal

    dates = {"DOB": "birth_date", "REM1DT": "first_removal_date", "DLSTFCDT": "last_discharge_date",
             "CURSETDT": "setting_date", "DODFCDT": "exit_date", "TPRMOMDT": "tpr_mother",
             "TPRDADDT": "tpr_father"}
    for element, column in dates.items():
        values, bad = parse_dates(raw[element])
        bad_value(bad, element, "not a date")
        out[column] = values

    sex, bad = parse_codes(raw["SEX"], codes.AFCARS_SEX)
    bad_value(bad, "SEX", "code not in 1, 2")
    out["sex"] = sex.map(codes.AFCARS_SEX).fillna("unknown")

    flags = {}
    for name in RACE_FLAGS:
        values, bad = parse_codes(raw[name], ("0", "1"))
        bad_value(bad, name, "race flag not 0 or 1")
        flags[name] = values == "1"
    hispanic, bad = parse_codes(raw["HISORGIN"], ("1", "2", "3"))
    bad_value(bad, "HISORGIN", "code not in 1, 2, 3")
    out["race_ethnicity"] = _race(hispanic == "1", flags)

    county, bad_county = county_codes(raw["FIPSCODE"], state)
    bad_value(bad_county, "FIPSCODE", "not a 5-digit county FIPS code of the record's state")
    out["county"] = county

    total, bad = parse_ints(raw["TOTALREM"], 1, 99)
    bad_value(bad, "TOTALREM", "not a number 1-99")
    out["total_removals"] = total
    count, bad = parse_ints(raw["NUMPLEP"], 1, 99)
    bad_value(bad, "NUMPLEP", "not a number 1-99")
    out["settings_count"] = count

    setting, bad = parse_codes(raw["CURPLSET"], codes.AFCARS_SETTING)
    bad_value(bad, "CURPLSET", "code not in 1-8")
    out["setting"] = setting.map(codes.AFCARS_SETTING)
    out["caregiver_relative"] = pd.Series(
        np.select([setting == "2", setting == "3"], [True, False], default=None),
        index=raw.index, dtype="boolean")
    family = setting.isin(("1", "2", "3"))
    caregivers = []
    for name in ("RF1AMAKN", "RF2AMAKN"):
        values, bad = parse_codes(raw[name], ("0", "1"))
        bad_value(bad, name, "race flag not 0 or 1")
        caregivers.append(values)
    any_yes = (caregivers[0] == "1") | (caregivers[1] == "1")
    any_no = (caregivers[0] == "0") | (caregivers[1] == "0")
    out["caregiver_indian"] = pd.Series(
        np.select([family & any_yes, family & any_no], [True, False], default=None),
        index=raw.index, dtype="boolean")

    reason, bad = parse_codes(raw["DISREASN"], ("0", *codes.AFCARS_DISCHARGE))
    bad_value(bad, "DISREASN", "code not in 0-8")
    has_exit = out["exit_date"].notna()
    bad_value(reason.notna() & (reason != "0") & ~has_exit, "DISREASN",
              "discharge reason without a discharge date")
    out["exit_reason"] = reason.map(codes.AFCARS_DISCHARGE).where(has_exit, None)

    # The child is legally free when the rights of both parents have ended; with one date only
    # the other parent's status is unknown.
    both = out["tpr_mother"].notna() & out["tpr_father"].notna()
    out["legally_free_date"] = out[["tpr_mother", "tpr_father"]].max(axis=1).where(both)
    return out.loc[~dropped].drop(columns=["tpr_mother", "tpr_father"])


def _race(hispanic: pd.Series, flags: dict[str, pd.Series]) -> pd.Series:
    race_cols = list(codes.AFCARS_RACE_FLAGS)
    matrix = pd.DataFrame({name: flags[name].astype(bool) for name in race_cols})
    n = matrix.sum(axis=1)
    single = matrix.idxmax(axis=1).map(codes.AFCARS_RACE_FLAGS)
    result = np.select(
        [hispanic.astype("boolean").fillna(False).astype(bool), n > 1, n == 1],
        ["hispanic", "multiracial", single], default="unknown")
    return pd.Series(result, index=hispanic.index)


# --- import -------------------------------------------------------------------------------------

def supersede(records: pd.DataFrame, rejects: Rejects) -> pd.DataFrame:
    """A later file for the same state and report period replaces the earlier one entirely (a
    resubmission replaces the whole period); within one file a child's second record in a
    period replaces the first."""
    latest_file = records.groupby(["state", "period"])["file_index"].transform("max")
    old = records["file_index"] < latest_file
    if old.any():
        rejects.add(file=records.loc[old, "file"], line=records.loc[old, "line"],
                    key=records.loc[old, "key"], field="REPDAT",
                    value=records.loc[old, "period"].map(period_label),
                    reason="superseded: a file given later resubmits this report period",
                    action=SUPERSEDED)
    records = records.loc[~old]
    dup = records.duplicated(["child_id", "period"], keep="last")
    if dup.any():
        rejects.add(file=records.loc[dup, "file"], line=records.loc[dup, "line"],
                    key=records.loc[dup, "key"], field="RECNUMBR", value="",
                    reason="second record for the child in the same period; the later line is kept",
                    action=SUPERSEDED)
    return records.loc[~dup]


def period_label(period: int) -> str:
    """Federal label of a period index: 2021A = Oct 2020-Mar 2021."""
    return f"{int(period) // 2}{'AB'[int(period) % 2]}"


def import_afcars(files: list[Path], out: Path, progress: Progress | None = None) -> ImportSummary:
    """Import legacy AFCARS foster-care files (either layout, mixed freely) into the data-set
    folder `out`, replacing an earlier AFCARS import there and keeping everything else."""
    files = [Path(f) for f in files]
    if not files:
        raise InputError("no AFCARS files given")
    rejects = Rejects(SOURCE)
    parts: list[pd.DataFrame] = []
    stats: dict[str, int] = {}
    read_files: list[str] = []
    records_read = 0
    for index, path in enumerate(files):
        if progress:
            progress(f"reading {path.name}", index, len(files) + 2)
        try:
            frame, file_stats = read_file(path, rejects)
        except UnreadableFile as exc:
            rejects.add(file=str(path), line=None, key="", field="file", value="",
                        reason=f"file not imported: {exc}", action=FILE_SKIPPED)
            continue
        read_files.append(str(path))
        for k, v in file_stats.items():
            stats[k] = stats.get(k, 0) + v
        frame["file_index"] = index
        frame["file"] = str(path)
        records_read += len(frame)
        parts.append(validate(frame, rejects))  # checked file by file: raw text is let go early
    if not records_read:
        reasons = "; ".join(sorted({r for r in rejects.frame()["reason"]})) or "no records"
        raise InputError(f"no AFCARS records could be read from {len(files)} file(s): {reasons}; "
                         f"nothing was written to {out}")
    if progress:
        progress("checking records", len(files), len(files) + 2)
    records = supersede(pd.concat(parts, ignore_index=True), rejects)
    last_period = records.groupby("state")["period"].max().astype(int).to_dict()
    if progress:
        progress("rebuilding episodes", len(files) + 1, len(files) + 2)
    rebuilt = rebuild(records, last_period, rejects)
    tables = {"children": rebuilt.children, "episodes": rebuilt.episodes,
              "placements": rebuilt.placements}
    periods = sorted(records["period"].unique())
    coverage = (f"{period_label(periods[0])}-{period_label(periods[-1])}" if periods else "")
    summary = write_source(out, SOURCE, tables, rejects, files=read_files, notes={
        **stats, **dict(rebuilt.notes)}, records_read=records_read,
        records_used=len(records), coverage=coverage)
    if progress:
        progress("done", len(files) + 2, len(files) + 2)
    return summary
