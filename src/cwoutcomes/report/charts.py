"""Trend charts as Vega-Lite (Altair), rendered to SVG without a browser by vl-convert.

`trend_chart` and `small_multiples` return Altair charts (the web dashboard embeds the same
charts interactively); `render_svg` turns one into an SVG string for the HTML and PDF reports.
Chart data has one row per period and series: `period_label`, `series` (geography name),
`value`, `ci_lower`, `ci_upper` (NaN where the cell shows no value: masked, data quality, ...)
and `state` (the report cell state), as `content.chart_frame` makes it. Values hidden by
masking are NaN before they reach a chart, so no chart can show them."""

from __future__ import annotations

import functools
import itertools
import json
import re
from importlib import resources
from pathlib import Path

import altair as alt
import pandas as pd

# vl-convert finds fonts by typographic family, under which the condensed DejaVu is only a
# width of "DejaVu Sans"; charts therefore use the regular width (shipped as DejaVuSans.ttf).
FONT = "DejaVu Sans"
PRIMARY = "#1f4e79"
SECONDARY = "#9a9a9a"
REFERENCE = "#a93226"
TARGET = "#b9770e"
# Short labels written at the foot of the plot where a window has no plotted value, so that a
# gap in the line is never unexplained.
GAP_LABELS = {"masked": "masked", "data_quality": "DQ", "not_available": "n/a", "no_cases": "none",
              "no_estimate": "n.e.", "no_data": "–"}


def fonts_dir() -> Path:
    return Path(str(resources.files("cwoutcomes.report").joinpath("fonts")))


# Normal weight throughout: only the regular DejaVu Sans is shipped for charts. One Config
# object set once (each `configure_*` call would deep-copy the whole chart).
CONFIG = alt.Config(
    font=FONT, background="white",
    axis=alt.AxisConfig(labelFontSize=9, titleFontSize=9, titleFontWeight="normal", grid=True,
                        gridColor="#e6e6e6", domainColor="#888", tickColor="#888"),
    legend=alt.LegendConfig(labelFontSize=9, titleFontSize=9, titleFontWeight="normal", orient="top",
                            symbolSize=60),
    view=alt.ViewConfig(stroke=None),
    title=alt.TitleConfig(fontSize=10, fontWeight="normal", anchor="start"),
    header=alt.HeaderConfig(labelFontWeight="normal"),
)


def _records(frame: pd.DataFrame) -> dict:
    """Inline data as JSON-ready records (NaN -> null), given once to the top-level chart.
    Altair would otherwise hash every layer's DataFrame through its text representation and
    deep-copy the values with every layer, which made up most of a chart's cost."""
    return {"values": frame.astype(object).where(frame.notna(), None).to_dict("records")}


def _y_axis(unit_label: str, **kwargs) -> alt.Y:
    return alt.Y("value:Q", title=unit_label, scale=alt.Scale(zero=False, nice=True), **kwargs)


def trend_chart(data: pd.DataFrame, *, unit_label: str = "", reference: float | None = None,
                reference_label: str = "national standard", target: float | None = None,
                target_label: str = "SIP target", title: str | None = None, width: int = 520,
                height: int = 100, description: str | None = None) -> alt.LayerChart:
    """Trend over the windows: the first series (the report's geography) with its 95% interval
    band, other series (the state) in grey, the reference value and the SIP target as labelled
    rules, hollow points for incomplete windows and a short label under windows without a
    plotted value."""
    series = list(dict.fromkeys(data.series))
    primary = series[0] if series else ""
    labels = list(dict.fromkeys(data.period_label))
    # More than a dozen windows: slanted labels, so that they do not run into each other.
    x = alt.X("period_label:O", title=None, sort=labels,
              axis=alt.Axis(labelAngle=0 if len(labels) <= 12 else -40, labelFontSize=8, grid=False))
    color = alt.Color("series:N", title=None, sort=series,
                      scale=alt.Scale(domain=series, range=[PRIMARY] + [SECONDARY] * (len(series) - 1)),
                      legend=alt.Legend(orient="top") if len(series) > 1 else None)
    base = alt.Chart().encode(x=x)
    is_primary = f"datum.series === {json.dumps(primary)}"
    layers = [
        base.transform_filter(is_primary).mark_area(opacity=0.15, color=PRIMARY).encode(
            y=alt.Y("ci_lower:Q", title=unit_label), y2="ci_upper:Q"),
        # Null values break the path, so a gap is not bridged by a line.
        base.mark_line(strokeWidth=2, invalid="break-paths-filter-domains").encode(
            y=_y_axis(unit_label), color=color, detail="series:N"),
        base.transform_filter("datum.state === 'ok'").mark_point(filled=True, size=28).encode(
            y=_y_axis(unit_label), color=color),
        base.transform_filter("datum.state === 'incomplete'").mark_point(
            filled=False, size=34, strokeWidth=1.5).encode(y=_y_axis(unit_label), color=color),
    ]
    if (data[data.series == primary].value.isna()).any():
        layers.append(base.transform_filter(f"{is_primary} && !isValid(datum.value)").transform_calculate(
            gap=f"{json.dumps(GAP_LABELS)}[datum.state] || '–'").mark_text(
            fontSize=8, color="#555", baseline="bottom").encode(y=alt.value(height - 2), text="gap:N"))
    for value, label, colour, dash in ((reference, reference_label, REFERENCE, [6, 3]),
                                       (target, target_label, TARGET, [2, 2])):
        if value is None or value != value:
            continue
        rule = {"values": [{"y": float(value), "label": label}]}
        layers.append(alt.Chart(rule).mark_rule(color=colour, strokeDash=dash, strokeWidth=1.3).encode(
            y=alt.Y("y:Q")))
        layers.append(alt.Chart(rule).mark_text(color=colour, align="right", dy=-5, fontSize=8).encode(
            y=alt.Y("y:Q"), x=alt.value(width - 2), text="label:N"))
    chart = alt.LayerChart(layer=layers, data=_records(data), width=width, height=height, config=CONFIG)
    if title:
        chart.title = title
    if description:
        chart.description = description
    return chart


