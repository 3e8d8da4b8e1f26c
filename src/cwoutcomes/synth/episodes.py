"""How removal episodes end: competing latent times for each exit (reunification, legal freedom
then adoption, guardianship, runaway, transfer/other/death), the 18th birthday and extended
foster care to 21, and the probation caseload (teens placed by probation, not by referrals).

A *case* is a group of siblings removed together and placed together; it shares one set of
latent exit times (drawn for its youngest child). Each child's own episode ends at the case's
exit or when the child ages out, whichever comes first."""

from __future__ import annotations

import numpy as np

from cwoutcomes.model.tables import EXIT_REASONS
from cwoutcomes.synth import params as P
from cwoutcomes.synth.families import Kids, new_kids
from cwoutcomes.synth.population import RACE_CODE, Counties
from cwoutcomes.synth.util import (
    NA, NEVER, add_years, choice, choice_rows, concat, lognormal_days, year_of, year_start,
)

EXIT = {name: i for i, name in enumerate(EXIT_REASONS)}
CHILD_WELFARE, PROBATION = 0, 1  # AGENCIES order


def age_group(age_days: np.ndarray) -> np.ndarray:
    """0: <1, 1: 1-5, 2: 6-10, 3: 11-15, 4: 16-17 (years)."""
    return np.searchsorted(P.AGE_EDGES * 365.25, np.asarray(age_days, dtype=float), side="right")


def _maybe(rng, p, latent):
    return np.where(rng.random(len(latent)) < p, latent, NEVER)


