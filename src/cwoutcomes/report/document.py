"""The typed document a report is, before any formatting: cells (`Cell`, `Change`,
`Comparison`, `Rank`, `QualityRate`), tables of them (`Column`, `Table`), and the report's parts
(`MeasureBlock`, `Section`, `PracticeComponent`, `QualitySection`, `Report`). `content.py`
fills them from a results table; the HTML, PDF, Excel and CSV writers render them the same way
(`format.py`)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pandas as pd

from cwoutcomes.model.tables import STATE

VERSION_LABELS = {
    "cfsr4": "CFSR Round 4", "cfsr3": "CFSR Round 3", "cfsr2": "CFSR Round 2",
    "ca": "California (AB 636)", "cpm": "Core Practice Model",
}
COMPARABLE = ("ok", "incomplete")


# -- cells ------------------------------------------------------------------------------------
def _f(x) -> float:
    """A float, NaN for None / NA / NaN."""
    if x is None:
        return float("nan")
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


@dataclass(frozen=True)
class Cell:
    """One measure value with its counts and interval. `state` is the results status, except
    that an `ok` row without a value is `no_cases` (denominator 0) or `no_estimate`, and a
    missing row is `no_data`."""

    state: str
    unit: str
    value: float = float("nan")
    numerator: float = float("nan")
    denominator: float = float("nan")
    ci_lower: float = float("nan")
    ci_upper: float = float("nan")

    @property
    def shows_value(self) -> bool:
        return self.state in COMPARABLE and not math.isnan(self.value)

    @classmethod
    def from_row(cls, row: Any, unit: str) -> "Cell":
        if row is None:
            return cls("no_data", unit)
        status = row["status"]
        value = _f(row["value"])
        if status in COMPARABLE and math.isnan(value):
            den = _f(row["denominator"])
            status = "no_cases" if (math.isnan(den) or den == 0) else ("incomplete" if status == "incomplete" else "no_estimate")
        return cls(status, unit, value, _f(row["numerator"]), _f(row["denominator"]),
                   _f(row.get("ci_lower")), _f(row.get("ci_upper")))


@dataclass(frozen=True)
class Change:
    """Difference from the same window a year earlier, with the change test's p-value."""

    unit: str
    difference: float
    previous: float
    p_value: float
    significant: bool
    test: str | None
    verdict: str | None  # better / worse / no change (direction-aware), up / down for context
    reason: str = ""


@dataclass(frozen=True)
class Comparison:
    """A value against a reference (national standard or SIP target), direction-aware (G17)."""

    kind: str  # "standard" or "target"
    label: str
    reference: float
    unit: str
    outcome: str | None  # met / not met, on track / off track
    percent_of: float
    reason: str = ""


@dataclass(frozen=True)
class Rank:
    rank: float
    of: int
    order: str  # what rank 1 means
    reason: str = ""


@dataclass(frozen=True)
class QualityRate:
    """One data-quality check's rate for a geography and 6-month period."""

    failing: float
    total: float
    rate: float
    limit: float
    passed: bool
    masked: bool = False


# -- tables -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | value | ci | numerator | denominator | change | reference | comparison | rank |
    # count | fraction | quality
    kind: str = "text"
    cell: str = "cell"  # for value / ci / numerator / denominator: the row key of the Cell
    short: str = ""  # a shorter label where space is tight (row labels of transposed tables)


@dataclass
class Table:
    """One table as shown. `group` names a row key that splits the rows into sub-tables on the
    page (strata); `layout` 'transposed' shows rows as columns (the trend table), 'twoup' sets
    the sub-tables two abreast."""

    slug: str
    title: str
    columns: list[Column]
    rows: list[dict]
    note: str = ""
    group: str | None = None
    layout: str = "rows"

    def groups(self) -> list[tuple[str, list[dict]]]:
        if not self.group:
            return [("", self.rows)]
        out: dict[str, list[dict]] = {}
        for row in self.rows:
            out.setdefault(row[self.group], []).append(row)
        return list(out.items())


@dataclass(frozen=True)
class MeasureInfo:
    id: str
    name: str
    version: str
    unit: str
    unit_label: str
    direction: str
    definition: str
    national_standard: float | None
    reference: dict
    period_type: str
    summarized: bool
    dq_checks: tuple[str, ...]
    follow_up: str
    inputs: tuple[str, ...] = ()  # a composite's measures

    @property
    def version_label(self) -> str:
        return VERSION_LABELS.get(self.version, self.version)

    @property
    def anchor(self) -> str:
        return "m-" + re.sub(r"[^A-Za-z0-9]+", "-", self.id)


@dataclass
class MeasureBlock:
    info: MeasureInfo
    current: Cell
    change: Change | None
    standard: Comparison | None
    target: Comparison | None
    rank: Rank | None
    trend: Table
    strata: Table | None
    counties: Table | None
    methodology: str
    chart_data: pd.DataFrame  # period_label, series, value, ci_lower, ci_upper, state
    county_chart_data: pd.DataFrame | None  # state report: every county's trend (small multiples)


@dataclass
class Outcome:
    title: str
    measures: list[MeasureBlock]


@dataclass
class Section:
    key: str
    title: str
    outcomes: list[Outcome]


@dataclass
class PracticeComponent:
    key: str
    title: str
    practices: list[str]
    process: Table
    outcomes: Table
    comparison: Table | None = None  # outcomes of children who received each practice, or not


@dataclass
class QualitySection:
    available: bool
    note: str
    limits: Table | None
    flagged: Table | None
    records: Table | None
    cells: Table


@dataclass
class Report:
    geo: str
    geo_name: str
    quarter: str
    window_start: dt.date
    window_end: dt.date
    public: bool
    generated: dt.date
    cover: Table
    sections: list[Section]
    practice: list[PracticeComponent]
    practice_measures: list[MeasureBlock]
    other: list[MeasureBlock]
    quality: QualitySection
    legend: list[tuple[str, str]]

    @property
    def is_state(self) -> bool:
        return self.geo == STATE

    @property
    def slug(self) -> str:
        return "state" if self.is_state else self.geo

    @property
    def title(self) -> str:
        return f"{self.geo_name} quarterly data report, {self.quarter}"

    def measure_blocks(self) -> Iterator[MeasureBlock]:
        for section in self.sections:
            for outcome in section.outcomes:
                yield from outcome.measures
        yield from self.practice_measures
        yield from self.other

    def tables(self) -> Iterator[Table]:
        """Every table shown, in page order (what the CSV and Excel writers export)."""
        yield self.cover
        for block in self.measure_blocks():
            yield block.trend
            if block.strata is not None:
                yield block.strata
            if block.counties is not None:
                yield block.counties
        for component in self.practice:
            yield component.process
            yield component.outcomes
            if component.comparison is not None:
                yield component.comparison
        q = self.quality
        for table in (q.limits, q.flagged, q.records, q.cells):
            if table is not None:
                yield table
