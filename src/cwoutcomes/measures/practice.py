"""Core Practice Model process measures (version `cpm`): measures.md §5 with G19 and G21.11.

The definitions are the spec's own (the seed document names the process measures, not their
rules). California scope applies: children aged 0-17 with a known birth date at each measure's
reference date (CPM-VOICE 4-17), California age groups, recorded exits (G6 does not apply) and
record rule R4 only (G21.2). Every measure needs an optional practice table, so a data set
without it reports the measure as not_available."""

from __future__ import annotations

from typing import Callable

import ibis
import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures.base import REFERRAL_STRATA, Measure, register
from cwoutcomes.measures.cohorts import REUNIFICATION_LIKE

CALIFORNIA_STRATA = ("age_group", "race_ethnicity", "sex", "agency")
NETWORK_PRACTICES = ("cft_meeting", "safety_plan", "aftercare_safety_plan")
IN_PERSON_RESPONSES = ("immediate", "ten_day")
HIGH_RISK = ("high", "very_high")
ENTRY_FOLLOW_UP_DAYS = 60  # events 0-60 days after removal (CPM-CFT, CPM-VOICE)
PRACTICE_TABLES = ("children", "episodes", "practice_events")


# -- shared pieces ----------------------------------------------------------------------------
def aged_between(birth: ir.DateValue, at: ir.DateValue, low: int, high: int) -> ir.BooleanValue:
    """G19: a known birth date and `low` <= completed years at `at` <= `high`."""
    age = p.age_in_years(birth, at)
    return (birth.notnull() & (age >= low) & (age <= high)).fill_null(False)


def any_match(units: ir.Table, keys: list[str], others: ir.Table,
              predicate: Callable[[ir.Table], ir.BooleanValue], name: str) -> ir.Table:
    """Adds boolean column `name`: whether any row of `others` (joined on child_id) satisfies
    `predicate` for the unit. `keys` identify a unit row; `others` must not reuse unit columns
    other than child_id."""
    j = units.join(others, "child_id")
    hits = j.filter(predicate(j)).select(*keys).distinct().mutate(**{name: ibis.literal(True)})
    t = units.left_join(hits, keys)
    t = t.drop(*[f"{k}_right" for k in keys if f"{k}_right" in t.columns])
    return t.mutate(**{name: t[name].fill_null(False)})


def events(ds, *practices: str) -> ir.Table:
    """Practice events of the given kinds: child_id, event_date, network (null = absent)."""
    ev = ds.table("practice_events")
    ev = ev.filter(ev.practice.isin(practices) & ev.event_date.notnull())
    return ev.select("child_id", event_date=ev.event_date, network=ev.network_present.fill_null(False))


def practice_rows(t: ir.Table, numerator: ir.BooleanValue, age_at: ir.DateValue,
                  strata: tuple[str, ...], **extra) -> ir.Table:
    """The evaluator's input: one row per unit for its county (when it has one) and the state,
    California age groups at `age_at`."""
    columns = {"age_group": p.california_age_group(t.birth_date, age_at)}
    columns.update({name: t[name] for name in strata if name not in ("age_group", *extra)})
    rows = t.select(
        "period_label", "county", **columns, **extra,
        numerator=numerator.ifelse(1.0, 0.0), denominator=ibis.literal(1.0),
    )
    rows = p.with_state(rows)
    # A unit with no county (practice outside any anchored record) counts for the state only.
    return rows.filter(rows.geo.notnull()).drop("county")


def child_county(ds, units: ir.Table, keys: list[str], day: str) -> ir.Table:
    """Adds `fallback_county` (decision): the county of the child's latest removal or referral
    (as an alleged victim) on or before `day`; null when there is none. On the same day a
    removal counts as later than a referral."""
    e = ds.episodes.filter(~ds.episodes.dq_r4)
    anchors = e.select("child_id", anchor_date=e.removal_date, anchor_kind=ibis.literal(1),
                       anchor_id=e.episode_id, anchor_county=e.county)
    if ds.has("referrals") and ds.has("allegations"):
        r = ds.table("referrals")
        a = ds.table("allegations").select("referral_id", "child_id").distinct()
        ra = a.join(r.select("referral_id", "county", "received_at"), "referral_id")
        anchors = anchors.union(ra.select(
            "child_id", anchor_date=ra.received_at.date(), anchor_kind=ibis.literal(0),
            anchor_id=ra.referral_id, anchor_county=ra.county,
        ))
    j = units.select(*dict.fromkeys([*keys, "child_id"]), _day=units[day]).join(anchors, "child_id")
    j = j.filter(j.anchor_date <= j._day)
    latest = p.last_per(j, keys, ["anchor_date", "anchor_kind", "anchor_id"])
    latest = latest.select(*keys, fallback_county=latest.anchor_county)
    t = units.left_join(latest, keys)
    return t.drop(*[f"{k}_right" for k in keys if f"{k}_right" in t.columns])


