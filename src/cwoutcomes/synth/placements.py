"""Placement sequences. Each case (siblings placed together) gets one sequence, shared by its
children up to each child's own exit; a child's placements are its case's, cut at its exit.

Moves follow a hazard that is high in the first weeks after removal and settles to a low
steady rate (two competing clocks: a decaying one and a constant one), scaled by the setting
(kin homes are stabler, group homes less so) and by the county. First placements are sometimes
emergency shelters (left within days). Teens sometimes run away between placements. Before an
adoption the child lives in a pre-adoptive home (often the same caregivers, so not a move),
before a guardianship with the guardian, and many reunifications end with a trial home visit.
Respite stays return to the same provider; youth in extended care may move to supervised
independent living."""

from __future__ import annotations

import numpy as np

from cwoutcomes.model.tables import PLACEMENT_SETTINGS
from cwoutcomes.synth.episodes import EXIT, PROBATION
from cwoutcomes.synth.util import NA, choice_rows, expand, lognormal_days

S = {name: i for i, name in enumerate(PLACEMENT_SETTINGS)}
FAMILY_HOMES = (S["kin"], S["foster_home"], S["ffa_home"])
# Move-hazard multiplier by setting.
SETTING_FACTOR = np.ones(len(PLACEMENT_SETTINGS))
for _name, _f in (("kin", 0.55), ("group_home", 1.6), ("pre_adoptive", 0.12), ("guardian", 0.12),
                  ("supervised_independent_living", 0.4), ("foster_home", 1.0), ("ffa_home", 1.0)):
    SETTING_FACTOR[S[_name]] = _f
EARLY_RATE, EARLY_DAYS, STEADY_RATE = 0.013, 40.0, 0.0015  # moves per day
MAX_PLACEMENTS = 40
_ORDER = ("kin", "foster_home", "ffa_home", "group_home", "shelter", "other")
_IDX = np.array([S[s] for s in _ORDER])
#                          kin   foster  ffa   group  shelter other
FIRST_CHILD = np.array([0.30, 0.12, 0.43, 0.02, 0.075, 0.01])
FIRST_TEEN = np.array([0.24, 0.09, 0.34, 0.20, 0.10, 0.02])
FIRST_PROBATION = np.array([0.07, 0.03, 0.08, 0.80, 0.02, 0.0])
NEXT_CHILD = np.array([0.36, 0.13, 0.44, 0.05, 0.0, 0.02])
NEXT_TEEN = np.array([0.25, 0.09, 0.35, 0.28, 0.0, 0.03])


def _probs(first: bool, age_days: np.ndarray, agency: np.ndarray) -> np.ndarray:
    teen = (age_days >= 12 * 365.25)[:, None]
    child, teen_p = (FIRST_CHILD, FIRST_TEEN) if first else (NEXT_CHILD, NEXT_TEEN)
    p = np.where(teen, teen_p[None, :], child[None, :])
    return np.where((agency == PROBATION)[:, None], FIRST_PROBATION[None, :], p)


class Rows:
    """Placement rows under construction: case (or episode), start, end, setting, provider."""

    def __init__(self):
        self.parts: list[tuple] = []
        self.next_provider = 0

    def providers(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_provider, self.next_provider + n, dtype=np.int64)
        self.next_provider += n
        return ids

    def add(self, owner, start, end, setting, provider) -> None:
        self.parts.append((owner, start, end, setting, provider))

    def sorted(self) -> dict[str, np.ndarray]:
        cols = [np.concatenate([p[i] for p in self.parts]).astype(np.int64) for i in range(5)]
        order = np.lexsort((cols[1], cols[0]))
        return dict(zip(("owner", "start", "end", "setting", "provider"), (c[order] for c in cols)))


def merge(*parts: dict) -> dict:
    """Row sets joined and put back in (owner, start) order."""
    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((merged["start"], merged["owner"]))
    return {k: v[order] for k, v in merged.items()}


def split(rows: dict, idx: np.ndarray, at: np.ndarray, setting: np.ndarray, provider: np.ndarray) -> dict:
    """Cut rows `idx` at day `at`; the part from `at` on gets `setting` and `provider`."""
    new = {k: v[idx].copy() for k, v in rows.items()}
    new["start"], new["setting"], new["provider"] = at, setting, provider
    rows["end"][idx] = at
    return merge(rows, new)


def last_rows(owner: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.r_[owner[1:] != owner[:-1], True])


