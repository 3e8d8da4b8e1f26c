"""Quarterly report tests on a hand-made results table (every number below is set by hand and
its expected display worked out by hand): sections, values, direction-aware comparisons,
significance marks, the four cell states, ranks, and masking in HTML, PDF, Excel and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from cwoutcomes.engine.periods import parse_window
from cwoutcomes.measures.base import Measure
from cwoutcomes.report import format as fmt
from cwoutcomes.report.build import write_reports
from cwoutcomes.report.content import QualityData, build_report, prepare
from cwoutcomes.stats.intervals import poisson_rate_interval, wilson_interval

LA, ALAMEDA, SF, SAC = "06037", "06001", "06075", "06067"
SCALE = {"percent": 100.0, "per_100k_days": 100_000.0, "per_1000_children": 1000.0}


def _measure(id_, version, name, unit, direction, standard=None, **extra):
    return Measure(id=id_, version=version, name=name, unit=unit, direction=direction, units=lambda ds, w: None,
                   definition=f"Definition of {id_}.", national_standard=standard, **extra)


REGISTRY = {m.id: m for m in (
    _measure("4-S1", "cfsr4", "Maltreatment in foster care", "per_100k_days", "lower", 9.07),
    _measure("4-ER", "cfsr4", "Foster care entry rate", "per_1000_children", "none"),
    _measure("4-P4", "cfsr4", "Re-entry to foster care in 12 months", "percent", "lower", 5.6, follow_up_months=12),
    _measure("4-P1", "cfsr4", "Permanency in 12 months for children entering care", "percent", "higher", 35.2,
             follow_up_months=12, dq_checks=("missing_exit_reason",)),
    _measure("4-P2", "cfsr4", "Permanency in 12 months for children in care 12-23 months", "percent", "higher", 43.8),
    _measure("3-P2", "cfsr3", "Permanency in 12 months for children in care 12-23 months", "percent", "higher", 43.6),
    _measure("CPM-CFT", "cpm", "Engagement through teaming", "percent", "higher"),
    _measure("X-1", "ca", "A measure outside the framework", "percent", "higher"),
)}


def row(measure, label, county, num, den, status="ok", stratum="all", value_of="all", target=np.nan):
    m = REGISTRY[measure]
    window = parse_window(label)
    if m.unit == "percent":
        lo, hi = (x * 100 for x in wilson_interval([num], [den]))
    else:
        lo, hi = (x * SCALE[m.unit] for x in poisson_rate_interval([num], [den]))
    shown = status in ("ok", "incomplete") and den > 0
    return {
        "measure_id": measure, "measure_version": m.version, "period_type": "year", "period_label": label,
        "period_start": window.start, "period_end": window.end, "county": county, "stratum": stratum,
        "stratum_value": value_of, "numerator": float(num), "denominator": float(den),
        "value": num / den * SCALE[m.unit] if shown else np.nan, "unit": m.unit, "status": status,
        "national_standard": m.national_standard if m.national_standard is not None else np.nan,
        "target": target, "ci_lower": lo[0] if shown else np.nan, "ci_upper": hi[0] if shown else np.nan,
        "reference_median": np.nan,
    }


def tiny_results() -> pd.DataFrame:
    rows = []
    # 4-P1 (higher is better, national performance 35.2): state 120/300 = 40.0% (met, 113.6%),
    # a year earlier 90/300 = 30.0%: +10.0 pts, z = 2.5678, p = 0.0102 (significant).
    for label, num in (("2024Q2", 90), ("2024Q3", 96), ("2024Q4", 105), ("2025Q1", 111), ("2025Q2", 120)):
        rows.append(row("4-P1", label, "state", num, 300))
    # Los Angeles 60/200 = 30.0% (not met, 85.2%; SIP target 32.0 -> off track); a year earlier
    # 66/200 = 33.0%: -3.0 pts, p = 0.518 (not significant).
    for label, num in (("2024Q2", 66), ("2024Q3", 64), ("2024Q4", 62), ("2025Q1", 61)):
        rows.append(row("4-P1", label, LA, num, 200))
    rows.append(row("4-P1", "2025Q2", LA, 60, 200, target=32.0))
    rows += [row("4-P1", "2025Q2", LA, n, d, stratum="age_group", value_of=v)
             for v, n, d in (("6-10", 33, 80), ("0-3m", 3, 22), ("1-5", 24, 98))]
    rows += [row("4-P1", "2025Q2", LA, n, d, stratum="sex", value_of=v) for v, n, d in (("male", 32, 100), ("female", 28, 100))]
    rows.append(row("4-P1", "2025Q2", ALAMEDA, 7, 9))  # 77.8%: a small count, masked in public
    rows.append(row("4-P1", "2025Q2", SAC, 20, 50))  # 40.0%: complementary suppression in public
    rows.append(row("4-P1", "2025Q2", SF, 30, 60, status="data_quality"))
    # 4-P4 (lower is better, 5.6): state 12/200 = 6.0% incomplete (not met, 93.3%); a year earlier
    # 20/200 = 10.0%: -4.0 pts, better, p = 0.140. Los Angeles 8/200 = 4.0%: met (140%).
    rows.append(row("4-P4", "2024Q2", "state", 20, 200))
    rows.append(row("4-P4", "2025Q2", "state", 12, 200, status="incomplete"))
    rows.append(row("4-P4", "2025Q2", LA, 8, 200, status="incomplete"))
    # 4-S1 (per 100,000 days, lower, 9.07): state 12 / 100,000 days = 12.00 (not met, 75.6%); a
    # year earlier 2 / 100,000 = 2.00: +10.00, exact p = 2 x 106/16384 = 0.0129 (significant).
    rows.append(row("4-S1", "2024Q2", "state", 2, 100_000))
    rows.append(row("4-S1", "2025Q2", "state", 12, 100_000))
    rows.append(row("4-S1", "2025Q2", LA, 11, 40_000))
    # 4-ER: not available (no population table).
    for county in ("state", LA):
        rows.append(row("4-ER", "2025Q2", county, np.nan, np.nan, status="not_available"))
    for measure in ("4-P2", "3-P2"):
        rows += [row(measure, "2025Q2", "state", 45, 100), row(measure, "2025Q2", LA, 22, 50)]
    rows.append(row("CPM-CFT", "2025Q2", "state", 50, 80))
    rows.append(row("CPM-CFT", "2025Q2", LA, 20, 40))
    rows.append(row("X-1", "2025Q2", "state", 10, 20))
    rows.append(row("X-1", "2025Q2", LA, 0, 0))  # denominator 0: value null, status ok
    return pd.DataFrame(rows)


NAMES = {LA: "Los Angeles", ALAMEDA: "Alameda", SF: "San Francisco", SAC: "Sacramento"}


def tiny_quality() -> QualityData:
    start1, start2 = dt.date(2024, 10, 1), dt.date(2025, 4, 1)
    checks = pd.DataFrame([
        {"county": LA, "dq_start": start1, "check": "missing_exit_reason", "failing": 3.0, "total": 120.0},
        {"county": LA, "dq_start": start2, "check": "missing_exit_reason", "failing": 18.0, "total": 120.0},
        {"county": "state", "dq_start": start2, "check": "missing_exit_reason", "failing": 20.0, "total": 400.0},
    ])
    checks["rate"] = checks.failing / checks.total
    checks["limit"] = 0.10
    checks["passed"] = checks.rate <= checks.limit
    records = pd.DataFrame([{"county": LA, "rule": "R9", "records": 4.0}, {"county": LA, "rule": "R4", "records": 25.0}])
    return QualityData(checks, records, {"missing_exit_reason": ("missing exit reason", "exits in the period")})


def prepared(public=False, quality=True):
    return prepare(tiny_results(), "2025Q2", public=public, quality=tiny_quality() if quality else None,
                   registry=REGISTRY, county_names=NAMES, generated=dt.date(2025, 8, 1))


def block_of(report, measure_id):
    return next(b for b in report.measure_blocks() if b.info.id == measure_id)


# -- content ------------------------------------------------------------------------------------
def test_measures_in_the_right_sections():
    report = build_report(prepared(), LA)
    where = {b.info.id: (s.key, o.title) for s in report.sections for o in s.outcomes for b in o.measures}
    assert where["4-S1"] == ("safety", "Fewer children are abused and/or neglected while in foster care")
    assert where["4-ER"] == ("safety", "Fewer children enter foster care")
    assert where["4-P4"] == ("permanency_stability", "Fewer children re-enter foster care")
    assert where["4-P1"] == ("permanency_stability", "Children are reunified with their parents or caretakers more quickly")
    # 3-P2 is not in the framework: it joins its Round 4 twin of the same name.
    adoption = "Children who are freed for adoption enter permanent homes more quickly"
    assert where["4-P2"] == where["3-P2"] == ("permanency_stability", adoption)
    assert [b.info.id for b in report.practice_measures] == ["CPM-CFT"]
    assert [b.info.id for b in report.other] == ["X-1"]
    # Outcomes without a measure keep their heading (the report shows what is not measured).
    well_being = next(s for s in report.sections if s.key == "well_being")
    assert "Foster children make more educational progress and attend school more" in [o.title for o in well_being.outcomes]
    # Practice Model: CPM-CFT is a process measure of "engaging", next to the outcomes it targets.
    engaging = next(c for c in report.practice if c.key == "engaging")
    assert [r["measure"] for r in engaging.process.rows if r["measure"].startswith("CPM-CFT")] == \
        ["CPM-CFT Engagement through teaming"] * 1
    assert any(r["measure"].startswith("4-P1 ") for r in engaging.outcomes.rows)
    # Cover: the Round 4 measures (headline versions) and those with a SIP target, not CPM.
    assert [r["measure"].split()[0] for r in report.cover.rows] == ["4-ER", "4-S1", "4-P4", "4-P1", "4-P2"]


def test_values_equal_the_results_table():
    data = prepared()
    results = data.results
    for geo in ("state", LA):
        report = build_report(data, geo)
        for block in report.measure_blocks():
            source = results[(results.measure_id == block.info.id) & (results.county == geo)
                             & (results.stratum == "all") & (results.period_label == "2025Q2")].iloc[0]
            cell = block.current
            for name in ("value", "numerator", "denominator", "ci_lower", "ci_upper"):
                a, b = getattr(cell, name), source[name]
                assert (math.isnan(a) and pd.isna(b)) or a == b, (geo, block.info.id, name)
    la = block_of(build_report(data, LA), "4-P1")
    assert [r["cell"].numerator for r in la.trend.rows] == [66, 64, 62, 61, 60]
    assert [r["state_cell"].value for r in la.trend.rows] == pytest.approx([30.0, 32.0, 35.0, 37.0, 40.0])
    assert fmt.cell_value_text(la.current) == "30.0%"


def test_direction_aware_met_and_targets():
    state, la = build_report(prepared(), "state"), build_report(prepared(), LA)
    p1, p1_la = block_of(state, "4-P1"), block_of(la, "4-P1")
    assert (p1.standard.label, p1.standard.outcome) == ("national performance", "met")
    assert p1.standard.percent_of == pytest.approx(40.0 / 35.2 * 100)
    assert p1_la.standard.outcome == "not met" and fmt.comparison_text(p1_la.standard) == "not met (85%)"
    assert (p1_la.target.reference, p1_la.target.outcome) == (32.0, "off track")
    # Lower is better: 6.0% against 5.6 is not met (5.6/6.0 = 93%), 4.0% is met (140%).
    p4, p4_la = block_of(state, "4-P4"), block_of(la, "4-P4")
    assert fmt.comparison_text(p4.standard) == "not met (93%)"
    assert fmt.comparison_text(p4_la.standard) == "met (140%)"
    s1 = block_of(state, "4-S1")
    assert fmt.value_text(s1.current.value, s1.info.unit) == "12.00" and s1.standard.outcome == "not met"
    er = block_of(state, "4-ER")
    assert er.standard is None  # a context measure has no reference


def test_changes_and_significance_marks():
    state, la = build_report(prepared(), "state"), build_report(prepared(), LA)
    p1 = block_of(state, "4-P1").change
    assert p1.difference == pytest.approx(10.0) and p1.p_value == pytest.approx(0.010236, abs=1e-6)
    assert fmt.change_text(p1, verdict=True) == "+10.0 pts* (better)"
    assert fmt.change_text(block_of(la, "4-P1").change, verdict=True) == "−3.0 pts (worse)"
    assert fmt.change_text(block_of(state, "4-P4").change, verdict=True) == "−4.0 pts (better)"
    s1 = block_of(state, "4-S1").change
    assert s1.test == "poisson" and s1.p_value == pytest.approx(2 * 106 / 16384)
    assert fmt.change_text(s1, verdict=True) == "+10.00* (worse)"


def test_four_cell_states_and_no_cases():
    la = build_report(prepared(), LA)
    assert block_of(la, "4-P4").current.state == "incomplete"
    assert fmt.cell_value_text(block_of(la, "4-P4").current) == "4.0% †"
    assert fmt.cell_value_text(block_of(la, "4-ER").current) == "not available"
    assert fmt.cell_value_text(block_of(la, "X-1").current) == "no cases"
    state = build_report(prepared(), "state")
    sf = next(r for r in block_of(state, "4-P1").counties.rows if r["code"] == SF)
    assert fmt.cell_value_text(sf["cell"]) == "data quality"
    public_la = build_report(prepared(public=True), LA)
    strata = {r["group"]: r["cell"] for r in block_of(public_la, "4-P1").strata.rows}
    # 0-3m has 3 children (masked); 1-5 is the next smallest cell of the set (complementary).
    assert [fmt.cell_value_text(strata[g]) for g in ("0-3m", "1-5", "6-10")] == ["masked", "masked", "41.3%"]
    assert fmt.cell_count_text(strata["0-3m"], "numerator") == "masked"


def test_strata_order_and_labels():
    la = build_report(prepared(), LA)
    rows = block_of(la, "4-P1").strata.rows
    assert [(r["stratum"], r["group"]) for r in rows] == [
        ("Age group", "0-3m"), ("Age group", "1-5"), ("Age group", "6-10"), ("Sex", "Female"), ("Sex", "Male")]


def test_ranks_among_counties():
    la = build_report(prepared(), LA)
    # 4-P1: Alameda 77.8%, Sacramento 40.0%, Los Angeles 30.0%; San Francisco has no value.
    assert fmt.rank_text(block_of(la, "4-P1").rank) == "3 of 3"
    assert fmt.rank_text(block_of(la, "4-S1").rank) == "1 of 1"
    public = build_report(prepared(public=True), LA)
    # Public: Alameda is masked, Sacramento masked too (the next smallest county of the set),
    # and masked counties are not ranked.
    assert fmt.rank_text(block_of(public, "4-P1").rank) == "1 of 1"
    state = build_report(prepared(public=True), "state")
    table = {r["code"]: r for r in block_of(state, "4-P1").counties.rows}
    assert [fmt.cell_value_text(table[c]["cell"]) for c in (ALAMEDA, LA, SAC, SF)] == \
        ["masked", "30.0%", "masked", "data quality"]


def test_quality_section():
    la = build_report(prepared(), LA)
    q = la.quality
    limits = q.limits.rows[0]
    assert limits["check"] == "missing exit reason" and limits["limit"] == 0.10
    assert [limits[k].passed for k in ("p202410", "p202504")] == [True, False]
    assert q.flagged.rows[0]["period"] == "Apr 2025–Sep 2025"
    assert q.flagged.rows[0]["measures"] == "4-P1"  # the measure whose dq_checks name the check
    assert {r["rule"]: r["records"] for r in q.records.rows} == {"R9": 4.0, "R4": 25.0}
    public = build_report(prepared(public=True), LA).quality
    assert public.limits.rows[0]["p202410"].masked  # 3 failing records: a small count
    assert {r["rule"]: r["state"] for r in public.records.rows} == {"R9": "masked", "R4": "ok"}
    without = build_report(prepared(quality=False), LA).quality
    assert not without.available and "--db" in without.note


def test_unknown_quarter_and_county_are_clear_errors():
    from cwoutcomes.errors import CwoutcomesError
    from cwoutcomes.report.build import resolve_geographies

    with pytest.raises(CwoutcomesError, match="no window 2026Q1"):
        prepare(tiny_results(), "2026Q1", registry=REGISTRY, county_names=NAMES)
    data = prepared()
    assert resolve_geographies(data, ["los angeles", "state"]) == [LA, "state"]
    assert resolve_geographies(data, [], all_=True)[0] == "state"
    with pytest.raises(CwoutcomesError, match="--county 06999"):
        resolve_geographies(data, ["06999"])


def test_chart_data_never_holds_masked_values():
    from cwoutcomes.report.charts import small_multiples, trend_chart

    state = build_report(prepared(public=True), "state")
    block = block_of(state, "4-P1")
    counties = block.county_chart_data
    alameda = counties[(counties.series == "Alameda") & (counties.period_label == "2025Q2")].iloc[0]
    assert math.isnan(alameda.value) and alameda.state == "masked"
    spec = small_multiples(block.county_chart_data, state=block.chart_data, reference=35.2).to_dict(validate=False)
    points = [p for values in spec["datasets"].values() for p in values]
    assert {p["series"] for p in points if p["value"] is not None and p["kind"] == "county"} == {"Los Angeles"}
    chart = trend_chart(block.chart_data, unit_label="%", reference=35.2, reference_label="national performance")
    assert chart.to_dict(validate=False)["layer"]  # an Altair chart the dashboard can embed


# -- outputs ------------------------------------------------------------------------------------
class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self._in, self._buf, self._cls = [], False, [], ""

    def handle_starttag(self, tag, attrs):
        if tag == "td":
            self._in, self._buf, self._cls = True, [], dict(attrs).get("class", "")

    def handle_endtag(self, tag):
        if tag == "td" and self._in:
            self.cells.append(("".join(self._buf).strip(), self._cls))
            self._in = False

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


def _text_of(html: str) -> str:
    """The HTML without its inline SVG charts, whose coordinates are numbers too (charts print
    no values; what they plot is checked in test_chart_data_never_holds_masked_values)."""
    return re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("<section", start)
    return html[start:end if end > 0 else None]


@pytest.fixture(scope="module")
def public_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("public")
    data = prepared(public=True)
    written = write_reports(data, [LA], out) + write_reports(data, ["state"], out, formats=("html",))
    return {w.geo: w for w in written}


@pytest.fixture(scope="module")
def secure_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("secure")
    written = write_reports(prepared(), [LA], out, formats=("html", "pdf"))
    return {w.geo: w for w in written}


# The hidden numbers of the public build: Alameda 7/9 = 77.8%, Sacramento 20/50 = 40.0% (its
# complementary partner; 40.0% is also the state's 4-P1, so only the county table is checked for
# it), Los Angeles 0-3m 3/22 = 13.6% (CI 4.7-33.3) and 1-5 24/98 = 24.5%.
HIDDEN = ("77.8", "13.6%", "24.5%", "4.7–", "33.3")


def test_html_sections_and_cells(public_build):
    html = _text_of(public_build[LA].files["html"].read_text())
    assert 'id="m-4-S1"' in _section(html, "area-safety")
    assert 'id="m-4-P1"' in _section(html, "area-permanency_stability")
    assert 'id="m-CPM-CFT"' in _section(html, "practice") and 'id="m-X-1"' in _section(html, "other")
    raw = public_build[LA].files["html"].read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", raw) and "url(http" not in raw  # works offline
    assert "<script" not in raw and 'xmlns="http://www.w3.org/2000/svg"' in raw
    parser = _Text()
    parser.feed(_section(html, "m-4-P1"))
    cells = parser.cells
    assert ("masked", "num value st-masked col-value") in cells
    assert ("41.3%", "num value col-value") in cells
    assert any(text == "−3.0 pts" for text, _ in cells)
    parser = _Text()
    parser.feed(_section(html, "summary"))
    texts = [t for t, _ in parser.cells]
    assert "not available" in texts and "4.0% †" not in texts  # LA 4-P4 has 8 re-entries: masked
    assert "masked" in texts and "30.0%" in texts and "off track (94%)" in texts
    for hidden in HIDDEN:
        assert hidden not in html, hidden


def test_state_html_masks_counties_and_keeps_marks(public_build):
    html = _text_of(public_build["state"].files["html"].read_text())
    assert "77.8" not in html
    parser = _Text()
    parser.feed(_section(html, "m-4-P1"))
    rows = [t for t, _ in parser.cells]
    i = rows.index("Sacramento")
    assert rows[i + 2: i + 6] == ["masked", "masked", "masked", "masked"]  # num, den, value, CI
    summary = _section(html, "summary")
    assert "+10.00*" not in summary  # 4-S1: the state's 2024Q2 count (2) is small, so no change...
    parser = _Text()
    parser.feed(summary)
    assert ("+10.0 pts*", "num change better sig col-change") in parser.cells  # ...4-P1's is shown
    assert ("year earlier masked", "num change st-none col-change") in parser.cells


def test_pdf_text_pages_and_masking(public_build, secure_build):
    from pypdf import PdfReader

    reader = PdfReader(str(public_build[LA].files["pdf"]))
    text = "\n".join(page.extract_text() for page in reader.pages)
    pages = len(reader.pages)
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert "Public: small counts masked" in text and "CONFIDENTIAL" not in text
    assert "masked" in text and "41.3%" in text
    for hidden in HIDDEN:
        assert hidden not in text, hidden
    secure = "\n".join(p.extract_text() for p in PdfReader(str(secure_build[LA].files["pdf"])).pages)
    assert "CONFIDENTIAL — contains small counts" in secure
    assert "13.6%" in secure and "24.5%" in secure  # the secure report keeps the small cells


def test_excel_workbook(public_build):
    from openpyxl import load_workbook

    wb = load_workbook(public_build[LA].files["xlsx"])
    assert wb.sheetnames == ["Summary", "4-ER", "4-S1", "4-P4", "4-P1", "4-P2", "3-P2", "CPM-CFT", "X-1", "Practice model",
                             "Data quality", "Notes"]
    ws = wb["4-P1"]
    values = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    flat = [v for r in values for v in r if v is not None]
    header = next(r for r in values if r[0] == "Stratum")
    age = {r[1]: dict(zip(header, r)) for r in values if r[0] == "Age group"}
    assert age["0-3m"]["Value"] == "masked" and age["0-3m"]["Numerator"] == "masked"
    assert age["6-10"]["Value"] == pytest.approx(41.25) and age["6-10"]["Numerator"] == 33
    assert not any(isinstance(v, float) and (abs(v - 13.636) < 0.01 or abs(v - 24.49) < 0.01) for v in flat)
    assert all(not isinstance(v, str) or ("13.6%" not in v and "24.5%" not in v) for v in flat)
    summary = [r for r in wb["Summary"].iter_rows(values_only=True)]
    p1 = next(r for r in summary if r[1] and str(r[1]).startswith("4-P1"))
    assert p1[2] == pytest.approx(30.0)
    assert "CONFIDENTIAL" not in str(summary[2][0])


def test_csv_every_table(public_build):
    folder = public_build[LA].files["csv"]
    names = sorted(p.name for p in folder.iterdir())
    assert "summary.csv" in names and "m-4-P1-strata.csv" in names and "dq-limits.csv" in names
    with open(folder / "m-4-P1-strata.csv", encoding="utf-8") as handle:
        rows = {r["group"]: r for r in csv.DictReader(handle)}
    assert rows["0-3m"]["value"] == "" and rows["0-3m"]["numerator"] == "" and rows["0-3m"]["status"] == "masked"
    assert float(rows["6-10"]["value"]) == 41.25 and rows["6-10"]["numerator"] == "33"
    with open(folder / "m-4-P1-trend.csv", encoding="utf-8") as handle:
        trend = list(csv.DictReader(handle))
    assert [r["period"] for r in trend] == ["2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
    assert float(trend[-1]["state_value"]) == 40.0 and trend[-1]["change_significant"] == "false"
    everything = "".join(p.read_text() for p in folder.iterdir())
    assert "77.7777" not in everything and "13.636" not in everything and "24.489" not in everything


def test_pdf_pages_render_to_png(public_build, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    from pypdf import PdfReader

    pdf = public_build[LA].files["pdf"]
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(PdfReader(str(pdf)).pages)
    from PIL import Image

    with Image.open(pngs[0]) as image:  # letter size at 20 dpi
        assert image.size == (170, 220)


def test_fonts_are_shipped_and_cover_the_marks():
    from fontTools.ttLib import TTFont

    from cwoutcomes.report.charts import fonts_dir
    from cwoutcomes.report.fonts import FACES, subset_name

    for _, _, filename in FACES:
        cmap = TTFont(str(fonts_dir() / subset_name(filename))).getBestCmap()
        for char in "†*✓✗▲▼–—−±≤≥…·ñé%∞":
            assert ord(char) in cmap, (filename, char)
    assert (fonts_dir() / "DejaVuSans.ttf").exists() and "Bitstream" in (fonts_dir() / "LICENSE").read_text()


def test_episode_flags_per_county_and_state():
    from timelines import ALAMEDA, FRESNO, Timelines

    from cwoutcomes.report.quality import episode_flags

    t = Timelines()
    t.child("c1", "2015-01-01")
    t.child("c2", "2016-01-01")
    e1 = t.episode("c1", "2024-02-01", "2024-05-01", county=ALAMEDA)
    e2 = t.episode("c2", "2024-03-01", "2024-03-01", county=FRESNO)
    e3 = t.episode("c2", "2024-06-01", "2024-08-01", county=FRESNO)
    t.flag("episodes", e1, "R9")
    t.flag("episodes", e2, "R10")
    t.flag("episodes", e3, "R9")
    counts = episode_flags(t.dataset("duckdb")).set_index(["county", "rule"]).records
    assert (counts[(ALAMEDA, "R9")], counts[(FRESNO, "R9")], counts[("state", "R9")]) == (1, 1, 2)
    assert (counts[(FRESNO, "R10")], counts[("state", "R10")], counts[(ALAMEDA, "R10")]) == (1, 1, 0)
    assert list(counts.loc["state"].index) == ["R4", "R5", "R6", "R8", "R9", "R10", "R11"]


def tiny_practice_outcomes() -> pd.DataFrame:
    """CFT meetings and 4-P1 in Los Angeles: 12 of 30 children with a meeting reached permanency
    (40.0%), 20 of 80 without (25.0%); in Alameda 3 of 9 with a meeting (small: masked with its pair)."""
    def pair(county, received, not_received):
        return [{"period_label": "2025Q2", "county": county, "practice": "cft_meeting",
                 "practice_label": "Child and Family Team meeting", "component": "engaging",
                 "component_label": "Engaging Families through Relationship",
                 "outcome": "Increased speed and likelihood of permanency", "outcome_measure": "4-P1",
                 "outcome_name": "Permanency in 12 months", "direction": "higher", "group": group,
                 "numerator": float(num), "denominator": float(den), "value": 100.0 * num / den,
                 "unit": "percent", "received_rule": "within 60 days of removal", "status": "ok",
                 "note": "Descriptive comparison, not causal."}
                for group, (num, den) in (("received", received), ("not_received", not_received))]
    return pd.DataFrame(pair(LA, (12, 30), (20, 80)) + pair(ALAMEDA, (3, 9), (40, 100)))


def test_practice_comparison_beside_the_crosswalk_tables():
    def comparison(public, geo):
        data = prepare(tiny_results(), "2025Q2", public=public, registry=REGISTRY, county_names=NAMES,
                       practice_outcomes=tiny_practice_outcomes())
        report = build_report(data, geo)
        engaging = next(c for c in report.practice if c.key == "engaging")
        return report, engaging.comparison

    report, table = comparison(False, LA)
    assert table in list(report.tables()) and "not causal" in table.note
    cells = {r["group"]: r["cell"] for r in table.rows}
    assert [fmt.cell_value_text(cells[g]) for g in ("Received", "Did not receive")] == ["40.0%", "25.0%"]
    low, high = wilson_interval([12], [30])
    assert (cells["Received"].ci_lower, cells["Received"].ci_upper) == pytest.approx((100 * low[0], 100 * high[0]))
    _, public_alameda = comparison(True, ALAMEDA)
    assert [fmt.cell_value_text(r["cell"]) for r in public_alameda.rows] == ["masked", "masked"]
    _, secure_alameda = comparison(False, ALAMEDA)
    assert fmt.cell_value_text(secure_alameda.rows[0]["cell"]) == "33.3%"
    report, table = comparison(False, "state")  # no state rows in the file: no table
    assert table is None and all(c.comparison is None for c in report.practice)


def test_a_composite_follows_its_last_measure():
    registry = REGISTRY | {"C9": _measure("C9", "cfsr2", "A composite of 4-P4 and 4-P1", "composite_score",
                                          "higher", inputs=("4-P4", "4-P1"))}
    rows = [{**row("4-P1", "2025Q2", county, 1, 1), "measure_id": "C9", "measure_version": "cfsr2",
             "unit": "relative_score", "numerator": np.nan, "value": value, "ci_lower": np.nan, "ci_upper": np.nan}
            for county, value in (("state", 100.0), (LA, 112.5))]
    data = prepare(pd.concat([tiny_results(), pd.DataFrame(rows)], ignore_index=True), "2025Q2",
                   registry=registry, county_names=NAMES)
    report = build_report(data, LA)
    reunified = next(o for s in report.sections for o in s.outcomes if o.measures and o.measures[0].info.id == "4-P1")
    assert [b.info.id for b in reunified.measures] == ["4-P1", "C9"]  # 4-P1 is placed after 4-P4
    assert "C9" not in [b.info.id for b in report.other]
    assert fmt.cell_value_text(block_of(report, "C9").current) == "112.50"
