"""California's own outcome measures (version `ca`), measures.md §4, part 3: timely health and
dental exams (5B, with the periodicity schedule as a replaceable table), psychotropic
medication authorization (5F), outcomes of youth leaving care (8A) and the Kaplan-Meier length
of stay of an entry cohort with cumulative exits by type (LOS)."""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from importlib import resources
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import CumIncidenceRight, SurvfuncRight

from cwoutcomes.engine import primitives as p
from cwoutcomes.errors import InputError
from cwoutcomes.measures.base import Measure, lookup, register
from cwoutcomes.measures.california import (
    CA_CARE_STRATA, VERSION, ca_episodes, entry_cohort, in_scope, unit_rows,
)
from cwoutcomes.model.tables import EXAM_TYPES

# -- 5B timely health and dental exams -------------------------------------------------------
SCHEDULE_COLUMNS = ("exam_type", "min_age", "max_age", "within_months")
# Ages (completed years on the count date) each exam type's schedule must cover: dental exams
# are not expected under age 1 (§4), so those children are outside 5B.DEN.
SCHEDULE_AGES = {"medical": range(0, 18), "dental": range(1, 18)}


def periodicity_schedule(source: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The 5B periodicity schedule: one row per exam type and age band (completed years,
    inclusive) with the number of months within which the latest exam must fall. Without a
    source, the package default (`measures/data/periodicity_schedule.csv`); a user's CSV path
    or frame must have the same columns and cover every age of each exam type exactly once."""
    if source is None:
        return _default_schedule().copy()
    if isinstance(source, pd.DataFrame):
        return _validated(source.copy(), "the schedule frame")
    path = Path(source)
    if not path.exists():
        raise InputError("periodicity schedule not found", path=path)
    return _validated(pd.read_csv(path, dtype=str, keep_default_na=False), str(path))


@functools.cache
def _default_schedule() -> pd.DataFrame:
    resource = resources.files("cwoutcomes.measures").joinpath("data", "periodicity_schedule.csv")
    with resource.open("r", encoding="utf-8") as handle:
        return _validated(pd.read_csv(handle, dtype=str, keep_default_na=False), "periodicity_schedule.csv")


def _validated(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in SCHEDULE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"periodicity schedule lacks column(s) {', '.join(missing)}", path=name)
    out = []
    for index, row in enumerate(frame[list(SCHEDULE_COLUMNS)].itertuples(index=False), start=1):
        if str(row.exam_type) not in EXAM_TYPES:
            raise InputError(f"exam_type must be one of {', '.join(EXAM_TYPES)}", path=name, row=index, field="exam_type")
        values = {}
        for column in SCHEDULE_COLUMNS[1:]:
            text = str(getattr(row, column)).strip()
            if not text.isdigit():
                raise InputError(f"{column} must be a whole number, not {text!r}", path=name, row=index, field=column)
            values[column] = int(text)
        if values["min_age"] > values["max_age"]:
            raise InputError("min_age is above max_age", path=name, row=index, field="min_age")
        if values["within_months"] < 1:
            raise InputError("within_months must be at least 1", path=name, row=index, field="within_months")
        out.append({"exam_type": str(row.exam_type), **values})
    table = pd.DataFrame(out, columns=list(SCHEDULE_COLUMNS))
    for exam_type, ages in SCHEDULE_AGES.items():
        rows = table[table.exam_type == exam_type]
        covered = [age for r in rows.itertuples() for age in range(r.min_age, r.max_age + 1)]
        if sorted(covered) != sorted(set(covered)):
            raise InputError(f"{exam_type} age bands overlap", path=name, field="min_age")
        gaps = [age for age in ages if age not in covered]
        if gaps:
            raise InputError(f"{exam_type} schedule does not cover age(s) {gaps}", path=name, field="min_age")
    return table


def months_allowed(schedule: pd.DataFrame, exam_type: str, age: ir.IntegerValue) -> ir.IntegerValue:
    rows = schedule[schedule.exam_type == exam_type].sort_values("min_age")
    return ibis.cases(*[
        ((age >= int(r.min_age)) & (age <= int(r.max_age)), int(r.within_months)) for r in rows.itertuples()
    ])


def timely_exams(exam_type: str, schedule: str | Path | pd.DataFrame | None = None):
    """5B (G21.9) on D = the window's last day: children 0-17 (dental: 1-17) in an open episode
    that has lasted 31 days or more; timely when their latest exam of the type on or before D,
    wherever it falls, is within the schedule's months for their age on D (G4)."""
    table = periodicity_schedule(schedule)

    def units(ds, windows: ir.Table) -> ir.Table:
        e = ca_episodes(ds).cross_join(windows)
        age = p.age_in_years(e.birth_date, e.pe)
        e = e.filter(
            p.in_care_on(e.removal_date, e.exit_date, e.pe) & in_scope(e.birth_date, e.birthday_18, e.pe)
            & (p.days_between(e.removal_date, e.pe) >= 31) & (age >= min(SCHEDULE_AGES[exam_type]))
        )
        e = p.last_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])
        x = ds.table("health_exams")
        x = x.filter(x.exam_type == exam_type).select("child_id", "exam_date")
        j = e.select("period_label", "child_id", "pe").join(x, "child_id")
        latest = j.filter(j.exam_date <= j.pe).group_by(["period_label", "child_id"]).aggregate(
            last_exam=ibis._.exam_date.max()
        )
        t = e.left_join(latest, ["period_label", "child_id"]).drop("period_label_right", "child_id_right")
        allowed = months_allowed(table, exam_type, p.age_in_years(t.birth_date, t.pe))
        timely = t.last_exam.notnull() & (p.completed_months(t.last_exam, t.pe) < allowed)
        return unit_rows(t, timely, 1, t.pe)

    return units


