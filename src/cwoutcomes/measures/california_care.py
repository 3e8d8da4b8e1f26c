"""California's own outcome measures (version `ca`), measures.md §4, part 2: caseworker visits
(2F, 2S, by month, quarter and window), siblings placed together (4A), least restrictive
placement (4B) and ICWA placement preferences (4E)."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures.base import Measure, register
from cwoutcomes.measures.california import (
    CA_CARE_STRATA, CA_STRATA, VERSION, ca_episodes, entry_cohort, in_care_on_day, in_scope, unit_rows,
)
from cwoutcomes.model.tables import NON_MOVE_SETTINGS

# 4B: California placement categories; every other setting is `other`, no placement `missing`.
CA_SETTINGS = ("kin", "foster_home", "ffa_home", "group_home", "shelter", "pre_adoptive", "guardian")
# 4E (G21.8): the settings where a caregiver's being Indian or not is judged.
FAMILY_HOMES = ("foster_home", "ffa_home", "pre_adoptive", "guardian")


# -- 2F / 2S monthly caseworker visits --------------------------------------------------------
def _date(year: ir.IntegerValue, month: ir.IntegerValue) -> ir.DateValue:
    return ibis.date(year.cast("int32"), month.cast("int32"), 1)


def window_months(windows: ir.Table) -> ir.Table:
    """Every calendar month of the windows, once (month_start, month_end): monthly and quarterly
    rows must not repeat when windows overlap."""
    parts = []
    for k in range(12):
        index = windows.ps.month() - 1 + k
        parts.append(windows.select(month_start=_date(windows.ps.year() + index // 12, index % 12 + 1)))
    months = ibis.union(*parts, distinct=True)
    year, month = months.month_start.year(), months.month_start.month()
    return months.mutate(month_end=p.add_days(_date(year + month // 12, month % 12 + 1), -1))


def whole_month_open(start: ir.DateValue, end: ir.DateValue, months: ir.Table, extract: dt.date) -> ir.BooleanValue:
    """G18.12/G21.7: a spell covers the whole month (start on or before the first day, end after
    the last); an open spell is observed up to the extract date."""
    observed_end = end.fill_null(ibis.literal(extract + dt.timedelta(days=1)))
    return (start <= months.month_start) & (observed_end > months.month_end)


def out_of_home_months(ds, months: ir.Table) -> ir.Table:
    """2F eligible child-months: one non-R4 episode open the whole month, the child 0-17 on the
    first day; the month belongs to that episode's county (the earliest removal if two)."""
    e = ca_episodes(ds).cross_join(months)
    e = e.filter(
        whole_month_open(e.removal_date, e.exit_date, e, ds.extract_date)
        & in_scope(e.birth_date, e.birthday_18, e.month_start)
    )
    return p.first_per(e, ["month_start", "child_id"], ["removal_date", "episode_id"])


def in_home_months(ds, months: ir.Table) -> ir.Table:
    """2S child-months: a service case open the whole month (G21.7: any service type), the
    child 0-17 on the first day and in care on no day of the month. A child with cases in two
    counties counts in each (G12), once statewide."""
    sc = ds.table("service_cases")
    sc = sc.filter(sc.end_date.isnull() | (sc.end_date >= sc.start_date))  # R4
    children = ds.children.select("child_id", "birth_date", "birthday_18", "sex", "race_ethnicity")
    sc = sc.join(children, "child_id").cross_join(months)
    sc = sc.filter(
        whole_month_open(sc.start_date, sc.end_date, sc, ds.extract_date)
        & in_scope(sc.birth_date, sc.birthday_18, sc.month_start)
    )
    e = ca_episodes(ds).select("child_id", e_removal=ibis._.removal_date, e_exit=ibis._.exit_date)
    cm = sc.select("child_id", "month_start", "month_end").distinct().join(e, "child_id")
    in_care = cm.filter(
        (cm.e_removal <= cm.month_end)
        & (cm.e_exit.isnull() | ((cm.e_exit > cm.month_start) & (cm.e_exit > cm.e_removal)))
    ).select("child_id", "month_start").distinct()
    sc = sc.anti_join(in_care, ["child_id", "month_start"])
    return p.first_per(p.with_state(sc), ["month_start", "geo", "child_id"], ["start_date", "case_id"])


