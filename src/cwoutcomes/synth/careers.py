"""The event history: each family's reports, walked in time order, with what happens at each.

At every step, each family still active takes its next event: the next report of its skeleton
timeline, or a scheduled re-entry report after a reunification. The children in the report are
those born, under 18, alive and not in care that day. The report gets a response type; an
in-person report may be substantiated (the youngest child always, siblings usually); a
substantiated report may lead to removal (infants most often). Removed children form cases
(siblings placed together or apart) whose exits are drawn at once (`episodes.py`), so the next
reports of the family already know who is in care. A reunification can schedule a re-entry
report (less often after an early CFT meeting or an after-care safety plan).

Every step is vectorised over the families active at that step; there are as many steps as
the largest number of events in one family."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cwoutcomes.model.tables import RESPONSE_TYPES
from cwoutcomes.synth import params as P
from cwoutcomes.synth.episodes import CHILD_WELFARE, EXIT, Episodes, age_group, child_exits, draw_case_exits
from cwoutcomes.synth.families import Events, Families, Kids
from cwoutcomes.synth.population import Counties
from cwoutcomes.synth.util import (
    NEVER, choice, concat, expand, first_per_group, lognormal_days, logistic, logit, year_of,
)

IMMEDIATE, TEN_DAY, EVALUATED_OUT, OTHER_RESPONSE = (RESPONSE_TYPES.index(r) for r in RESPONSE_TYPES)
REGULAR, BIRTH, REENTRY = 0, 1, 2


@dataclass
class Reports:
    """Family reports that had at least one child in them (burn-in included)."""

    fam: np.ndarray
    time: np.ndarray       # day received
    response: np.ndarray   # RESPONSE_TYPES index
    kind: np.ndarray       # REGULAR, BIRTH, REENTRY
    # one row per child in a report
    ref: np.ndarray
    kid: np.ndarray
    sub: np.ndarray        # substantiated
    removed: np.ndarray
    fatal: np.ndarray
    focus: np.ndarray


def practice_level(counties: Counties, county: np.ndarray, day_: np.ndarray) -> np.ndarray:
    """Uptake of Core Practice Model practices (0..1 multiplier) by county and date."""
    return np.minimum(1.0, counties.effects["practice"][county] * P.practice_ramp(year_of(day_)))


def run(rng: np.random.Generator, fams: Families, kids: Kids, events: Events, counties: Counties,
        eps: Episodes, end_day: int) -> Reports:
    nf = len(fams.county)
    ptr = np.zeros(nf, dtype=np.int64)
    reentry_at = np.full(nf, NEVER, dtype=np.int64)
    free_from = kids.birth.copy()          # a child can be reported/removed from this day on
    pending = np.zeros(kids.n, dtype=bool)  # scheduled to re-enter with the family's re-entry report
    out = {k: [] for k in ("fam", "time", "response", "kind", "ref", "kid", "sub", "removed", "fatal", "focus")}
    n_refs = 0
    active = np.flatnonzero(events.fam_n > 0)
    entry_fx, recur_fx, perm_fx = (counties.effects[k] for k in ("entry", "recurrence", "permanency"))
    while active.size:
        f = active
        has = ptr[f] < events.fam_n[f]
        e = events.fam_start[f] + np.minimum(ptr[f], np.maximum(events.fam_n[f] - 1, 0))
        t_s = np.where(has, events.time[e], NEVER)
        is_re = reentry_at[f] < t_s
        t = np.minimum(t_s, reentry_at[f])
        live = t <= end_day
        f, e, t, is_re = f[live], e[live], t[live], is_re[live]
        if not f.size:
            break
        ptr[f[~is_re]] += 1
        reentry_at[f[is_re]] = NEVER
        kind = np.where(is_re, REENTRY, np.where(events.target[e] >= 0, BIRTH, REGULAR))
        nb = len(f)

        rows, kid = expand(fams.kid_start[f], fams.n_kids[f])
        tt = t[rows]
        pend = pending[kid] & is_re[rows]
        pending[kid[is_re[rows]]] = False
        elig = (kids.birth[kid] <= tt) & (tt < kids.b18[kid]) & (free_from[kid] <= tt)
        rows, kid, tt, pend = rows[elig], kid[elig], tt[elig], pend[elig]
        birth = kids.birth[kid]
        youngest = np.full(nb, -1, dtype=np.int64)
        np.maximum.at(youngest, rows, birth)
        focus = first_per_group(rows, birth == youngest[rows])
        has_kids = np.bincount(rows, minlength=nb) > 0

        # Response and substantiation (per report), then per child.
        response = choice(rng, P.RESPONSE_P, nb)
        response = np.where(kind == REGULAR, response,
                            np.where(rng.random(nb) < 0.7, IMMEDIATE, TEN_DAY))
        in_person = (response == IMMEDIATE) | (response == TEN_DAY)
        risk, cty = fams.risk[f], fams.county[f]
        p_found = logistic(P.FOUNDED_LOGIT + P.FOUNDED_RISK_SLOPE * np.log(risk)
                           + 0.5 * np.log(recur_fx[cty]) + np.where(kind == BIRTH, 1.6, 0.0))
        founded = in_person & ((rng.random(nb) < p_found) | (kind == REENTRY))
        r_found = founded[rows]
        sub = r_found & (focus | (rng.random(len(rows)) < P.SIBLING_SUBSTANTIATED))
        sub = np.where(kind[rows] == REENTRY, pend | (r_found & (rng.random(len(rows)) < 0.4)), sub)

        # Removal: decided for the family from the focus child's age; re-entries are removals.
        focus_age = np.zeros(nb)
        focus_age[rows[focus]] = (tt - birth)[focus]
        yr = year_of(t)
        trend = P.REMOVAL_TREND_PER_YEAR * np.maximum(yr - 2015, -3)
        p_rem = logistic(logit(P.REMOVAL_P[age_group(focus_age)]) + P.REMOVAL_RISK_SLOPE * np.log(risk)
                         + np.log(entry_fx[cty]) + trend)
        remove_fam = founded & (rng.random(nb) < p_rem)
        age_kid = tt - birth
        fatal = sub & (age_kid < 5 * 365.25) & (rng.random(len(rows)) < P.FATALITY_P)
        removed = np.where(kind[rows] == REENTRY, pend & sub, sub & remove_fam[rows]) & ~fatal
        lag_lo, lag_hi = np.array([[0, 1, 2, 8], [1, 2, 8, 46]])[:, choice(rng, (0.55, 0.15, 0.15, 0.15), nb)]
        lag = np.where(kind == REGULAR, rng.integers(lag_lo, lag_hi), rng.integers(0, 3, nb))
        removal_day = (t + lag)[rows]
        removed &= (removal_day <= end_day) & (removal_day < kids.b18[kid])
        free_from[kid[fatal]] = NEVER

        # Record the reports that had children, renumbered densely.
        ref_no = np.cumsum(has_kids) - 1 + n_refs
        n_refs += int(has_kids.sum())
        for name, val in (("fam", f[has_kids]), ("time", t[has_kids]), ("response", response[has_kids]),
                          ("kind", kind[has_kids])):
            out[name].append(val)
        for name, val in (("ref", ref_no[rows]), ("kid", kid), ("sub", sub), ("removed", removed),
                          ("fatal", fatal), ("focus", focus)):
            out[name].append(val)

        if removed.any():
            _remove(rng, kids, counties, eps, fams, rows[removed], kid[removed], removal_day[removed],
                    t, f, free_from, pending, reentry_at, entry_fx, recur_fx, perm_fx, end_day)
        active = f[(ptr[f] < events.fam_n[f]) | (reentry_at[f] <= end_day)]
    return Reports(
        fam=concat(out["fam"]), time=concat(out["time"]), response=concat(out["response"]),
        kind=concat(out["kind"]), ref=concat(out["ref"]), kid=concat(out["kid"]),
        sub=concat(out["sub"], bool), removed=concat(out["removed"], bool), fatal=concat(out["fatal"], bool),
        focus=concat(out["focus"], bool),
    )


def _remove(rng, kids, counties, eps, fams, rows, kid, removal, t, f, free_from, pending, reentry_at,
            entry_fx, recur_fx, perm_fx, end_day) -> None:
    """Open cases for the children removed in this step and schedule any re-entries."""
    nb = len(t)
    birth = kids.birth[kid]
    youngest = np.full(nb, -1, dtype=np.int64)
    np.maximum.at(youngest, rows, birth)
    lead = first_per_group(rows, birth == youngest[rows])
    together = lead | (rng.random(len(kid)) < P.TOGETHER_P)
    # Cases: one per report with removals (its lead and those placed with it), one per other child.
    owners = np.flatnonzero(lead | ~together)
    n_cases = len(owners)
    c_rem = removal[owners]
    c_age = c_rem - birth[owners]
    c_cty = fams.county[f[rows[owners]]]
    c_fam = f[rows[owners]]
    level = practice_level(counties, c_cty, c_rem)
    cft = rng.random(n_cases) < P.CFT_P * level
    c_exit, c_reason, c_tpr = draw_case_exits(rng, c_rem, c_age, perm_fx[c_cty], cft)
    after = (c_reason == EXIT["reunification"]) & (rng.random(n_cases) < P.AFTERCARE_P * level)
    ids = eps.add_cases(c_rem, c_exit, c_reason, c_tpr, c_cty, np.full(n_cases, CHILD_WELFARE), cft, after, c_age)
    # Map each child to its case: its own, or its report's lead case.
    lead_case = np.full(nb, -1, dtype=np.int64)
    is_lead_owner = lead[owners]
    lead_case[rows[owners[is_lead_owner]]] = ids[is_lead_owner]
    case_of = lead_case[rows]
    case_of[owners[~is_lead_owner]] = ids[~is_lead_owner]
    local = case_of - ids[0]
    exit_day, reason = child_exits(rng, kids, kid, c_exit[local], c_reason[local])
    eps.add_children(kid, case_of, exit_day, reason)
    free_from[kid] = np.where(exit_day <= end_day, exit_day + 1, NEVER)

    # Re-entry after reunification or guardianship (all the case's children who left with it).
    p_re = np.zeros(n_cases)
    for name, p in P.REENTRY_P.items():
        p_re = np.where(c_reason == EXIT[name], p, p_re)
    p_re = p_re * recur_fx[c_cty] * np.where(cft, P.CFT_REENTRY, 1.0) * np.where(after, P.AFTERCARE_REENTRY, 1.0)
    p_re = p_re * np.sqrt(fams.risk[c_fam])
    again = (rng.random(n_cases) < p_re) & (c_exit <= end_day)
    if again.any():
        when = c_exit + 1 + lognormal_days(rng, P.REENTRY_MEDIAN_DAYS, P.REENTRY_SIGMA, n_cases).astype(np.int64)
        np.minimum.at(reentry_at, c_fam[again], when[again])
        go = again[local] & (exit_day == c_exit[local]) & (exit_day < kids.b18[kid])
        pending[kid[go]] = True