def exam_measures(schedule: str | Path | pd.DataFrame) -> tuple[Measure, Measure]:
    """5B.MED and 5B.DEN computed with a user's periodicity schedule (CSV path or frame), to pass
    to `evaluate` in place of the registered ones."""
    periodicity_schedule(schedule)  # fail early, naming the file and row
    return tuple(
        dataclasses.replace(lookup(measure_id), units=timely_exams(exam_type, schedule))
        for measure_id, exam_type in (("5B.MED", "medical"), ("5B.DEN", "dental"))
    )


# -- 5F psychotropic medication authorization ------------------------------------------------
def medication_authorization(ds, windows: ir.Table) -> ir.Table:
    """5F (G21.9): children 0-17 on the quarter's last day in care on at least one day of the
    quarter (removal <= d < exit); % with an authorization in force on a day of it
    (start <= d < end). A child counts once in each county where in care (G12)."""
    e = ca_episodes(ds).cross_join(windows)
    e = e.filter(
        (e.removal_date <= e.pe)
        & (e.exit_date.isnull() | ((e.exit_date > e.quarter_start) & (e.exit_date > e.removal_date)))
        & in_scope(e.birth_date, e.birthday_18, e.pe)
    )
    g = p.first_per(p.with_state(e), ["period_label", "geo", "child_id"], ["removal_date", "episode_id"])
    a = ds.table("medication_authorizations").select("child_id", "start_date", "end_date")
    j = g.select("period_label", "child_id", "quarter_start", "pe").distinct().join(a, "child_id")
    j = j.filter(
        (j.start_date <= j.pe)
        & (j.end_date.isnull() | ((j.end_date > j.quarter_start) & (j.end_date > j.start_date)))
    )
    authorized = j.select("period_label", "child_id", authorized=ibis.literal(True)).distinct()
    t = g.left_join(authorized, ["period_label", "child_id"]).drop("period_label_right", "child_id_right")
    return unit_rows(t, t.authorized, 1, t.pe)


# -- 8A outcomes for youth exiting foster care ------------------------------------------------
YOUTH_OUTCOMES = {
    "8A.HS": ("completed_high_school", "completed high school or equivalency"),
    "8A.EDU": ("enrolled_in_education", "enrolled in education"),
    "8A.EMP": ("employed", "employed"),
    "8A.HOUSING": ("housing_arranged", "housing arranged"),
    "8A.ILP": ("received_ilp", "received independent living program services"),
    "8A.CONNECT": ("permanent_connection", "a permanent connection with a caring adult"),
}


def youth_outcome(column: str):
    """8A (G21.10): each youth's first `youth_transitions` row with its exit in the window,
    aged 16-21 at that exit; bands <18, 18, 19, 20-21 as the age_group stratum; a null outcome
    is not achieved. County and agency from the row's episode."""

    def units(ds, windows: ir.Table) -> ir.Table:
        y = ds.table("youth_transitions")
        c = ds.children.select("child_id", "birth_date", "sex", "race_ethnicity")
        e = ds.table("episodes").select("episode_id", "county", "agency")
        y = y.join(c, "child_id").join(e, "episode_id").cross_join(windows)
        y = y.filter((y.exit_date >= y.ps) & (y.exit_date <= y.pe))
        # Rows are keyless: the outcomes break ties between two rows of one exit.
        ties = [y[name].cast("int8").fill_null(-1) for name, _ in YOUTH_OUTCOMES.values()]
        y = p.first_per(y, ["period_label", "child_id"], [y.exit_date, y.episode_id, *ties])
        age = p.age_in_years(y.birth_date, y.exit_date)
        y = y.mutate(_age=age).filter(y.birth_date.notnull() & (age >= 16) & (age <= 21))
        band = ibis.cases((y._age < 18, "<18"), (y._age == 18, "18"), (y._age == 19, "19"), else_="20-21")
        extra = {"age_group": band, "race_ethnicity": y.race_ethnicity, "sex": y.sex, "agency": y.agency}
        return unit_rows(y, y[column], 1, None, extra=extra)

    return units


