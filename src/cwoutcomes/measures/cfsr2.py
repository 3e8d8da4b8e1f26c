"""Federal CFSR Round 2 (version `cfsr2`): measures.md §3 with the shared rules G1-G21 (G18.11
and G21.1/G21.4 settle the Round 2 edges). The composites C1-C4 built from these measures live
in `composites.py`; they are computed over results, not unit rows."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures import cohorts as c
from cwoutcomes.measures.base import REFERRAL_STRATA, Measure, register
from cwoutcomes.measures.cfsr4 import FOSTER_CARE_DQ, PERMANENCY_DQ

# Round 2's "reunification" (measures.md §3).
REUNIFIED = ("reunification", "living_with_relative")
DAYS_PER_MONTH = 30.4375  # G21.1


def months_after(day: ir.DateValue, months: int) -> ir.DateValue:
    """`day` shifted by whole calendar months; only used on window starts (always the 1st), so
    no month-end clamping question arises."""
    return (day + ibis.interval(months=months)).cast("date")


def _true(value: ir.BooleanValue) -> ir.BooleanValue:
    return value.fill_null(False)


def episodes_in(ds, windows: ir.Table) -> ir.Table:
    """Every episode crossed with the windows, less entries at 18 or older (G6, G18.11)."""
    e = ds.episodes
    return e.filter(~e.entered_at_18).cross_join(windows)


def served(ds, windows: ir.Table) -> ir.Table:
    """G18.11: episodes in care at any time in the window (`removal <= pe`, end null or
    `end >= ps`, the end as G6 leaves it), the child under 18 on `ps`, with `span_start` =
    max(removal, ps) for the age at reference."""
    e = episodes_in(ds, windows)
    e = e.filter(
        (e.removal_date <= e.pe) & (e.end_date.isnull() | (e.end_date >= e.ps)) & (e.birthday_18 > e.ps)
    )
    return e.mutate(span_start=ibis.greatest(e.removal_date, e.ps))


def earliest_exit(e: ir.Table) -> ir.Table:
    """Exit cohorts filter, then pick (G18.3): the child's earliest exit that met every condition."""
    return p.first_per(e, ["period_label", "child_id"], ["end_date", "episode_id"])


def in_care_on_ps(ds, windows: ir.Table, min_months: int) -> ir.Table:
    """C2.3, C2.4, C3.1: in care on `ps` (G21.4 / G18.10: exit after `ps`) for `min_months` or
    more completed months, under 18 on `ps`; the latest episode if two qualify (G18.8), then
    the data-quality exclusions (pick, then exclude, as 4-P2/4-P3)."""
    e = episodes_in(ds, windows)
    e = e.filter(
        p.in_care_on(e.removal_date, e.end_date, e.ps) & (e.birthday_18 > e.ps)
        & (p.completed_months(e.removal_date, e.ps) >= min_months)
    )
    latest = p.last_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])
    return latest.filter(~c.federal_excluded(latest))


def with_last_placement(ds, t: ir.Table) -> ir.Table:
    """Adds `last_setting` and `last_start` (G18.9) to episode rows."""
    return t.left_join(ds.last_placements, "episode_id").drop("episode_id_right")


def reunified_in_time(t: ir.Table) -> ir.BooleanValue:
    """C1.1/C1.3: reunified (either reason) within 12 months of removal, or the last placement
    was a trial home visit that began within 11 months of removal (no minimum THV length)."""
    direct = p.within_months(t.removal_date, t.end_date, 12)
    thv = (t.last_setting == "trial_home_visit") & p.within_months(t.removal_date, t.last_start, 11)
    return _true(t.end_reason.isin(REUNIFIED) & t.end_date.notnull() & (_true(direct) | _true(thv)))


def median_months(rows: pd.DataFrame) -> dict:
    """G21.1 medians: the unit rows carry each child's length of stay in months as `numerator`;
    an even count takes the mean of the two middle values (pandas' median); the results row
    has an empty numerator and the number of children as denominator."""
    values = pd.to_numeric(rows["numerator"]).astype(float)
    return {"numerator": np.nan, "denominator": float(len(values)),
            "value": float(values.median()) if len(values) else np.nan}


