"""What each section of a quarterly report shows, assembled from a results table (what
`compute` writes), the measure registry and the outcome framework / practice crosswalk. No
formatting happens here: every table holds the typed cells of `document.py`, which the HTML,
PDF, Excel and CSV writers all render the same way (`format.py`).

`prepare` does the work shared by all geographies once (masking for public output,
year-on-year change, ranks among counties); `build_report` then assembles one geography's
report from it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from importlib import resources
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from cwoutcomes.engine.masking import is_small, mask_small_cells
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model import framework
from cwoutcomes.model.tables import (
    AGENCIES, PLACEMENT_SETTINGS, RACE_ETHNICITY, RESPONSE_TYPES, RESULT_COLUMNS, SEX, STATE,
)
from cwoutcomes.report.document import (
    COMPARABLE, Cell, Change, Column, Comparison, MeasureBlock, MeasureInfo, Outcome,
    PracticeComponent, QualityRate, QualitySection, Rank, Report, Section, Table, _f,
)
from cwoutcomes.stats.change import test_name, year_on_year

STATE_NAME = "California"
# Measures on the cover: the current federal round and California's own measures; superseded
# federal rounds (kept so counties can track both series) appear in their sections only.
HEADLINE_VERSIONS = ("cfsr4", "ca")
MAX_TREND_PERIODS = 20
TABLE_PERIODS = 12
DIRECTION_TEXT = {"higher": "higher is better", "lower": "lower is better", "none": "context measure (no better direction)"}
STRATUM_LABELS = {
    "age_group": "Age group", "race_ethnicity": "Race/ethnicity", "sex": "Sex", "agency": "Agency",
    "placement_setting": "Placement setting", "placement_status": "Placement status",
    "response_type": "Response type", "practice": "Practice",
}
STRATUM_ORDER = ("age_group", "race_ethnicity", "sex", "placement_setting", "agency")
VALUE_LABELS = {
    "hispanic": "Hispanic", "aian": "Native American", "asian": "Asian",
    "black": "Black", "nhpi": "Pacific Islander", "white": "White",
    "multiracial": "Multiracial", "unknown": "Unknown", "missing": "Missing",
    "female": "Female", "male": "Male", "child_welfare": "Child welfare", "probation": "Probation",
    "ten_day": "Ten-day", "immediate": "Immediate", "kin": "Kin", "foster_home": "Foster",
    "ffa_home": "FFA", "group_home": "Group", "shelter": "Shelter", "pre_adoptive": "Pre-adopt",
    "guardian": "Guardian", "other": "Other",
}
CODE_ORDER = {v: i for i, v in enumerate(
    (*RACE_ETHNICITY, *SEX, *AGENCIES, *RESPONSE_TYPES, *PLACEMENT_SETTINGS, "missing"))}
LAST_VALUES = ("unknown", "missing", "other")
QUALITY_RULES = {
    "R4": "order: exit before removal, or a placement ending before it starts",
    "R5": "birth after removal or exit, or over 21 at removal",
    "R6": "a date after the extract date",
    "R8": "two episodes of one child overlapping",
    "R9": "an exit date with no exit reason",
    "R10": "removal and exit on the same day",
    "R11": "an episode with no placement",
}


# -- shared preparation -----------------------------------------------------------------------
@dataclass
class QualityData:
    """Data-quality inputs from a loaded database (report/quality.py): `checks` as returned by
    engine.quality.quality_checks, `records` with county, rule, records (flagged episodes)."""

    checks: pd.DataFrame
    records: pd.DataFrame
    descriptions: dict[str, tuple[str, str]] = field(default_factory=dict)  # check -> (description, of)


@dataclass
class ReportData:
    results: pd.DataFrame
    quarter: str
    public: bool
    measures: dict[str, MeasureInfo]
    county_names: dict[str, str]
    quality: QualityData | None
    generated: dt.date
    by_geo: dict[str, pd.DataFrame]
    current_counties: dict[str, pd.DataFrame]  # per measure: county rows, stratum all, with rank
    trend_labels: dict[str, list[str]]  # per measure
    county_trends: dict[str, pd.DataFrame]  # per measure: county rows, stratum all (small multiples)
    window: tuple[dt.date, dt.date]
    # measures.practice_outcomes rows of the quarter (masked for public reports), or None.
    practice_outcomes: pd.DataFrame | None = None

    def geographies(self) -> list[str]:
        """The state first, then the counties present in the results, by name."""
        counties = [g for g in self.by_geo if g != STATE]
        counties.sort(key=lambda g: self.county_names.get(g, g))
        return ([STATE] if STATE in self.by_geo else []) + counties

    def geo_name(self, geo: str) -> str:
        return STATE_NAME if geo == STATE else self.county_names.get(geo, geo)

    def records(self, geo: str) -> dict[str, list[dict]]:
        """A geography's result rows as plain records per measure (the state's are kept, as
        every county's report shows them)."""
        cache = self.__dict__.setdefault("_records", {})
        if geo in cache:
            return cache[geo]
        out: dict[str, list[dict]] = {}
        frame = self.by_geo.get(geo)
        for row in ([] if frame is None else frame.to_dict("records")):
            out.setdefault(row["measure_id"], []).append(row)
        if geo == STATE:
            cache[geo] = out
        return out


