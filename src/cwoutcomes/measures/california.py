"""California's own outcome measures (version `ca`), measures.md §4, part 1: the shared
California rules (G19 scope, G21.2 data quality, G21.3 entries, California strata) and the
referral and rate measures: ER, ER.FIRST, AR, SR, IC, 1B, 2B and 2D. The foster-care measures
(2F, 2S, 4A, 4B, 4E, 5B, 5F, 8A, LOS) are in `california_care`."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures.base import Measure, register
from cwoutcomes.model.tables import DISPOSITIONS, MALTREATMENT_TYPES

VERSION = "ca"
CA_STRATA = ("age_group", "race_ethnicity", "sex")
# G13: foster-care measures are also reported by agency.
CA_CARE_STRATA = CA_STRATA + ("agency",)
REFERRAL_TABLES = ("children", "referrals", "allegations")


# -- shared California rules -----------------------------------------------------------------
def in_scope(birth: ir.DateValue, birthday_18: ir.DateValue, day: ir.DateValue) -> ir.BooleanValue:
    """G19: aged 0-17 with a known birth date on `day` (born on or before it, not yet 18)."""
    return (birth.notnull() & (birth <= day) & (day < birthday_18)).fill_null(False)


def ca_episodes(ds) -> ir.Table:
    """Episodes for California measures: G21.2 leaves out R4 only (exit before removal); the
    recorded exit is used (G6 does not apply, G21.3), so `exit_date`, not `end_date`."""
    e = ds.episodes
    return e.filter(~e.dq_r4)


def lasts_eight_days(e: ir.Table) -> ir.BooleanValue:
    """G21.3: 8 days or more on the recorded exit, or still open."""
    return e.exit_date.isnull() | (p.days_between(e.removal_date, e.exit_date) >= 8)


def qualifying_entries(ds, windows: ir.Table, *, eight_day_rule: bool = True) -> ir.Table:
    """G21.3 California entries, before the pick: every non-R4 episode removed in the window
    with the child aged 0-17 at removal and (8-day rule) lasting 8 days or more."""
    e = ca_episodes(ds).cross_join(windows)
    keep = (e.removal_date >= e.ps) & (e.removal_date <= e.pe) & in_scope(e.birth_date, e.birthday_18, e.removal_date)
    if eight_day_rule:
        keep = keep & lasts_eight_days(e)
    return e.filter(keep)


def entry_cohort(ds, windows: ir.Table) -> ir.Table:
    """G21.3 filter, then pick: each child's first qualifying entry in the window."""
    return p.first_per(qualifying_entries(ds, windows), ["period_label", "child_id"], ["removal_date", "episode_id"])


def in_care_on_day(ds, windows: ir.Table, day: str) -> ir.Table:
    """Children aged 0-17 in an open (non-R4) episode on the window's date column `day`
    (G18.10); with two open episodes, the latest removal anchors the child."""
    e = ca_episodes(ds).cross_join(windows)
    e = e.filter(p.in_care_on(e.removal_date, e.exit_date, e[day]) & in_scope(e.birth_date, e.birthday_18, e[day]))
    return p.last_per(e, ["period_label", "child_id"], ["removal_date", "episode_id"])


def strata(t: ir.Table, age_at: ir.DateValue, *, agency: bool = True) -> dict:
    columns = {
        "age_group": p.california_age_group(t.birth_date, age_at),
        "race_ethnicity": t.race_ethnicity,
        "sex": t.sex,
    }
    if agency:
        columns["agency"] = t.agency
    return columns


