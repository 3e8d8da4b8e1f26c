"""For each Core Practice Model practice, the outcomes of children who received it beside those
who did not (measures.md §5, last paragraph): the outcome cohorts of the federal measures the
crosswalk links the practice's components to, split by whether the child received the practice
in a stated period before the outcome could happen.

The comparison is descriptive, never causal: children who receive a practice differ from those
who do not in ways the figures do not adjust for, and every row says so. The cohorts are the
measures' own (`cohorts.py`, `cfsr4.py`), so each pair of rows adds up to the measure's result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cwoutcomes.engine import primitives as p
from cwoutcomes.engine.evaluator import follow_up_end, windows_frame
from cwoutcomes.engine.masking import is_small
from cwoutcomes.engine.periods import Window, parse_window
from cwoutcomes.measures import cfsr4
from cwoutcomes.measures import cohorts as c
from cwoutcomes.measures.base import registry
from cwoutcomes.model.framework import practice_crosswalk
from cwoutcomes.model.tables import STATE

NOTE = (
    "Descriptive comparison, not causal: children who received the practice may differ from "
    "those who did not (age, risk, county, length of stay), and these figures do not adjust for that."
)
# Crosswalk practice codes that are not practice_events codes.
NETWORK = "network_present"
ASSESSMENTS = "assessments"
COLUMNS = (
    "period_label", "county", "practice", "practice_label", "component", "component_label",
    "outcome", "outcome_measure", "outcome_name", "direction", "group", "numerator", "denominator",
    "value", "unit", "received_rule", "status", "note",
)


@dataclass(frozen=True)
class Outcome:
    """An outcome measure's cohort as unit rows per window and child: `county`, `outcome`
    (boolean: the measure's numerator) and the period [`exposed_from`, `exposed_to`] in which a
    practice counts as received."""

    measure_id: str
    received_rule: str
    cohort: Callable  # (Dataset, windows) -> ibis table
    needs: tuple[str, ...]


def permanency_cohort(ds, windows: ir.Table) -> ir.Table:
    """4-P1: entries of the window, permanency within 12 months (THV adjustment)."""
    t = cfsr4.permanency_entry_cohort(ds, windows)
    return t.select("period_label", "child_id", "county", outcome=t.reached,
                    exposed_from=t.removal_date, exposed_to=p.add_days(t.removal_date, 60))


def reentry_cohort(ds, windows: ir.Table) -> ir.Table:
    """4-P4: exits of the window to reunification, relative or guardianship; re-entry within 12
    months. Received during the episode that ended (removal to exit, both days included)."""
    t = c.reentered(ds, cfsr4.reentry_exits(ds, windows))
    return t.select("period_label", "child_id", "county", outcome=t.reentered,
                    exposed_from=t.removal_date, exposed_to=t.end_date)


def recurrence_cohort(ds, windows: ir.Table) -> ir.Table:
    """4-S2: initial victim reports of the window; recurrence 15-365 days later. Received in
    the 14 days after the initial report, before a recurrence can count."""
    initial = cfsr4.initial_reports(ds, windows)
    j = cfsr4.later_reports(ds, initial)
    j = j.filter((j.gap >= 15) & (j.gap <= 365) & ~j.same_incident)
    recurred = j.group_by(["period_label", "child_id"]).aggregate(recurred=j.gap.count() > 0)
    t = initial.left_join(recurred, ["period_label", "child_id"])
    return t.select("period_label", "child_id", "county", outcome=t.recurred.fill_null(False),
                    exposed_from=t.report_date, exposed_to=p.add_days(t.report_date, 14))


OUTCOMES = {o.measure_id: o for o in (
    Outcome("4-P1", "practice dated 0-60 days after removal", permanency_cohort,
            ("children", "episodes", "placements")),
    Outcome("4-P4", "practice dated during the episode that ended (removal to exit)", reentry_cohort,
            ("children", "episodes")),
    Outcome("4-S2", "practice dated 0-14 days after the initial victim report", recurrence_cohort,
            ("children", "referrals", "allegations")),
)}


def practice_links() -> pd.DataFrame:
    """One row per (practice code, component, crosswalk outcome, comparable outcome measure):
    the outcomes the crosswalk links to each component a practice belongs to, kept where one of
    OUTCOMES is among the outcome's measures."""
    x = practice_crosswalk()
    practices = x[(x.element_type == "practice") & (x.practice_code != "")]
    labels = practices.drop_duplicates("practice_code").set_index("practice_code").element
    outcomes = x[x.element_type == "outcome"].assign(outcome_measure=lambda f: f.measure_ids.str.split(";"))
    outcomes = outcomes.explode("outcome_measure")
    outcomes = outcomes[outcomes.outcome_measure.isin(list(OUTCOMES))]
    links = practices[["practice_code", "component_id", "component"]].drop_duplicates().merge(
        outcomes[["component_id", "element", "outcome_measure"]], on="component_id"
    )
    links = links.rename(columns={"practice_code": "practice", "component_id": "component",
                                  "component": "component_label", "element": "outcome"})
    links["practice_label"] = links.practice.map(labels)
    return links.reset_index(drop=True)


def exposures(ds, practices: Sequence[str]) -> ir.Table | None:
    """(child_id, practice, day) for every practice received: practice events by code, events
    with the network present, completed assessments. None when no source table is present."""
    parts = []
    if ds.has("practice_events"):
        ev = ds.table("practice_events")
        ev = ev.filter(ev.event_date.notnull())
        parts.append(ev.select("child_id", practice=ev.practice, day=ev.event_date))
        if NETWORK in practices:
            net = ev.filter(ev.network_present.fill_null(False))
            parts.append(net.select("child_id", practice=ibis.literal(NETWORK), day=net.event_date))
    if ds.has("assessments") and ASSESSMENTS in practices:
        a = ds.table("assessments")
        a = a.filter(a.completed_date.notnull())
        parts.append(a.select("child_id", practice=ibis.literal(ASSESSMENTS), day=a.completed_date))
    if not parts:
        return None
    received = ibis.union(*parts)
    return received.filter(received.practice.isin(list(practices)))


def available_practices(ds, practices: Sequence[str]) -> list[str]:
    """Practices whose source table the data set has (others cannot be compared)."""
    keep = []
    for code in practices:
        source = "assessments" if code == ASSESSMENTS else "practice_events"
        if ds.has(source):
            keep.append(code)
    return keep


def comparison_rows(ds, windows: ir.Table, outcome: Outcome, practices: Sequence[str]) -> ir.Table:
    """Per window, geography, practice and received flag: outcome count and cohort size."""
    cohort = outcome.cohort(ds, windows)
    received = exposures(ds, practices)
    j = cohort.select("period_label", "child_id", "exposed_from", "exposed_to").join(received, "child_id")
    hits = j.filter((j.day >= j.exposed_from) & (j.day <= j.exposed_to))
    hits = hits.select("period_label", "child_id", "practice").distinct().mutate(hit=ibis.literal(True))
    codes = ds.memtable(pd.DataFrame({"practice": list(practices)}))
    grid = cohort.select("period_label", "child_id", "county", "outcome").cross_join(codes)
    t = grid.left_join(hits, ["period_label", "child_id", "practice"])
    t = t.select("period_label", "county", "practice", received=t.hit.fill_null(False),
                 outcome=t.outcome.ifelse(1, 0))
    t = p.with_state(t)
    return t.group_by(["period_label", "geo", "practice", "received"]).aggregate(
        numerator=t.outcome.sum(), denominator=t.outcome.count()
    ).mutate(outcome_measure=ibis.literal(outcome.measure_id))


def practice_outcomes(ds, windows: Sequence[Window | str], *, public: bool = False) -> pd.DataFrame:
    """The comparison table: per window, geography (state and each county with children in the
    cohort), practice, component and linked outcome, one row for children who received the
    practice and one for those who did not, with numerator, denominator and value (percent).
    Practices whose source table is absent, and outcomes whose tables are absent, are left out.
    `public=True` masks counts of 1-10 (G14); a masked group masks its pair too, since the pair
    adds up to the outcome measure's published result."""
    windows = [parse_window(w) if isinstance(w, str) else w for w in windows]
    links = practice_links()
    practices = available_practices(ds, list(dict.fromkeys(links.practice)))
    outcomes = [o for o in OUTCOMES.values() if all(ds.has(name) for name in o.needs)]
    if not practices or not outcomes:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = windows_frame(windows)
    periods = ds.memtable(frame)
    query = ibis.union(*[comparison_rows(ds, periods, o, practices) for o in outcomes])
    sums = ds.execute(query).rename(columns={"geo": "county"})
    sums["group"] = np.where(sums.received, "received", "not_received")
    sums = sums.drop(columns="received")

    # Both groups for every practice, outcome and geography the cohort reaches (zeros shown).
    keys = ["period_label", "county", "outcome_measure"]
    present = sums[keys].drop_duplicates()
    grid = present.merge(pd.DataFrame({"practice": practices}), how="cross").merge(
        pd.DataFrame({"group": ["received", "not_received"]}), how="cross"
    )
    t = grid.merge(sums, on=[*keys, "practice", "group"], how="left")
    t[["numerator", "denominator"]] = t[["numerator", "denominator"]].fillna(0).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        t["value"] = np.where(t.denominator > 0, t.numerator / t.denominator * 100.0, np.nan)

    measures = registry()
    ends = dict(zip(frame.period_label, frame.pe))
    t["status"] = [
        "incomplete" if follow_up_end(ends[label], measures[m]) > ds.extract_date else "ok"
        for label, m in zip(t.period_label, t.outcome_measure)
    ]
    t = t.merge(links, on=["practice", "outcome_measure"])
    link_order = {key: i for i, key in enumerate(
        links[["practice", "component", "outcome", "outcome_measure"]].itertuples(index=False, name=None)
    )}
    t["outcome_name"] = t.outcome_measure.map(lambda m: measures[m].name)
    t["direction"] = t.outcome_measure.map(lambda m: measures[m].direction)
    t["received_rule"] = t.outcome_measure.map(lambda m: OUTCOMES[m].received_rule)
    t["unit"], t["note"] = "percent", NOTE
    if public:
        t = mask_pairs(t)
    # State first, then counties; practices, components and outcomes in the crosswalk's order.
    t = t.assign(
        _state=t.county != STATE, _group=(t.group == "not_received").astype(int),
        _link=t.set_index(["practice", "component", "outcome", "outcome_measure"]).index.map(link_order),
    )
    t = t.sort_values(["period_label", "_state", "county", "_link", "_group"])
    return t[list(COLUMNS)].reset_index(drop=True)


def mask_pairs(t: pd.DataFrame) -> pd.DataFrame:
    """G14 for the comparison: mask counts of 1-10, and both groups of a pair if either is."""
    t = t.copy()
    small = is_small(t.numerator) | is_small(t.denominator)
    pair = ["period_label", "county", "practice", "component", "outcome", "outcome_measure"]
    hit = small.groupby([t[k] for k in pair]).transform("any")
    t.loc[hit, ["numerator", "denominator", "value"]] = np.nan
    t.loc[hit, "status"] = "masked"
    return t