# -- S1.1 -----------------------------------------------------------------------------------
def no_recurrence(ds, windows: ir.Table) -> ir.Table:
    """Children with a victim report in the first 6 months of the window (the earliest anchors):
    1 when no other victim report follows within 6 months (G4). No age or fatality exclusions
    (G18.11), so the age group of a child without a usable birth date is `unknown`."""
    v = ds.victim_reports.cross_join(windows)
    v = v.filter((v.report_date >= v.ps) & (v.report_date < months_after(v.ps, 6)))
    first = p.first_per(v, ["period_label", "child_id"], ["report_date"])
    later = ds.victim_reports.select("child_id", later_date=ds.victim_reports.report_date)
    j = first.select("period_label", "child_id", "report_date").join(later, "child_id")
    j = j.filter((j.later_date > j.report_date) & p.within_months(j.report_date, j.later_date, 6))
    hits = j.group_by(["period_label", "child_id"]).aggregate(recurred=j.later_date.count() > 0)
    t = first.left_join(hits, ["period_label", "child_id"])
    age_group = p.federal_age_group(t.birth_date, t.report_date)
    age_group = (t.birth_date.isnull() | (t.birth_date > t.report_date)).ifelse("unknown", age_group)
    rows = t.select(
        "period_label", "county", age_group=age_group, race_ethnicity=t.race_ethnicity, sex=t.sex,
        numerator=(~t.recurred.fill_null(False)).ifelse(1.0, 0.0), denominator=ibis.literal(1.0),
    )
    return p.with_state(rows).drop("county")


# -- S2.1 -----------------------------------------------------------------------------------
def no_maltreatment_in_care(ds, windows: ir.Table) -> ir.Table:
    """Children in care at any time in the window: 1 unless a victim report with a foster-parent
    or facility-staff perpetrator is dated in the window inside one of their episodes (G18.5:
    `removal <= d < end`, counted in the earliest such episode, hence in its county)."""
    e = served(ds, windows)
    e = e.filter(~c.federal_excluded(e))
    v = ds.victim_reports
    v = v.filter(_true(v.in_care_perpetrator)).select("child_id", "report_date")
    r = e.select("period_label", "ps", "pe", "child_id", "county", "episode_id", "removal_date",
                 "observed_end").join(v, "child_id")
    r = r.filter(
        (r.report_date >= r.ps) & (r.report_date <= r.pe)
        & (r.report_date >= r.removal_date) & (r.report_date < r.observed_end)
    )
    r = p.first_per(r, ["period_label", "child_id", "report_date"], ["removal_date", "episode_id"])
    victims = p.with_state(r).group_by(["period_label", "geo", "child_id"]).aggregate(
        victim=ibis.literal(True)
    )
    first = c.per_child_geography(p.with_state(e), ["span_start", "episode_id"])
    t = first.left_join(victims, ["period_label", "geo", "child_id"])
    return c.unit_rows(t, ~t.victim.fill_null(False), ibis.literal(1), t.span_start)


# -- C1 -------------------------------------------------------------------------------------
def reunification_exits(ds, windows: ir.Table) -> ir.Table:
    """C1.1/C1.2 cohort: the child's earliest exit in the window to reunification or living with
    relative (before 18 by G6), after 8 days or more (8d), not flagged R9."""
    e = episodes_in(ds, windows)
    e = e.filter(
        (e.end_date >= e.ps) & (e.end_date <= e.pe) & e.end_reason.isin(REUNIFIED) & ~e.short_stay
        & ~c.federal_excluded(e, "r9")
    )
    return with_last_placement(ds, earliest_exit(e))


def reunification_in_12_months(ds, windows: ir.Table) -> ir.Table:
    t = reunification_exits(ds, windows)
    return c.unit_rows(t, reunified_in_time(t), ibis.literal(1), t.end_date)


def reunification_median(ds, windows: ir.Table) -> ir.Table:
    """C1.2: months from removal to exit, or to the THV start when the last placement was a
    trial home visit longer than 30 days (both reunification reasons, G21.4)."""
    t = reunification_exits(ds, windows)
    long_thv = _true(
        (t.last_setting == "trial_home_visit") & (p.days_between(t.last_start, t.end_date) > 30)
    )
    end = long_thv.ifelse(t.last_start, t.end_date)
    months = p.days_between(t.removal_date, end).cast("float64") / DAYS_PER_MONTH
    return c.unit_rows(t, months, ibis.literal(1), t.end_date)


def first_entry_reunification(ds, windows: ir.Table) -> ir.Table:
    """C1.3: the child's first-ever episode, removed in the 6 months before the window; pick,
    then exclude (G18.3): entered at 18, under 8 days, closed without a reason or flagged
    (R8, R9 and the federal rules) leaves the child out."""
    e = ds.episodes
    first = p.first_per(e, ["child_id"], ["removal_date", "episode_id"]).cross_join(windows)
    t = first.filter(
        (first.removal_date >= months_after(first.ps, -6)) & (first.removal_date < first.ps)
    )
    closed_without_reason = t.exit_date.notnull() & t.exit_reason.isnull()
    t = t.filter(
        ~(t.entered_at_18 | t.short_stay | closed_without_reason | c.federal_excluded(t, "r8", "r9"))
    )
    t = with_last_placement(ds, t)
    return c.unit_rows(t, reunified_in_time(t), ibis.literal(1), t.removal_date)


