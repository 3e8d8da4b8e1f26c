"""Vega-Lite specifications (built with Altair) for the dashboard: a trend over windows with
its confidence band, national standard and SIP target, small multiples of counties, and bars
per stratum value. Colours are the Okabe-Ito palette, which colour-blind readers can tell
apart; the reference line is also dashed, so colour is never the only cue.

The quarterly reports build their charts in `cwoutcomes.report.charts`; these are the web's own
until that module offers the same charts."""

from __future__ import annotations

import altair as alt
import pandas as pd

OKABE_ITO = {
    "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
}
VALUE, STANDARD, TARGET, BAND = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"], "#9ecae1"


def _frame(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = rows[columns].copy()
    # Vega-Lite wants JSON numbers or null; NaN would serialise as invalid JSON.
    return frame.astype(object).where(frame.notna(), None)


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return chart.configure_view(stroke=None).configure_axis(labelFontSize=12, titleFontSize=12)


def trend_chart(rows: pd.DataFrame, *, title: str, unit_label: str, x: str = "window") -> dict:
    """Value by window (or period) with its interval, the national standard and the SIP target."""
    data = _frame(rows, [x, "value", "ci_lower", "ci_upper", "national_standard", "target", "status"])
    base = alt.Chart(alt.Data(values=data.to_dict("records"))).encode(
        x=alt.X(f"{x}:O", title="Window" if x == "window" else "Period", sort=None, axis=alt.Axis(labelAngle=-45))
    )
    layers = [
        base.mark_area(color=BAND, opacity=0.5).encode(
            y=alt.Y("ci_lower:Q", title=unit_label), y2="ci_upper:Q"),
        base.mark_line(color=VALUE, point=alt.OverlayMarkDef(color=VALUE, size=50)).encode(
            y=alt.Y("value:Q", title=unit_label),
            tooltip=[alt.Tooltip(f"{x}:O", title="Window"), alt.Tooltip("value:Q", format=",.2f", title="Value"),
                     alt.Tooltip("status:N", title="Status")]),
    ]
    if data.national_standard.notna().any():
        layers.append(base.mark_line(color=STANDARD, strokeDash=[6, 4], strokeWidth=2).encode(
            y="national_standard:Q", tooltip=[alt.Tooltip("national_standard:Q", title="National standard")]))
    if data.target.notna().any():
        layers.append(base.mark_line(color=TARGET, strokeDash=[2, 2], strokeWidth=2,
                                     point=alt.OverlayMarkDef(color=TARGET, shape="diamond")).encode(
            y="target:Q", tooltip=[alt.Tooltip("target:Q", title="SIP target")]))
    chart = alt.layer(*layers).properties(
        width="container", height=260, title=title,
        description=f"{title}: value per window with 95% interval"
        + ("; dashed vermillion line: national standard" if data.national_standard.notna().any() else "")
        + ("; dotted green line: SIP target" if data.target.notna().any() else ""),
    )
    return _config(chart).to_dict()


def small_multiples(rows: pd.DataFrame, *, title: str, unit_label: str, columns: int = 6) -> dict:
    """One small trend per county (`name` column), sharing the y scale."""
    data = _frame(rows, ["name", "window", "value", "national_standard"])
    base = alt.Chart(alt.Data(values=data.to_dict("records")))
    # 58 small charts of marks would swamp a screen reader: the figure's label and the table
    # carry the content, so the marks stay out of the accessibility tree.
    lines = base.mark_line(color=VALUE, aria=False, point=alt.OverlayMarkDef(color=VALUE, size=15, aria=False)).encode(
        x=alt.X("window:O", title=None, axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("value:Q", title=unit_label),
        tooltip=[alt.Tooltip("name:N", title="County"), alt.Tooltip("window:O", title="Window"),
                 alt.Tooltip("value:Q", format=",.2f", title="Value")],
    )
    layers = [lines]
    if data.national_standard.notna().any():
        layers.append(base.mark_line(color=STANDARD, strokeDash=[4, 3], aria=False).encode(
            x="window:O", y="national_standard:Q"))
    chart = alt.layer(*layers).properties(width=110, height=70).facet(
        facet=alt.Facet("name:N", title=None, sort=None), columns=columns
    ).properties(title=title, description=f"{title}: one small trend chart per county")
    return _config(chart).to_dict()


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
    return _config(chart).to_dict()
