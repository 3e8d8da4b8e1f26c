"""Federal CFSR Round 4 (version `cfsr4`): measures.md §1, with the shared rules G1-G21."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures import cohorts as c
from cwoutcomes.measures.base import REFERRAL_STRATA, Measure, register

FOSTER_CARE_DQ = ("missing_birth_date", "birth_after_removal", "birth_after_exit")
PERMANENCY_DQ = FOSTER_CARE_DQ + ("missing_exit_reason",)


# -- 4-S1 -----------------------------------------------------------------------------------
def in_care_spans(ds, windows: ir.Table) -> ir.Table:
    """Episodes of 4-S1: overlapping the window after G6 and G7, with their days in it."""
    e = ds.episodes
    e = e.filter(~c.federal_excluded(e) & ~e.entered_at_18 & ~e.short_stay)
    e = p.overlapping(e, windows, "removal_date", "observed_end")
    span_start = ibis.greatest(e.removal_date, e.ps)
    span_end = ibis.least(e.observed_end, p.add_days(e.pe, 1))
    e = e.mutate(span_start=span_start, span_end=span_end)
    return e.mutate(days=p.days_between(e.span_start, e.span_end)).filter(ibis._.days > 0)


def drop_next_day_repeats(reports: ir.Table, by: list[str]) -> ir.Table:
    """4-S1: drop a report dated 1 day after the previous *counted* report. Within a run of
    reports on consecutive days the 1st, 3rd, 5th ... are counted (each is 2 days after the
    previous counted one), so the rule needs no recursion."""
    order = [reports.report_date]
    gap = p.days_between(reports.report_date.lag().over(group_by=by, order_by=order), reports.report_date)
    reports = reports.mutate(_new_run=(gap.isnull() | (gap > 1)).ifelse(1, 0))
    run = reports._new_run.sum().over(
        ibis.window(group_by=by, order_by=[reports.report_date], rows=(None, 0))
    )
    reports = reports.mutate(_run=run)
    position = ibis.row_number().over(group_by=by + ["_run"], order_by=[reports.report_date])
    reports = reports.mutate(_position=position)
    return reports.filter(reports._position % 2 == 0).drop("_new_run", "_run", "_position")


def maltreatment_in_care(ds, windows: ir.Table) -> ir.Table:
    spans = in_care_spans(ds, windows)
    v = ds.victim_reports.select("child_id", "report_date", "incident_date")
    r = spans.join(v, "child_id")
    earliest_day = p.add_days(r.removal_date, 7)
    r = r.filter(
        (r.report_date >= r.ps) & (r.report_date <= r.pe)
        & (r.report_date >= earliest_day) & (r.report_date < r.span_end)
        & (r.incident_date.isnull() | ((r.incident_date >= earliest_day) & (r.incident_date < r.span_end)))
    )
    # G18.5: a report counts once, in the earliest included episode containing it.
    r = p.first_per(r, ["period_label", "child_id", "report_date"], ["removal_date", "episode_id"])
    r = drop_next_day_repeats(r, ["period_label", "child_id"])
    reports = p.with_state(r).group_by(["period_label", "geo", "child_id"]).aggregate(reports=ibis._.count())

    days = p.with_state(spans)
    first = c.per_child_geography(days, ["span_start", "episode_id"])
    totals = days.group_by(["period_label", "geo", "child_id"]).aggregate(total_days=days.days.sum())
    t = first.join(totals, ["period_label", "geo", "child_id"])
    t = t.left_join(reports, ["period_label", "geo", "child_id"])
    return c.unit_rows(t, t.reports.fill_null(0), ibis.least(t.total_days, 365), t.span_start)


# -- 4-S2 -----------------------------------------------------------------------------------
def initial_reports(ds, windows: ir.Table) -> ir.Table:
    """4-S2/3-S2 denominator: each child's earliest victim report dated in the window, less the
    children unborn, 18 or older, or without a birth date then, and fatalities."""
    v = ds.victim_reports.cross_join(windows)
    v = v.filter((v.report_date >= v.ps) & (v.report_date <= v.pe))
    first = p.first_per(v, ["period_label", "child_id"], ["report_date"])
    excluded = (
        first.birth_date.isnull() | (first.report_date < first.birth_date)
        | (first.report_date >= first.birthday_18) | first.fatality
    )
    return first.filter(~excluded)


def later_reports(ds, initial: ir.Table) -> ir.Table:
    """Each initial report joined to the same child's later victim reports (any date)."""
    later = ds.victim_reports.select(
        "child_id", later_date=ibis._.report_date, later_incident=ibis._.incident_date
    )
    j = initial.join(later, "child_id")
    j = j.mutate(gap=p.days_between(j.report_date, j.later_date))
    same_incident = (j.incident_date == j.later_incident).fill_null(False)
    return j.mutate(same_incident=same_incident)


def recurrence_rows(initial: ir.Table, recurred: ir.Table) -> ir.Table:
    t = initial.left_join(recurred, ["period_label", "child_id"])
    return c.unit_rows(t, t.recurred.fill_null(False), ibis.literal(1), t.report_date, agency=False)