def reentry_after_reunification(ds, windows: ir.Table) -> ir.Table:
    """C1.4: the child's earliest exit to reunification or living with relative in the 12 months
    before the window (no 8-day rule); re-entry within 12 months of it by G18.7."""
    e = episodes_in(ds, windows)
    e = e.filter(
        (e.end_date >= months_after(e.ps, -12)) & (e.end_date < e.ps) & e.end_reason.isin(REUNIFIED)
        & ~c.federal_excluded(e, "r8", "r9")
    )
    t = c.reentered(ds, earliest_exit(e))
    return c.unit_rows(t, t.reentered, ibis.literal(1), t.end_date)


# -- C2 -------------------------------------------------------------------------------------
def adoption_exits(ds, windows: ir.Table) -> ir.Table:
    """C2.1/C2.2 cohort: the child's earliest exit to adoption in the window (before 18 by G6);
    no 8-day rule (G21.4)."""
    e = episodes_in(ds, windows)
    e = e.filter(
        (e.end_date >= e.ps) & (e.end_date <= e.pe) & (e.end_reason == "adoption")
        & ~c.federal_excluded(e)
    )
    return earliest_exit(e)


def adoption_in_24_months(ds, windows: ir.Table) -> ir.Table:
    t = adoption_exits(ds, windows)
    return c.unit_rows(t, p.within_months(t.removal_date, t.end_date, 24), ibis.literal(1), t.end_date)


def adoption_median(ds, windows: ir.Table) -> ir.Table:
    t = adoption_exits(ds, windows)
    months = p.days_between(t.removal_date, t.end_date).cast("float64") / DAYS_PER_MONTH
    return c.unit_rows(t, months, ibis.literal(1), t.end_date)


def adopted_from_long_stay(ds, windows: ir.Table) -> ir.Table:
    """C2.3: in care on `ps` for 17+ months, less those who left by `pe` to reunification,
    living with relative or guardianship; adopted by `pe`."""
    t = in_care_on_ps(ds, windows, 17)
    left_otherwise = _true((t.end_date <= t.pe) & t.end_reason.isin(c.REUNIFICATION_LIKE))
    t = t.filter(~left_otherwise)
    adopted = _true((t.end_date <= t.pe) & (t.end_reason == "adoption"))
    return c.unit_rows(t, adopted, ibis.literal(1), t.ps)


def legally_free_in_6_months(ds, windows: ir.Table) -> ir.Table:
    """C2.4: in care on `ps` for 17+ months, not legally free on `ps` (null or later), less those
    who left in the first 6 months to reunification, living with relative or guardianship;
    legally free with `ps < date < ps + 6 months`."""
    t = in_care_on_ps(ds, windows, 17)
    six = months_after(t.ps, 6)
    t = t.filter(t.legally_free_date.isnull() | (t.legally_free_date > t.ps))
    left_otherwise = _true((t.end_date < six) & t.end_reason.isin(c.REUNIFICATION_LIKE))
    t = t.filter(~left_otherwise)
    freed = _true((t.legally_free_date > t.ps) & (t.legally_free_date < six))
    return c.unit_rows(t, freed, ibis.literal(1), t.ps)


def adoption_after_legally_free(ds, windows: ir.Table) -> ir.Table:
    """C2.5: legally free in the 12 months before the window (no in-care check on that day),
    under 18 then; adopted within 12 months of it, the same day included (G21.4). A child
    legally free twice in the period counts once, by the earlier date."""
    e = episodes_in(ds, windows)
    lfd = e.legally_free_date
    e = e.filter(
        (lfd >= months_after(e.ps, -12)) & (lfd < e.ps) & (lfd < e.birthday_18) & ~c.federal_excluded(e)
    )
    t = p.first_per(e, ["period_label", "child_id"], ["legally_free_date", "episode_id"])
    adopted = _true(
        (t.end_reason == "adoption") & (t.end_date >= t.legally_free_date)
        & p.within_months(t.legally_free_date, t.end_date, 12)
    )
    return c.unit_rows(t, adopted, ibis.literal(1), t.legally_free_date)