def california_entries(ds, windows: ir.Table, low: int, high: int) -> ir.Table:
    """G21.3 filter, then pick: each child's first episode removed in the window that is not
    R4, with the child aged `low`-`high` at removal and lasting 8 days or more on its recorded
    exit (or open)."""
    e = ds.episodes.cross_join(windows)
    lasting = e.exit_date.isnull() | (p.days_between(e.removal_date, e.exit_date) >= 8)
    e = e.filter(
        (e.removal_date >= e.ps) & (e.removal_date <= e.pe) & ~e.dq_r4 & lasting.fill_null(False)
        & aged_between(e.birth_date, e.removal_date, low, high)
    )
    return p.first_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])


# -- CPM-CFT / CPM-VOICE ----------------------------------------------------------------------
def entry_event(practice: str, low: int, high: int):
    """Children entering care: whether the practice happened 0-60 days after removal (events
    match by child and date, G21.11)."""

    def units(ds, windows: ir.Table) -> ir.Table:
        t = california_entries(ds, windows, low, high)
        t = any_match(
            t, ["period_label", "child_id"], events(ds, practice),
            lambda j: (j.event_date >= j.removal_date)
            & (p.days_between(j.removal_date, j.event_date) <= ENTRY_FOLLOW_UP_DAYS),
            "received",
        )
        return practice_rows(t, t.received, t.removal_date, CALIFORNIA_STRATA)

    return units


# -- CPM-NET ----------------------------------------------------------------------------------
def network_engaged(ds, windows: ir.Table) -> ir.Table:
    """Unit = event: CFT meetings, safety plans and after-care safety plans dated in the window
    for children aged 0-17 that day; numerator: the network took part (null = absent)."""
    ev = ds.table("practice_events")
    ev = ev.filter(ev.practice.isin(NETWORK_PRACTICES)).cross_join(windows)
    ev = ev.filter((ev.event_date >= ev.ps) & (ev.event_date <= ev.pe))
    kids = ds.children.select("child_id", "birth_date", "sex", "race_ethnicity")
    ev = ev.join(kids, "child_id")
    ev = ev.filter(aged_between(ev.birth_date, ev.event_date, 0, 17))
    # County (decision): the event's own episode, else the child's latest removal or referral.
    own = ds.episodes.filter(~ds.episodes.dq_r4).select(
        episode_key=ibis._.episode_id, episode_county=ibis._.county
    )
    ev = ev.left_join(own, ev.episode_id == own.episode_key).drop("episode_key")
    ev = child_county(ds, ev, ["period_label", "event_id"], "event_date")
    ev = ev.mutate(county=ev.episode_county.fill_null(ev.fallback_county))
    return practice_rows(ev, ev.network_present.fill_null(False), ev.event_date, REFERRAL_STRATA,
                         practice=ev.practice)


# -- CPM-SA / CPM-RA --------------------------------------------------------------------------
def in_person_referrals(ds, windows: ir.Table) -> ir.Table:
    """Immediate and ten-day referrals received in the window that name at least one alleged
    victim aged 0-17 on the receipt date (G19 for a referral unit, decision)."""
    r = ds.table("referrals")
    r = r.filter(r.response_type.isin(IN_PERSON_RESPONSES)).mutate(
        received=r.received_at.date(), contact=r.first_contact_at.date()
    ).cross_join(windows)
    r = r.filter((r.received >= r.ps) & (r.received <= r.pe))
    kids = ds.table("allegations").select("referral_id", "child_id").join(
        ds.children.select("child_id", "birth_date"), "child_id"
    )
    minors = r.select("period_label", "referral_id", "received").join(kids, "referral_id")
    minors = minors.filter(aged_between(minors.birth_date, minors.received, 0, 17))
    minors = minors.select("period_label", "referral_id").distinct()
    return r.join(minors, ["period_label", "referral_id"])