def unit_rows(t: ir.Table, numerator, denominator, age_at: ir.DateValue | None, *, agency: bool = True,
              extra: dict | None = None, county: str = "county") -> ir.Table:
    """The evaluator's input: period, geography (the row's county and the state unless `geo`
    is already there), California strata, numerator, denominator."""
    if isinstance(numerator, ir.BooleanValue):
        numerator = numerator.fill_null(False).ifelse(1, 0)
    if isinstance(denominator, ir.BooleanValue):
        denominator = denominator.fill_null(False).ifelse(1, 0)
    if isinstance(numerator, (int, float)):
        numerator = ibis.literal(numerator)
    if isinstance(denominator, (int, float)):
        denominator = ibis.literal(denominator)
    columns = strata(t, age_at, agency=agency) if age_at is not None else {}
    columns.update(extra or {})
    periods = [c for c in ("period_type", "period_start", "period_end") if c in t.columns]
    rows = t.select(
        "period_label", *periods, *(["geo"] if "geo" in t.columns else []), _county=t[county], **columns,
        numerator=numerator.cast("float64"), denominator=denominator.cast("float64"),
    )
    if "geo" not in rows.columns:
        rows = p.with_state(rows, "_county")
    return rows.drop("_county")


def code_rank(column: ir.StringValue, codes: tuple[str, ...]) -> ir.IntegerValue:
    """Position of a code in an ordered code list (severity, certainty); unknown codes last."""
    return ibis.cases(*[(column == code, index) for index, code in enumerate(codes)], else_=len(codes))


# -- rates per 1,000 children (ER, ER.FIRST, AR, SR, IC) ---------------------------------------
def population_rows(ds, windows: ir.Table, year: ir.IntegerValue | None = None) -> ir.Table:
    """Denominator rows: children aged 0-17 in `population` for the window's population year
    (G21.5: state = sum of counties). `year` is an expression over `windows` (IC: the PIT
    date's year)."""
    w = windows.mutate(_year=windows.population_year if year is None else year)
    pop = ds.table("population")
    pop = pop.filter((pop.age >= 0) & (pop.age <= 17)).cross_join(w)
    pop = p.with_state(pop.filter(pop.year == pop._year))
    return pop.select(
        "period_label", "geo", age_group=p.california_age_group_of_years(pop.age),
        race_ethnicity=pop.race_ethnicity, sex=pop.sex, numerator=ibis.literal(0.0),
        denominator=pop.population.cast("float64"),
    )


def rate_rows(ds, windows: ir.Table, counted: ir.Table, age_at: str, order: list[str],
              year: ir.IntegerValue | None = None) -> ir.Table:
    """Each child once per geography (G12; its first row by `order` gives its strata) beside
    the population rows."""
    g = p.with_state(counted)
    first = p.first_per(g, ["period_label", "geo", "child_id"], order)
    children = first.select(
        "period_label", "geo", **strata(first, first[age_at], agency=False),
        numerator=ibis.literal(1.0), denominator=ibis.literal(0.0),
    )
    return children.union(population_rows(ds, windows, year))


def entry_rate(ds, windows: ir.Table) -> ir.Table:
    """ER: unduplicated children entering care (G21.3 entries, any of the child's qualifying
    entries in the geography)."""
    return rate_rows(ds, windows, qualifying_entries(ds, windows), "removal_date", ["removal_date", "episode_id"])


def first_entry_rate(ds, windows: ir.Table) -> ir.Table:
    """ER.FIRST: the child's first-ever episode (any record) must itself be a qualifying entry."""
    first_ever = p.first_per(ds.episodes, ["child_id"], ["removal_date", "episode_id"]).select("episode_id")
    entries = qualifying_entries(ds, windows).semi_join(first_ever, "episode_id")
    return rate_rows(ds, windows, entries, "removal_date", ["removal_date", "episode_id"])


def child_allegations(ds) -> ir.Table:
    """Allegations with their referral's county and receipt date and the child's attributes."""
    a = ds.table("allegations")
    r = ds.table("referrals").select("referral_id", "county", "received_at")
    a = a.join(r, "referral_id")
    a = a.mutate(received_date=a.received_at.date())
    c = ds.children.select("child_id", "birth_date", "birthday_18", "sex", "race_ethnicity")
    return a.join(c, "child_id")