# -- C3 -------------------------------------------------------------------------------------
def permanency_from_long_stay(ds, windows: ir.Table) -> ir.Table:
    """C3.1: in care on `ps` for 24+ months; permanency exit by `pe`, before 18 (G6)."""
    t = in_care_on_ps(ds, windows, 24)
    reached = c.is_permanency(t.end_reason) & _true(t.end_date <= t.pe)
    return c.unit_rows(t, reached, ibis.literal(1), t.ps)


def exits_in_window(ds, windows: ir.Table, condition) -> ir.Table:
    """The child's earliest G6-effective exit in the window meeting `condition`."""
    e = episodes_in(ds, windows)
    e = e.filter((e.end_date >= e.ps) & (e.end_date <= e.pe) & ~c.federal_excluded(e))
    return earliest_exit(e.filter(condition(e)))


def permanency_when_legally_free(ds, windows: ir.Table) -> ir.Table:
    """C3.2: exits in the window (G6: turning 18 in care is an exit) of children legally free at
    exit (the same day included); % to permanency."""
    t = exits_in_window(ds, windows, lambda e: _true(e.legally_free_date <= e.end_date))
    return c.unit_rows(t, c.is_permanency(t.end_reason), ibis.literal(1), t.end_date)


def long_stay_before_emancipation(ds, windows: ir.Table) -> ir.Table:
    """C3.3: emancipated before 18 or turned 18 in care, in the window; % in care 36 months or
    more (G4) at that exit."""
    t = exits_in_window(ds, windows, lambda e: e.end_reason.isin(("emancipation", "aged_out")))
    long_stay = p.completed_months(t.removal_date, t.end_date) >= 36
    return c.unit_rows(t, long_stay, ibis.literal(1), t.end_date)


# -- C4 -------------------------------------------------------------------------------------
def placement_stability(min_months: int, max_months: int | None):
    """C4.x (G18.11): the child's latest episode in care in the window lasting 8 days or more to
    min(exit, pe), in the length band [min_months, max_months) of completed months; % with two
    or fewer G9 placement settings starting before min(exit, 18th birthday, pe + 1 day)."""

    def units(ds, windows: ir.Table) -> ir.Table:
        e = served(ds, windows)
        e = e.mutate(span_end=ibis.least(e.end_date.fill_null(e.pe), e.pe))
        e = e.filter(p.days_between(e.removal_date, e.span_end) >= 8)
        latest = p.last_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])
        t = latest.filter(~c.federal_excluded(latest, "r11"))
        months = p.completed_months(t.removal_date, t.span_end)
        band = months >= min_months
        if max_months is not None:
            band = band & (months < max_months)
        t = t.filter(band)
        bound = p.add_days(t.pe, 1)
        t = t.mutate(bound=ibis.least(t.end_date.fill_null(bound), bound))
        settings = p.placement_settings(ds.placements).select("episode_id", "start_date")
        s = t.select("period_label", "episode_id", "bound").join(settings, "episode_id")
        s = s.filter(s.start_date < s.bound)
        counts = s.group_by(["period_label", "episode_id"]).aggregate(settings=s.start_date.count())
        t = t.left_join(counts, ["period_label", "episode_id"])
        return c.unit_rows(t, t.settings.fill_null(0) <= 2, ibis.literal(1), t.span_start)

    return units


def _reference(direction: str, median: float, other: float) -> dict:
    """The FY2004 national median and 75th percentile (25th for lower-is-better) of §3."""
    return {"median": median, ("75th percentile" if direction == "higher" else "25th percentile"): other}


def _measure(id_, name, direction, units, definition, median, other, *, unit="percent",
             dq_checks=PERMANENCY_DQ, **kwargs) -> Measure:
    return Measure(
        id_, "cfsr2", name, unit, direction, units, definition,
        reference=_reference(direction, median, other), dq_checks=dq_checks, **kwargs,
    )


VICTIM_TABLES = ("children", "referrals", "allegations")

