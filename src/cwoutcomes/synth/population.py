"""Counties (sizes, race mix, persistent county effects), the `population` table, the
`counties` table and the SIP `targets` table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from cwoutcomes.model.counties import county_populations
from cwoutcomes.model.tables import RACE_ETHNICITY, SEX
from cwoutcomes.synth import params as P
from cwoutcomes.synth.util import day

# Code indices into the model's code lists.
RACE_CODE = np.array([RACE_ETHNICITY.index(r) for r in P.RACES], dtype=np.int8)
FEMALE, MALE, SEX_UNKNOWN = (SEX.index(s) for s in ("female", "male", "unknown"))


@dataclass
class Counties:
    codes: np.ndarray        # FIPS strings
    names: np.ndarray
    regions: np.ndarray
    child_pop: np.ndarray    # scale 1
    race_mix: np.ndarray     # (n, len(P.RACES)) population shares
    effects: dict[str, np.ndarray]  # multiplicative (log-normal) county effects, mean ~1

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def share(self) -> np.ndarray:
        return self.child_pop / self.child_pop.sum()


def make_counties(rng: np.random.Generator) -> Counties:
    frame = county_populations()
    n = len(frame)
    base = np.array([P.REGION_RACE_MIX[r] for r in frame["region"]], dtype=float)
    # Each county's own mix around its region's (a Dirichlet draw, tighter for big counties).
    conc = 150 + 400 * np.sqrt(frame["child_population"].to_numpy() / 1e5)
    mix = np.array([rng.dirichlet(b * c + 0.05) for b, c in zip(base, conc)])
    # County effects, centred on the state: a child-weighted mean of 1 (0 for the additive
    # visits effect), so that statewide results do not depend on which counties drew what.
    weight = frame["child_population"].to_numpy(dtype=float)
    weight /= weight.sum()
    effects = {}
    for name, sd in P.COUNTY_EFFECT_SD.items():
        z = rng.standard_normal(n)
        effects[name] = sd * z - weight @ (sd * z) if name == "visits" else np.exp(sd * z)
    # Counties that remove more also see more recurrence (shared strain); keep it mild.
    effects["recurrence"] = effects["recurrence"] * effects["entry"] ** 0.3
    for name in effects:
        if name != "visits":
            effects[name] /= weight @ effects[name]
    return Counties(
        codes=frame["county"].to_numpy(dtype=object), names=frame["name"].to_numpy(dtype=object),
        regions=frame["region"].to_numpy(dtype=object),
        child_pop=frame["child_population"].to_numpy(dtype=float), race_mix=mix, effects=effects,
    )


def population_factor(year: np.ndarray) -> np.ndarray:
    return np.exp(P.POPULATION_TREND_PER_YEAR * np.maximum(np.asarray(year, dtype=float) - 2015, 0.0))


def population_table(counties: Counties, rng: np.random.Generator, start: dt.date, end: dt.date,
                     scale: float) -> dict[str, np.ndarray]:
    """Children 0-17 by year (July 1 estimate), county, single year of age, sex and race."""
    years = np.arange(start.year, end.year + 1)
    ages = np.arange(18)
    age_w = P.AGE_WEIGHTS / P.AGE_WEIGHTS.sum()
    sex_w = np.array([0.488, 0.512])
    cells_y, cells_c, cells_a, cells_s, cells_r, counts = [], [], [], [], [], []
    for ci in range(counties.n):
        probs = (age_w[:, None, None] * sex_w[None, :, None] * counties.race_mix[ci][None, None, :]).ravel()
        totals = np.round(counties.child_pop[ci] * scale * population_factor(years)).astype(np.int64)
        draws = np.stack([rng.multinomial(t, probs) for t in totals])  # (years, cells)
        a, s, r = np.unravel_index(np.arange(probs.size), (18, 2, len(P.RACES)))
        cells_y.append(np.repeat(years, probs.size))
        cells_c.append(np.full(years.size * probs.size, ci))
        cells_a.append(np.tile(ages[a], years.size))
        cells_s.append(np.tile(np.array([FEMALE, MALE])[s], years.size))
        cells_r.append(np.tile(RACE_CODE[r], years.size))
        counts.append(draws.ravel())
    return {
        "year": np.concatenate(cells_y).astype(np.int64),
        "county": np.concatenate(cells_c).astype(np.int64),
        "age": np.concatenate(cells_a).astype(np.int64),
        "sex": np.concatenate(cells_s).astype(np.int8),
        "race_ethnicity": np.concatenate(cells_r).astype(np.int8),
        "population": np.concatenate(counts).astype(np.int64),
    }


def counties_table(counties: Counties) -> dict[str, np.ndarray]:
    return {"county": np.arange(counties.n, dtype=np.int64), "name": counties.names,
            "region": counties.regions}


# SIP targets: measure, direction (+1 higher is better), typical statewide value, and whether
# it is a percentage (kept at most 100).
TARGET_MEASURES = (("4-P1", 1, 33.0, True), ("4-P4", -1, 6.0, True), ("4-P5", -1, 4.1, False),
                   ("4-S1", -1, 7.5, False), ("2F", 1, 93.0, True), ("4B.FIRST.KIN", 1, 30.0, True))


def targets_table(counties: Counties, rng: np.random.Generator, start: dt.date,
                  end: dt.date) -> dict[str, np.ndarray]:
    """System Improvement Plan goals for some counties (and the state): a baseline window, its
    value, and a target due by the last December 31 on or before the extract date."""
    target_year = end.year if (end.month, end.day) == (12, 31) else end.year - 1
    base_year = max(start.year, target_year - 5)
    if target_year < start.year:
        return {"county": np.zeros(0, np.int64), "measure_id": np.zeros(0, object),
                "baseline_period": np.zeros(0, object), "baseline_value": np.zeros(0),
                "target_value": np.zeros(0), "target_date": np.zeros(0, np.int64)}
    chosen = np.flatnonzero(rng.random(counties.n) < 0.45)
    units = np.concatenate([[-1], chosen])  # -1 = the state
    rows_c, rows_m, rows_b, rows_t = [], [], [], []
    for u in units:
        for m, direction, typical, percent in TARGET_MEASURES:
            if u >= 0 and rng.random() < 0.4:
                continue
            baseline = typical * np.exp(0.15 * rng.standard_normal())
            if percent:
                baseline = min(baseline, 100.0 - 0.5 * (100.0 - typical))
            improve = 1 + direction * rng.uniform(0.03, 0.12)
            rows_c.append(u)
            rows_m.append(m)
            rows_b.append(round(float(baseline), 2))
            rows_t.append(round(float(min(baseline * improve, 99.5) if percent else baseline * improve), 2))
    n = len(rows_c)
    return {
        "county": np.array(rows_c, dtype=np.int64),
        "measure_id": np.array(rows_m, dtype=object),
        "baseline_period": np.full(n, f"{base_year}Q4", dtype=object),
        "baseline_value": np.array(rows_b, dtype=float),
        "target_value": np.array(rows_t, dtype=float),
        "target_date": np.full(n, day(dt.date(target_year, 12, 31)), dtype=np.int64),
    }

