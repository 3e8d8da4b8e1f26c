"""One self-contained HTML file per report (fonts embedded, charts inline SVG, no script, no
external reference), from the Jinja2 templates in `templates/`. The PDF is printed from the
same HTML (`pdf.py`); print layout (page size, running heads, page numbers) lives in the
template's @page rules, which browsers ignore."""

from __future__ import annotations

import functools
import math

import jinja2

from cwoutcomes.report import format as fmt
from cwoutcomes.report.document import Column, Report, Table

STATE_CLASS = {"masked": "st-masked", "data_quality": "st-dq", "not_available": "st-na",
               "incomplete": "st-incomplete", "no_cases": "st-none", "no_estimate": "st-none",
               "no_data": "st-none"}


def _state_class(cell) -> str:
    return STATE_CLASS.get(cell.state, "")


def render_cell(column: Column, row: dict) -> tuple[str, str]:
    """(text, CSS classes) of one table cell."""
    kind = column.kind
    if kind == "text":
        value = row.get(column.key)
        return ("—" if value is None or value == "" else str(value)), "text"
    if kind in ("value", "ci", "numerator", "denominator"):
        cell = row[column.cell]
        if kind == "value":
            text = fmt.cell_value_text(cell)
        elif kind == "ci":
            # A zero-width space after the dash lets a narrow column wrap the interval.
            text = fmt.cell_ci_text(cell).replace("–", "–\u200b")
        else:
            text = fmt.cell_count_text(cell, kind)
        return text, f"num {kind} {_state_class(cell)}".strip()
    if kind == "change":
        change = row.get(column.key)
        classes = "num change"
        if change is not None and change.verdict in ("better", "worse"):
            classes += f" {change.verdict}"
        if change is not None and change.significant:
            classes += " sig"
        if change is None or fmt.missing(change.difference):
            classes += " st-none"
        return fmt.change_text(change), classes
    if kind == "reference":
        return fmt.reference_text(row.get(column.key)), "num"
    if kind == "comparison":
        comparison = row.get(column.key)
        outcome = None if comparison is None else comparison.outcome
        css = {"met": "met", "not met": "notmet", "on track": "met", "off track": "notmet"}.get(outcome, "st-none")
        return fmt.comparison_text(comparison), f"cmp {css}"
    if kind == "rank":
        return fmt.rank_text(row.get(column.key)), "num rank"
    if kind == "count":
        value = row.get(column.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ("masked", "num st-masked") if row.get("state") == "masked" or _masked_rate(row) else ("—", "num")
        return fmt.count_text(value), "num"
    if kind == "fraction":
        return f"{row[column.key] * 100:g}%", "num"
    if kind == "quality":
        rate = row.get(column.key)
        if rate is None:
            return "—", "num st-none"
        text = "masked" if rate.masked else ("—" if fmt.missing(rate.rate) else f"{rate.rate * 100:.1f}%")
        if not rate.passed:
            return text + " ✗", "num dq-fail" + (" st-masked" if rate.masked else "")
        return text, "num" + (" st-masked" if rate.masked else "")
    raise ValueError(f"unknown column kind {kind!r}")


# Relative column widths: every table has a fixed layout (WeasyPrint lays out fixed tables
# several times faster than auto ones, and nothing can overflow the page).
KIND_WIDTH = {"value": 1.3, "ci": 1.5, "numerator": 1.2, "denominator": 1.3, "change": 1.6,
              "reference": 1.4, "comparison": 1.45, "rank": 1.15, "count": 1.0, "fraction": 0.9,
              "quality": 1.0}
KEY_WIDTH = {"measure": 4.0, "area": 2.0, "county": 1.8, "code": 0.8, "element": 3.0, "check": 2.6,
             "of": 3.2, "what": 5.0, "rule": 0.7, "period": 1.7, "measures": 4.0, "group": 2.0,
             "stratum": 1.6, "incomplete": 1.25, "not_available": 1.2, "data_quality": 1.2, "target": 1.2}


def column_widths(columns) -> list[float]:
    weights = [KEY_WIDTH.get(c.key, KIND_WIDTH.get(c.kind, 1.5)) for c in columns]
    total = sum(weights)
    return [round(100 * w / total, 2) for w in weights]


def _masked_rate(row: dict) -> bool:
    rate = row.get("rate")
    return bool(getattr(rate, "masked", False))


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cwoutcomes.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
        # Templates are read once per process: a batch of reports is made with one version.
        auto_reload=False,
    )
    env.globals.update(render_cell=render_cell, fmt=fmt, column_widths=column_widths)
    return env


def render_html(report: Report, charts: dict[str, str]) -> str:
    """The report as one HTML document. `charts` maps chart keys (`<anchor>` for a measure's
    trend, `<anchor>-counties` for the state report's small multiples) to SVG text."""
    from cwoutcomes.report.content import DIRECTION_TEXT
    from cwoutcomes.report.fonts import font_face_css

    template = environment().get_template("report.html.j2")
    return template.render(report=report, charts=charts, font_css=font_face_css(),
                           direction_text=DIRECTION_TEXT, Table=Table)
