"""Building blocks shared by the federal families: the data-quality exclusions of G20, the
entry, exit and in-care cohorts, re-entries, and the stratum attributes. Each returns Ibis
tables with one row per window (`period_label`, `ps`, `pe`) and unit."""

from __future__ import annotations

import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.model.tables import PERMANENCY_EXITS_FEDERAL

REUNIFICATION_LIKE = ("reunification", "living_with_relative", "guardianship")


def federal_excluded(e: ir.Table, *rules: str) -> ir.BooleanValue:
    """G20: R5 and R10 (and R4, R6) remove an episode from every federal foster-care measure;
    the listed extra rules (r8 entry/re-entry, r9 permanency, r11 placement) from some.
    Children with no birth date are left out of age-dependent measures (G5)."""
    flagged = e.dq_r4 | e.dq_r5 | e.dq_r6 | e.dq_r10 | e.no_birth_date
    for rule in rules:
        flagged = flagged | e[f"dq_{rule}"]
    return flagged


def federal_strata(t: ir.Table, age_at: ir.DateValue, *, agency: bool = True) -> dict:
    columns = {
        "age_group": p.federal_age_group(t.birth_date, age_at),
        "race_ethnicity": t.race_ethnicity,
        "sex": t.sex,
    }
    if agency:
        columns["agency"] = t.agency
    return columns


def unit_rows(t: ir.Table, numerator, denominator, age_at: ir.DateValue, *, agency: bool = True) -> ir.Table:
    """The evaluator's input shape: period, geography, federal strata, numerator, denominator.
    Rows without a `geo` column are anchored in their county and counted for the state too."""
    if isinstance(numerator, ir.BooleanValue):
        numerator = numerator.ifelse(1, 0)
    rows = t.select(
        "period_label", "county", *(["geo"] if "geo" in t.columns else []),
        **federal_strata(t, age_at, agency=agency), numerator=numerator.cast("float64"),
        denominator=denominator.cast("float64"),
    )
    if "geo" not in rows.columns:
        rows = p.with_state(rows)
    return rows.drop("county")


def entry_cohort(ds, windows: ir.Table, *, extra_rules: tuple[str, ...] = ("r8", "r9")) -> ir.Table:
    """G18.3 pick, then exclude: each child's first episode removed in the window; the child is
    left out if that episode entered at 18+, lasted under 8 days (G7), closed without a reason,
    or fails a data-quality rule."""
    e = ds.episodes.cross_join(windows)
    e = e.filter((e.removal_date >= e.ps) & (e.removal_date <= e.pe))
    first = p.first_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])
    closed_without_reason = first.exit_date.notnull() & first.exit_reason.isnull()
    excluded = (
        first.entered_at_18 | first.short_stay | closed_without_reason
        | federal_excluded(first, *extra_rules)
    )
    return first.filter(~excluded)


def thv_adjusted_end(ds, cohort: ir.Table) -> ir.Table:
    """G11: a reunification whose last placement is a trial home visit longer than 30 days is
    treated as ending 30 days after the visit began. Adds `adjusted_end`."""
    last = ds.last_placements
    t = cohort.left_join(last, "episode_id").drop("episode_id_right")
    long_thv = (
        (t.end_reason == "reunification") & (t.last_setting == "trial_home_visit")
        & (p.days_between(t.last_start, t.end_date) > 30)
    ).fill_null(False)
    return t.mutate(adjusted_end=long_thv.ifelse(p.add_days(t.last_start, 30), t.end_date))


def in_care_cohort(ds, windows: ir.Table, min_months: int, max_months: int | None) -> ir.Table:
    """4-P2/4-P3: children in care on `ps` (removal before ps, exit on/after ps), under 18 on
    ps, with months(removal, ps) in range; latest removal when two qualify (G18.8); then the
    data-quality exclusions."""
    e = ds.episodes.filter(~ds.episodes.no_birth_date).cross_join(windows)
    months = p.completed_months(e.removal_date, e.ps)
    in_range = months >= min_months
    if max_months is not None:
        in_range = in_range & (months <= max_months)
    e = e.filter(
        (e.removal_date < e.ps) & (e.end_date.isnull() | (e.end_date >= e.ps))
        & (e.birthday_18 > e.ps) & in_range
    )
    latest = p.last_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])
    return latest.filter(~federal_excluded(latest, "r9"))


def reentered(ds, exits: ir.Table, months: int = 12) -> ir.Table:
    """G18.7: for cohort rows with `end_date`, whether the child has a later episode removed on or
    after that exit, within `months` (G4), before the 18th birthday, not flagged itself.
    Returns (period_label, episode_id, reentered)."""
    later = ds.episodes.filter(~federal_excluded(ds.episodes, "r8", "r9"))
    later = later.select("child_id", later_episode=later.episode_id, later_removal=later.removal_date)
    j = exits.select("period_label", "episode_id", "child_id", "end_date", "birthday_18").join(
        later, "child_id"
    )
    j = j.filter(
        (j.later_episode != j.episode_id) & (j.later_removal >= j.end_date)
        & p.within_months(j.end_date, j.later_removal, months) & (j.later_removal < j.birthday_18)
    )
    hits = j.group_by(["period_label", "episode_id"]).aggregate(reentered=j.later_episode.count() > 0)
    t = exits.left_join(hits, ["period_label", "episode_id"])
    t = t.drop("period_label_right", "episode_id_right")
    return t.mutate(reentered=t.reentered.fill_null(False))


def is_permanency(reason: ir.StringValue) -> ir.BooleanValue:
    return reason.isin(PERMANENCY_EXITS_FEDERAL).fill_null(False)


def per_child_geography(t: ir.Table, order: list[str]) -> ir.Table:
    """Stratum attributes of a child in a geography: those of its first row by `order`."""
    return p.first_per(t, ["period_label", "geo", "child_id"], order)
