"""Vega-Lite specifications for the dashboard. Trends and small multiples are the quarterly
reports' own charts (`cwoutcomes.report.charts`, fed by `report.content.chart_frame`), served
as JSON to vega-embed, so the web and the reports draw a measure the same way: the value with
its 95% band, the state in grey beside a county, the national standard and SIP target as
labelled dashed rules, and a short label under windows without a value (masked, data quality).
The bars per stratum value are the web's own, in the Okabe-Ito palette, which colour-blind
readers can tell apart; reference lines are dashed, so colour is never the only cue."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cwoutcomes.report import charts as report_charts
from cwoutcomes.report.content import chart_frame

OKABE_ITO = {
    "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
}
VALUE, STANDARD = OKABE_ITO["blue"], OKABE_ITO["vermillion"]


def _frame(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = rows[columns].copy()
    # Vega-Lite wants JSON numbers or null; NaN would serialise as invalid JSON.
    return frame.astype(object).where(frame.notna(), None)


def _json(chart: alt.TopLevelMixin) -> dict:
    spec = chart.to_dict(validate=False)
    # The chart's container is an image labelled with what it shows, and the table beside it
    # has the numbers: the marks stay out of the accessibility tree (an unlabelled empty mark
    # group would otherwise be an image without a text alternative).
    _hide_marks(spec)
    # NaN in inline data is not JSON: the browser would refuse the whole spec.
    for dataset in spec.get("datasets", {}).values():
        for record in dataset:
            for key, value in record.items():
                if isinstance(value, float) and value != value:
                    record[key] = None
    return spec


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_view(stroke=None).configure_axis(labelFontSize=12, titleFontSize=12)


def _hide_marks(node) -> None:
    if isinstance(node, dict):
        mark = node.get("mark")
        if isinstance(mark, str):
            node["mark"] = {"type": mark, "aria": False}
        elif isinstance(mark, dict):
            mark["aria"] = False
        for key, value in node.items():
            if key not in ("data", "datasets"):
                _hide_marks(value)
    elif isinstance(node, list):
        for item in node:
            _hide_marks(item)


def _latest(rows: pd.DataFrame, column: str) -> float | None:
    values = rows[column].dropna()
    return float(values.iloc[-1]) if len(values) else None


def trend_chart(rows: pd.DataFrame, *, names: dict[str, str], labels: list[str], unit_label: str,
                title: str, state_rows: pd.DataFrame | None = None) -> dict:
    """One geography's trend over `labels` (window or period labels), with the state's trend
    in grey when `state_rows` are given. The SIP target line is the latest window's target."""
    data = chart_frame(rows, labels, names)
    if state_rows is not None and len(state_rows):
        data = pd.concat([data, chart_frame(state_rows, labels, names)], ignore_index=True)
    chart = report_charts.trend_chart(
        data, unit_label=unit_label, reference=_latest(rows, "national_standard"), target=_latest(rows, "target"),
        title=title, width=760, height=260,
        description=f"{title}: value per window with its 95% interval; dashed lines: national standard and SIP target",
    )
    return _json(chart)


def small_multiples(rows: pd.DataFrame, *, state_rows: pd.DataFrame, names: dict[str, str], labels: list[str],
                    unit_label: str, title: str) -> dict:
    """One small trend per county over the state's, sharing the y scale."""
    chart = report_charts.small_multiples(
        chart_frame(rows, labels, names), state=chart_frame(state_rows, labels, names), unit_label=unit_label,
        reference=_latest(rows, "national_standard"), columns=6, width=120, height=60,
        description=f"{title}: one small trend chart per county, the state in grey",
    )
    return _json(chart.properties(title=title))


def strata_chart(rows: pd.DataFrame, *, title: str, unit_label: str) -> dict:
    """Bars of the value per stratum value with 95% intervals."""
    data = _frame(rows, ["stratum", "stratum_value", "value", "ci_lower", "ci_upper", "national_standard"])
    base = alt.Chart(alt.Data(values=data.to_dict("records"))).encode(
        y=alt.Y("stratum_value:N", title=None, sort=None))
    layers = [
        base.mark_bar(color=VALUE).encode(
            x=alt.X("value:Q", title=unit_label),
            tooltip=[alt.Tooltip("stratum_value:N", title="Group"), alt.Tooltip("value:Q", format=",.2f")]),
        base.mark_rule(color=OKABE_ITO["black"]).encode(x="ci_lower:Q", x2="ci_upper:Q"),
    ]
    if data.national_standard.notna().any():
        layers.append(alt.Chart(alt.Data(values=data.head(1).to_dict("records"))).mark_rule(
            color=STANDARD, strokeDash=[6, 4], strokeWidth=2).encode(x="national_standard:Q"))
    chart = alt.layer(*layers).properties(width="container", height={"step": 22}, title=title,
                                          description=f"{title}: value per group with 95% interval")
    return _json(_config(chart))