def with_visits(ds, child_months: ir.Table) -> ir.Table:
    """Adds `visited` (a completed in-person contact in the month) and `in_residence` (one of
    them at the child's residence)."""
    c = ds.table("contacts")
    c = c.filter((c.method == "in_person") & (c.status == "completed") & c.contact_date.notnull())
    c = c.mutate(month_start=_date(c.contact_date.year(), c.contact_date.month()))
    v = c.group_by(["child_id", "month_start"]).aggregate(
        visited=c.contact_id.count() > 0, in_residence=(c.location == "residence").fill_null(False).any()
    )
    t = child_months.left_join(v, ["child_id", "month_start"]).drop("child_id_right", "month_start_right")
    return t.mutate(visited=t.visited.fill_null(False), in_residence=t.in_residence.fill_null(False))


def period_map(months: ir.Table, windows: ir.Table) -> ir.Table:
    """Each month's reporting periods (§4: by month, summed over the quarter and the 12-month
    window): one row per month and period it belongs to."""
    year, month = months.month_start.year(), months.month_start.month()
    quarter = (month - 1) // 3 + 1
    by_month = months.select(
        "month_start", period_label=year.cast("string") + "-" + month.cast("string").lpad(2, "0"),
        period_type=ibis.literal("month"), period_start=months.month_start, period_end=months.month_end,
    )
    by_quarter = months.select(
        "month_start", period_label=year.cast("string") + "Q" + quarter.cast("string"),
        period_type=ibis.literal("quarter"), period_start=_date(year, 3 * quarter - 2),
        period_end=p.add_days(_date(year + (3 * quarter) // 12, (3 * quarter) % 12 + 1), -1),
    )
    w = windows.select(_label=windows.period_label, _ps=windows.ps, _pe=windows.pe)
    by_window = months.join(w, (months.month_start >= w._ps) & (months.month_start <= w._pe)).select(
        "month_start", period_label=ibis._._label, period_type=ibis.literal("year"),
        period_start=ibis._._ps, period_end=ibis._._pe,
    )
    return ibis.union(by_month, by_quarter, by_window)


def monthly_visits(kind: str, numerator: str, denominator: str):
    def units(ds, windows: ir.Table) -> ir.Table:
        months = window_months(windows)
        eligible = out_of_home_months(ds, months) if kind == "out_of_home" else in_home_months(ds, months)
        t = with_visits(ds, eligible).mutate(eligible=ibis.literal(True))
        t = t.join(period_map(months, windows), "month_start")
        return unit_rows(t, t[numerator], t[denominator], t.month_start, agency=kind == "out_of_home")

    return units


# -- 4A siblings placed together -----------------------------------------------------------
def homes_on_day(ds, t: ir.Table, day: str) -> ir.Table:
    """G18.13: the provider of the episode's last placement started on or before the day that is
    not a trial home visit, runaway or respite (null when none). Adds `home`."""
    pl = ds.all_placements
    pl = pl.filter(~pl.setting.isin(NON_MOVE_SETTINGS)).select("episode_id", "placement_id", "start_date", "provider_id")
    h = t.select("period_label", "episode_id", _day=t[day]).join(pl, "episode_id")
    h = h.filter(h.start_date <= h._day)
    h = p.last_per(h, ["period_label", "episode_id"], ["start_date", "placement_id"])
    h = h.select("period_label", "episode_id", home=h.provider_id)
    return t.left_join(h, ["period_label", "episode_id"]).drop("period_label_right", "episode_id_right")


def _child_in_window(period_label: ir.StringValue, child_id: ir.StringValue) -> ir.StringValue:
    return period_label.concat("|", child_id)


def siblings_in_care(ds, windows: ir.Table) -> ir.Table:
    """4A universe on the PIT date: children 0-17 in care with at least one sibling (any shared
    sibling group) who is also 0-17 and in care that day in the same county; `siblings` counts
    them, `together` those living in the child's home."""
    base = homes_on_day(ds, in_care_on_day(ds, windows, "pit"), "pit")
    s = ds.table("siblings")
    pairs = s.join(s.select("sibling_group_id", sibling_id=s.child_id), "sibling_group_id")
    pairs = pairs.filter(pairs.child_id != pairs.sibling_id).select("child_id", "sibling_id").distinct()
    me = base.select("period_label", "child_id", "county", "home")
    # One key per (window, sibling): joined on period_label and sibling_id separately, DuckDB
    # may join `me` to `sib` on the window alone first (every child with every child in care).
    sib = base.select(_sibling_key=_child_in_window(base.period_label, base.child_id),
                      sibling_county=base.county, sibling_home=base.home)
    j = me.join(pairs, "child_id")
    j = j.mutate(_sibling_key=_child_in_window(j.period_label, j.sibling_id)).join(sib, "_sibling_key")
    j = j.filter(j.county == j.sibling_county)
    same_home = (j.home == j.sibling_home).fill_null(False)
    counts = j.group_by(["period_label", "child_id"]).aggregate(
        siblings=j.sibling_id.count(), together=same_home.ifelse(1, 0).sum()
    )
    return base.join(counts, ["period_label", "child_id"])


def siblings_together(all_of_them: bool):
    def units(ds, windows: ir.Table) -> ir.Table:
        t = siblings_in_care(ds, windows)
        placed = (t.together == t.siblings) if all_of_them else (t.together >= 1)
        group = ibis.cases((t.siblings <= 3, t.siblings.cast("string")), else_="4+")
        return unit_rows(t, placed, 1, t.pit, extra={"siblings_in_care": group})

    return units


# -- 4B least restrictive placement ---------------------------------------------------------
def setting_category(setting: ir.StringValue) -> ir.StringValue:
    """4B: the California category of a placement setting (`missing` when there is none)."""
    return ibis.cases(
        (setting.isnull(), "missing"), (setting.isin(CA_SETTINGS), setting), else_="other"
    )


def first_placement_cohort(ds, windows: ir.Table) -> ir.Table:
    """4B.FIRST: G21.3 entries; the setting of the episode's first placement by (start, id),
    nothing dropped (G21.8). Adds `category`."""
    t = entry_cohort(ds, windows)
    first = p.first_per(ds.all_placements, ["episode_id"], ["start_date", "placement_id"])
    first = first.select("episode_id", first_setting=first.setting)
    t = t.left_join(first, "episode_id").drop("episode_id_right")
    return t.mutate(category=setting_category(t.first_setting))


def placement_on_day(ds, t: ir.Table, day: str) -> ir.Table:
    """G18.13: the placement covering the day (start <= day < end), the last in G9 order if
    several; adds its `setting`, `caregiver_relative` and `caregiver_indian` (null: none)."""
    pl = ds.all_placements.select(
        "episode_id", "placement_id", "start_date", "end_date", "setting", "caregiver_relative", "caregiver_indian"
    )
    j = t.select("period_label", "episode_id", _day=t[day]).join(pl, "episode_id")
    j = j.filter((j.start_date <= j._day) & (j.end_date.isnull() | (j.end_date > j._day)))
    j = p.last_per(j, ["period_label", "episode_id"], ["start_date", "placement_id"])
    j = j.select("period_label", "episode_id", "setting", "caregiver_relative", "caregiver_indian")
    return t.left_join(j, ["period_label", "episode_id"]).drop("period_label_right", "episode_id_right")


def pit_placement_cohort(ds, windows: ir.Table) -> ir.Table:
    t = placement_on_day(ds, in_care_on_day(ds, windows, "pit"), "pit")
    return t.mutate(category=setting_category(t.setting))


def _cohort(ds, windows, which):
    return first_placement_cohort(ds, windows) if which == "first" else pit_placement_cohort(ds, windows)


def placement_distribution(which: str):
    def units(ds, windows: ir.Table) -> ir.Table:
        t = _cohort(ds, windows, which)
        age_at = t.removal_date if which == "first" else t.pit
        return unit_rows(t, 1, 1, age_at, extra={"placement_setting": t.category})

    return units


def placement_share(which: str, category: str):
    def units(ds, windows: ir.Table) -> ir.Table:
        t = _cohort(ds, windows, which)
        age_at = t.removal_date if which == "first" else t.pit
        return unit_rows(t, t.category == category, 1, age_at)

    return units


# -- 4E ICWA placement preferences ------------------------------------------------------------
def placement_status(t: ir.Table) -> ir.StringValue:
    """G21.8: relatives first (kin, or a related caregiver), then group homes; a caregiver's
    being Indian is judged only in family homes; everything else (no placement too) is other."""
    family = t.setting.isin(FAMILY_HOMES).fill_null(False)
    return ibis.cases(
        (((t.setting == "kin") | t.caregiver_relative).fill_null(False), "relative"),
        ((t.setting == "group_home").fill_null(False), "group_home"),
        (family & (t.caregiver_indian == True).fill_null(False), "indian"),  # noqa: E712
        (family & (t.caregiver_indian == False).fill_null(False), "non_indian"),  # noqa: E712
        (family, "unknown"),
        else_="other",
    )


def icwa_placement(population: str):
    def units(ds, windows: ir.Table) -> ir.Table:
        t = placement_on_day(ds, in_care_on_day(ds, windows, "pit"), "pit")
        if population == "icwa":
            icwa = ds.table("children").select("child_id", "icwa_eligible")
            t = t.join(icwa, "child_id")
            t = t.filter(t.icwa_eligible.fill_null(False))
        else:
            t = t.filter(t.race_ethnicity == "aian")
        status = placement_status(t)
        t = t.mutate(placement_status=status)
        preferred = t.placement_status.isin(("relative", "indian"))
        return unit_rows(t, preferred, 1, t.pit, extra={"placement_status": t.placement_status})

    return units


# -- registration -----------------------------------------------------------------------------
CARE_TABLES = ("children", "episodes", "placements")
for _id, _kind, _num, _den, _name, _text, _tables in (
    ("2F", "out_of_home", "visited", "eligible", "Timely monthly caseworker visits (out of home)",
     "Child-months in which the child (0-17 on the first day) was in one episode the whole month: "
     "% with a completed in-person contact in the month.", ("contacts",)),
    ("2F.RES", "out_of_home", "in_residence", "visited", "Monthly caseworker visits in the residence (out of home)",
     "Visited out-of-home child-months (2F): % with a completed in-person contact at the child's "
     "residence.", ("contacts",)),
    ("2S", "in_home", "visited", "eligible", "Timely monthly caseworker visits (in home)",
     "Child-months with a service case open the whole month and no day in care (child 0-17 on the "
     "first day): % with a completed in-person contact in the month.", ("service_cases", "contacts")),
    ("2S.RES", "in_home", "in_residence", "visited", "Monthly caseworker visits in the residence (in home)",
     "Visited in-home child-months (2S): % with a completed in-person contact at the child's "
     "residence.", ("service_cases", "contacts")),
):
    register(Measure(
        _id, VERSION, _name, "percent", "higher",
        monthly_visits(_kind, _num, _den),
        _text + " Reported by month, by quarter and for the 12-month window.",
        requires=("children", "episodes") + _tables,
        strata=CA_CARE_STRATA if _kind == "out_of_home" else CA_STRATA,
    ))

register(
    Measure(
        "4A.ALL", VERSION, "Siblings placed together (all)", "percent", "higher", siblings_together(True),
        "Children 0-17 in care on the first day of the window's last quarter with at least one "
        "sibling in care in the same county that day: % living in the same home as all of them.",
        requires=CARE_TABLES + ("siblings",), strata=CA_CARE_STRATA + ("siblings_in_care",),
        period_type="point_in_time", dq_checks=("no_placement",),
    ),
    Measure(
        "4A.SOME", VERSION, "Siblings placed together (some or all)", "percent", "higher", siblings_together(False),
        "As 4A.ALL: % living in the same home as at least one of them.",
        requires=CARE_TABLES + ("siblings",), strata=CA_CARE_STRATA + ("siblings_in_care",),
        period_type="point_in_time", dq_checks=("no_placement",),
    ),
    Measure(
        "4B.FIRST", VERSION, "Least restrictive placement: first placement (distribution)", "percent", "none",
        placement_distribution("first"),
        "Children 0-17 entering care in the window (8-day rule): distribution of the setting of the "
        "first placement by California category (Missing kept in the denominator).",
        strata=("placement_setting",), distribution="placement_setting", dq_checks=("no_placement",),
    ),
    Measure(
        "4B.PIT", VERSION, "Least restrictive placement: point in time (distribution)", "percent", "none",
        placement_distribution("pit"),
        "Children 0-17 in care on the first day of the window's last quarter: distribution of the "
        "setting of the placement that day by California category.",
        strata=("placement_setting",), distribution="placement_setting", period_type="point_in_time",
        dq_checks=("no_placement",),
    ),
)
for _which, _label, _period in (("first", "FIRST", "year"), ("pit", "PIT", "point_in_time")):
    for _category, _short, _direction in (("kin", "KIN", "higher"), ("group_home", "GROUP", "lower")):
        register(Measure(
            f"4B.{_label}.{_short}", VERSION,
            f"Least restrictive placement: {'first placement' if _which == 'first' else 'point in time'}, "
            f"% {'kin' if _short == 'KIN' else 'group home'}",
            "percent", _direction, placement_share(_which, _category),
            f"Share of 4B.{_label} placed in {'kin homes' if _short == 'KIN' else 'group homes'}.",
            strata=CA_CARE_STRATA, period_type=_period, dq_checks=("no_placement",),
        ))

for _id, _population, _who in (("4E.1", "icwa", "ICWA-eligible children"),
                                ("4E.2", "aian", "American Indian/Alaska Native children")):
    register(Measure(
        _id, VERSION, f"ICWA placement preference ({_who})", "percent", "higher", icwa_placement(_population),
        f"{_who} 0-17 in care on the first day of the window's last quarter: % placed with relatives "
        "or with a non-relative Indian caregiver; the distribution by placement status under stratum "
        "placement_status.",
        strata=("placement_status",) + CA_CARE_STRATA, distribution="placement_status",
        period_type="point_in_time",
    ))