def assessed(ds, referrals: ir.Table, kind: str, start: str, days: int) -> ir.Table:
    """Adds `assessed`: an assessment of `kind` on the referral completed 0-`days` days after
    the referral's date column `start` (a null start never matches)."""
    a = ds.table("assessments")
    a = a.filter((a.assessment_type == kind) & a.completed_date.notnull() & a.referral_id.notnull())
    a = a.select(assessed_referral=a.referral_id, completed=a.completed_date)
    j = referrals.select("period_label", "referral_id", _start=referrals[start]).join(
        a, ibis._.referral_id == a.assessed_referral
    )
    gap = p.days_between(j._start, j.completed)
    hits = j.filter((gap >= 0) & (gap <= days)).select("period_label", "referral_id").distinct()
    t = referrals.left_join(hits.mutate(assessed=ibis.literal(True)), ["period_label", "referral_id"])
    t = t.drop("period_label_right", "referral_id_right")
    return t.mutate(assessed=t.assessed.fill_null(False))


def referral_rows(t: ir.Table) -> ir.Table:
    rows = t.select("period_label", "county", response_type=t.response_type,
                    numerator=t.assessed.ifelse(1.0, 0.0), denominator=ibis.literal(1.0))
    return p.with_state(rows).drop("county")


def timely_safety_assessment(ds, windows: ir.Table) -> ir.Table:
    """A safety assessment 0-2 days after the first contact; no contact (or a contact dated
    before receipt, G18.12) fails."""
    r = in_person_referrals(ds, windows)
    r = r.mutate(contact=(r.contact >= r.received).ifelse(r.contact, ibis.null("date")))
    return referral_rows(assessed(ds, r, "safety", "contact", 2))


def timely_risk_assessment(ds, windows: ir.Table) -> ir.Table:
    """A risk assessment 0-30 days after receipt, contacted or not."""
    return referral_rows(assessed(ds, in_person_referrals(ds, windows), "risk", "received", 30))


# -- CPM-ALIGN --------------------------------------------------------------------------------
def aligned_services(ds, windows: ir.Table) -> ir.Table:
    """Each child's first high or very high risk assessment completed in the window (aged 0-17
    then): a service referral 0-30 days after it."""
    a = ds.table("assessments")
    a = a.filter((a.assessment_type == "risk") & a.result.isin(HIGH_RISK)).cross_join(windows)
    a = a.filter((a.completed_date >= a.ps) & (a.completed_date <= a.pe))
    kids = ds.children.select("child_id", "birth_date", "sex", "race_ethnicity")
    a = a.join(kids, "child_id")
    a = a.filter(aged_between(a.birth_date, a.completed_date, 0, 17))
    a = p.first_per(a, ["period_label", "child_id"], ["completed_date", "assessment_id"])
    # County: the assessment's referral, else the child's latest removal or referral (decision).
    if ds.has("referrals"):
        r = ds.table("referrals").select(referral_key=ibis._.referral_id, referral_county=ibis._.county)
        a = a.left_join(r, a.referral_id == r.referral_key).drop("referral_key")
    else:
        a = a.mutate(referral_county=ibis.null("string"))
    a = child_county(ds, a, ["period_label", "child_id"], "completed_date")
    a = a.mutate(county=a.referral_county.fill_null(a.fallback_county))
    s = ds.table("service_referrals")
    s = s.select("child_id", service_date=s.referral_date)
    a = any_match(
        a, ["period_label", "child_id"], s,
        lambda j: (j.service_date >= j.completed_date) & (p.days_between(j.completed_date, j.service_date) <= 30),
        "served",
    )
    return practice_rows(a, a.served, a.completed_date, REFERRAL_STRATA)


# -- CPM-PLAN ---------------------------------------------------------------------------------
def behavioral_case_plans(ds, windows: ir.Table) -> ir.Table:
    """Episodes with at least 60 days in care inside the window (recorded exit; open to the
    extract date), the child 0-17 on the first of those days: a behaviourally based case plan
    dated in the episode (removal <= d < exit) and on or before the window's last day."""
    e = ds.episodes.filter(~ds.episodes.dq_r4)
    end = e.exit_date.fill_null(p.add_days(ibis.literal(ds.extract_date), 1))
    e = e.mutate(recorded_end=end).cross_join(windows)
    e = e.mutate(first_day=ibis.greatest(e.removal_date, e.ps),
                 days_in=p.clipped_days(e.removal_date, e.recorded_end, e.ps, e.pe))
    e = e.filter((e.days_in >= 60) & aged_between(e.birth_date, e.first_day, 0, 17))
    e = any_match(
        e, ["period_label", "episode_id"], events(ds, "behaviorally_based_case_plan"),
        lambda j: (j.event_date >= j.removal_date) & (j.event_date < j.recorded_end) & (j.event_date <= j.pe),
        "planned",
    )
    return practice_rows(e, e.planned, e.first_day, CALIFORNIA_STRATA)