def _follow_up(measure) -> str:
    months = getattr(measure, "follow_up_months", 0) or 0
    days = getattr(measure, "follow_up_days", 0) or 0
    if months:
        return f"{months} months"
    if days:
        return f"{days} days"
    return ""


def measure_info(measure_id: str, registry: dict, rows: pd.DataFrame) -> MeasureInfo:
    """Metadata from the registry (by id, else by the family before the first dot), else the
    bare minimum the results table carries."""
    from cwoutcomes.measures.base import UNIT_LABEL

    m = registry.get(measure_id) or registry.get(measure_id.split(".")[0])
    types = rows.period_type.dropna().unique().tolist()
    unit = rows.unit.dropna().iloc[0] if rows.unit.notna().any() else (m.unit if m else "")
    if m is None:
        standard = rows.national_standard.dropna()
        return MeasureInfo(
            measure_id, measure_id, str(rows.measure_version.dropna().iloc[0]) if rows.measure_version.notna().any() else "",
            unit, UNIT_LABEL.get(unit, unit), "none", "", float(standard.iloc[0]) if len(standard) else None,
            {}, _primary_type(None, types), False, (), "")
    return MeasureInfo(
        measure_id if m.id != measure_id else m.id, m.name, m.version, unit, UNIT_LABEL.get(unit, unit),
        m.direction, m.definition, m.national_standard, dict(m.reference), _primary_type(m.period_type, types),
        m.summarize is not None, tuple(m.dq_checks), _follow_up(m), tuple(m.inputs) if m.id == measure_id else ())


def _primary_type(declared: str | None, present: list[str]) -> str:
    if declared in present:
        return declared
    for kind in ("year", "point_in_time", "quarter", "month"):
        if kind in present:
            return kind
    return present[0] if present else (declared or "year")