# -- LOS median length of stay (Kaplan-Meier) ------------------------------------------------
EXIT_TYPES = ("reunification", "adoption", "guardianship", "emancipation", "other")
EXIT_HORIZONS = (6, 12, 24, 36)
DAYS_PER_MONTH = 30.4375  # G21.1


def stay_rows(ds, windows: ir.Table) -> ir.Table:
    """LOS cohort (G21.3 entries: 8 days or more, 0-17 at removal, first per child): days from
    removal to the recorded exit, or to the extract date for episodes still open there
    (censored); `exit_code` 0 = censored, else 1 + the position in EXIT_TYPES."""
    t = entry_cohort(ds, windows)
    extract = ibis.literal(ds.extract_date)
    t = t.filter(t.removal_date <= extract)
    closed = t.exit_date.notnull() & (t.exit_date <= extract)
    kind = ibis.cases(*[(t.exit_reason == name, index + 1) for index, name in enumerate(EXIT_TYPES[:-1])],
                      else_=len(EXIT_TYPES))
    duration = p.days_between(t.removal_date, closed.ifelse(t.exit_date, extract))
    extra = {"duration": duration.cast("float64"), "exit_code": closed.ifelse(kind, 0).cast("int64")}
    return unit_rows(t, 0, 1, t.removal_date, extra=extra)


def exit_rows(ds, windows: ir.Table) -> ir.Table:
    """LOS cohort rows once per exit type (`exit_type`), so that each exit-type stratum sees the
    whole cohort (competing exits need it); other groups hold every copy."""
    rows = stay_rows(ds, windows)
    return ibis.union(*[
        rows.mutate(exit_type=ibis.literal(name), numerator=(rows.exit_code == index + 1).ifelse(1.0, 0.0))
        for index, name in enumerate(EXIT_TYPES)
    ])


