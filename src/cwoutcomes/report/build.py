"""Writing the reports of many geographies: the shared preparation once (content.prepare), then
per geography the charts (SVG), the HTML, the PDF, the workbook and the CSV files, in worker
processes when asked (each report is independent; the prepared data reach the workers by
fork, not by pickling)."""

from __future__ import annotations

import html as _html
import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model.tables import STATE
from cwoutcomes.report.content import ReportData, build_report
from cwoutcomes.report.document import Report

FORMATS = ("html", "pdf", "xlsx", "csv")


@dataclass
class Written:
    geo: str
    name: str
    folder: Path
    files: dict[str, Path]
    seconds: dict[str, float] = field(default_factory=dict)


def report_charts(report: Report) -> dict[str, str]:
    """SVG of every chart in the report: key `<anchor>` for a measure's trend and
    `<anchor>-counties` for the state report's small multiples."""
    from cwoutcomes.report.charts import render_svg, small_multiples, trend_chart

    svgs = {}
    for block in report.measure_blocks():
        std, target = block.standard, block.target
        svgs[block.info.anchor] = render_svg(trend_chart(
            block.chart_data, unit_label=block.info.unit_label,
            reference=std.reference if std else None, reference_label=std.label if std else "",
            target=target.reference if target else None,
            description=f"{block.info.id} {block.info.name}: trend for {report.geo_name}"))
        if block.county_chart_data is not None and len(block.county_chart_data):
            svgs[block.info.anchor + "-counties"] = render_svg(small_multiples(
                block.county_chart_data, state=block.chart_data, unit_label=block.info.unit_label,
                reference=std.reference if std else None,
                description=f"{block.info.id} {block.info.name}: trend by county"))
    return svgs


def slug(data: ReportData, geo: str) -> str:
    if geo == STATE:
        return "state"
    name = re.sub(r"[^a-z0-9]+", "-", data.geo_name(geo).lower()).strip("-")
    return f"{geo}-{name}" if name and name != geo else geo


def write_one(data: ReportData, geo: str, out_dir: Path, formats: Sequence[str]) -> Written:
    from cwoutcomes.report.csv import write_csv_tables
    from cwoutcomes.report.excel import write_workbook
    from cwoutcomes.report.html import render_html
    from cwoutcomes.report.pdf import write_pdf

    seconds = {}
    t = time.perf_counter()
    report = build_report(data, geo)
    seconds["content"] = time.perf_counter() - t
    name = slug(data, geo)
    folder = Path(out_dir) / name
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"cwoutcomes-{name}-{data.quarter}{'-public' if data.public else ''}"
    files = {}
    html = None
    if "html" in formats or "pdf" in formats:
        t = time.perf_counter()
        svgs = report_charts(report)
        seconds["charts"] = time.perf_counter() - t
        t = time.perf_counter()
        html = render_html(report, svgs)
        seconds["html"] = time.perf_counter() - t
        if "html" in formats:
            files["html"] = folder / f"{stem}.html"
            files["html"].write_text(html, encoding="utf-8")
    if "pdf" in formats:
        t = time.perf_counter()
        files["pdf"] = write_pdf(html, folder / f"{stem}.pdf")
        seconds["pdf"] = time.perf_counter() - t
    if "xlsx" in formats:
        t = time.perf_counter()
        files["xlsx"] = write_workbook(report, folder / f"{stem}.xlsx")
        seconds["xlsx"] = time.perf_counter() - t
    if "csv" in formats:
        t = time.perf_counter()
        write_csv_tables(report, folder / "csv")
        files["csv"] = folder / "csv"
        seconds["csv"] = time.perf_counter() - t
    return Written(geo, report.geo_name, folder, files, seconds)


_DATA: ReportData | None = None  # the prepared data, inherited by forked workers


def _init_worker(data: ReportData) -> None:
    global _DATA
    _DATA = data


def _work(geo: str, out_dir: str, formats: tuple[str, ...]) -> Written:
    assert _DATA is not None
    return write_one(_DATA, geo, Path(out_dir), formats)


def resolve_geographies(data: ReportData, counties: Sequence[str] = (), all_: bool = False) -> list[str]:
    """`--all`: the state and every county in the results; `--county` codes or names; neither:
    the state."""
    if all_:
        return data.geographies()
    if not counties:
        return [STATE]
    by_name = {data.geo_name(g).lower(): g for g in data.by_geo}
    out = []
    for item in counties:
        key = item.strip()
        geo = key if key in data.by_geo else by_name.get(key.lower())
        if geo is None and key.isdigit() and len(key) <= 3:
            geo = f"06{int(key):03d}" if f"06{int(key):03d}" in data.by_geo else None
        if geo is None:
            raise CwoutcomesError(f"--county {item}: no such county in the results (use a 5-digit FIPS "
                                  f"code such as 06037 or a name such as 'Los Angeles')")
        out.append(geo)
    return list(dict.fromkeys(out))


def write_reports(data: ReportData, geos: Sequence[str], out_dir: Path, *, formats: Sequence[str] = FORMATS,
                  workers: int = 1, progress: Callable[[str, int, int], None] | None = None) -> list[Written]:
    """Write the reports of `geos` into `out_dir/<geography>/`, plus `out_dir/index.html`."""
    global _DATA
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise CwoutcomesError(f"--formats: unknown format(s) {', '.join(unknown)} (use {', '.join(FORMATS)})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Written] = []
    workers = max(1, min(workers, len(geos)))
    if workers == 1:
        for i, geo in enumerate(geos):
            if progress:
                progress(data.geo_name(geo), i, len(geos))
            written.append(write_one(data, geo, out_dir, tuple(formats)))
    else:
        from cwoutcomes.report import charts

        _DATA = data
        try:
            # Fork shares the prepared data for free, but not once this process has started
            # vl-convert's JavaScript runtime (its threads do not survive a fork): then spawn
            # and send the data to each worker once.
            if charts.runtime_started():
                context, init = multiprocessing.get_context("spawn"), (_init_worker, (data,))
            else:
                context, init = multiprocessing.get_context("fork"), (None, ())
            with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init[0],
                                     initargs=init[1]) as pool:
                futures = [pool.submit(_work, geo, str(out_dir), tuple(formats)) for geo in geos]
                for i, future in enumerate(as_completed(futures)):
                    result = future.result()
                    written.append(result)
                    if progress:
                        progress(result.name, i + 1, len(geos))
        finally:
            _DATA = None
        order = {geo: i for i, geo in enumerate(geos)}
        written.sort(key=lambda w: order[w.geo])
    if progress:
        progress("done", len(geos), len(geos))
    write_index(data, written, out_dir)
    return written


def write_index(data: ReportData, written: list[Written], out_dir: Path) -> Path:
    """A plain index page linking every report written."""
    rows = []
    for w in written:
        links = " · ".join(f'<a href="{_html.escape(str(p.relative_to(out_dir)))}">{kind}</a>'
                           for kind, p in w.files.items())
        rows.append(f"<tr><td>{_html.escape(w.name)}</td><td>{_html.escape(w.geo)}</td><td>{links}</td></tr>")
    mark = "Public: small counts masked" if data.public else "CONFIDENTIAL — contains small counts"
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Quarterly data reports "
            f"{data.quarter}</title></head><body style=\"font-family: sans-serif\"><h1>Quarterly data reports, "
            f"{data.quarter}</h1><p>{mark}</p><table><tr><th>Geography</th><th>Code</th><th>Files</th></tr>"
            + "".join(rows) + "</table></body></html>")
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))