# -- CPM-AFTER --------------------------------------------------------------------------------
def aftercare_plans(ds, windows: ir.Table) -> ir.Table:
    """Exits in the window to reunification, living with relative or guardianship (aged 0-17
    at exit): an after-care safety plan with the network dated 1-90 days before the exit."""
    e = ds.episodes.filter(~ds.episodes.dq_r4 & ds.episodes.exit_reason.isin(REUNIFICATION_LIKE))
    e = e.cross_join(windows)
    e = e.filter((e.exit_date >= e.ps) & (e.exit_date <= e.pe) & aged_between(e.birth_date, e.exit_date, 0, 17))
    plans = events(ds, "aftercare_safety_plan")
    plans = plans.filter(plans.network).drop("network")
    gap = lambda j: p.days_between(j.event_date, j.exit_date)  # noqa: E731
    e = any_match(e, ["period_label", "episode_id"], plans, lambda j: (gap(j) >= 1) & (gap(j) <= 90), "planned")
    return practice_rows(e, e.planned, e.exit_date, CALIFORNIA_STRATA)


register(
    Measure(
        "CPM-CFT", "cpm", "Engagement through teaming", "percent", "higher",
        entry_event("cft_meeting", 0, 17),
        "Children aged 0-17 entering care in the window (first entry of 8 days or more, filter then "
        "pick, G21.3): % with a child and family team meeting 0-60 days after removal.",
        requires=PRACTICE_TABLES, strata=CALIFORNIA_STRATA, follow_up_days=ENTRY_FOLLOW_UP_DAYS,
    ),
    Measure(
        "CPM-NET", "cpm", "Network of support engaged", "percent", "higher", network_engaged,
        "CFT meetings, safety plans and after-care safety plans dated in the window (children aged "
        "0-17 that day): % in which the family's network of support took part (unknown = no).",
        requires=PRACTICE_TABLES, strata=REFERRAL_STRATA + ("practice",),
    ),
    Measure(
        "CPM-SA", "cpm", "Timely safety assessment", "percent", "higher", timely_safety_assessment,
        "Immediate and ten-day referrals received in the window (with an alleged victim aged 0-17): "
        "% with a safety assessment completed 0-2 days after the first in-person contact; a "
        "referral never contacted fails.",
        requires=("children", "episodes", "referrals", "allegations", "assessments"),
        strata=("response_type",), follow_up_days=30,
    ),
    Measure(
        "CPM-RA", "cpm", "Timely risk assessment", "percent", "higher", timely_risk_assessment,
        "Immediate and ten-day referrals received in the window (with an alleged victim aged 0-17): "
        "% with a risk assessment completed 0-30 days after receipt.",
        requires=("children", "episodes", "referrals", "allegations", "assessments"),
        strata=("response_type",), follow_up_days=30,
    ),
    Measure(
        "CPM-ALIGN", "cpm", "Assessment and services aligned", "percent", "higher", aligned_services,
        "Children aged 0-17 whose first high or very high risk assessment was completed in the "
        "window: % with a service referral 0-30 days after it.",
        requires=("children", "episodes", "assessments", "service_referrals"),
        strata=REFERRAL_STRATA, follow_up_days=30,
    ),
    Measure(
        "CPM-PLAN", "cpm", "Behaviourally based case plans", "percent", "higher", behavioral_case_plans,
        "Episodes with at least 60 days in care inside the window (child aged 0-17): % with a "
        "behaviourally based case plan dated in the episode on or before the window's end.",
        requires=PRACTICE_TABLES, strata=CALIFORNIA_STRATA,
    ),
    Measure(
        "CPM-AFTER", "cpm", "After-care planning with the network", "percent", "higher", aftercare_plans,
        "Exits in the window to reunification, living with relative or guardianship (aged 0-17 at "
        "exit): % with an after-care safety plan with the network present 1-90 days before exit.",
        requires=PRACTICE_TABLES, strata=CALIFORNIA_STRATA,
    ),
    Measure(
        "CPM-VOICE", "cpm", "Voice of the child", "percent", "higher", entry_event("three_houses", 4, 17),
        "Children aged 4-17 entering care in the window (first entry of 8 days or more at that age, "
        "G21.3): % with a Three Houses interview 0-60 days after removal.",
        requires=PRACTICE_TABLES, strata=CALIFORNIA_STRATA, follow_up_days=ENTRY_FOLLOW_UP_DAYS,
    ),
)
