"""What a measure is: a declarative record (id, version, unit, direction, reference values,
strata, follow-up, the tables it needs, the data-quality checks that can void it) plus one
function that turns the data set and the windows into *unit rows*.

Unit rows are the FHIR-style populations already resolved: one row per counted unit (child,
child-county, report, ...) per window and geography, with columns `period_label`, `geo`
(`state` or a county), the stratum attributes, `numerator` and `denominator` (1/0 for people,
days for rates per day, population for rates per child). The evaluator sums them; a measure
never aggregates by stratum, masks or formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

UNIT_SCALE = {
    "percent": 100.0,
    "per_100k_days": 100_000.0,
    "per_1000_days": 1_000.0,
    "per_1000_children": 1_000.0,
    "days": 1.0,
    "months": 1.0,
    "composite_score": 1.0,
    "relative_score": 1.0,
}
UNIT_LABEL = {
    "percent": "%",
    "per_100k_days": "per 100,000 days",
    "per_1000_days": "per 1,000 days",
    "per_1000_children": "per 1,000 children",
    "days": "days",
    "months": "months",
    "composite_score": "score (50-150)",
    "relative_score": "score (50-150, relative to the data set's counties)",
}
FEDERAL_STRATA = ("age_group", "race_ethnicity", "sex", "agency")
REFERRAL_STRATA = ("age_group", "race_ethnicity", "sex")


@dataclass(frozen=True)
class Measure:
    """One measure (see the module docstring for what `units` returns). Unit rows may also
    carry `period_type`, `period_start` and `period_end` to report periods other than the
    window's own (e.g. monthly rows); the evaluator groups by them as well.

    A composite (Round 2 C1-C4) has no unit rows (`units` is None): it is scored from the
    results of the measures in `inputs` after they are evaluated (measures.composites)."""

    id: str
    version: str
    name: str
    unit: str
    direction: str  # "higher", "lower" or "none" (context measures)
    units: Callable | None  # (Dataset, windows ibis table) -> unit rows; None for composites
    definition: str
    requires: tuple[str, ...] = ("children", "episodes", "placements")
    national_standard: float | None = None
    reference: dict = field(default_factory=dict)  # e.g. {"median": .., "75th percentile": ..}
    period_type: str = "year"
    strata: tuple[str, ...] = FEDERAL_STRATA
    follow_up_months: int = 0  # observation needed after the window's last day
    follow_up_days: int = 0
    dq_checks: tuple[str, ...] = ()  # data-quality.md §2 checks that set status data_quality
    # For point-in-time measures: the window's "quarter_start" (G1) or its "window_end" (5B).
    pit_date: str = "quarter_start"
    # Statistics that do not add up (medians, Kaplan-Meier): a function from the unit rows of
    # one group (pandas) to {"numerator", "denominator", "value"[, "ci_lower", "ci_upper"]}.
    # Without it the value is sum(numerator) / sum(denominator) x the unit's scale.
    summarize: Callable | None = None
    # A stratum reported as a distribution (4B, 4E): each of its rows is the share of the
    # whole, numerator = units in the category (sum of their denominators), denominator = the
    # `all` row's denominator of the same period and geography.
    distribution: str | None = None
    inputs: tuple[str, ...] = ()  # a composite's measures

    @property
    def is_composite(self) -> bool:
        return self.units is None

    @property
    def scale(self) -> float:
        return UNIT_SCALE[self.unit]

    @property
    def unit_label(self) -> str:
        return UNIT_LABEL[self.unit]


_REGISTRY: dict[str, Measure] = {}


def register(*measures: Measure) -> None:
    for measure in measures:
        if measure.id in _REGISTRY:
            raise ValueError(f"measure {measure.id} defined twice")
        _REGISTRY[measure.id] = measure


def lookup(measure_id: str) -> Measure:
    """A measure already registered (for families that build on another family's measures)."""
    return _REGISTRY[measure_id]


def registry() -> dict[str, Measure]:
    # Importing the families registers their measures.
    from cwoutcomes.measures import (  # noqa: F401
        california, california_care, california_wellbeing, cfsr2, cfsr3, cfsr4, composites, practice,
    )

    return dict(_REGISTRY)
