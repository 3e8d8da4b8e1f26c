"""California's 58 counties, shipped with the package (`data/ca_counties.csv`): 5-digit FIPS
codes as strings (`06001` Alameda ... `06115` Yuba), names, CWDA-style regions (Bay Area, Central,
Los Angeles, Northern, Southern) and an approximate child (0-17) population used by the
simulator to size the counties (about 8.9 million in all)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

COUNTIES_CSV = "ca_counties.csv"


@lru_cache(maxsize=1)
def _read() -> pd.DataFrame:
    with resources.files("cwoutcomes.model").joinpath("data", COUNTIES_CSV).open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype={"county": str, "name": str, "region": str, "child_population": "int64"},
                            keep_default_na=False)
    return frame


def county_populations() -> pd.DataFrame:
    """The shipped county list with its approximate child population:
    columns county, name, region, child_population (a fresh copy)."""
    return _read().copy()


def default_counties() -> pd.DataFrame:
    """The default `counties` table of the model: columns county, name, region (a fresh copy)."""
    return _read()[["county", "name", "region"]].copy()
