"""The seed documents' outcome framework and Core Practice Model crosswalk as package data
(copies of `outcome-framework.csv` and `practice-crosswalk.csv` from the spec), with lookups
from a measure id to its outcome areas and practice components.

Framework rows name measure families (`4B`, `2F`); a result id such as `4B.FIRST.KIN` belongs
to the family before its first dot."""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

AREA_LABELS = {
    "safety": "Safety",
    "permanency_stability": "Permanency and stability",
    "family_community": "Family relationships and community connections",
    "well_being": "Well-being",
}


def _read(name: str) -> pd.DataFrame:
    with resources.files("cwoutcomes.model").joinpath("data", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def _explode(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(measure_id=frame.measure_ids.str.split(";")).explode("measure_id")
    return frame[frame.measure_id != ""].drop(columns="measure_ids").reset_index(drop=True)


@functools.cache
def outcome_framework() -> pd.DataFrame:
    """One row per (area, outcome, measure family), in the seed's order."""
    return _explode(_read("outcome-framework.csv"))


@functools.cache
def practice_crosswalk() -> pd.DataFrame:
    """The crosswalk as written: component, element type (practice / process_measure /
    outcome), element, measure_ids, practice_code, seed_reference."""
    return _read("practice-crosswalk.csv")


def _matches(framework_id: str, measure_id: str) -> bool:
    return measure_id == framework_id or measure_id.startswith(framework_id + ".")


def areas_for(measure_id: str, inputs: tuple[str, ...] = ()) -> list[str]:
    """Outcome areas (keys of AREA_LABELS) a measure or result id belongs to; a composite the
    framework does not list belongs to the areas of its `inputs`."""
    rows = outcome_framework()
    own = list(dict.fromkeys(rows.area[[_matches(f, measure_id) for f in rows.measure_id]]))
    return own or list(dict.fromkeys(area for mid in inputs for area in areas_for(mid)))


def components_for(measure_id: str) -> list[str]:
    """Practice components whose process measures or targeted outcomes include the measure."""
    rows = _explode(practice_crosswalk()[practice_crosswalk().element_type.isin(["process_measure", "outcome"])])
    return list(dict.fromkeys(rows.component_id[[_matches(f, measure_id) for f in rows.measure_id]]))