register(
    _measure(
        "S1.1", "Absence of maltreatment recurrence", "higher", no_recurrence,
        "Children with a victim report in the first 6 months of the window: % with no other victim "
        "report within 6 months (G4) after the first one (no age or fatality exclusions).",
        93.3, 94.6, national_standard=94.6, requires=VICTIM_TABLES, strata=REFERRAL_STRATA,
        dq_checks=("victim_birth",),
    ),
    _measure(
        "S2.1", "Absence of maltreatment in foster care", "higher", no_maltreatment_in_care,
        "Children in care at any time in the window: % not the subject of a victim report by a "
        "foster parent or facility staff member, dated in the window during an episode.",
        99.52, 99.68, national_standard=99.68,
        requires=("children", "episodes", "placements", "referrals", "allegations"),
        dq_checks=FOSTER_CARE_DQ + ("same_day", "exit_before_removal", "victim_birth"),
    ),
    _measure(
        "C1.1", "Exits to reunification in less than 12 months", "higher", reunification_in_12_months,
        "Children exiting to reunification or living with relative in the window (8 days or more): "
        "% within 12 months of removal; a trial home visit that was the last placement counts when "
        "it began within 11 months of removal.",
        69.9, 75.2,
    ),
    _measure(
        "C1.2", "Median stay, exits to reunification", "lower", reunification_median,
        "Same cohort as C1.1: median length of stay in months (days / 30.4375), measured to the "
        "start of a trial home visit that was the last placement and lasted more than 30 days.",
        6.5, 5.4, unit="months", summarize=median_months,
    ),
    _measure(
        "C1.3", "Entry cohort reunification in less than 12 months", "higher",
        first_entry_reunification,
        "Children entering care for the first time in the 6 months before the window (8 days or "
        "more): % reunified within 12 months of removal (trial home visit as C1.1).",
        39.4, 48.4,
    ),
    _measure(
        "C1.4", "Re-entry following reunification", "lower", reentry_after_reunification,
        "Children exiting to reunification or living with relative in the 12 months before the "
        "window: % re-entering care within 12 months of that exit.",
        15.0, 9.9, dq_checks=PERMANENCY_DQ + ("first_removal_only",),
    ),
    _measure(
        "C2.1", "Exits to adoption in less than 24 months", "higher", adoption_in_24_months,
        "Children exiting to adoption in the window: % within 24 months (G4) of removal.",
        26.8, 36.6,
    ),
    _measure(
        "C2.2", "Median stay, exits to adoption", "lower", adoption_median,
        "Same cohort as C2.1: median length of stay in months (days / 30.4375).",
        32.4, 27.3, unit="months", summarize=median_months,
    ),
    _measure(
        "C2.3", "Adoption within 12 months, children in care 17 months or longer", "higher",
        adopted_from_long_stay,
        "Children in care on the window's first day for 17 or more months, less those leaving by "
        "its end to reunification, living with relative or guardianship: % adopted by its end.",
        20.2, 22.7,
    ),
    _measure(
        "C2.4", "Legally free within 6 months, children in care 17 months or longer", "higher",
        legally_free_in_6_months,
        "Children in care on the window's first day for 17 or more months and not legally free "
        "then, less those leaving in the first 6 months to reunification, living with relative or "
        "guardianship: % becoming legally free within the first 6 months.",
        8.8, 10.9,
    ),
    _measure(
        "C2.5", "Adoption within 12 months of becoming legally free", "higher",
        adoption_after_legally_free,
        "Children becoming legally free in the 12 months before the window: % adopted within 12 "
        "months of that date (an adoption on the same day counts).",
        45.8, 53.7,
    ),
    _measure(
        "C3.1", "Permanency for children in care 24 months or longer", "higher",
        permanency_from_long_stay,
        "Children in care on the window's first day for 24 or more months: % discharged to "
        "permanency before 18 and by the window's end.",
        25.0, 29.1,
    ),
    _measure(
        "C3.2", "Permanency for children legally free at exit", "higher", permanency_when_legally_free,
        "Children exiting in the window (turning 18 in care is an exit) who were legally free at "
        "exit: % discharged to permanency before 18.",
        96.8, 98.0,
    ),
    _measure(
        "C3.3", "In care 3 years or longer at emancipation or 18", "lower", long_stay_before_emancipation,
        "Children emancipated before 18 or turning 18 in care during the window: % in care 36 "
        "months or more at that exit.",
        47.8, 37.5,
    ),
    _measure(
        "C4.1", "Two or fewer placement settings, in care under 12 months", "higher",
        placement_stability(0, 12),
        "Children in care at any time in the window whose latest episode lasted 8 days to under 12 "
        "months (to exit or the window's end): % with two or fewer placement settings (G9).",
        83.3, 86.0, dq_checks=PERMANENCY_DQ + ("no_placement",),
    ),
    _measure(
        "C4.2", "Two or fewer placement settings, in care 12 to 24 months", "higher",
        placement_stability(12, 24),
        "As C4.1 for episodes of 12 to under 24 months.",
        59.9, 65.4, dq_checks=PERMANENCY_DQ + ("no_placement",),
    ),
    _measure(
        "C4.3", "Two or fewer placement settings, in care 24 months or more", "higher",
        placement_stability(24, None),
        "As C4.1 for episodes of 24 months or more.",
        33.9, 41.8, dq_checks=PERMANENCY_DQ + ("no_placement",),
    ),
)
