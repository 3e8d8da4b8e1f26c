"""Rebuilding children, removal episodes and placements from a series of AFCARS snapshots.

A legacy AFCARS record shows one child at the end of one six-month report period: the current
(or last) removal episode with its dates, the current placement setting with the date it began,
and counters (TOTALREM removals ever, NUMPLEP settings this episode) standing in for the rest of
the history. Stacking the periods gives back most, not all, of the history; `docs/import.md`
states exactly what is rebuilt and which measures are approximate because of it. The rules, in
the order they are applied per child:

1. Records are grouped by removal date (LATREMDT); the latest record of a group describes the
   episode (later submission wins).
2. Consecutive episodes are reconciled: an episode still open when the child is next seen in a
   new episode ends on the next record's DLSTFCDT (discharge date of the previous episode) when
   that date falls between the two removals and TOTALREM says no removal came between; an open
   episode that ended at an unknown date is dropped; overlapping episodes are one episode whose
   removal date was corrected, and the one seen last is kept.
3. An episode left open in the child's last record although later files of that state exist is a
   federal "dropped record" and is dropped.
4. A first episode known only from counters (TOTALREM = 2 with REM1DT and DLSTFCDT) is rebuilt
   without exit reason or placements.
5. Placements: every distinct CURSETDT seen is a placement of that setting; settings NUMPLEP
   says were skipped between two snapshots are inserted, evenly spaced, with setting `other`.
   Provider ids are synthetic (episode + setting number) so that a return to the same setting
   after a trial home visit or runaway, which NUMPLEP does not count, is one setting (G9).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cwoutcomes.importers.rejects import RECORD_DROPPED, Rejects
from cwoutcomes.model.tables import NON_MOVE_SETTINGS

_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class _Candidate:
    removal: int
    rows: list[int]  # record positions, in submission order
    exit: int | None = None
    reason: str | None = None
    exit_from_next: bool = False


@dataclass
class Rebuilt:
    children: pd.DataFrame
    episodes: pd.DataFrame
    placements: pd.DataFrame
    notes: Counter = field(default_factory=Counter)


def _days(series: pd.Series) -> list:
    """Dates as day numbers (None when missing), as a list for the per-child loop."""
    values = series.to_numpy(dtype="datetime64[D]")
    ints = (values - _EPOCH).astype("int64").astype(object)
    ints[np.isnat(values)] = None
    return ints.tolist()


def _objects(series: pd.Series) -> list:
    """Values as Python objects with every kind of missing value as None."""
    values = series.astype(object).to_numpy()
    values[pd.isna(values)] = None
    return values.tolist()


def _date(days: int | None):
    return None if days is None else _EPOCH + np.timedelta64(days, "D")


def rebuild(records: pd.DataFrame, last_period: dict[str, int], rejects: Rejects) -> Rebuilt:
    """`records`: one validated snapshot per child and period (see afcars.validate), sorted or
    not. `last_period`: per state, the latest report period imported (period index), used to
    tell a child missing from later files from a child whose last file is the last one."""
    order = ["child_id", "period", "file_index", "line"]
    records = records.sort_values(order, kind="stable").reset_index(drop=True)
    notes: Counter = Counter()

    child = records["child_id"].tolist()
    state = records["state"].tolist()
    period = records["period"].tolist()
    period_end = _days(records["period_end"])
    removal = _days(records["removal_date"])
    exit_ = _days(records["exit_date"])
    reason = _objects(records["exit_reason"])
    first_removal = _days(records["first_removal_date"])
    total = _objects(records["total_removals"])
    last_discharge = _days(records["last_discharge_date"])
    setting_date = _days(records["setting_date"])
    setting = _objects(records["setting"])
    settings_count = _objects(records["settings_count"])
    relative = _objects(records["caregiver_relative"])
    indian = _objects(records["caregiver_indian"])
    legally_free = _days(records["legally_free_date"])
    county = _objects(records["county"])
    files = records["file"].tolist()
    lines = records["line"].tolist()
    keys = records["key"].tolist()

    episodes: list[tuple] = []
    placements: list[tuple] = []

    def drop(cand: _Candidate, reason_text: str) -> None:
        last = cand.rows[-1]
        rejects.add(file=files[last], line=lines[last], key=keys[last], field="LATREMDT",
                    value=str(_date(cand.removal)), reason=reason_text, action=RECORD_DROPPED)
        notes["episodes dropped"] += 1

    def resolve(a: _Candidate, b: _Candidate) -> str:
        """How episode `a` (earlier removal) and `b` (later removal) fit together."""
        if a.exit is not None and a.exit <= b.removal:
            return "ok"
        lb = b.rows[-1]
        d = last_discharge[lb]
        ta, tb = total[a.rows[-1]], total[lb]
        gap = tb - ta if ta is not None and tb is not None else None
        if d is not None and a.removal <= d <= b.removal and (gap is None or gap == 1):
            if a.exit is None:
                a.reason = None
            a.exit = d
            a.exit_from_next = True
            notes["exit dates taken from the next removal's DLSTFCDT"] += 1
            return "ok"
        if a.exit is None and period_end[a.rows[-1]] < b.removal:
            return "drop_a_unknown_end"
        la = a.rows[-1]
        if (period[lb], lb) >= (period[la], la):
            return "drop_a_corrected"
        return "drop_b_corrected"

    n = len(child)
    start = 0
    while start < n:
        stop = start
        cid = child[start]
        while stop < n and child[stop] == cid:
            stop += 1
        rows = range(start, stop)
        start = stop

        groups: dict[int, _Candidate] = {}
        for i in rows:
            groups.setdefault(removal[i], _Candidate(removal[i], [])).rows.append(i)
        candidates = [groups[r] for r in sorted(groups)]
        for cand in candidates:
            last = cand.rows[-1]
            cand.exit = exit_[last]
            cand.reason = reason[last] if cand.exit is not None else None

        kept: list[_Candidate] = []
        for cand in candidates:
            current: _Candidate | None = cand
            while kept and current is not None:
                verdict = resolve(kept[-1], current)
                if verdict == "ok":
                    break
                if verdict == "drop_a_unknown_end":
                    drop(kept.pop(), "episode open at the end of its last report period ended on an "
                                     "unknown date: the child's next removal gives no DLSTFCDT in between")
                elif verdict == "drop_a_corrected":
                    drop(kept.pop(), "removal date replaced by a later submission (overlapping episodes)")
                else:
                    drop(current, "removal date replaced by a later submission (overlapping episodes)")
                    current = None
            if current is not None:
                kept.append(current)
        if not kept:
            continue

        last_cand = kept[-1]
        lr = last_cand.rows[-1]
        if last_cand.exit is None and period[lr] < last_period[state[lr]]:
            drop(kept.pop(), "dropped record: open at the end of its last report period and absent "
                             "from the later files of the state")
            if not kept:
                continue

        first = kept[0]
        lf = first.rows[-1]
        t, r1, d = total[lf], first_removal[lf], last_discharge[lf]
        rebuilt_first = None
        if t == 2 and r1 is not None and d is not None and r1 < first.removal and r1 <= d <= first.removal:
            rebuilt_first = (r1, d)
            notes["episodes rebuilt from TOTALREM, REM1DT and DLSTFCDT"] += 1
        elif t is not None and t >= 2 and r1 is not None and r1 < first.removal:
            notes["earlier removals known only from TOTALREM (not rebuilt)"] += t - 1
        for a, b in zip(kept, kept[1:]):
            ta, tb = total[a.rows[-1]], total[b.rows[-1]]
            if ta is not None and tb is not None and tb - ta > 1:
                notes["earlier removals known only from TOTALREM (not rebuilt)"] += tb - ta - 1

        if rebuilt_first is not None:
            r1, d = rebuilt_first
            episodes.append((f"{cid}/{_ymd(r1)}", cid, county[lf], r1, d, None, None))
        for cand in kept:
            last = cand.rows[-1]
            episode_id = f"{cid}/{_ymd(cand.removal)}"
            episodes.append((episode_id, cid, county[last], cand.removal, cand.exit, cand.reason,
                             legally_free[last]))
            _placements(cand, episode_id, cid, placements, notes, setting_date, setting,
                        settings_count, relative, indian)

    children = _children(records)
    episode_frame = pd.DataFrame(episodes, columns=[
        "episode_id", "child_id", "county", "removal_date", "exit_date", "exit_reason",
        "legally_free_date"])
    for col in ("removal_date", "exit_date", "legally_free_date"):
        episode_frame[col] = _to_dates(episode_frame[col])
    episode_frame.insert(3, "agency", "child_welfare")
    placement_frame = pd.DataFrame(placements, columns=[
        "placement_id", "episode_id", "child_id", "start_date", "end_date", "setting",
        "provider_id", "caregiver_relative", "caregiver_indian"])
    for col in ("start_date", "end_date"):
        placement_frame[col] = _to_dates(placement_frame[col])
    for col in ("caregiver_relative", "caregiver_indian"):
        placement_frame[col] = placement_frame[col].astype("boolean")
    return Rebuilt(children, episode_frame, placement_frame, notes)


def _ymd(days: int) -> str:
    return str(_date(days)).replace("-", "")


def _to_dates(values: pd.Series) -> pd.Series:
    days = pd.array(values, dtype="Int64")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    present = ~days.isna()
    if present.any():
        out[present] = (_EPOCH + days[present].to_numpy(dtype="int64").astype("timedelta64[D]")
                        ).astype("datetime64[s]")
    return out


def _placements(cand: _Candidate, episode_id: str, child_id: str, out: list, notes: Counter,
                setting_date, setting, settings_count, relative, indian) -> None:
    # Distinct settings seen, keyed by the date the setting began. A later record that dates the
    # current setting earlier than settings already seen corrects them away (later wins).
    seen: dict[int, int] = {}
    for i in cand.rows:
        s = setting_date[i]
        if s is None:
            notes["records without a current-setting date"] += 1
            continue
        for later in [k for k in seen if k > s]:
            del seen[later]
            notes["settings removed by a later record's earlier CURSETDT"] += 1
        seen[s] = i
    if not seen:
        return

    rows: list[list] = []  # [start, setting, ordinal, relative, indian]
    count = 0  # settings counted by NUMPLEP so far (its definition excludes THV and runaway)
    previous = cand.removal
    for j, s in enumerate(sorted(seen)):
        i = seen[s]
        kind = setting[i]
        countable = kind not in NON_MOVE_SETTINGS
        n = settings_count[i]
        merge = False
        hidden = 0
        if n is not None:
            before = n - 1 if countable else n
            hidden = before - count
            if hidden < 0:
                if countable and count >= 1 and n == count:
                    merge = True  # NUMPLEP did not grow: back in the setting left for a THV/runaway
                else:
                    notes["NUMPLEP lower than the settings already seen"] += 1
                hidden = 0
        if hidden > 0:
            if j == 0 and s > cand.removal:
                span = s - cand.removal
                starts = [cand.removal + (k * span) // hidden for k in range(hidden)]
            elif j > 0 and s > previous:
                span = s - previous
                starts = [previous + ((k + 1) * span) // (hidden + 1) for k in range(hidden)]
            else:
                starts = []
                notes["settings counted by NUMPLEP with no room before CURSETDT (not inserted)"] += hidden
            for start in starts:
                count += 1
                rows.append([start, "other", count, None, None])
            notes["placements inserted from NUMPLEP (setting unknown)"] += len(starts)
        ordinal = None
        if countable:
            if not merge:
                count += 1
            ordinal = count
        rows.append([s, kind, ordinal, relative[i], indian[i]])
        previous = s

    for k, row in enumerate(rows):
        end = rows[k + 1][0] if k + 1 < len(rows) else cand.exit
        provider = f"{episode_id}#{row[2]}" if row[2] is not None else None
        out.append((f"{episode_id}/{k + 1:03d}", episode_id, child_id, row[0], end, row[1],
                    provider, row[3], row[4]))


def _children(records: pd.DataFrame) -> pd.DataFrame:
    """One row per child: for each attribute the latest submitted value that is known."""
    cols = records[["child_id", "birth_date", "sex", "race_ethnicity"]].copy()
    cols["sex"] = cols["sex"].where(cols["sex"] != "unknown", None)
    cols["race_ethnicity"] = cols["race_ethnicity"].where(cols["race_ethnicity"] != "unknown", None)
    latest = cols.groupby("child_id", sort=True).last().reset_index()
    latest["sex"] = latest["sex"].fillna("unknown")
    latest["race_ethnicity"] = latest["race_ethnicity"].fillna("unknown")
    latest["birth_date"] = latest["birth_date"].astype("datetime64[s]")
    return latest