def draw_case_exits(rng: np.random.Generator, removal: np.ndarray, lead_age: np.ndarray,
                    perm: np.ndarray, cft: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exit day, exit reason and legally-free day (NA if never) of child-welfare cases."""
    n = len(removal)
    g = age_group(lead_age)
    speed = perm * np.where(cft, 1.0 / P.CFT_REUNIFY_SPEEDUP, 1.0)
    t_reun = removal + _maybe(rng, np.minimum(0.95, P.REUNIFY_P[g] * perm ** 0.5),
                              lognormal_days(rng, P.REUNIFY_MEDIAN[g] / speed, P.REUNIFY_SIGMA, n))
    t_tpr = removal + _maybe(rng, P.TPR_P[g], lognormal_days(rng, P.TPR_MEDIAN / perm ** 0.5, P.TPR_SIGMA, n))
    t_adopt = t_tpr + _maybe(rng, P.ADOPT_AFTER_TPR_P,
                             lognormal_days(rng, P.ADOPT_MEDIAN / perm ** 0.5, P.ADOPT_SIGMA, n))
    t_reun = np.where(t_tpr < t_reun, NEVER, t_reun)  # no reunification once rights are ended
    t_guard = removal + _maybe(rng, P.GUARDIAN_P[g],
                               lognormal_days(rng, P.GUARDIAN_MEDIAN / perm, P.GUARDIAN_SIGMA, n))
    t_other = removal + rng.exponential(P.OTHER_EXIT_MEAN_DAYS, n)
    t_run = removal + np.where(lead_age >= 13 * 365.25, rng.exponential(P.RUNAWAY_EXIT_MEAN_DAYS, n), NEVER)
    # Long stays still end in permanency at a steady rate (late adoption or guardianship).
    t_late = removal + P.LATE_START_DAYS + rng.exponential(P.LATE_MEAN_DAYS[g] / perm, n)
    times = np.stack([t_reun, t_adopt, t_guard, t_other, t_run, t_late]).astype(np.int64)
    which = times.argmin(axis=0)
    exit_day = np.maximum(times[which, np.arange(n)], removal + 8)
    other = np.array([EXIT["transfer"], EXIT["other"], EXIT["death"]])[choice(rng, (0.38, 0.60, 0.02), n)]
    late_adopt = lead_age + (exit_day - removal) < P.LATE_ADOPTION_MAX_AGE * 365.25
    late_adopt &= rng.random(n) < 0.6
    late = np.where(late_adopt, EXIT["adoption"],
                    np.where(rng.random(n) < 0.75, EXIT["guardianship"], EXIT["reunification"]))
    reason = np.array([EXIT["reunification"], EXIT["adoption"], EXIT["guardianship"], 0, EXIT["runaway"], 0])[which]
    reason = np.where(which == 3, other, np.where(which == 5, late, reason))
    # A late adoption follows legal freedom some months earlier.
    late_tpr = np.maximum(removal + 1, exit_day - rng.integers(90, 400, n))
    t_tpr = np.where((which == 5) & late_adopt, late_tpr, t_tpr)
    # Short stays (under 8 days): mostly children returned home at once.
    short = rng.random(n) < P.SHORT_STAY_P[g]
    exit_day = np.where(short, removal + rng.integers(1, 8, n), exit_day)
    short_reason = np.array([EXIT["reunification"], EXIT["other"], EXIT["transfer"], EXIT["runaway"]])[
        choice(rng, (0.75, 0.10, 0.05, 0.10), n)]
    short_reason = np.where((short_reason == EXIT["runaway"]) & (lead_age < 13 * 365.25),
                            EXIT["reunification"], short_reason)
    reason = np.where(short, short_reason, reason)
    tpr = np.where(t_tpr < exit_day, t_tpr, NA)
    return exit_day.astype(np.int64), reason.astype(np.int64), tpr.astype(np.int64)


def age_out(rng: np.random.Generator, b18: np.ndarray) -> np.ndarray:
    """Day a child would leave care by age: the 18th birthday, or later in extended care (to 21)."""
    n = len(b18)
    b21 = add_years(b18, 3)
    extra = np.where(rng.random(n) < P.STAY_TO_21_P, 3 * 366, rng.integers(180, 3 * 366, n))
    stay = rng.random(n) < P.STAY_PAST_18_P
    return np.where(stay, np.minimum(b18 + extra, b21), b18)


class Episodes:
    """Child episodes and the cases they belong to, collected batch by batch."""

    CHILD = ("kid", "case", "exit", "reason")
    CASE = ("removal", "exit", "reason", "tpr", "county", "agency", "cft", "after", "lead_age")

    def __init__(self):
        self.children: dict[str, list] = {k: [] for k in self.CHILD}
        self.cases: dict[str, list] = {k: [] for k in self.CASE}
        self.n_cases = 0

    def add_cases(self, **cols) -> np.ndarray:
        """New cases (every CASE column, as arrays); returns their ids."""
        n = len(cols["removal"])
        for k in self.CASE:
            self.cases[k].append(np.broadcast_to(np.asarray(cols[k]), (n,)))
        self.n_cases += n
        return np.arange(self.n_cases - n, self.n_cases, dtype=np.int64)

    def add_children(self, **cols) -> None:
        for k in self.CHILD:
            self.children[k].append(np.asarray(cols[k]))

    def finish(self) -> dict[str, np.ndarray]:
        """Child-episode columns, plus the case columns as `c_<name>` (indexed by case id)."""
        out = {k: concat(v) for k, v in self.children.items()}
        out.update({"c_" + k: concat(v, bool if k in ("cft", "after") else np.int64) for k, v in self.cases.items()})
        out["removal"] = out["c_removal"][out["case"]]
        # Legally free only if it happened while this child was still in care.
        tpr = out["c_tpr"][out["case"]]
        out["tpr"] = np.where((tpr != NA) & (tpr < out["exit"]), tpr, NA)
        return out


def child_exits(rng, kids: Kids, kid: np.ndarray, case_exit: np.ndarray, case_reason: np.ndarray):
    """Each child's exit day and reason given its case's: a child still in care on the 18th
    birthday leaves then, or later from extended foster care (emancipation)."""
    b18 = kids.b18[kid]
    aged = case_exit >= b18
    return (np.where(aged, age_out(rng, b18), case_exit),
            np.where(aged, EXIT["emancipation"], case_reason))


def probation(rng: np.random.Generator, counties: Counties, sim0: int, end_day: int, scale: float,
              kids: Kids, eps: Episodes) -> Kids:
    """Teens placed by probation (their own children, outside the family model); returns the
    children appended to `kids`."""
    first_year, last_year = int(year_of(np.array([sim0]))[0]), int(year_of(np.array([end_day]))[0])
    county, removal = [], []
    for year in range(first_year, last_year + 1):
        lo, hi = max(sim0, year_start(year)), min(end_day, year_start(year + 1) - 1)
        frac = (hi - lo + 1) / 365.25
        counts = rng.poisson(P.PROBATION_ENTRIES_PER_CHILD * counties.child_pop * scale * frac)
        county.append(np.repeat(np.arange(counties.n), counts))
        removal.append(rng.integers(lo, hi + 1, counts.sum()))
    county = np.concatenate(county).astype(np.int64)
    removal = np.concatenate(removal).astype(np.int64)
    n = len(county)
    age = (choice(rng, (0.04, 0.08, 0.18, 0.30, 0.40), n) + 13) * 365.25 + rng.integers(0, 365, n)
    race_w = counties.race_mix[county] * np.array([1.3, 2.0, 0.3, 3.5, 1.2, 0.7, 1.0])[None, :]
    youth = new_kids(rng, (removal - age).astype(np.int64), RACE_CODE[choice_rows(rng, race_w)])
    youth.sex = np.where(rng.random(n) < 0.8, 1, 0).astype(np.int8)  # mostly boys
    # A second probation episode for some youth, after the first ends and before 18.
    los = lognormal_days(rng, 300.0, 0.7, n).astype(np.int64) + 8
    exit1 = removal + los
    reason = np.array([EXIT["reunification"], EXIT["other"], EXIT["runaway"], EXIT["transfer"]])[
        choice(rng, (0.66, 0.16, 0.12, 0.06), n)]
    again = (rng.random(n) < 0.14)
    removal2 = exit1 + 1 + lognormal_days(rng, 150.0, 0.8, n).astype(np.int64)
    again &= (removal2 <= end_day) & (removal2 < youth.b18)
    base = kids.n
    kid = np.concatenate([np.arange(n), np.flatnonzero(again)]) + base
    rem = np.concatenate([removal, removal2[again]])
    m = len(kid)
    case_exit = rem + lognormal_days(rng, 300.0, 0.7, m).astype(np.int64) + 8
    case_exit[:n] = exit1
    case_reason = np.concatenate([reason, reason[again]])
    case_county = np.concatenate([county, county[again]])
    lead_age = rem - np.concatenate([youth.birth, youth.birth[again]])
    ids = eps.add_cases(removal=rem, exit=case_exit, reason=case_reason, tpr=NA, county=case_county,
                        agency=PROBATION, cft=False, after=False, lead_age=lead_age)
    all_kids = _append(kids, youth)
    exit_day, why = child_exits(rng, all_kids, kid, case_exit, case_reason)
    eps.add_children(kid=kid, case=ids, exit=exit_day, reason=why)
    return all_kids


def _append(a: Kids, b: Kids) -> Kids:
    return Kids(**{name: np.concatenate([getattr(a, name), getattr(b, name)])
                   for name in ("fam", "birth", "b18", "sex", "race", "icwa")})
