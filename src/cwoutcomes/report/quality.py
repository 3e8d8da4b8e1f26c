"""Data-quality inputs of a report, read once from a loaded database for all geographies: the
limits of data-quality.md §2 per county and 6-month period (engine.quality) over the periods
the report's windows touch, and the number of episodes each record check flagged per county
(counts only; the failing records stay in data_quality.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cwoutcomes.report.content import QualityData

EPISODE_RULES = ("R4", "R5", "R6", "R8", "R9", "R10", "R11")


def episode_flags(ds) -> pd.DataFrame:
    """Per county and for the state: episodes flagged by each record rule (columns county, rule,
    records)."""
    from cwoutcomes.engine import primitives as p

    e = p.with_state(ds.episodes)
    counts = ds.execute(e.group_by("geo").aggregate(**{
        rule: e[f"dq_{rule.lower()}"].ifelse(1, 0).sum() for rule in EPISODE_RULES
    }))
    long = counts.melt(id_vars="geo", var_name="rule", value_name="records").rename(columns={"geo": "county"})
    long["records"] = long.records.astype(float)
    long["_order"] = long.rule.map({r: i for i, r in enumerate(EPISODE_RULES)})
    return long.sort_values(["county", "_order"]).drop(columns="_order").reset_index(drop=True)


def load_quality(db_path: Path, window_labels: list[str]) -> QualityData:
    """The checks for the windows `window_labels` (the report's trend) from a loaded database."""
    from cwoutcomes.engine.dataset import Dataset
    from cwoutcomes.engine.periods import parse_window
    from cwoutcomes.engine.quality import CHECKS, quality_checks

    ds = Dataset.from_database(Path(db_path))
    windows = sorted({parse_window(label) for label in window_labels})
    checks = quality_checks(ds, windows)
    descriptions = {c.id: (c.description, c.of) for c in CHECKS.values()}
    return QualityData(checks=checks, records=episode_flags(ds), descriptions=descriptions)