def _check_columns(results: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    if missing:
        raise CwoutcomesError(f"results: missing column(s) {', '.join(missing)} (expected what `cwoutcomes compute` writes)")
    results = results.copy()
    for column in ("ci_lower", "ci_upper"):
        if column not in results.columns:
            results[column] = np.nan
    results["county"] = results.county.astype(str)
    results["period_label"] = results.period_label.astype(str)
    return results


def _rank_counties(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    comparable = frame.status.isin(COMPARABLE) & frame.value.notna()
    ascending = direction == "lower"
    ranks = frame.value.where(comparable).rank(ascending=ascending, method="min")
    return frame.assign(rank=ranks, rank_of=int(comparable.sum()))


def prepare(results: pd.DataFrame, quarter: str, *, public: bool = False,
            quality: QualityData | None = None, registry: dict | None = None,
            county_names: dict[str, str] | None = None, generated: dt.date | None = None,
            practice_outcomes: pd.DataFrame | None = None) -> ReportData:
    """The work shared by every geography's report: check the quarter, mask (public), compute
    the year-on-year changes and the counties' ranks, split the results by geography."""
    from cwoutcomes.engine.periods import parse_window
    from cwoutcomes.measures import registry as load_registry
    from cwoutcomes.model.counties import default_counties

    results = _check_columns(results)
    window = parse_window(quarter)
    quarter = window.label
    labels = set(results.period_label.unique())
    if quarter not in labels:
        windows = sorted(label for label in labels if re.match(r"^\d{4}Q[1-4]$", label))
        raise CwoutcomesError(
            f"--quarter {quarter}: the results have no window {quarter}; they cover "
            f"{', '.join(windows[-12:]) or 'no windows'}")
    if public:
        results = mask_small_cells(results)
    registry = load_registry() if registry is None else registry
    if county_names is None:
        county_names = dict(default_counties()[["county", "name"]].itertuples(index=False))

    ids = list(dict.fromkeys(results.measure_id))
    order = {mid: i for i, mid in enumerate(registry)}
    first_seen = {mid: i for i, mid in enumerate(ids)}
    ids.sort(key=lambda mid: (order.get(mid, order.get(mid.split(".")[0], len(order))), first_seen[mid]))
    by_measure = dict(tuple(results.groupby("measure_id", sort=False)))
    measures = {mid: measure_info(mid, registry, by_measure[mid]) for mid in ids}

    # Keep each measure's own period type (2F also writes month and quarter rows).
    primary = results.measure_id.map({mid: m.period_type for mid, m in measures.items()})
    results = results[results.period_type == primary].reset_index(drop=True)
    summarized = [mid for mid, m in measures.items() if m.summarized]
    results = pd.concat([results, year_on_year(results, summarized)], axis=1)

    trend_labels = {}
    for mid, rows in results.groupby("measure_id", sort=False):
        window_labels = sorted(label for label in rows.period_label.unique() if label <= quarter)
        trend_labels[mid] = window_labels[-MAX_TREND_PERIODS:]
    current = results[(results.period_label == quarter) & (results.stratum == "all") & (results.county != STATE)]
    current_counties = {
        mid: _rank_counties(rows, measures[mid].direction) for mid, rows in current.groupby("measure_id", sort=False)
    }
    counties_all = results[(results.stratum == "all") & (results.county != STATE)]
    county_trends = dict(tuple(counties_all.groupby("measure_id", sort=False)))
    by_geo = dict(tuple(results.groupby("county", sort=False)))
    return ReportData(results, quarter, public, measures, county_names, quality,
                      generated or dt.date.today(), by_geo, current_counties, trend_labels,
                      county_trends, (window.start, window.end),
                      _practice_outcomes_of(practice_outcomes, quarter, public))


def _practice_outcomes_of(table: pd.DataFrame | None, quarter: str, public: bool) -> pd.DataFrame | None:
    if table is None:
        return None
    from cwoutcomes.measures.practice_outcomes import mask_pairs

    table = table[table.period_label.astype(str) == quarter].copy()
    table["county"] = table.county.astype(str)
    return mask_pairs(table) if public else table


# -- building blocks --------------------------------------------------------------------------
def make_change(row, info: MeasureInfo) -> Change | None:
    if row is None:
        return None
    previous_status = row.get("previous_status")
    if previous_status is None or (isinstance(previous_status, float) and math.isnan(previous_status)):
        return Change(info.unit, float("nan"), float("nan"), float("nan"), False, None, None, "no earlier window")
    diff = _f(row.get("change"))
    if math.isnan(diff):
        if row["status"] not in COMPARABLE:
            reason = "not comparable"
        elif previous_status not in COMPARABLE:
            reason = f"year earlier {previous_status.replace('_', ' ')}"
        else:
            reason = "no value"
        return Change(info.unit, diff, float("nan"), float("nan"), False, None, None, reason)
    p = _f(row.get("p_value"))
    significant = bool(not math.isnan(p) and p < 0.05)
    if diff == 0:
        verdict = "no change"
    elif info.direction == "higher":
        verdict = "better" if diff > 0 else "worse"
    elif info.direction == "lower":
        verdict = "better" if diff < 0 else "worse"
    else:
        verdict = "up" if diff > 0 else "down"
    return Change(info.unit, diff, _f(row.get("previous_value")), p, significant,
                  test_name(info.unit, info.summarized), verdict)


def compare(value: float, reference: float, direction: str) -> tuple[bool, float]:
    """G17: met when at least (higher is better) or at most (lower) the reference; percent of
    the reference = value / reference (higher) or reference / value (lower)."""
    if direction == "higher":
        return value >= reference, (value / reference * 100 if reference else float("nan"))
    return value <= reference, (reference / value * 100 if value else float("nan"))


def reference_for(info: MeasureInfo, row) -> tuple[str, float] | None:
    """The reference a measure is judged against: its national standard (Round 4 calls it
    national performance), else its national median (Round 2 measures without a standard)."""
    standard = _f(row.get("national_standard")) if row is not None else float("nan")
    if math.isnan(standard) and info.national_standard is not None:
        standard = float(info.national_standard)
    if not math.isnan(standard):
        return ("national performance" if info.version == "cfsr4" else "national standard"), standard
    if "median" in info.reference:
        return "national median", float(info.reference["median"])
    return None


def make_comparison(kind: str, label: str, reference: float, cell: Cell, info: MeasureInfo) -> Comparison:
    words = ("met", "not met") if kind == "standard" else ("on track", "off track")
    if info.direction not in ("higher", "lower"):
        return Comparison(kind, label, reference, info.unit, None, float("nan"), "context measure")
    if not cell.shows_value:
        return Comparison(kind, label, reference, info.unit, None, float("nan"), "no value")
    met, percent = compare(cell.value, reference, info.direction)
    return Comparison(kind, label, reference, info.unit, words[0] if met else words[1], percent)


def standard_of(info: MeasureInfo, row, cell: Cell) -> Comparison | None:
    ref = reference_for(info, row)
    if ref is None:
        return None
    return make_comparison("standard", ref[0], ref[1], cell, info)


def target_of(info: MeasureInfo, row, cell: Cell) -> Comparison | None:
    target = _f(row.get("target")) if row is not None else float("nan")
    if math.isnan(target):
        return None
    return make_comparison("target", "SIP target", target, cell, info)


def _first(rows: pd.DataFrame):
    return None if rows.empty else rows.iloc[0]


def _age_key(value: str) -> tuple:
    m = re.match(r"^(<)?(\d+)(?:-(\d+))?(m)?$", value)
    if not m:
        return (2, value)
    years = int(m.group(2)) / (12 if m.group(4) else 1)
    return (0 if m.group(1) else 1, years)


def stratum_sort_key(stratum: str, value: str) -> tuple:
    if value in LAST_VALUES:
        return (9, LAST_VALUES.index(value), "")
    if stratum == "age_group":
        group, key = _age_key(value)
        return (group, key, value) if group < 2 else (5, 0, value)
    if value in CODE_ORDER:
        return (1, CODE_ORDER[value], value)
    return (5, 0, value)


def value_label(value: str) -> str:
    return VALUE_LABELS.get(value, value.replace("_", " ") if "_" in value else value)


def stratum_label(stratum: str) -> str:
    return STRATUM_LABELS.get(stratum, stratum.replace("_", " ").capitalize())


def methodology(info: MeasureInfo) -> str:
    parts = [info.definition.strip()] if info.definition.strip() else []
    parts.append(f"Unit: {info.unit_label}; {DIRECTION_TEXT.get(info.direction, info.direction)}; "
                 f"{info.version_label}.")
    refs = []
    if info.national_standard is not None:
        label = "national performance" if info.version == "cfsr4" else "national standard"
        refs.append(f"{label} {info.national_standard:g}")
    refs += [f"national {name} {value:g}" for name, value in info.reference.items()]
    if refs:
        parts.append("Reference values: " + "; ".join(refs) + ".")
    test = test_name(info.unit, info.summarized)
    if test == "z":
        parts.append("Interval: Wilson 95% score interval. Change: two-proportion z-test against the "
                     "same window a year earlier.")
    elif test == "poisson":
        parts.append("Interval: exact (Garwood) Poisson 95% interval. Change: exact conditional test "
                     "of two Poisson rates against the same window a year earlier.")
    else:
        parts.append("Change: difference from the same window a year earlier (no significance test "
                     "for this statistic).")
    if info.follow_up:
        parts.append(f"Needs {info.follow_up} of follow-up after the window; later windows are "
                     "marked incomplete.")
    if info.dq_checks:
        parts.append("Data-quality limits that can void it: " + ", ".join(c.replace("_", " ") for c in info.dq_checks) + ".")
    return " ".join(parts)


VALUE_COLUMNS = [
    Column("numerator", "Numerator", "numerator", short="Num."),
    Column("denominator", "Denominator", "denominator", short="Den."),
    Column("value", "Value", "value"), Column("ci", "95% CI", "ci"),
    Column("change", "Change from a year earlier", "change", short="Change, 1 year"),
]


def trend_table(info: MeasureInfo, rows: list[dict], state_rows: list[dict] | None,
                labels: list[str]) -> Table:
    by_label = {r["period_label"]: r for r in rows}
    state_by_label = {} if state_rows is None else {r["period_label"]: r for r in state_rows}
    out = []
    for label in labels:
        row = by_label.get(label)
        entry = {"period": label, "cell": Cell.from_row(row, info.unit), "change": make_change(row, info)}
        if state_rows is not None:
            entry["state_cell"] = Cell.from_row(state_by_label.get(label), info.unit)
        out.append(entry)
    columns = [Column("period", "Window", "text")] + VALUE_COLUMNS
    if state_rows is not None:
        columns.append(Column("state_value", "State value", "value", cell="state_cell"))
    return Table(f"{info.anchor}-trend", f"{info.id} trend", columns, out, layout="transposed")


def strata_table(info: MeasureInfo, rows: list[dict]) -> Table | None:
    strata = [r for r in rows if r["stratum"] != "all"]
    if not strata:
        return None
    seen = list(dict.fromkeys(r["stratum"] for r in strata))
    names = sorted(seen, key=lambda s: (STRATUM_ORDER.index(s) if s in STRATUM_ORDER else len(STRATUM_ORDER), seen.index(s)))
    out = []
    for name in names:
        part = sorted((r for r in strata if r["stratum"] == name),
                      key=lambda r: stratum_sort_key(name, str(r["stratum_value"])))
        for row in part:
            out.append({"stratum": stratum_label(name), "group": value_label(str(row["stratum_value"])),
                        "cell": Cell.from_row(row, info.unit), "change": make_change(row, info)})
    columns = [Column("stratum", "Stratum", "text"), Column("group", "Group", "text")] + VALUE_COLUMNS
    return Table(f"{info.anchor}-strata", f"{info.id} by group", columns, out, group="stratum", layout="twoup")


def county_rank(data: ReportData, info: MeasureInfo, geo: str) -> Rank | None:
    frame = data.current_counties.get(info.id)
    order = "1 = best" if info.direction in ("higher", "lower") else "1 = highest"
    if frame is None or frame.empty:
        return Rank(float("nan"), 0, order, "no county results")
    row = frame[frame.county == geo]
    of = int(frame.rank_of.iloc[0])
    if row.empty or math.isnan(row["rank"].iloc[0]):
        status = row.status.iloc[0] if len(row) else "no_data"
        reason = {"masked": "not ranked (masked)", "data_quality": "not ranked (data quality)",
                  "not_available": "not ranked (not available)"}.get(status, "not ranked (no value)")
        return Rank(float("nan"), of, order, reason)
    return Rank(float(row["rank"].iloc[0]), of, order)


def counties_table(data: ReportData, info: MeasureInfo) -> Table:
    frame = data.current_counties.get(info.id)
    out = []
    if frame is not None:
        order = "1 = best" if info.direction in ("higher", "lower") else "1 = highest"
        records = frame.to_dict("records")
        records.sort(key=lambda r: data.geo_name(r["county"]))
        for row in records:
            cell = Cell.from_row(row, info.unit)
            # The value column already says why a county has no rank.
            rank = Rank(_f(row["rank"]), int(row["rank_of"]), order, "—")
            out.append({"county": data.geo_name(row["county"]), "code": row["county"], "cell": cell,
                        "change": make_change(row, info), "standard": standard_of(info, row, cell),
                        "target": target_of(info, row, cell), "rank": rank})
    columns = [Column("county", "County", "text"), Column("code", "FIPS", "text")] + VALUE_COLUMNS + [
        Column("standard", "vs reference", "comparison"), Column("target", "vs SIP target", "comparison"),
        Column("rank", "Rank", "rank"),
    ]
    return Table(f"{info.anchor}-counties", f"{info.id} by county", columns, out)


def chart_frame(rows: pd.DataFrame, labels: list[str], names: dict[str, str]) -> pd.DataFrame:
    """Chart points for the `all` rows of one or more geographies over the trend labels:
    period_label, series (the geography's name), value, ci_lower, ci_upper (NaN unless the
    cell shows a value) and state (the Cell state, so charts can mark gaps)."""
    grid = pd.MultiIndex.from_product([list(dict.fromkeys(rows.county)) or [], labels],
                                      names=["county", "period_label"]).to_frame(index=False)
    t = grid.merge(rows[["county", "period_label", "value", "ci_lower", "ci_upper", "status", "denominator"]],
                   on=["county", "period_label"], how="left")
    shows = t.status.isin(COMPARABLE) & t.value.notna()
    state = t.status.fillna("no_data")
    no_value = state.isin(COMPARABLE) & t.value.isna()
    state = state.where(~no_value, np.where(t.denominator.fillna(0) == 0, "no_cases", "no_estimate"))
    return pd.DataFrame({
        "period_label": t.period_label, "series": t.county.map(lambda c: names.get(c, c)),
        "value": t.value.where(shows), "ci_lower": t.ci_lower.where(shows), "ci_upper": t.ci_upper.where(shows),
        "state": state,
    })


def _cells_frame(trend: Table, key: str, series: str) -> pd.DataFrame:
    cells = [row[key] for row in trend.rows]
    nan = float("nan")
    return pd.DataFrame({
        "period_label": [row["period"] for row in trend.rows], "series": [series] * len(cells),
        "value": [c.value if c.shows_value else nan for c in cells],
        "ci_lower": [c.ci_lower if c.shows_value else nan for c in cells],
        "ci_upper": [c.ci_upper if c.shows_value else nan for c in cells],
        "state": [c.state for c in cells],
    })


def measure_block(data: ReportData, info: MeasureInfo, geo: str, rows: list[dict],
                  state_rows: list[dict] | None) -> MeasureBlock:
    """One measure's block for a geography, from its result rows (records of the geography,
    and of the state for a county's report)."""
    labels = data.trend_labels.get(info.id, [data.quarter])
    is_state = geo == STATE
    all_rows = [r for r in rows if r["stratum"] == "all"]
    current_row = next((r for r in all_rows if r["period_label"] == data.quarter), None)
    cell = Cell.from_row(current_row, info.unit)
    state_all = None if is_state else [r for r in (state_rows or []) if r["stratum"] == "all"]
    # The chart shows every window up to the quarter (at most MAX_TREND_PERIODS), the table the
    # last TABLE_PERIODS of them, so that it fits the page width.
    full = trend_table(info, all_rows, state_all, labels)
    chart = _cells_frame(full, "cell", data.geo_name(geo))
    if state_all is not None:
        chart = pd.concat([chart, _cells_frame(full, "state_cell", STATE_NAME)], ignore_index=True)
    trend = dataclasses.replace(full, rows=full.rows[-TABLE_PERIODS:])
    county_chart = None
    if is_state:
        frame = data.county_trends.get(info.id)
        if frame is not None and len(frame):
            county_chart = chart_frame(frame, labels, {c: data.geo_name(c) for c in frame.county.unique()})
    return MeasureBlock(
        info=info, current=cell, change=make_change(current_row, info),
        standard=standard_of(info, current_row, cell), target=target_of(info, current_row, cell),
        rank=None if is_state else county_rank(data, info, geo), trend=trend,
        strata=strata_table(info, [r for r in rows if r["period_label"] == data.quarter]),
        counties=counties_table(data, info) if is_state else None,
        methodology=methodology(info), chart_data=chart, county_chart_data=county_chart,
    )


def _matching(ids: Sequence[str], family: str) -> list[str]:
    return [mid for mid in ids if mid == family or mid.startswith(family + ".")]


def cover_table(blocks: list[MeasureBlock], area_of: dict[str, str], is_state: bool) -> Table:
    rows = []
    for block in blocks:
        rows.append({"area": area_of.get(block.info.id, ""), "measure": f"{block.info.id} {block.info.name}",
                     "anchor": block.info.anchor, "cell": block.current, "change": block.change,
                     "reference": block.standard, "standard": block.standard, "target": block.target,
                     "rank": block.rank})
    columns = [Column("area", "Area", "text"), Column("measure", "Measure", "text"),
               Column("value", "Value", "value"), Column("ci", "95% CI", "ci"),
               Column("numerator", "Numerator", "numerator", short="Num."),
               Column("denominator", "Denominator", "denominator", short="Den."),
               Column("change", "Change from a year earlier", "change", short="Change, 1 year"),
               Column("reference", "Reference", "reference"), Column("standard", "vs reference", "comparison", short="Met?"),
               Column("target", "SIP target", "reference"),
               Column("target_status", "vs target", "comparison", short="On track?")]
    for row in rows:
        row["target_status"] = row["target"]
    if not is_state:
        columns.append(Column("rank", "County rank", "rank", short="Rank"))
    return Table("summary", "Summary", columns, rows, group="area")


PRACTICE_GROUPS = {"received": "Received", "not_received": "Did not receive"}


def practice_comparison(data: ReportData, geo: str, component: str, title: str) -> Table | None:
    """Per practice of the component and linked outcome measure: children who received the
    practice beside those who did not (descriptive), from the practice comparison file."""
    if data.practice_outcomes is None:
        return None
    from cwoutcomes.stats.intervals import wilson_interval

    rows = data.practice_outcomes[(data.practice_outcomes.county == geo)
                                  & (data.practice_outcomes.component == component)]
    if rows.empty:
        return None
    low, high = wilson_interval(rows.numerator.fillna(0), rows.denominator.fillna(0))
    out = []
    for row, lower, upper in zip(rows.to_dict("records"), 100 * low, 100 * high):
        row["ci_lower"], row["ci_upper"] = lower, upper
        out.append({"practice": row["practice_label"], "outcome": f"{row['outcome_measure']} {row['outcome_name']}",
                    "group": PRACTICE_GROUPS.get(row["group"], row["group"]),
                    "cell": Cell.from_row(row, row["unit"])})
    columns = [Column("practice", "Practice", "text"), Column("outcome", "Outcome", "text"),
               Column("group", "Children who", "text")] + VALUE_COLUMNS[:4]
    return Table(f"practice-{component}-comparison", f"{title}: outcomes by practice received", columns, out,
                 note=rows.note.iloc[0], group="practice")


def practice_tables(data: ReportData, make_block, geo: str = STATE) -> list[PracticeComponent]:
    crosswalk = framework.practice_crosswalk()
    ids = list(data.measures)
    out = []
    for key, comp in crosswalk.groupby("component_id", sort=False):
        practices = comp[comp.element_type == "practice"].element.tolist()
        tables = {}
        for kind, title in (("process_measure", "process measures"), ("outcome", "targeted outcomes")):
            rows = []
            for _, element in comp[comp.element_type == kind].iterrows():
                for family in [f for f in element.measure_ids.split(";") if f]:
                    matched = _matching(ids, family)
                    if not matched:
                        rows.append({"element": element.element, "measure": family, "anchor": "",
                                     "cell": Cell("no_data", ""), "change": None, "standard": None})
                    for mid in matched:
                        block = make_block(mid)
                        rows.append({"element": element.element, "measure": f"{mid} {block.info.name}",
                                     "anchor": block.info.anchor, "cell": block.current,
                                     "change": block.change, "standard": block.standard})
            columns = [Column("element", "Process measure" if kind == "process_measure" else "Outcome", "text"),
                       Column("measure", "Measure", "text")] + VALUE_COLUMNS
            if kind == "outcome":
                columns.append(Column("standard", "vs reference", "comparison"))
            tables[kind] = Table(f"practice-{key}-{'process' if kind == 'process_measure' else 'outcomes'}",
                                 f"{comp.component.iloc[0]}: {title}", columns, rows, group="element")
        title = comp.component.iloc[0]
        out.append(PracticeComponent(key, title, list(dict.fromkeys(practices)),
                                     tables["process_measure"], tables["outcome"],
                                     practice_comparison(data, geo, key, title)))
    return out


def quality_section(data: ReportData, geo: str, blocks: list[MeasureBlock]) -> QualitySection:
    counts = []
    for block in blocks:
        cells = [block.current] + ([r["cell"] for r in block.strata.rows] if block.strata else [])
        tally = pd.Series([c.state for c in cells]).value_counts()
        if set(tally.index) <= {"ok"}:
            continue
        counts.append({"measure": f"{block.info.id} {block.info.name}", "cells": len(cells),
                       **{state: int(tally.get(state, 0)) for state in
                          ("ok", "incomplete", "masked", "data_quality", "not_available", "no_cases")}})
    cells_table = Table(
        "dq-cells", f"Cells of {data.quarter} that are not plain values",
        [Column("measure", "Measure", "text"), Column("cells", "Cells", "count"), Column("ok", "Value", "count"),
         Column("incomplete", "Incomplete", "count"), Column("masked", "Masked", "count"),
         Column("data_quality", "Data quality", "count"), Column("not_available", "Not available", "count"),
         Column("no_cases", "No cases", "count")], counts,
        note=f"{len(blocks) - len(counts)} of {len(blocks)} measures have a plain value in every cell (all groups).")
    q = data.quality
    if q is None:
        return QualitySection(False, "The data-quality limits per 6-month period need the loaded database "
                              "(`cwoutcomes report ... --db PATH`); this report was made from the results "
                              "file alone, so only the cell states are summarised.", None, None, None, cells_table)
    checks = q.checks[q.checks.county == geo]
    periods = sorted(checks.dq_start.unique())
    limits_rows = []
    for check, part in checks.groupby("check", sort=False):
        description, of = q.descriptions.get(check, (check.replace("_", " "), ""))
        row = {"check": description, "of": of, "limit": float(part.limit.iloc[0])}
        for _, r in part.iterrows():
            failing, total = _f(r.failing), _f(r.total)
            masked = data.public and bool(is_small(pd.Series([failing, total])).any())
            row[_period_key(r.dq_start)] = QualityRate(failing, total, _f(r.rate), float(r.limit), bool(r.passed), masked)
        limits_rows.append(row)
    columns = [Column("check", "Check", "text"), Column("of", "Of", "text"), Column("limit", "Limit", "fraction")]
    columns += [Column(_period_key(p), _period_label(p), "quality") for p in periods]
    limits = Table("dq-limits", "Data-quality limits by 6-month period", columns, limits_rows,
                   note="Rate of records failing each check; a rate above the limit (✗) puts every affected "
                        "measure's windows touching that period into the data-quality state (G16).")
    failed = checks[~checks.passed]
    affected = {}
    for mid, info in data.measures.items():
        for check in info.dq_checks:
            affected.setdefault(check, []).append(mid)
    flagged_rows = []
    for _, r in failed.iterrows():
        failing, total = _f(r.failing), _f(r.total)
        masked = data.public and bool(is_small(pd.Series([failing, total])).any())
        flagged_rows.append({
            "period": _period_label(r.dq_start), "check": q.descriptions.get(r.check, (r.check,))[0],
            "rate": QualityRate(failing, total, _f(r.rate), float(r.limit), False, masked),
            "failing": float("nan") if masked else failing, "total": float("nan") if masked else total,
            "measures": ", ".join(affected.get(r.check, [])) or "none in these results",
        })
    flagged = Table("dq-flagged", "Flagged periods", [
        Column("period", "Period", "text"), Column("check", "Check", "text"), Column("failing", "Failing", "count"),
        Column("total", "Of", "count"), Column("rate", "Rate", "quality"), Column("measures", "Measures affected", "text"),
    ], flagged_rows, note="" if flagged_rows else "No check exceeded its limit in these periods.")
    records = q.records[q.records.county == geo]
    record_rows = []
    for _, r in records.iterrows():
        n = _f(r.records)
        masked = data.public and bool(is_small(pd.Series([n])).iloc[0])
        record_rows.append({"rule": r.rule, "what": QUALITY_RULES.get(r.rule, ""),
                            "records": float("nan") if masked else n, "state": "masked" if masked else "ok"})
    records_table = Table("dq-records", "Episodes flagged by the record checks", [
        Column("rule", "Rule", "text"), Column("what", "What fails", "text"), Column("records", "Episodes", "count"),
    ], record_rows, note="Flagged records are kept but left out of the measures each rule names "
                         "(data-quality.md §1). The records themselves are listed in data_quality.csv "
                         "(secure view only).")
    return QualitySection(True, "", limits, flagged, records_table, cells_table)


def _period_key(start) -> str:
    return "p" + pd.Timestamp(start).strftime("%Y%m")


def _period_label(start) -> str:
    start = pd.Timestamp(start)
    end = start + pd.DateOffset(months=6) - pd.DateOffset(days=1)
    return f"{start:%b %Y}–{end:%b %Y}"


def legend(public: bool) -> list[tuple[str, str]]:
    from cwoutcomes.report.format import STATE_LABELS, STATE_NOTES

    items = [
        ("*", "statistically significant change from the same window a year earlier (p < 0.05; "
              "two-proportion z-test for percentages, exact conditional Poisson test for rates)"),
        ("better / worse", "direction of the change given whether higher or lower is better"),
        ("met / not met", "against the national standard or performance (else the national median), "
                          "direction-aware; the percentage is the value as a percent of the reference (G17)"),
        ("on track / off track", "against the county's System Improvement Plan (SIP) target"),
    ]
    items += [(STATE_LABELS[state] if state != "incomplete" else "† incomplete", note)
              for state, note in STATE_NOTES.items() if state not in ("no_data", "no_estimate")]
    items.append(("NP / NS / NM", "reference types: national performance (CFSR Round 4), national standard "
                                  "(Rounds 2 and 3), national median (Round 2 measures without a standard)"))
    items.append(("95% CI", "Wilson score interval for percentages, exact Poisson interval for rates"))
    items.append(("Num. / Den.", "numerator and denominator (for rates per days or per population, the "
                                 "days or the population)"))
    items.append(("—", "nothing to show: no window a year earlier in the results, no reference value, no "
                       "interval for a median, or no numerator for a median (its denominator is the number "
                       "of children)"))
    if not public:
        items.append(("confidential", "counts are not masked; do not publish"))
    return items


def build_report(data: ReportData, geo: str) -> Report:
    """One geography's report (`state` or a county code)."""
    if geo not in data.by_geo:
        raise CwoutcomesError(f"--county {geo}: no results for this county "
                              f"(the results have {len(data.by_geo) - (STATE in data.by_geo)} counties)")
    ids = list(data.measures)
    blocks: dict[str, MeasureBlock] = {}
    records = data.records(geo)
    state_records = data.records(STATE) if geo != STATE else None

    def make_block(mid: str) -> MeasureBlock:
        if mid not in blocks:
            blocks[mid] = measure_block(data, data.measures[mid], geo, records.get(mid, []),
                                        None if state_records is None else state_records.get(mid, []))
        return blocks[mid]

    placed: set[str] = set()
    area_of: dict[str, str] = {}
    sections = []
    frame = framework.outcome_framework()
    for area, area_rows in frame.groupby("area", sort=False):
        outcomes = []
        for outcome, rows in area_rows.groupby("outcome", sort=False):
            members = []
            for family in rows.measure_id:
                for mid in _matching(ids, family):
                    if mid not in placed:
                        placed.add(mid)
                        members.append(mid)
            for mid in members:
                make_block(mid)
                area_of[mid] = framework.AREA_LABELS.get(area, area)
            outcomes.append(Outcome(outcome, [blocks[mid] for mid in members]))
        sections.append(Section(area, framework.AREA_LABELS.get(area, area), outcomes))
    # A measure the framework does not list follows, in the same outcome, the last placed measure
    # it belongs with: its twin of the same name (the Round 3 twins 3-P2, 3-P3 of 4-P2, 4-P3) or,
    # for a composite (C1-C4), its measures.
    by_name = {data.measures[mid].name: mid for mid in placed}
    for mid in ids:
        if mid in placed:
            continue
        anchors = {by_name.get(data.measures[mid].name), *data.measures[mid].inputs} - {None}
        spots = [(section, outcome, i) for section in sections for outcome in section.outcomes
                 for i, b in enumerate(outcome.measures) if b.info.id in anchors]
        if spots:
            section, outcome, at = spots[-1]
            outcome.measures.insert(at + 1, make_block(mid))
            area_of[mid] = section.title
            placed.add(mid)
    for area in framework.AREA_LABELS:
        seen = {s.key for s in sections}
        if area not in seen:
            sections.append(Section(area, framework.AREA_LABELS[area], []))
    _add_empty_outcomes(sections)

    practice = practice_tables(data, make_block, geo)
    process_ids = []
    for family in framework.practice_crosswalk().query("element_type == 'process_measure'").measure_ids:
        for f in family.split(";"):
            process_ids += [mid for mid in _matching(ids, f) if mid not in placed and mid not in process_ids]
    practice_measures = [make_block(mid) for mid in process_ids]
    placed.update(process_ids)
    other = [make_block(mid) for mid in ids if mid not in placed]

    headline = [b for s in sections for o in s.outcomes for b in o.measures
                if b.info.version in HEADLINE_VERSIONS or b.target is not None]
    if not headline:
        headline = [b for s in sections for o in s.outcomes for b in o.measures]
    all_blocks = [b for s in sections for o in s.outcomes for b in o.measures] + practice_measures + other
    return Report(
        geo=geo, geo_name=data.geo_name(geo), quarter=data.quarter, window_start=data.window[0],
        window_end=data.window[1], public=data.public, generated=data.generated,
        cover=cover_table(headline, area_of, geo == STATE), sections=sections, practice=practice,
        practice_measures=practice_measures, other=other,
        quality=quality_section(data, geo, all_blocks), legend=legend(data.public),
    )


def _add_empty_outcomes(sections: list[Section]) -> None:
    """Outcomes of the framework with no measure defined (e.g. educational progress) are kept
    as headings so the report shows what is not yet measured."""
    with resources.files("cwoutcomes.model").joinpath("data", "outcome-framework.csv").open(encoding="utf-8") as handle:
        raw = pd.read_csv(handle, dtype=str, keep_default_na=False)
    for section in sections:
        have = {o.title for o in section.outcomes}
        for _, row in raw[raw.area == section.key].iterrows():
            if row.outcome not in have:
                section.outcomes.append(Outcome(row.outcome, []))
                have.add(row.outcome)
        order = list(raw[raw.area == section.key].outcome)
        section.outcomes.sort(key=lambda o: order.index(o.title) if o.title in order else len(order))
