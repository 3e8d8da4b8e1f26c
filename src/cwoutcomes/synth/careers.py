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
    return Walk(rng, fams, kids, events, counties, eps, end_day).run()


class Walk:
    """The state of the walk through the families' timelines."""

    def __init__(self, rng, fams: Families, kids: Kids, events: Events, counties: Counties, eps: Episodes,
                 end_day: int):
        self.rng, self.fams, self.kids, self.events, self.counties, self.eps = rng, fams, kids, events, counties, eps
        self.end_day = end_day
        nf = len(fams.county)
        self.ptr = np.zeros(nf, dtype=np.int64)             # next skeleton event of each family
        self.reentry_at = np.full(nf, NEVER, dtype=np.int64)  # a scheduled re-entry report
        self.free_from = kids.birth.copy()                  # a child can be reported/removed from this day
        self.pending = np.zeros(kids.n, dtype=bool)         # re-enters with the family's re-entry report
        self.out = {k: [] for k in Reports.__dataclass_fields__}
        self.n_refs = 0

    def run(self) -> Reports:
        active = np.flatnonzero(self.events.fam_n > 0)
        while active.size:
            active = self.step(active)
        return Reports(**{k: concat(v, bool if k in ("sub", "removed", "fatal", "focus") else np.int64)
                          for k, v in self.out.items()})

    def step(self, f: np.ndarray) -> np.ndarray:
        """Each family in `f` takes its next event; returns the families with events left."""
        rng, ev, kids, fx = self.rng, self.events, self.kids, self.counties.effects
        has = self.ptr[f] < ev.fam_n[f]
        e = ev.fam_start[f] + np.minimum(self.ptr[f], np.maximum(ev.fam_n[f] - 1, 0))
        t_s = np.where(has, ev.time[e], NEVER)
        is_re = self.reentry_at[f] < t_s
        t = np.minimum(t_s, self.reentry_at[f])
        live = t <= self.end_day
        f, e, t, is_re = f[live], e[live], t[live], is_re[live]
        self.ptr[f[~is_re]] += 1
        self.reentry_at[f[is_re]] = NEVER
        kind = np.where(is_re, REENTRY, np.where(ev.target[e] >= 0, BIRTH, REGULAR))
        nb = len(f)

        # The children in the report: born, under 18, alive and not in care.
        rows, kid = expand(self.fams.kid_start[f], self.fams.n_kids[f])
        tt = t[rows]
        pend = self.pending[kid] & is_re[rows]
        self.pending[kid[is_re[rows]]] = False
        elig = (kids.birth[kid] <= tt) & (tt < kids.b18[kid]) & (self.free_from[kid] <= tt)
        rows, kid, tt, pend = rows[elig], kid[elig], tt[elig], pend[elig]
        birth = kids.birth[kid]
        youngest = np.full(nb, -1, dtype=np.int64)
        np.maximum.at(youngest, rows, birth)
        focus = first_per_group(rows, birth == youngest[rows])
        has_kids = np.bincount(rows, minlength=nb) > 0

        # Response and substantiation (per report), then per child.
        response = np.where(kind == REGULAR, choice(rng, P.RESPONSE_P, nb),
                            np.where(rng.random(nb) < 0.7, IMMEDIATE, TEN_DAY))
        in_person = (response == IMMEDIATE) | (response == TEN_DAY)
        risk, cty = self.fams.risk[f], self.fams.county[f]
        p_found = logistic(P.FOUNDED_LOGIT + P.FOUNDED_RISK_SLOPE * np.log(risk)
                           + 0.5 * np.log(fx["recurrence"][cty]) + np.where(kind == BIRTH, 1.6, 0.0))
        founded = in_person & ((rng.random(nb) < p_found) | (kind == REENTRY))
        r_found = founded[rows]
        sub = r_found & (focus | (rng.random(len(rows)) < P.SIBLING_SUBSTANTIATED))
        sub = np.where(kind[rows] == REENTRY, pend | (r_found & (rng.random(len(rows)) < 0.4)), sub)

        # Removal: decided for the family from the focus child's age; re-entries are removals.
        focus_age = np.zeros(nb)
        focus_age[rows[focus]] = (tt - birth)[focus]
        trend = P.REMOVAL_TREND_PER_YEAR * np.maximum(year_of(t) - 2015, -3)
        p_rem = logistic(logit(P.REMOVAL_P[age_group(focus_age)]) + P.REMOVAL_RISK_SLOPE * np.log(risk)
                         + np.log(fx["entry"][cty]) + trend)
        remove_fam = founded & (rng.random(nb) < p_rem)
        fatal = sub & (tt - birth < 5 * 365.25) & (rng.random(len(rows)) < P.FATALITY_P)
        removed = np.where(kind[rows] == REENTRY, pend & sub, sub & remove_fam[rows]) & ~fatal
        lag_lo, lag_hi = np.array([[0, 1, 2, 8], [1, 2, 8, 46]])[:, choice(rng, (0.55, 0.15, 0.15, 0.15), nb)]
        lag = np.where(kind == REGULAR, rng.integers(lag_lo, lag_hi), rng.integers(0, 3, nb))
        removal_day = (t + lag)[rows]
        removed &= (removal_day <= self.end_day) & (removal_day < kids.b18[kid])
        self.free_from[kid[fatal]] = NEVER

        # Record the reports that had children, numbered in order.
        ref_no = np.cumsum(has_kids) - 1 + self.n_refs
        self.n_refs += int(has_kids.sum())
        for name, val in (("fam", f[has_kids]), ("time", t[has_kids]), ("response", response[has_kids]),
                          ("kind", kind[has_kids]), ("ref", ref_no[rows]), ("kid", kid), ("sub", sub),
                          ("removed", removed), ("fatal", fatal), ("focus", focus)):
            self.out[name].append(val)
        if removed.any():
            self.remove(f[rows[removed]], rows[removed], kid[removed], removal_day[removed])
        return f[(self.ptr[f] < ev.fam_n[f]) | (self.reentry_at[f] <= self.end_day)]

    def remove(self, fam: np.ndarray, rows: np.ndarray, kid: np.ndarray, removal: np.ndarray) -> None:
        """Open cases for the children removed in one step (`rows` numbers their reports) and
        schedule any re-entries."""
        rng, kids, fx = self.rng, self.kids, self.counties.effects
        birth = kids.birth[kid]
        youngest = np.full(int(rows.max()) + 1, -1, dtype=np.int64)
        np.maximum.at(youngest, rows, birth)
        lead = first_per_group(rows, birth == youngest[rows])
        together = lead | (rng.random(len(kid)) < P.TOGETHER_P)
        # Cases: one per report with removals (its youngest and those placed with it), one per
        # other child.
        owners = np.flatnonzero(lead | ~together)
        n_cases = len(owners)
        c_rem, c_fam = removal[owners], fam[owners]
        c_age = c_rem - birth[owners]
        c_cty = self.fams.county[c_fam]
        level = practice_level(self.counties, c_cty, c_rem)
        cft = rng.random(n_cases) < P.CFT_P * level
        c_exit, c_reason, c_tpr = draw_case_exits(rng, c_rem, c_age, fx["permanency"][c_cty], cft)
        after = (c_reason == EXIT["reunification"]) & (rng.random(n_cases) < P.AFTERCARE_P * level)
        ids = self.eps.add_cases(removal=c_rem, exit=c_exit, reason=c_reason, tpr=c_tpr, county=c_cty,
                                 agency=CHILD_WELFARE, cft=cft, after=after, lead_age=c_age)
        # Each child's case: its own, or its report's lead case.
        lead_case = np.full(len(youngest), -1, dtype=np.int64)
        is_lead = lead[owners]
        lead_case[rows[owners[is_lead]]] = ids[is_lead]
        case_of = lead_case[rows]
        case_of[owners[~is_lead]] = ids[~is_lead]
        local = case_of - ids[0]
        exit_day, reason = child_exits(rng, kids, kid, c_exit[local], c_reason[local])
        self.eps.add_children(kid=kid, case=case_of, exit=exit_day, reason=reason)
        self.free_from[kid] = np.where(exit_day <= self.end_day, exit_day + 1, NEVER)

        # Re-entry after reunification or guardianship (the case's children who left with it).
        p_re = np.zeros(n_cases)
        for name, p in P.REENTRY_P.items():
            p_re = np.where(c_reason == EXIT[name], p, p_re)
        p_re = (p_re * fx["recurrence"][c_cty] * np.where(cft, P.CFT_REENTRY, 1.0)
                * np.where(after, P.AFTERCARE_REENTRY, 1.0) * np.sqrt(self.fams.risk[c_fam]))
        again = (rng.random(n_cases) < p_re) & (c_exit <= self.end_day)
        when = c_exit + 1 + lognormal_days(rng, P.REENTRY_MEDIAN_DAYS, P.REENTRY_SIGMA, n_cases).astype(np.int64)
        np.minimum.at(self.reentry_at, c_fam[again], when[again])
        go = again[local] & (exit_day == c_exit[local]) & (exit_day < kids.b18[kid])
        self.pending[kid[go]] = True