def recurrence(ds, windows: ir.Table) -> ir.Table:
    initial = initial_reports(ds, windows)
    j = later_reports(ds, initial)
    j = j.filter((j.gap >= 15) & (j.gap <= 365) & ~j.same_incident)
    recurred = j.group_by(["period_label", "child_id"]).aggregate(recurred=j.gap.count() > 0)
    return recurrence_rows(initial, recurred)


# -- 4-P1 -----------------------------------------------------------------------------------
def permanency_entry_cohort(ds, windows: ir.Table) -> ir.Table:
    """4-P1's cohort with `reached`: permanency within 12 months of removal, before 18, after
    the THV adjustment."""
    t = c.thv_adjusted_end(ds, c.entry_cohort(ds, windows))
    reached = (
        c.is_permanency(t.end_reason) & t.adjusted_end.notnull()
        & p.within_months(t.removal_date, t.adjusted_end, 12)
    ).fill_null(False)
    return t.mutate(reached=reached)


def permanency_entries(ds, windows: ir.Table) -> ir.Table:
    t = permanency_entry_cohort(ds, windows)
    return c.unit_rows(t, t.reached, ibis.literal(1), t.removal_date)


# -- 4-P2 / 4-P3 ----------------------------------------------------------------------------
def permanency_in_care(min_months: int, max_months: int | None):
    def units(ds, windows: ir.Table) -> ir.Table:
        t = c.in_care_cohort(ds, windows, min_months, max_months)
        reached = c.is_permanency(t.end_reason) & (t.end_date <= t.pe).fill_null(False)
        return c.unit_rows(t, reached, ibis.literal(1), t.ps)

    return units


# -- 4-P4 -----------------------------------------------------------------------------------
def reentry_exits(ds, windows: ir.Table) -> ir.Table:
    """Filter, then pick (G18.3): each child's earliest qualifying exit in the window."""
    e = ds.episodes.cross_join(windows)
    e = e.filter(
        (e.end_date >= e.ps) & (e.end_date <= e.pe) & e.end_reason.isin(c.REUNIFICATION_LIKE)
        & ~e.short_stay & ~c.federal_excluded(e, "r8", "r9")
    )
    return p.first_per(e, ["period_label", "child_id"], ["end_date", "episode_id"])


def reentry(ds, windows: ir.Table) -> ir.Table:
    t = c.reentered(ds, reentry_exits(ds, windows))
    return c.unit_rows(t, t.reentered, ibis.literal(1), t.end_date)


# -- 4-P5 -----------------------------------------------------------------------------------
def placement_stability(ds, windows: ir.Table) -> ir.Table:
    e = ds.episodes.cross_join(windows)
    e = e.filter(
        (e.removal_date >= e.ps) & (e.removal_date <= e.pe) & ~e.entered_at_18 & ~e.short_stay
        & ~c.federal_excluded(e, "r8", "r11")
    )
    e = e.mutate(span_end=ibis.least(e.observed_end, p.add_days(e.pe, 1)))
    e = e.mutate(days=p.days_between(e.removal_date, e.span_end))
    moves = p.placement_settings(ds.placements).filter(ibis._.is_move)
    m = e.select("period_label", "episode_id", "removal_date", "span_end").join(
        moves.select("episode_id", move_date=moves.start_date), "episode_id"
    )
    m = m.filter((m.move_date >= m.removal_date) & (m.move_date < m.span_end))
    m = m.group_by(["period_label", "episode_id"]).aggregate(moves=m.move_date.count())
    e = e.left_join(m, ["period_label", "episode_id"]).drop("period_label_right", "episode_id_right")
    e = e.mutate(moves=e.moves.fill_null(0))

    # G18.6: the "more moves than days" test is made once per child on state totals.
    state = e.group_by(["period_label", "child_id"]).aggregate(
        implausible=e.moves.sum() > ibis.least(e.days.sum(), 365)
    )
    e = e.join(state, ["period_label", "child_id"]).filter(~ibis._.implausible)

    g = p.with_state(e)
    first = c.per_child_geography(g, ["removal_date", "episode_id"])
    totals = g.group_by(["period_label", "geo", "child_id"]).aggregate(
        total_days=g.days.sum(), total_moves=g.moves.sum()
    )
    t = first.join(totals, ["period_label", "geo", "child_id"])
    return c.unit_rows(t, t.total_moves, ibis.least(t.total_days, 365), t.removal_date)


# -- 4-ER -----------------------------------------------------------------------------------
def population_rows(ds, windows: ir.Table) -> ir.Table:
    """Children aged 0-17 in `population` for the year whose July 1 falls in the window."""
    pop = ds.table("population")
    pop = pop.filter((pop.age >= 0) & (pop.age <= 17)).cross_join(windows)
    pop = pop.filter(pop.year == pop.population_year)
    pop = p.with_state(pop)
    return pop.select(
        "period_label", "geo", age_group=p.california_age_group_of_years(pop.age),
        race_ethnicity=pop.race_ethnicity, sex=pop.sex, numerator=ibis.literal(0.0),
        denominator=pop.population.cast("float64"),
    )