def allegation_rate(substantiated_only: bool):
    def units(ds, windows: ir.Table) -> ir.Table:
        a = child_allegations(ds)
        if substantiated_only:
            a = a.filter(a.disposition == "substantiated")
        a = a.cross_join(windows)
        a = a.filter(
            (a.received_date >= a.ps) & (a.received_date <= a.pe)
            & in_scope(a.birth_date, a.birthday_18, a.received_date)
        )
        # §4: a child's row is its most severe record (disposition, then maltreatment type).
        a = a.mutate(_disposition=code_rank(a.disposition, DISPOSITIONS),
                     _type=code_rank(a.maltreatment_type, MALTREATMENT_TYPES))
        return rate_rows(ds, windows, a, "received_date",
                         ["_disposition", "_type", "received_at", "allegation_id"])

    return units


def in_care_rate(ds, windows: ir.Table) -> ir.Table:
    """IC: children aged 0-17 in care on the PIT date, per 1,000 children of the PIT year."""
    e = ca_episodes(ds).cross_join(windows)
    e = e.filter(p.in_care_on(e.removal_date, e.exit_date, e.pit) & in_scope(e.birth_date, e.birthday_18, e.pit))
    return rate_rows(ds, windows, e, "pit", [ibis.desc("removal_date"), ibis.desc("episode_id")],
                     year=windows.pit.year())


# -- 1B recurrence where children were not removed ------------------------------------------
def recurrence_not_removed(ds, windows: ir.Table) -> ir.Table:
    """1B (G21.6): pick, then exclude. The child's first substantiated referral received in the
    window's first 6 months anchors; children aged outside 0-17 then, in care that day or
    removed 0-30 days after it are excluded. Recurrence: a substantiated referral received
    15 days or more and under 6 months (G4) after the anchor, in any county."""
    s = child_allegations(ds)
    s = s.filter(s.disposition == "substantiated")
    w = s.cross_join(windows)
    w = w.filter((w.received_date >= w.ps) & (p.completed_months(w.ps, w.received_date) < 6))
    anchor = p.first_per(w, ["period_label", "child_id"], ["received_at", "referral_id"])
    anchor = anchor.filter(in_scope(anchor.birth_date, anchor.birthday_18, anchor.received_date))

    e = ca_episodes(ds).select("child_id", "removal_date", "exit_date")
    j = anchor.select("period_label", "child_id", "received_date").join(e, "child_id")
    removed = (
        p.in_care_on(j.removal_date, j.exit_date, j.received_date)
        | ((j.removal_date >= j.received_date) & (p.days_between(j.received_date, j.removal_date) <= 30))
    )
    removed = j.filter(removed).select("period_label", "child_id").distinct()
    anchor = anchor.anti_join(removed, ["period_label", "child_id"])

    later = s.select("child_id", later_date=s.received_date)
    r = anchor.select("period_label", "child_id", "received_date").join(later, "child_id")
    r = r.filter(
        (p.days_between(r.received_date, r.later_date) >= 15)
        & p.within_months(r.received_date, r.later_date, 6)
    )
    recurred = r.select("period_label", "child_id", recurred=ibis.literal(True)).distinct()
    t = anchor.left_join(recurred, ["period_label", "child_id"])
    return unit_rows(t, t.recurred, 1, t.received_date, agency=False)


# -- 2B / 2D timely response ------------------------------------------------------------------
def timely_response(response_type: str, statuses: tuple[str, ...]):
    """2B/2D (G18.12): referrals received in the window's last quarter with this response
    type; timely when the first in-person contact has one of `statuses` and is within 24 hours
    (clock times when both have one, else the same or the next day) or 10 days (0-10 days on
    dates). A contact before receipt never counts."""

    def units(ds, windows: ir.Table) -> ir.Table:
        r = ds.table("referrals").cross_join(windows)
        r = r.mutate(received_date=r.received_at.date(), contact_date=r.first_contact_at.date())
        r = r.filter(
            (r.response_type == response_type) & (r.received_date >= r.quarter_start)
            & (r.received_date <= r.pe)
        )
        clock = r.received_at_has_time.fill_null(False) & r.first_contact_at_has_time.fill_null(False)
        seconds = r.first_contact_at.epoch_seconds() - r.received_at.epoch_seconds()
        days = p.days_between(r.received_date, r.contact_date)
        if response_type == "immediate":
            in_time = clock.ifelse((seconds >= 0) & (seconds <= 24 * 3600), (days >= 0) & (days <= 1))
        else:
            not_before = clock.ifelse(seconds >= 0, days >= 0)
            in_time = not_before & (days <= 10)
        timely = r.first_contact_at.notnull() & r.first_contact_status.isin(statuses) & in_time
        return unit_rows(r, timely, 1, None)

    return units