def _quietly(function, *args):
    """statsmodels warns (divide by zero) on tiny cohorts where a variance is undefined."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return function(*args)


def km_quantile(q: float):
    """Summary of one group: the Kaplan-Meier time by which a share q of the cohort exited.
    Where the curve sits exactly at 1 - q, the midpoint to the next exit (with no censoring this
    is the ordinary median of G21.1); never reached: no value, with a note (CCWIP's **)."""

    def summarize(rows: pd.DataFrame) -> dict:
        n = len(rows)
        fit = _quietly(SurvfuncRight, rows.duration.to_numpy(float), (rows.exit_code > 0).to_numpy(int))
        times, survival = np.asarray(fit.surv_times, float), np.asarray(fit.surv_prob, float)
        at = np.flatnonzero(np.isclose(survival, 1 - q, rtol=0, atol=1e-12))
        below = np.flatnonzero(survival < 1 - q - 1e-12)
        if at.size and below.size:
            value = (times[at[0]] + times[below[0]]) / 2
        elif below.size and not at.size:
            value = times[below[0]]
        else:
            value = math.nan
        low = high = math.nan
        if not math.isnan(value):
            try:
                low, high = _quietly(fit.quantile_ci, q)
            except (ValueError, IndexError, ZeroDivisionError):
                pass
        note = None if not math.isnan(value) else (
            f"** cannot be estimated: fewer than {q:.0%} of the cohort's exits were observed" if n else None
        )
        return {"numerator": math.nan, "denominator": float(n), "value": value,
                "ci_lower": low, "ci_upper": high, "note": note}

    return summarize


def cumulative_exits(months: int):
    """Summary of one group: cumulative % exited by `months` (days / 30.4375) after removal —
    any exit (Kaplan-Meier), or one exit type against the others as competing exits
    (Aalen-Johansen) when the group is a single `exit_type` stratum."""
    horizon = months * DAYS_PER_MONTH

    def summarize(rows: pd.DataFrame) -> dict:
        types = rows.exit_type.unique()
        cohort = rows[rows.exit_type == types[0]]
        n = len(cohort)
        durations, codes = cohort.duration.to_numpy(float), cohort.exit_code.to_numpy(int)
        fit = _quietly(SurvfuncRight, durations, (codes > 0).astype(int)) if n else None
        # Estimable when someone was observed up to the horizon, or everyone had left before.
        all_left = bool(n) and len(fit.surv_prob) > 0 and fit.surv_prob[-1] <= 1e-12
        observed = bool(n) and (durations.max() >= horizon or all_left)
        if not observed:
            note = "** cannot be estimated: no child observed this long" if n else None
            return {"numerator": math.nan, "denominator": float(n), "value": math.nan, "note": note}
        if len(types) == 1:
            wanted = EXIT_TYPES.index(types[0]) + 1
            status = np.where(codes == wanted, 1, np.where(codes > 0, 2, 0))
            if not (status == 1).any():
                share = 0.0
            else:
                cif = _quietly(CumIncidenceRight, durations, status)
                share = _step_value(cif.times, cif.cinc[0], horizon)
        else:
            share = 1 - _step_value(fit.surv_times, fit.surv_prob, horizon, before=1.0)
        return {"numerator": math.nan, "denominator": float(n), "value": 100 * share, "note": None}

    return summarize


def _step_value(times, values, at: float, before: float = 0.0) -> float:
    """A right-continuous step function's value at `at` (`before` ahead of its first step)."""
    index = np.searchsorted(np.asarray(times, float), at, side="right") - 1
    return float(values[index]) if index >= 0 else before


# -- registration -----------------------------------------------------------------------------
register(
    Measure(
        "5B.MED", VERSION, "Timely medical exams", "percent", "higher", timely_exams("medical"),
        "Children 0-17 in care on the window's last day in an episode open 31 days or more: % whose "
        "latest medical exam is recent enough for their age under the periodicity schedule (default: "
        "under 1: 2 months; 1-2: 6 months; 3-17: 12 months).",
        requires=("children", "episodes", "health_exams"), strata=CA_CARE_STRATA,
        period_type="point_in_time", pit_date="window_end",
    ),
    Measure(
        "5B.DEN", VERSION, "Timely dental exams", "percent", "higher", timely_exams("dental"),
        "As 5B.MED for children aged 1-17 and dental exams (default: 1-2: 6 months; 3-17: 12 months).",
        requires=("children", "episodes", "health_exams"), strata=CA_CARE_STRATA,
        period_type="point_in_time", pit_date="window_end",
    ),
    Measure(
        "5F", VERSION, "Authorization for psychotropic medication", "percent", "none", medication_authorization,
        "Children 0-17 on the last day of the window's last quarter, in care on at least one day of the "
        "quarter: % with a psychotropic medication authorization in force on a day of the quarter.",
        requires=("children", "episodes", "medication_authorizations"), strata=CA_CARE_STRATA,
        period_type="quarter",
    ),
)
for _id, (_column, _what) in YOUTH_OUTCOMES.items():
    register(Measure(
        _id, VERSION, f"Youth exiting foster care: {_what}", "percent", "higher", youth_outcome(_column),
        f"Youth aged 16-21 leaving care in the window (first reported exit): % {_what}; "
        "age at exit as the age_group stratum (<18, 18, 19, 20-21); unknown counts as not achieved.",
        requires=("children", "episodes", "youth_transitions"), strata=CA_CARE_STRATA,
    ))

_LOS_TEXT = ("Children 0-17 entering care in the window (first entry of 8 days or more): Kaplan-Meier "
             "{what} of days from removal to exit, open episodes censored at the extract date; null "
             "with a note (**) where it cannot be estimated.")
register(
    Measure("LOS", VERSION, "Median length of stay", "days", "lower", stay_rows,
            _LOS_TEXT.format(what="median"), requires=("children", "episodes"), strata=CA_CARE_STRATA,
            summarize=km_quantile(0.5)),
    Measure("LOS.Q1", VERSION, "Length of stay, first quartile", "days", "lower", stay_rows,
            _LOS_TEXT.format(what="first quartile (25% exited)"), requires=("children", "episodes"),
            strata=CA_CARE_STRATA, summarize=km_quantile(0.25)),
    Measure("LOS.Q3", VERSION, "Length of stay, third quartile", "days", "lower", stay_rows,
            _LOS_TEXT.format(what="third quartile (75% exited)"), requires=("children", "episodes"),
            strata=CA_CARE_STRATA, summarize=km_quantile(0.75)),
)
for _months in EXIT_HORIZONS:
    register(Measure(
        f"LOS.EXIT{_months}", VERSION, f"Cumulative exits within {_months} months of entry", "percent", "none",
        exit_rows,
        f"The LOS cohort: cumulative % exited {_months} months ({_months} x 30.4375 days) after removal "
        "(Kaplan-Meier); under stratum exit_type, % exited by that type with the other exits as "
        "competing events (Aalen-Johansen). Null with a note (**) where no child was observed that long.",
        requires=("children", "episodes"), strata=("exit_type",) + CA_CARE_STRATA,
        summarize=cumulative_exits(_months),
    ))
