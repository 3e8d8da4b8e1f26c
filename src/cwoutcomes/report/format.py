"""Display text for report cells, shared by every output format: G15 rounding (percentages
with one decimal, rates with two), the cell states (never a bare blank), direction-aware
change marks and reference comparisons."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

STATE_LABELS = {
    "masked": "masked",
    "data_quality": "data quality",
    "not_available": "not available",
    "incomplete": "incomplete",
    "no_cases": "no cases",
    "no_estimate": "no estimate",
    "no_data": "no result",
}
STATE_NOTES = {
    "masked": "a count between 1 and 10, or a cell masked so that one cannot be worked out by "
              "subtraction (G14)",
    "data_quality": "the county's data failed a data-quality limit for a period the window uses "
                    "(G16); see the data-quality section",
    "not_available": "the data set lacks a table the measure needs",
    "incomplete": "the follow-up period is not yet fully observed (G2); the value may still change",
    "no_cases": "nobody was in the measure's denominator",
    "no_estimate": "the statistic cannot be estimated from the cases observed",
    "no_data": "the results table has no row for this cell",
}
REFERENCE_ABBREVIATIONS = {"national performance": "NP", "national standard": "NS", "national median": "NM",
                           "SIP target": ""}
SIGNIFICANT_MARK = "*"
INCOMPLETE_MARK = "†"

_DECIMALS = {"percent": 1, "per_100k_days": 2, "per_1000_days": 2, "per_1000_children": 2,
             "days": 0, "months": 1}


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def decimals(unit: str) -> int:
    return _DECIMALS.get(unit, 2)


def number(x, places: int) -> str:
    """Rounded half away from zero on the decimal value as written (41.25 -> 41.3), the way
    published tables round; Python's own formatting would round half to even (41.2)."""
    if math.isinf(float(x)):  # e.g. an open-ended Kaplan-Meier interval
        return "∞" if float(x) > 0 else "-∞"
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{q:,.{places}f}"


def value_text(x, unit: str, *, with_unit: bool = True) -> str:
    """A value rounded for display (G15); percentages carry a % sign."""
    text = number(x, decimals(unit))
    return text + "%" if with_unit and unit == "percent" else text


def count_text(x) -> str:
    """Counts are whole numbers except rate exposures (days, population), shown rounded."""
    return f"{x:,.0f}"


def cell_value_text(cell) -> str:
    if cell.shows_value:
        text = value_text(cell.value, cell.unit)
        return f"{text} {INCOMPLETE_MARK}" if cell.state == "incomplete" else text
    return STATE_LABELS[cell.state]


def cell_count_text(cell, which: str) -> str:
    x = getattr(cell, which)
    if cell.state in ("masked", "data_quality", "not_available", "no_data") and missing(x):
        return STATE_LABELS[cell.state]
    if missing(x):
        return "—"  # a median's numerator: the results row leaves it empty (G21.1)
    return count_text(x)


def cell_ci_text(cell) -> str:
    if not cell.shows_value:
        return STATE_LABELS[cell.state]
    if missing(cell.ci_lower) or missing(cell.ci_upper):
        return "—"
    places = decimals(cell.unit)
    return f"{number(cell.ci_lower, places)}–{number(cell.ci_upper, places)}"


def change_text(change, *, verdict: bool = False) -> str:
    """'+2.3 pts*' (percentage points for percentages); the reason when there is no change."""
    if change is None or (missing(change.difference) and change.reason == "no earlier window"):
        return "—"
    if missing(change.difference):
        return change.reason
    places = decimals(change.unit)
    unit = " pts" if change.unit == "percent" else ""
    sign = "+" if change.difference > 0 else ("−" if change.difference < 0 else "±")
    text = f"{sign}{number(abs(change.difference), places)}{unit}"
    if change.significant:
        text += SIGNIFICANT_MARK
    if verdict and change.verdict:
        text += f" ({change.verdict})"
    return text


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {number(p, 3)}"


def comparison_text(comparison) -> str:
    """'met (104%)' / 'not met (91%)' / 'on track' ...; the reason when there is no comparison."""
    if comparison is None:
        return "—"
    if comparison.outcome is None:
        return comparison.reason
    if missing(comparison.percent_of):
        return comparison.outcome
    return f"{comparison.outcome} ({comparison.percent_of:.0f}%)"


def reference_text(comparison) -> str:
    """'35.2% NP': the reference value and its type, abbreviated (the legend spells them out)."""
    if comparison is None or missing(comparison.reference):
        return "—"
    abbreviation = REFERENCE_ABBREVIATIONS.get(comparison.label, comparison.label)
    return f"{value_text(comparison.reference, comparison.unit)} {abbreviation}".strip()


def rank_text(rank) -> str:
    if rank is None:
        return "—"
    if missing(rank.rank):
        return rank.reason
    return f"{rank.rank:.0f} of {rank.of}"
