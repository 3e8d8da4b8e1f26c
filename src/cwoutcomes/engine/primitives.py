"""Relational primitives every measure is written in.

Portable by construction (the same expression runs on DuckDB and Spark): dates, never
timestamps, in measure logic; every window function has an explicit, total ordering; no
as-of joins; no Python UDFs. Measures use these and plain Ibis column arithmetic only."""

from __future__ import annotations

from typing import Sequence

import ibis
import ibis.expr.types as ir

from cwoutcomes.model.tables import NON_MOVE_SETTINGS, STATE

FEDERAL_AGE_GROUPS = ("0-3m", "4-11m", "1-5", "6-10", "11-16", "17")
CALIFORNIA_AGE_GROUPS = ("<1", "1-2", "3-5", "6-10", "11-15", "16-17", "18-20")


def days_between(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    """G3: end - start in calendar days."""
    return end.delta(start, unit="day")


def add_days(day: ir.DateValue, days: int) -> ir.DateValue:
    return (day + ibis.interval(days=days)).cast("date")


def completed_months(start: ir.DateValue, end: ir.DateValue) -> ir.IntegerValue:
    """G4: completed calendar months from start to end."""
    return (
        12 * (end.year() - start.year()) + (end.month() - start.month())
        - (end.day() < start.day()).ifelse(1, 0)
    )


def within_months(start: ir.DateValue, end: ir.DateValue, months: int) -> ir.BooleanValue:
    """G4: 'end is within N months of start' (end on or after start assumed by callers)."""
    return completed_months(start, end) < months


def eighteenth_birthday(birth: ir.DateValue) -> ir.DateValue:
    """G18.1: the first day with 216 completed months; Feb 29 births turn 18 on Mar 1."""
    plain = (birth + ibis.interval(years=18)).cast("date")
    clamped = (birth.month() == 2) & (birth.day() == 29) & (plain.day() == 28)
    return clamped.ifelse(add_days(plain, 1), plain)


def age_in_years(birth: ir.DateValue, at: ir.DateValue) -> ir.IntegerValue:
    return (completed_months(birth, at) / 12).floor().cast("int64")


def federal_age_group(birth: ir.DateValue, at: ir.DateValue) -> ir.StringValue:
    """G5 federal groups by completed months at the reference date."""
    months = completed_months(birth, at)
    return ibis.cases(
        (months < 0, "unborn"), (months < 4, "0-3m"), (months < 12, "4-11m"),
        (months < 72, "1-5"), (months < 132, "6-10"), (months < 204, "11-16"),
        (months < 216, "17"), else_="18+",
    )


def california_age_group(birth: ir.DateValue, at: ir.DateValue) -> ir.StringValue:
    """G5 California report groups by completed years at the reference date."""
    years = age_in_years(birth, at)
    return california_age_group_of_years(years)


def california_age_group_of_years(years: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(
        (years < 0, "unborn"), (years < 1, "<1"), (years < 3, "1-2"), (years < 6, "3-5"),
        (years < 11, "6-10"), (years < 16, "11-15"), (years < 18, "16-17"), (years < 21, "18-20"),
        else_="21+",
    )


def earliest(*dates: ir.DateValue) -> ir.DateValue:
    """Least of dates, ignoring nulls (null only when all are null)."""
    return ibis.least(*[d for d in dates])


def first_per(table: ir.Table, by: Sequence[str], order_by: Sequence) -> ir.Table:
    """The first row of each group under a total ordering (order_by must break all ties)."""
    rank = ibis.row_number().over(group_by=list(by), order_by=list(order_by))
    return table.mutate(_rank=rank).filter(ibis._._rank == 0).drop("_rank")


def last_per(table: ir.Table, by: Sequence[str], order_by: Sequence) -> ir.Table:
    return first_per(table, by, [ibis.desc(key) if isinstance(key, str) else key.desc() for key in order_by])


def with_state(table: ir.Table, county: str = "county") -> ir.Table:
    """Each row once for its county and once for the state (G12): geography column `geo`."""
    return table.mutate(geo=table[county]).union(table.mutate(geo=ibis.literal(STATE)))


def overlapping(spells: ir.Table, windows: ir.Table, start: str, end_exclusive: str) -> ir.Table:
    """Spells [start, end_exclusive) that share at least one day with each window [ps, pe]."""
    joined = spells.cross_join(windows)
    return joined.filter(
        (joined[start] <= joined.pe) & (joined[end_exclusive] > joined.ps)
    )


def clipped_days(start: ir.DateValue, end_exclusive: ir.DateValue, ps: ir.DateValue,
                 pe: ir.DateValue) -> ir.IntegerValue:
    """Days of [start, end_exclusive) inside [ps, pe]."""
    lo = ibis.greatest(start, ps)
    hi = ibis.least(end_exclusive, add_days(pe, 1))
    return ibis.greatest(days_between(lo, hi), 0)


def in_care_on(removal: ir.DateValue, exit_: ir.DateValue, day: ir.DateValue) -> ir.BooleanValue:
    """G18.10: in care on day D (a child leaving on D is not in care)."""
    return (removal <= day) & (exit_.isnull() | (exit_ > day))


def placement_settings(placements: ir.Table) -> ir.Table:
    """G9: an episode's placement settings in order, each with `is_move` and its date.

    Drops trial home visits, runaways and respite, then merges consecutive placements with the
    same provider (null providers never merge). Input needs episode_id, placement_id,
    start_date, setting, provider_id."""
    kept = placements.filter(~placements.setting.isin(NON_MOVE_SETTINGS))
    order = [kept.start_date, kept.placement_id]
    previous_provider = kept.provider_id.lag().over(group_by="episode_id", order_by=order)
    position = ibis.row_number().over(group_by="episode_id", order_by=order)
    kept = kept.mutate(_previous_provider=previous_provider, _position=position)
    same_provider = kept.provider_id.notnull() & (kept.provider_id == kept._previous_provider)
    settings = kept.filter(~same_provider.fill_null(False))
    order = [settings.start_date, settings.placement_id]
    setting_number = ibis.row_number().over(group_by="episode_id", order_by=order)
    return settings.mutate(setting_number=setting_number, is_move=setting_number > 0).drop(
        "_previous_provider", "_position"
    )