def small_multiples(data: pd.DataFrame, *, state: pd.DataFrame | None = None, unit_label: str = "",
                    reference: float | None = None, columns: int = 6, width: int = 100,
                    height: int = 52, description: str | None = None) -> alt.FacetChart:
    """One small panel per county (alphabetical), the county's trend over the state's (grey)
    and the reference value as a dashed rule, on a shared scale."""
    counties = sorted(data.series.unique())
    panels = data.assign(panel=data.series, kind="county")
    if state is not None and len(state):
        copies = [state.assign(panel=name, kind="state") for name in counties]
        panels = pd.concat([panels] + copies, ignore_index=True)
    if reference is not None and reference == reference:
        panels = panels.assign(reference=float(reference))
    labels = list(dict.fromkeys(data.period_label))
    # No x axis and no vertical grid: 58 panels x 20 windows of grid lines made the SVG ~280 KB.
    x = alt.X("period_label:O", sort=labels, title=None, axis=None)
    kind_color = alt.Color("kind:N", scale=alt.Scale(domain=["county", "state"], range=[PRIMARY, SECONDARY]),
                           legend=alt.Legend(title=None, orient="top"))
    base = alt.Chart().encode(x=x)
    layers = [base.mark_line(strokeWidth=1.3, invalid="break-paths-filter-domains").encode(
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(tickCount=3, labelFontSize=7)),
        color=kind_color, detail="kind:N")]
    if "reference" in panels.columns:
        layers.append(alt.Chart().mark_rule(color=REFERENCE, strokeDash=[4, 2], strokeWidth=1).encode(
            y="mean(reference):Q"))
    chart = alt.FacetChart(
        spec=alt.LayerChart(layer=layers, width=width, height=height), data=_records(panels),
        facet=alt.Facet("panel:N", title=None, sort=counties, header=alt.Header(labelFontSize=8, labelPadding=2)),
        columns=columns, spacing=6, config=CONFIG, resolve=alt.Resolve(scale=alt.ScaleResolveMap(y="shared")),
    )
    if description:
        chart.description = description
    return chart


@functools.cache
def _register_fonts() -> None:
    import vl_convert as vlc

    vlc.register_font_directory(str(fonts_dir()))


def runtime_started() -> bool:
    """Whether this process has used vl-convert (whose runtime threads a fork would lose)."""
    return _register_fonts.cache_info().currsize > 0


def _vl_version() -> str:
    match = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{match.group(1)}.{match.group(2)}"


_ids = itertools.count(1)


def render_svg(chart: alt.TopLevelMixin) -> str:
    """SVG text of a chart, with its element ids made unique (several charts are inlined in one
    HTML page, and Vega numbers its clip paths from 1 in every chart)."""
    import vl_convert as vlc

    _register_fonts()
    svg = vlc.vegalite_to_svg(chart.to_dict(validate=False), vl_version=_vl_version())
    prefix = f"c{next(_ids)}-"
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    return svg