def entry_rate_rows(ds, windows: ir.Table, entries: ir.Table) -> ir.Table:
    g = p.with_state(entries)
    first = c.per_child_geography(g, ["removal_date", "episode_id"])
    children = first.select(
        "period_label", "geo", age_group=p.california_age_group(first.birth_date, first.removal_date),
        race_ethnicity=first.race_ethnicity, sex=first.sex, numerator=ibis.literal(1.0),
        denominator=ibis.literal(0.0),
    )
    return children.union(population_rows(ds, windows))


def entry_rate(ds, windows: ir.Table) -> ir.Table:
    e = ds.episodes.cross_join(windows)
    e = e.filter(
        (e.removal_date >= e.ps) & (e.removal_date <= e.pe) & ~e.no_birth_date & ~e.entered_at_18
    )
    return entry_rate_rows(ds, windows, e)


def entry_rate_p1(ds, windows: ir.Table) -> ir.Table:
    return entry_rate_rows(ds, windows, c.entry_cohort(ds, windows))


register(
    Measure(
        "4-S1", "cfsr4", "Maltreatment in foster care", "per_100k_days", "lower", maltreatment_in_care,
        "Victim reports (any perpetrator) dated in the window, at least 7 days after removal and "
        "before the episode's end, per 100,000 days in care in the window (G6, G7; 365-day cap per "
        "child; 1-day duplicate rule).",
        requires=("children", "episodes", "placements", "referrals", "allegations"),
        national_standard=9.07, dq_checks=FOSTER_CARE_DQ + ("same_day", "exit_before_removal", "victim_birth"),
    ),
    Measure(
        "4-S2", "cfsr4", "Recurrence of maltreatment", "percent", "lower", recurrence,
        "Children with a victim report in the window: % with another victim report 15-365 days "
        "after the initial one (not the same incident).",
        requires=("children", "referrals", "allegations"), national_standard=9.7,
        strata=REFERRAL_STRATA, follow_up_days=365, dq_checks=("victim_birth",),
    ),
    Measure(
        "4-P1", "cfsr4", "Permanency in 12 months for children entering care", "percent", "higher",
        permanency_entries,
        "Children entering care in the window (first entry in the window, 8 days or more, under 18): "
        "% discharged to permanency within 12 months of removal, before 18 (THV adjustment G11).",
        national_standard=35.2, follow_up_months=12,
        dq_checks=PERMANENCY_DQ + ("same_day", "exit_before_removal"),
    ),
    Measure(
        "4-P2", "cfsr4", "Permanency in 12 months for children in care 12-23 months", "percent",
        "higher", permanency_in_care(12, 23),
        "Children in care on the window's first day for 12-23 months: % discharged to permanency "
        "by the window's end, before 18.",
        national_standard=43.8, dq_checks=PERMANENCY_DQ,
    ),
    Measure(
        "4-P3", "cfsr4", "Permanency in 12 months for children in care 24 months or more", "percent",
        "higher", permanency_in_care(24, None),
        "Children in care on the window's first day for 24 months or more: % discharged to "
        "permanency by the window's end, before 18.",
        national_standard=37.3, dq_checks=PERMANENCY_DQ,
    ),
    Measure(
        "4-P4", "cfsr4", "Re-entry to foster care in 12 months", "percent", "lower", reentry,
        "Children discharged in the window to reunification, living with relative or guardianship "
        "(under 18, episode of 8 days or more): % re-entering within 12 months of discharge.",
        national_standard=5.6, follow_up_months=12,
        dq_checks=PERMANENCY_DQ + ("same_day", "exit_before_removal", "first_removal_only"),
    ),
    Measure(
        "4-P5", "cfsr4", "Placement stability", "per_1000_days", "lower", placement_stability,
        "Children entering care in the window: placement moves per 1,000 days in care (G9 moves; "
        "365-day cap per child; children with more moves than days dropped).",
        national_standard=4.48,
        dq_checks=FOSTER_CARE_DQ + ("same_day", "exit_before_removal", "no_placement"),
    ),
    Measure(
        "4-ER", "cfsr4", "Foster care entry rate", "per_1000_children", "none", entry_rate,
        "Unduplicated children entering care in the window, under 18 at removal, per 1,000 children "
        "aged 0-17 (population of the year whose July 1 falls in the window).",
        requires=("children", "episodes", "population"), strata=REFERRAL_STRATA,
    ),
    Measure(
        "4-ER.P1", "cfsr4", "Foster care entry rate (4-P1 entries)", "per_1000_children", "none",
        entry_rate_p1,
        "As 4-ER, counting only the entries that pass the 4-P1 exclusions.",
        requires=("children", "episodes", "population"), strata=REFERRAL_STRATA,
    ),
)
