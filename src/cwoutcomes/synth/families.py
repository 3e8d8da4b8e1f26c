"""Families, their children, and each family's timeline of reports (before outcomes).

A family is first reported on a day `t0`; it has a latent risk (Gamma, mean 1) that drives how
often it is reported again, whether reports are substantiated and whether children are removed.
Its children are born around `t0` (siblings a few years apart; sometimes a baby born later,
whose birth may itself be reported). The report timeline built here is the family's skeleton:
`careers.py` walks it in time order and decides what happens at each report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from cwoutcomes.model.tables import RACE_ETHNICITY
from cwoutcomes.synth import params as P
from cwoutcomes.synth.population import FEMALE, MALE, RACE_CODE, SEX_UNKNOWN, Counties, population_factor
from cwoutcomes.synth.util import add_years, choice, choice_rows, expand, lognormal_days, year_of, year_start

MULTIRACIAL = RACE_ETHNICITY.index("multiracial")
RACE_UNKNOWN = RACE_ETHNICITY.index("unknown")
AIAN = RACE_ETHNICITY.index("aian")


@dataclass
class Families:
    county: np.ndarray
    risk: np.ndarray
    t0: np.ndarray
    kid_start: np.ndarray
    n_kids: np.ndarray


@dataclass
class Kids:
    fam: np.ndarray      # -1 for children outside the family model (probation youth)
    birth: np.ndarray
    b18: np.ndarray      # 18th birthday
    sex: np.ndarray      # code index
    race: np.ndarray     # code index
    icwa: np.ndarray     # 0/1

    @property
    def n(self) -> int:
        return len(self.birth)


@dataclass
class Events:
    fam: np.ndarray
    time: np.ndarray
    target: np.ndarray   # the reported newborn (kid index) for birth reports, else -1
    fam_start: np.ndarray
    fam_n: np.ndarray


def report_trend(years: np.ndarray) -> np.ndarray:
    years = np.asarray(years)
    base = np.exp(P.REPORT_TREND_PER_YEAR * np.maximum(years - 2015.0, 0.0))
    for y, f in P.REPORT_TREND.items():
        base = np.where(years == y, base * f, base)
    return base


def new_kids(rng: np.random.Generator, births: np.ndarray, race: np.ndarray) -> Kids:
    """Children with given birth days and family race codes: sex, race (a few multiracial or
    unknown), ICWA eligibility."""
    n = len(births)
    sex = np.array([FEMALE, MALE, SEX_UNKNOWN], dtype=np.int8)[choice(rng, (0.495, 0.503, 0.002), n)]
    u = rng.random(n)
    race = np.where(u < 0.05, MULTIRACIAL, np.where(u < 0.065, RACE_UNKNOWN, race)).astype(np.int8)
    icwa_p = np.where(race == AIAN, 0.65, np.where(race == MULTIRACIAL, 0.05, 0.002))
    return Kids(fam=np.full(n, -1, dtype=np.int64), birth=births.astype(np.int64),
                b18=add_years(births, 18), sex=sex, race=race,
                icwa=(rng.random(n) < icwa_p).astype(np.int8))


def make_families(rng: np.random.Generator, counties: Counties, sim0: int, end: dt.date,
                  end_day: int, scale: float) -> tuple[Families, Kids, Events]:
    # Families first reported, by year and county (counts follow population and trends).
    fam_county, fam_t0 = [], []
    for year in range(int(year_of(np.array([sim0]))[0]), end.year + 1):
        lo, hi = max(sim0, year_start(year)), min(end_day, year_start(year + 1) - 1)
        if hi < lo:
            continue
        frac = (hi - lo + 1) / (year_start(year + 1) - year_start(year))
        lam = (P.NEW_FAMILIES_PER_CHILD * counties.child_pop * scale * frac
               * population_factor(year) * report_trend(year) * counties.effects["referral"])
        counts = rng.poisson(lam)
        fam_county.append(np.repeat(np.arange(counties.n), counts))
        fam_t0.append(rng.integers(lo, hi + 1, counts.sum()))
    county = np.concatenate(fam_county).astype(np.int64)
    t0 = np.concatenate(fam_t0).astype(np.int64)
    nf = len(county)
    risk = rng.gamma(P.RISK_SHAPE, 1.0 / P.RISK_SHAPE, nf)
    race_w = counties.race_mix[county] * np.asarray(P.RACE_WEIGHTS)[None, :]
    fam_race = RACE_CODE[choice_rows(rng, race_w)]

    # Children: the youngest's age at t0, older siblings a few years apart, maybe a later baby.
    n_born = choice(rng, P.KIDS_PER_FAMILY, nf) + 1
    newborn = rng.random(nf) < P.NEWBORN_AT_FIRST_REPORT
    ages = np.arange(18)
    youngest_age = (choice(rng, np.exp(-ages / 10.0), nf) + rng.random(nf)) * 365.25
    youngest_age = np.where(newborn, rng.integers(0, 21, nf), youngest_age)
    later = (rng.random(nf) < P.LATER_BIRTH * np.minimum(1.5, risk ** 0.3)) & (youngest_age < 12 * 365.25)
    n_kids = n_born + later
    kid_start = np.cumsum(n_kids) - n_kids
    rows, _ = expand(kid_start, n_kids)
    pos = np.arange(len(rows)) - kid_start[rows]
    spacing = (1.0 + rng.gamma(2.0, 0.8, len(rows))) * 365.25
    spacing[pos == 0] = 0.0
    # Position 0 is the youngest at t0, then older siblings; the later baby is the last position.
    is_later = later[rows] & (pos == n_kids[rows] - 1)
    spacing[is_later] = 0.0
    offsets = np.cumsum(spacing)
    first = kid_start[rows]
    older_age = offsets - offsets[first] + youngest_age[rows]
    later_gap = (0.25 + rng.gamma(2.0, 0.9, len(rows))) * 365.25
    birth = np.where(is_later, t0[rows] + later_gap, t0[rows] - older_age).astype(np.int64)
    kids = new_kids(rng, birth, fam_race[rows])
    kids.fam = rows
    families = Families(county=county, risk=risk, t0=t0, kid_start=kid_start, n_kids=n_kids)

    # Report timeline: the first report, re-reports (more and sooner for risky families),
    # and reports of later births.
    recur = counties.effects["recurrence"][county]
    n_extra = rng.poisson(P.MEAN_RE_REFERRALS * risk ** 0.8 * recur)
    e_rows, e_pos = expand(np.zeros(nf, dtype=np.int64), n_extra + 1)
    gaps = lognormal_days(rng, P.RE_REFERRAL_MEDIAN_DAYS / (risk[e_rows] * recur[e_rows]) ** 0.4,
                          P.RE_REFERRAL_SIGMA, len(e_rows))
    gaps = np.maximum(1, gaps).astype(np.int64)
    gaps[e_pos == 0] = 0
    cum = np.cumsum(gaps)
    seq_start = np.cumsum(n_extra + 1) - (n_extra + 1)
    times = t0[e_rows] + cum - cum[seq_start[e_rows]]
    keep = (e_pos == 0) | (rng.random(len(times)) < report_trend(year_of(times)))
    ev_fam, ev_time = e_rows[keep], times[keep]
    ev_target = np.where(newborn[ev_fam] & (ev_time == t0[ev_fam]), kid_start[ev_fam], -1)
    later_kid = kid_start + n_kids - 1
    births_reported = later & (rng.random(nf) < P.BIRTH_REPORT * np.minimum(1.5, risk ** 0.3))
    bf = np.flatnonzero(births_reported)
    ev_fam = np.concatenate([ev_fam, bf])
    ev_time = np.concatenate([ev_time, kids.birth[later_kid[bf]] + rng.integers(0, 5, bf.size)])
    ev_target = np.concatenate([ev_target, later_kid[bf]])
    # Nothing after the extract date or after the family's last child turns 18.
    last_b18 = np.maximum.reduceat(kids.b18, kid_start)
    keep = (ev_time <= end_day) & (ev_time < last_b18[ev_fam])
    ev_fam, ev_time, ev_target = ev_fam[keep], ev_time[keep], ev_target[keep]
    order = np.argsort(ev_fam * (1 << 32) + (ev_time - sim0), kind="stable")
    ev_fam, ev_time, ev_target = ev_fam[order], ev_time[order], ev_target[order]
    fam_n = np.bincount(ev_fam, minlength=nf)
    events = Events(fam=ev_fam, time=ev_time, target=ev_target,
                    fam_start=np.cumsum(fam_n) - fam_n, fam_n=fam_n)
    return families, kids, events
