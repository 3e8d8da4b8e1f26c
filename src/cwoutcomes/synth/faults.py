"""Planting bad records (data-quality.md §1) so that the loader's record checks have something
to find: each kind at the given rate (at least one record each), on disjoint rows where kinds
could mask each other. Works on the integer-coded tables before they are written."""

from __future__ import annotations

import numpy as np

from cwoutcomes.model.tables import TABLES, DType
from cwoutcomes.synth.util import NA, add_years
from cwoutcomes.synth.writer import BAD_CODES

# Dates pushed past the extract date (R6).
FUTURE_DATES = (("contacts", "contact_date"), ("health_exams", "exam_date"), ("practice_events", "event_date"),
                ("service_referrals", "referral_date"), ("placements", "start_date"))


def _n(rate: float, rows: int) -> int:
    return min(rows, max(1, int(round(rate * rows)))) if rows else 0


def _append(table: dict, rows: dict) -> None:
    for k in table:
        table[k] = np.concatenate([table[k], np.asarray(rows[k]).astype(table[k].dtype, copy=False)])


def _take(table: dict, idx: np.ndarray) -> dict:
    return {k: v[idx].copy() for k, v in table.items()}


class Picker:
    """Disjoint random rows of one table (so two kinds of fault never land on one row)."""

    def __init__(self, rng: np.random.Generator, candidates: np.ndarray):
        self.order = rng.permutation(candidates)
        self.pos = 0

    def take(self, n: int) -> np.ndarray:
        out = self.order[self.pos:self.pos + n]
        self.pos += n
        return out


def plant(tables: dict, rng: np.random.Generator, rate: float, start_day: int, end_day: int) -> None:
    for t in tables.values():  # own copies: arrays may be shared with other stages
        for k in t:
            t[k] = np.array(t[k])
    ch, ep, pl, al = tables["children"], tables["episodes"], tables["placements"], tables["allegations"]
    closed = np.flatnonzero((ep["exit_date"] != NA) & (ep["exit_date"] - ep["removal_date"] > 2))
    eps = Picker(rng, closed)
    kids = Picker(rng, np.arange(len(ch["child_id"])))
    next_child = int(ch["child_id"].max()) + 1

    # Children: no birth date; born after removal (R5); over 21 at removal (R5).
    ch["birth_date"][kids.take(_n(rate, len(ch["child_id"])))] = NA
    row_of_child = np.searchsorted(ch["child_id"], ep["child_id"])
    order = np.argsort(ep["removal_date"], kind="stable")[::-1]
    first_removal = np.full(len(ch["child_id"]), NA)
    first_removal[row_of_child[order]] = ep["removal_date"][order]
    with_episode = np.flatnonzero(first_removal != NA)
    removed = Picker(rng, with_episode)
    born_late = removed.take(_n(rate, with_episode.size))
    ch["birth_date"][born_late] = first_removal[born_late] + rng.integers(1, 60, born_late.size)
    too_old = removed.take(_n(rate, with_episode.size))
    ch["birth_date"][too_old] = add_years(first_removal[too_old], -25)

    # Episodes: exit before removal (R4), no exit reason (R9), same-day exit (R10),
    # child missing (R3), no placement (R11), a second overlapping episode (R8).
    n_ep = _n(rate, len(closed))
    i = eps.take(n_ep)
    ep["exit_date"][i] = ep["removal_date"][i] - rng.integers(1, 30, i.size)
    ep["exit_reason"][eps.take(n_ep)] = NA
    i = eps.take(n_ep)
    ep["exit_date"][i] = ep["removal_date"][i]
    ep["child_id"][eps.take(n_ep)] = next_child + np.arange(n_ep)
    next_child += n_ep
    bare = eps.take(n_ep)
    keep = ~np.isin(pl["episode_id"], ep["episode_id"][bare])
    for k in pl:
        pl[k] = pl[k][keep]
    i = eps.take(n_ep)
    twin = _take(ep, i)
    twin["episode_id"] = int(ep["episode_id"].max()) + 1 + np.arange(i.size)
    twin["removal_date"] = ep["removal_date"][i] + 1
    twin["exit_date"] = np.maximum(ep["exit_date"][i], twin["removal_date"] + 3)
    _append(ep, twin)
    twin_pl = {k: np.full(i.size, NA, dtype=v.dtype) for k, v in pl.items()}
    twin_pl.update(placement_id=int(pl["placement_id"].max()) + 1 + np.arange(i.size), episode_id=twin["episode_id"],
                   child_id=twin["child_id"], start_date=twin["removal_date"], end_date=twin["exit_date"],
                   setting=np.full(i.size, 1), provider_id=np.full(i.size, NA))
    _append(pl, twin_pl)

    # Placements: end before start (R4), outside the episode (R7), episode missing (R3),
    # child different from the episode's (R3).
    places = Picker(rng, np.flatnonzero((pl["end_date"] != NA) & ~np.isin(pl["episode_id"], twin["episode_id"])))
    n_pl = _n(rate, len(pl["placement_id"]))
    i = places.take(n_pl)
    pl["end_date"][i] = pl["start_date"][i] - rng.integers(1, 20, i.size)
    removal_of = dict(zip(ep["episode_id"].tolist(), ep["removal_date"].tolist()))
    i = places.take(n_pl)
    pl["start_date"][i] = np.array([removal_of[e] for e in pl["episode_id"][i]], dtype=np.int64) - rng.integers(
        1, 40, i.size)
    pl["episode_id"][places.take(n_pl)] = int(ep["episode_id"].max()) + 1000 + np.arange(n_pl)
    i = places.take(n_pl)
    other = rng.integers(0, len(ch["child_id"]), i.size)
    other = np.where(ch["child_id"][other] == pl["child_id"][i], (other + 1) % len(ch["child_id"]), other)
    pl["child_id"][i] = ch["child_id"][other]

    # Allegations: referral or child missing (R3).
    alleg = Picker(rng, np.arange(len(al["allegation_id"])))
    n_al = _n(rate, len(al["allegation_id"]))
    al["referral_id"][alleg.take(n_al)] = int(tables["referrals"]["referral_id"].max()) + 1 + np.arange(n_al)
    al["child_id"][alleg.take(n_al)] = next_child + np.arange(n_al)

    # Dates after the extract date (R6).
    for name, column in FUTURE_DATES:
        t = tables[name]
        rows = rng.choice(len(t[column]), _n(rate, len(t[column])), replace=False)
        t[column][rows] = end_day + rng.integers(1, 400, rows.size)

    # Bad codes (R1) in every code column, then duplicate keys (R2) in every keyed table.
    for name, model in TABLES.items():
        t = tables[name]
        for col in model.columns:
            if col.dtype is DType.CODE and len(t[col.name]):
                rows = rng.choice(len(t[col.name]), _n(rate, len(t[col.name])), replace=False)
                t[col.name][rows] = len(col.codes) + rng.integers(0, len(BAD_CODES), rows.size)
        if model.key and len(next(iter(t.values()))):
            n = len(next(iter(t.values())))
            _append(t, _take(t, np.sort(rng.choice(n, _n(rate, n), replace=False))))
