"""Federal CFSR Round 3 (version `cfsr3`): measures.md §2. Kept beside the Round 4 twins so that
both series can be shown; only 3-S2 (rolling 14-day rule) and 3-P4 (entry cohort) differ."""

from __future__ import annotations

import dataclasses

import ibis
import ibis.expr.types as ir

from cwoutcomes.engine import primitives as p
from cwoutcomes.measures import cfsr4
from cwoutcomes.measures import cohorts as c
from cwoutcomes.measures.base import Measure, lookup, register


def recurrence_rolling(ds, windows: ir.Table) -> ir.Table:
    """3-S2: reports within 14 days after the previous kept report are dropped, and only the
    first two kept reports are compared. The second kept report is therefore the first one
    dated 15 days or more after the initial report, whatever lies between."""
    initial = cfsr4.initial_reports(ds, windows)
    j = cfsr4.later_reports(ds, initial)
    j = j.filter(j.gap >= 15)
    second = p.first_per(j, ["period_label", "child_id"], ["later_date"])
    second = second.filter((second.gap <= 365) & ~second.same_incident)
    recurred = second.select("period_label", "child_id", recurred=ibis.literal(True))
    return cfsr4.recurrence_rows(initial, recurred)


def reentry_entry_cohort(ds, windows: ir.Table) -> ir.Table:
    """3-P4: entries of the window discharged within 12 months of removal, before 18, to
    reunification, living with relative or guardianship (no THV adjustment); % re-entering
    within 12 months of that discharge."""
    t = c.entry_cohort(ds, windows)
    t = t.filter(
        t.end_reason.isin(c.REUNIFICATION_LIKE) & p.within_months(t.removal_date, t.end_date, 12)
    )
    t = c.reentered(ds, t)
    return c.unit_rows(t, t.reentered, ibis.literal(1), t.removal_date)


ROUND3_STANDARDS = {"3-S1": 8.50, "3-S2": 9.1, "3-P1": 40.5, "3-P2": 43.6, "3-P3": 30.3,
                    "3-P4": 8.3, "3-P5": 4.12}


def _twin(round4_id: str) -> Measure:
    twin = lookup(round4_id)
    new_id = "3-" + round4_id.split("-", 1)[1]
    return dataclasses.replace(
        twin, id=new_id, version="cfsr3", national_standard=ROUND3_STANDARDS[new_id],
        definition=twin.definition + " (Round 3: same rules as Round 4.)",
    )


register(
    _twin("4-S1"),
    dataclasses.replace(
        _twin("4-S2"), units=recurrence_rolling,
        definition="Children with a victim report in the window: % whose next report kept under the "
        "rolling 14-day rule is dated within 365 days of the initial one, for a different incident.",
    ),
    _twin("4-P1"), _twin("4-P2"), _twin("4-P3"),
    Measure(
        "3-P4", "cfsr3", "Re-entry to foster care in 12 months (entry cohort)", "percent", "lower",
        reentry_entry_cohort,
        "Children entering care in the window who were discharged within 12 months of removal, "
        "before 18, to reunification, living with relative or guardianship: % re-entering within "
        "12 months of that discharge.",
        national_standard=ROUND3_STANDARDS["3-P4"], follow_up_months=24,
        dq_checks=cfsr4.PERMANENCY_DQ + ("same_day", "exit_before_removal", "first_removal_only"),
    ),
    _twin("4-P5"),
)