def case_sequences(rng: np.random.Generator, removal, horizon, lead_age, agency, stability, c_exit, c_reason,
                   c_tpr, ids: Rows) -> dict:
    """Placements of cases from removal to `horizon` (the case's last day in care, or the day
    after the extract date for cases still open)."""
    n = len(removal)
    setting = _IDX[choice_rows(rng, _probs(True, lead_age, agency))]
    start = removal.copy()
    provider = ids.providers(n)
    active = np.arange(n)
    for j in range(MAX_PLACEMENTS):
        a = active
        u0 = (start[a] - removal[a]).astype(float)
        f = stability[a] * SETTING_FACTOR[setting[a]]
        rhs = np.exp(-u0 / EARLY_DAYS) - rng.exponential(1.0, len(a)) / (EARLY_RATE * f * EARLY_DAYS)
        u_early = np.where(rhs > 0, -EARLY_DAYS * np.log(np.maximum(rhs, 1e-300)), np.inf)
        u_steady = u0 + rng.exponential(1.0, len(a)) / (STEADY_RATE * f)
        u1 = np.minimum(u_early, u_steady)
        u1 = np.where(setting[a] == S["shelter"], u0 + rng.integers(1, 22, len(a)), u1)
        t1 = np.maximum(start[a] + 1, removal[a] + np.ceil(np.minimum(u1, 1e7)).astype(np.int64))
        done = (t1 >= horizon[a]) | (j == MAX_PLACEMENTS - 1)
        ids.add(a, start[a], np.where(done, horizon[a], t1), setting[a], provider[a])
        a, t1 = a[~done], t1[~done]
        # Teens sometimes run away before the next placement.
        age = lead_age[a] + (t1 - removal[a])
        run = (age >= 13 * 365.25) & (rng.random(len(a)) < np.where(agency[a] == PROBATION, 0.2, 0.1))
        back = t1 + rng.integers(2, 31, len(a))
        run &= back < horizon[a]
        ids.add(a[run], t1[run], back[run], np.full(run.sum(), S["runaway"]), np.full(run.sum(), NA))
        start[a] = np.where(run, back, t1)
        setting[a] = _IDX[choice_rows(rng, _probs(False, age, agency[a]))]
        provider[a] = ids.providers(len(a))
        active = a
    rows = ids.sorted()
    return _endings(rng, rows, horizon, c_exit, c_reason, c_tpr, agency, ids)


def _endings(rng, rows, horizon, c_exit, c_reason, c_tpr, agency, ids: Rows) -> dict:
    """The settings that precede an exit: pre-adoptive home, guardian, trial home visit, runaway."""
    last = last_rows(rows["owner"])
    case = rows["owner"][last]
    ended = c_exit[case] <= horizon[case]
    reason = c_reason[case]
    n = len(last)
    lead = np.zeros(n, dtype=np.int64)
    setting = np.full(n, -1)
    same = np.zeros(n, dtype=bool)
    adopt = reason == EXIT["adoption"]
    lead = np.where(adopt, lognormal_days(rng, 200.0, 0.5, n), lead)
    setting = np.where(adopt, S["pre_adoptive"], setting)
    same |= adopt & (rng.random(n) < 0.65)
    guard = reason == EXIT["guardianship"]
    lead = np.where(guard, lognormal_days(rng, 150.0, 0.5, n), lead)
    setting = np.where(guard, S["guardian"], setting)
    same |= guard & (rng.random(n) < 0.8)
    thv = (reason == EXIT["reunification"]) & (agency[case] != PROBATION) & (rng.random(n) < 0.55)
    lead = np.where(thv, rng.integers(14, 151, n), lead)
    setting = np.where(thv, S["trial_home_visit"], setting)
    run = reason == EXIT["runaway"]
    lead = np.where(run, rng.integers(3, 45, n), lead)
    setting = np.where(run, S["runaway"], setting)
    at = c_exit[case] - lead.astype(np.int64)
    # A pre-adoptive home starts after legal freedom only when the caregivers change.
    tpr = c_tpr[case]
    at = np.where(adopt & ~same & (tpr != NA), np.maximum(at, tpr), at)
    ok = ended & (setting >= 0) & (at > rows["start"][last]) & (at < c_exit[case])
    idx = last[ok]
    prov = np.where(same[ok], rows["provider"][idx], ids.providers(int(ok.sum())))
    prov = np.where(np.isin(setting[ok], (S["trial_home_visit"], S["runaway"])), NA, prov)
    return split(rows, idx, at[ok], setting[ok], prov)


def respite(rng: np.random.Generator, rows: dict, ids: Rows) -> dict:
    """Short respite stays inside long family-home placements (back to the same caregivers)."""
    long_home = np.isin(rows["setting"], FAMILY_HOMES) & (rows["end"] - rows["start"] > 90)
    pick = np.flatnonzero(long_home & (rng.random(len(long_home)) < 0.06))
    n = pick.size
    at = rows["start"][pick] + rng.integers(30, 60, n)
    back = at + rng.integers(1, 6, n)
    stay = {"owner": rows["owner"][pick], "start": at, "end": back,
            "setting": np.full(n, S["respite"]), "provider": ids.providers(n)}
    home = {"owner": rows["owner"][pick], "start": back, "end": rows["end"][pick].copy(),
            "setting": rows["setting"][pick], "provider": rows["provider"][pick]}
    rows["end"][pick] = at
    return merge(rows, stay, home)


def child_rows(case_rows: dict, ep_case: np.ndarray, ep_exit: np.ndarray) -> dict:
    """Each episode's placements: its case's rows that start before the child's exit, cut there."""
    owner = case_rows["owner"]
    n_cases = int(owner.max()) + 1 if owner.size else 0
    count = np.bincount(owner, minlength=n_cases)
    first = np.cumsum(count) - count
    ep, idx = expand(first[ep_case], count[ep_case])
    keep = case_rows["start"][idx] < ep_exit[ep]
    ep, idx = ep[keep], idx[keep]
    return {"owner": ep, "start": case_rows["start"][idx],
            "end": np.minimum(case_rows["end"][idx], ep_exit[ep]),
            "setting": case_rows["setting"][idx], "provider": case_rows["provider"][idx]}
