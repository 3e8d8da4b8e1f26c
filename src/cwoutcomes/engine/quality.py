"""Data-quality limits per county and 6-month period (data-quality.md §2, G16): each check's
rate, its limit, pass or fail, and the `data_quality` status they put on affected results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import ibis
import pandas as pd

from cwoutcomes.engine import primitives as p
from cwoutcomes.engine.dataset import Dataset
from cwoutcomes.engine.periods import Window, dq_period_start, shift_months


@dataclass(frozen=True)
class Check:
    id: str
    description: str
    of: str
    limit: float  # a fraction
    fails_above: bool = True


CHECKS = {c.id: c for c in (
    Check("missing_birth_date", "missing birth date", "children with an episode in care during the period", 0.05),
    Check("birth_after_removal", "birth after removal", "episodes active in the period", 0.05),
    Check("birth_after_exit", "birth after exit", "exits in the period", 0.05),
    Check("same_day", "same-day entry and exit", "exits in the period", 0.05),
    Check("exit_before_removal", "exit before removal", "exits in the period", 0.05),
    Check("missing_exit_reason", "missing exit reason", "exits in the period", 0.10),
    Check("no_placement", "episodes with no placement", "episodes active in the period", 0.05),
    Check("first_removal_only", "first removal only", "children in care whose current episode is their first", 0.95),
    Check("victim_birth", "victims without birth date", "victim reports in the period", 0.05),
)}


def periods_for(windows: Sequence[Window]) -> pd.DataFrame:
    """The 6-month periods (October-March, April-September) any window touches."""
    start = dq_period_start(min(w.start for w in windows))
    last = max(w.end for w in windows)
    rows = []
    while start <= last:
        end = shift_months(start, 6) - dt.timedelta(days=1)
        rows.append({"dq_start": start, "dq_end": end})
        start = shift_months(start, 6)
    return pd.DataFrame(rows)


def _rate_rows(table, check: str, failing):
    g = p.with_state(table)
    return g.group_by(["geo", "dq_start"]).aggregate(
        failing=failing(g).ifelse(1, 0).sum(), total=g.count()
    ).mutate(check=ibis.literal(check))


def quality_checks(ds: Dataset, windows: Sequence[Window]) -> pd.DataFrame:
    """One row per geography, 6-month period and check: failing, total, rate, limit, passed."""
    periods = ds.memtable(periods_for(windows))
    e = ds.episodes.cross_join(periods)
    active = e.filter((e.removal_date <= e.dq_end) & (e.exit_date.isnull() | (e.exit_date >= e.dq_start)))
    exits = e.filter((e.exit_date >= e.dq_start) & (e.exit_date <= e.dq_end))
    placed = ds.table("placements").select("episode_id").distinct().mutate(has_placement=ibis.literal(True))
    active = active.left_join(placed, "episode_id").drop("episode_id_right")
    earlier = ds.table("episodes").select("child_id", earlier_removal=ibis._.removal_date)
    first_flag = active.left_join(earlier, [active.child_id == earlier.child_id,
                                            earlier.earlier_removal < active.removal_date])
    first_flag = first_flag.group_by(["episode_id", "dq_start"]).aggregate(
        is_first=first_flag.earlier_removal.isnull().all()
    )
    active = active.join(first_flag, ["episode_id", "dq_start"])
    children_active = p.first_per(active, ["child_id", "county", "dq_start"], ["removal_date", "episode_id"])
    parts = [
        _rate_rows(children_active, "missing_birth_date", lambda t: t.birth_date.isnull()),
        _rate_rows(active, "birth_after_removal", lambda t: (t.birth_date > t.removal_date).fill_null(False)),
        _rate_rows(exits, "birth_after_exit", lambda t: (t.birth_date > t.exit_date).fill_null(False)),
        _rate_rows(exits, "same_day", lambda t: t.exit_date == t.removal_date),
        _rate_rows(exits, "exit_before_removal", lambda t: t.exit_date < t.removal_date),
        _rate_rows(exits, "missing_exit_reason", lambda t: t.exit_reason.isnull()),
        _rate_rows(active, "no_placement", lambda t: t.has_placement.isnull()),
        _rate_rows(children_active, "first_removal_only", lambda t: t.is_first),
    ]
    if ds.has("referrals") and ds.has("allegations"):
        v = ds.victim_reports.cross_join(periods)
        v = v.filter((v.report_date >= v.dq_start) & (v.report_date <= v.dq_end))
        parts.append(_rate_rows(v, "victim_birth", lambda t: t.birth_date.isnull()))
    table = ds.execute(ibis.union(*parts)).rename(columns={"geo": "county"})
    table["dq_start"] = pd.to_datetime(table.dq_start).dt.date
    table["rate"] = table.failing / table.total.where(table.total > 0)
    table["limit"] = table.check.map(lambda c: CHECKS[c].limit)
    table["passed"] = ~(table.rate > table.limit)
    return table.sort_values(["county", "dq_start", "check"], ignore_index=True)


def apply_data_quality_status(ds: Dataset, results: pd.DataFrame, measures, windows) -> pd.DataFrame:
    """Status `data_quality` for every affected measure, county and window touching a failed
    period (G16). Rows already `not_available` keep that status."""
    if results.empty or not windows:
        return results
    checks = quality_checks(ds, windows)
    failed = checks.loc[~checks.passed, ["county", "dq_start", "check"]]
    affected = pd.DataFrame(
        [(m.id, check) for m in measures for check in m.dq_checks], columns=["measure_id", "check"]
    )
    if failed.empty or affected.empty:
        return results
    failed = failed.merge(affected, on="check")
    failed["dq_end"] = failed.dq_start.map(lambda d: shift_months(d, 6) - dt.timedelta(days=1))
    periods = results[["measure_id", "county", "period_start", "period_end"]].drop_duplicates()
    hits = periods.merge(failed, on=["measure_id", "county"])
    hits = hits[(hits.period_start <= hits.dq_end) & (hits.period_end >= hits.dq_start)]
    hits = hits[["measure_id", "county", "period_start", "period_end"]].drop_duplicates()
    flagged = results.merge(hits.assign(_failed=True), how="left",
                            on=["measure_id", "county", "period_start", "period_end"])["_failed"]
    hit = flagged.notna().to_numpy() & results.status.isin(["ok", "incomplete"]).to_numpy()
    results = results.copy()
    results.loc[hit, "status"] = "data_quality"
    results.loc[hit, "value"] = float("nan")
    return results