# -- registration -----------------------------------------------------------------------------
RATE_TABLES = ("children", "episodes", "population")

register(
    Measure(
        "ER", VERSION, "Entry rate (all entries)", "per_1000_children", "lower", entry_rate,
        "Unduplicated children aged 0-17 entering care in the window in an episode of 8 days or "
        "more (open episodes count), per 1,000 children aged 0-17 (population of the year whose "
        "July 1 falls in the window).",
        requires=RATE_TABLES, strata=CA_STRATA,
    ),
    Measure(
        "ER.FIRST", VERSION, "Entry rate (first entries)", "per_1000_children", "lower", first_entry_rate,
        "As ER, counting only children whose first-ever episode is that entry.",
        requires=RATE_TABLES, strata=CA_STRATA,
    ),
    Measure(
        "AR", VERSION, "Allegation rate", "per_1000_children", "none", allegation_rate(False),
        "Unduplicated children aged 0-17 with an allegation (any disposition) on a referral "
        "received in the window, per 1,000 children aged 0-17; strata from each child's most "
        "severe record.",
        requires=REFERRAL_TABLES + ("population",), strata=CA_STRATA,
    ),
    Measure(
        "SR", VERSION, "Substantiation rate", "per_1000_children", "lower", allegation_rate(True),
        "Unduplicated children aged 0-17 with a substantiated allegation on a referral received "
        "in the window, per 1,000 children aged 0-17.",
        requires=REFERRAL_TABLES + ("population",), strata=CA_STRATA,
    ),
    Measure(
        "IC", VERSION, "In-care rate (point in time)", "per_1000_children", "none", in_care_rate,
        "Children aged 0-17 in an open episode on the first day of the window's last quarter, per "
        "1,000 children aged 0-17 (population of that date's year).",
        requires=RATE_TABLES, strata=CA_STRATA, period_type="point_in_time",
    ),
    Measure(
        "1B", VERSION, "Recurrence where children were not removed", "percent", "lower",
        recurrence_not_removed,
        "Children with a substantiated allegation on a referral received in the first 6 months of "
        "the window (the first such referral), not in care that day and not removed within 30 days "
        "after: % with another substantiated allegation 15 days to under 6 months later.",
        requires=REFERRAL_TABLES + ("episodes",), strata=CA_STRATA,
    ),
)

for _suffix, _type, _window in (("IR", "immediate", "24 hours"), ("10D", "ten_day", "10 days")):
    register(
        Measure(
            f"2B.{_suffix}", VERSION, f"Timely response ({_type.replace('_', '-')})", "percent", "higher",
            timely_response(_type, ("attempted", "completed")),
            f"Referrals received in the window's last quarter with response type {_type}: % with a "
            f"first in-person contact, attempted or completed, within {_window} of receipt.",
            requires=("referrals",), strata=(), period_type="quarter",
        ),
        Measure(
            f"2D.{_suffix}", VERSION, f"Timely completed contact ({_type.replace('_', '-')})", "percent",
            "higher", timely_response(_type, ("completed",)),
            f"Referrals received in the window's last quarter with response type {_type}: % with a "
            f"completed first in-person contact within {_window} of receipt.",
            requires=("referrals",), strata=(), period_type="quarter",
        ),
    )
