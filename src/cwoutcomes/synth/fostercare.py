"""From the simulated cases to the written `episodes` and `placements`: which episodes the
extract holds (every child in care within a year of `start` or later, with the child's whole
history), and each episode's placement rows with caregiver attributes."""

from __future__ import annotations

import numpy as np

from cwoutcomes.synth.families import AIAN
from cwoutcomes.synth.placements import (
    FAMILY_HOMES, S, Rows, case_sequences, child_rows, last_rows, respite, split,
)
from cwoutcomes.synth.util import NA


def output_episodes(eps: dict, kids, start_day: int) -> tuple[dict, dict]:
    """Episodes to write, ordered by child and removal (their row number is the episode id),
    and the cases they belong to (re-numbered from 0)."""
    kid = eps["kid"]
    recent = eps["exit"] >= start_day - 365
    wanted = np.zeros(kids.n, dtype=bool)
    wanted[kid[recent]] = True
    sel = np.flatnonzero(wanted[kid])
    sel = sel[np.lexsort((eps["removal"][sel], kid[sel]))]
    case_ids, local = np.unique(eps["case"][sel], return_inverse=True)
    ep = {name: eps[name][sel] for name in ("kid", "removal", "exit", "reason", "tpr")}
    ep["case"] = local
    for name in ("county", "agency", "cft", "after"):
        ep[name] = eps["c_" + name][case_ids][local]
    ep["birth"] = kids.birth[ep["kid"]]
    ep["episode_id"] = np.arange(len(sel))
    cases = {name: eps["c_" + name][case_ids]
             for name in ("removal", "exit", "reason", "tpr", "county", "agency", "lead_age")}
    return ep, cases


def independent_living(rng, rows: dict, b18: np.ndarray, exit_day: np.ndarray, ids: Rows) -> dict:
    """Some youth in extended care move to supervised independent living after 18."""
    last = last_rows(rows["owner"])
    ep = rows["owner"][last]
    room = exit_day[ep] - b18[ep]
    x = b18[ep] + (rng.random(len(ep)) * np.clip(room - 1, 0, 365)).astype(np.int64)
    ok = (room > 30) & (rng.random(len(ep)) < 0.45) & (x > rows["start"][last]) & (x < rows["end"][last])
    idx = last[ok]
    return split(rows, idx, x[ok], np.full(idx.size, S["supervised_independent_living"]), ids.providers(idx.size))


def placements_table(rng, ep: dict, cases: dict, kids, counties, end_day: int) -> dict:
    ids = Rows()
    stop = np.minimum(ep["exit"], end_day + 1)
    horizon = np.zeros(len(cases["removal"]), dtype=np.int64)
    np.maximum.at(horizon, ep["case"], stop)
    stability = counties.effects["stability"][cases["county"]]
    case_rows = case_sequences(rng, cases["removal"], horizon, cases["lead_age"], cases["agency"], stability,
                               cases["exit"], cases["reason"], cases["tpr"], ids)
    rows = child_rows(case_rows, ep["case"], stop)
    rows = independent_living(rng, rows, kids.b18[ep["kid"]], ep["exit"], ids)
    rows = respite(rng, rows, ids)
    owner, setting, provider = rows["owner"], rows["setting"], rows["provider"]
    n = len(owner)
    # Caregiver attributes follow the provider (the same home keeps them across rows).
    n_prov = ids.next_provider + 1
    kin_home = np.zeros(n_prov, dtype=bool)
    kin_home[provider[(setting == S["kin"]) & (provider != NA)]] = True
    u = rng.random(n_prov)
    p = np.where(provider == NA, 0, provider)
    relative = kin_home[p] | ((setting == S["guardian"]) & (u[p] < 0.5)) | ((setting == S["pre_adoptive"]) & (u[p] < 0.15))
    relative = np.where(provider == NA, -1, relative.astype(np.int8))
    kid = ep["kid"][owner]
    native = (kids.race[kid] == AIAN) | (kids.icwa[kid] == 1)
    family_home = np.isin(setting, FAMILY_HOMES + (S["pre_adoptive"], S["guardian"]))
    p_indian = np.where(native, np.where(relative == 1, 0.7, 0.2), 0.01)
    indian = (rng.random(n_prov)[p] < p_indian).astype(np.int8)
    indian = np.where(family_home & (rng.random(n_prov)[p] >= 0.08), indian, -1)
    return {
        "placement_id": np.arange(n), "episode_id": ep["episode_id"][owner], "child_id": kid,
        "start_date": rows["start"], "end_date": np.where(rows["end"] <= end_day, rows["end"], NA),
        "setting": setting, "provider_id": provider, "caregiver_relative": relative, "caregiver_indian": indian,
    }
