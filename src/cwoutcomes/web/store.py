"""The results the dashboard serves, held in memory: the table as computed (secure view) and its
G14-masked copy (public view), measure metadata from the registry, county names, windows and,
when a loaded database is given, the data-quality checks of G16.

Everything is read once at start-up; the server never writes results."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cwoutcomes.engine.masking import is_small, mask_small_cells
from cwoutcomes.engine.periods import Window, parse_window
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.model.tables import RESULT_COLUMNS, STATE

WINDOW_LABEL = re.compile(r"^\d{4}Q[1-4]$")
EXTRA_COLUMNS = ("ci_lower", "ci_upper", "reference_median")
PERIOD_TYPE_ORDER = ("year", "quarter", "point_in_time", "month")


class NotFound(LookupError):
    """An unknown measure, county, window or stratum; the message says which and what exists."""


@dataclass(frozen=True)
class MeasureInfo:
    id: str
    version: str
    name: str
    unit: str
    unit_label: str
    direction: str
    national_standard: float | None
    reference: dict
    period_type: str
    period_types: tuple[str, ...]
    strata: tuple[str, ...]
    definition: str
    areas: tuple[str, ...]
    components: tuple[str, ...]
    follow_up_months: int = 0
    registered: bool = True

    def as_dict(self) -> dict:
        return {
            "id": self.id, "version": self.version, "name": self.name, "unit": self.unit,
            "unit_label": self.unit_label, "direction": self.direction,
            "national_standard": self.national_standard, "reference": dict(self.reference),
            "period_type": self.period_type, "period_types": list(self.period_types),
            "strata": list(self.strata), "definition": self.definition, "areas": list(self.areas),
            "practice_components": list(self.components), "follow_up_months": self.follow_up_months,
        }


def read_results(path: Path) -> pd.DataFrame:
    """A results table from Parquet, CSV or a DuckDB database with a `results` table."""
    path = Path(path)
    if not path.exists():
        raise CwoutcomesError(f"{path} does not exist")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix == ".csv":
        frame = pd.read_csv(path, dtype={"county": str, "stratum_value": str, "period_label": str},
                            keep_default_na=True)
    elif path.suffix == ".duckdb":
        import duckdb

        with duckdb.connect(str(path), read_only=True) as con:
            names = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "results" not in names:
                raise CwoutcomesError(
                    f"{path} has no `results` table; pass the file written by `cwoutcomes compute --out` "
                    "(and this database with --data for the data-quality page)"
                )
            frame = con.execute("SELECT * FROM results").df()
    else:
        raise CwoutcomesError(f"{path}: expected a .parquet or .csv results file or a .duckdb database")
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise CwoutcomesError(f"{path} is not a results table: missing column(s) {', '.join(missing)}")
    return frame


def _window_of(label: str, period_end: dt.date) -> str:
    """The window a row belongs to: its own label, or for a month row the window whose last
    quarter holds the month."""
    if WINDOW_LABEL.match(label):
        return label
    return f"{period_end.year}Q{(period_end.month - 1) // 3 + 1}"


def _compare(values: pd.Series, reference: pd.Series, direction: pd.Series) -> tuple[pd.Series, pd.Series]:
    """G17: met / not met and percent of the reference, direction-aware."""
    higher, lower = direction == "higher", direction == "lower"
    usable = values.notna() & reference.notna() & (higher | lower)
    met = pd.Series(np.where(higher, values >= reference, values <= reference), index=values.index, dtype=object)
    met[~usable] = None
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(higher, values / reference, reference / values) * 100
    pct = pd.Series(pct, index=values.index).where(usable)
    return met, pct.where(np.isfinite(pct))


def prepare(frame: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    t = frame.copy()
    for column in EXTRA_COLUMNS:
        if column not in t:
            t[column] = np.nan
    for column in ("period_start", "period_end"):
        t[column] = pd.to_datetime(t[column]).dt.date
    for column in ("county", "stratum", "stratum_value", "period_label", "measure_id", "period_type", "status"):
        t[column] = t[column].astype(str)
    for column in ("numerator", "denominator", "value", "national_standard", "target", *EXTRA_COLUMNS):
        t[column] = pd.to_numeric(t[column], errors="coerce").astype(float)
    t["window"] = [_window_of(label, end) for label, end in zip(t.period_label, t.period_end)]
    direction = t.measure_id.map(directions).fillna("none")
    t["meets_standard"], t["percent_of_standard"] = _compare(t.value, t.national_standard, direction)
    t["meets_target"], _ = _compare(t.value, t.target, direction)
    return t


def mask(frame: pd.DataFrame) -> pd.DataFrame:
    """The public view: G14 masking, and the comparisons of masked cells blanked too.

    mask_small_cells leaves cells without a value (data_quality, not_available) alone, yet their
    counts would still be published and, beside a total, a small one could be worked out by
    subtraction. So such cells with a count of 1-10 go through the masking as if they had a
    value (drawing complementary suppression) and keep their own status afterwards."""
    status = frame.status
    valueless = status.isin(["data_quality", "not_available"])
    small = valueless & (is_small(frame.numerator)
                         | (is_small(frame.denominator) & (frame.unit != "per_1000_children")))
    masked = mask_small_cells(frame.assign(status=status.where(~small, "ok")))
    masked.loc[small, "status"] = status[small]
    masked.loc[valueless, ["value", "ci_lower", "ci_upper"]] = np.nan
    hit = masked.status.eq("masked") | small
    for column in ("meets_standard", "meets_target"):
        masked[column] = masked[column].astype(object)
        masked.loc[hit, column] = None
    masked.loc[hit, "percent_of_standard"] = np.nan
    return masked


@dataclass
class ResultsStore:
    source: str
    secure: pd.DataFrame
    public: pd.DataFrame
    measures: dict[str, MeasureInfo]
    county_names: dict[str, str]
    regions: dict[str, str]
    windows: list[str]
    quality: pd.DataFrame | None = None
    extract_date: dt.date | None = None
    _by_measure: dict = field(default_factory=dict, repr=False)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "results", quality: pd.DataFrame | None = None,
                   extract_date: dt.date | None = None) -> "ResultsStore":
        from cwoutcomes.measures import registry
        from cwoutcomes.model.counties import default_counties

        registered = registry()
        directions = {m.id: m.direction for m in registered.values()}
        secure = prepare(frame, directions)
        public = mask(secure)
        infos = {}
        for measure_id, rows in secure.groupby("measure_id", sort=False):
            infos[measure_id] = _info(measure_id, rows, registered.get(measure_id))
        order = {mid: i for i, mid in enumerate(registered)}
        infos = dict(sorted(infos.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
        counties = default_counties()
        names = dict(zip(counties.county, counties.name))
        regions = dict(zip(counties.county, counties.region))
        present = sorted(set(secure.county) - {STATE})
        county_names = {STATE: "California (state)"} | {c: names.get(c, c) for c in present}
        windows = sorted(set(secure.window))
        store = cls(source, secure, public, infos, county_names, {c: regions.get(c, "") for c in present},
                    windows, quality, extract_date)
        for view, table in (("secure", secure), ("public", public)):
            for measure_id, rows in table.groupby("measure_id", sort=False):
                store._by_measure[(view, measure_id)] = rows.reset_index(drop=True)
        return store

    @classmethod
    def open(cls, results_path: Path, data_path: Path | None = None) -> "ResultsStore":
        """Results from a file (or a database's `results` table); with `data_path`, a database
        written by the loader, the data-quality checks for the windows of the results."""
        frame = read_results(results_path)
        quality = extract_date = None
        if data_path is not None:
            quality, extract_date = load_quality(data_path, frame)
        return cls.from_frame(frame, source=str(results_path), quality=quality, extract_date=extract_date)

    # -- lookups --------------------------------------------------------------------------
    @property
    def counties(self) -> list[str]:
        return [c for c in self.county_names if c != STATE]

    def measure(self, measure_id: str) -> MeasureInfo:
        if measure_id not in self.measures:
            raise NotFound(f"unknown measure {measure_id!r}; the results hold {', '.join(self.measures)}")
        return self.measures[measure_id]

    def county(self, county: str) -> str:
        if county in self.county_names:
            return county
        lowered = county.strip().lower()
        for code, name in self.county_names.items():
            if name.lower() == lowered:
                return code
        raise NotFound(f"unknown county {county!r}; use `state` or a county code such as "
                       f"{', '.join(self.counties[:3])} (see /api/counties)")

    def window(self, window: str) -> str:
        try:
            label = parse_window(window).label
        except CwoutcomesError:
            raise NotFound(f"{window!r} is not a window (use e.g. {self.windows[-1] if self.windows else '2024Q4'})") from None
        if label not in self.windows:
            raise NotFound(f"no results for window {label}; the results hold {', '.join(self.windows)}")
        return label

    def strata(self, measure_id: str) -> list[str]:
        rows = self._by_measure[("secure", measure_id)]
        present = list(dict.fromkeys(rows.stratum))
        info = self.measure(measure_id)
        ordered = [s for s in ("all", *info.strata) if s in present]
        return ordered + [s for s in present if s not in ordered]

    def stratum(self, measure_id: str, stratum: str) -> str:
        options = self.strata(measure_id)
        if stratum not in options:
            raise NotFound(f"measure {measure_id} has no stratum {stratum!r}; it has {', '.join(options)}")
        return stratum

    def period_type(self, measure_id: str, period_type: str) -> str:
        options = self.measure(measure_id).period_types
        if period_type not in options:
            raise NotFound(f"measure {measure_id} has no {period_type!r} periods; it has {', '.join(options)}")
        return period_type

    # -- queries --------------------------------------------------------------------------
    def rows(self, *, masked: bool, measure: str | None = None, counties: list[str] | None = None,
             window_from: str | None = None, window_to: str | None = None, stratum: str | None = None,
             stratum_value: str | None = None, period_type: str | None = None) -> pd.DataFrame:
        """Result rows after filters already validated by the lookups above."""
        view = "public" if masked else "secure"
        if measure is not None:
            t = self._by_measure[(view, measure)]
        else:
            t = self.public if masked else self.secure
        keep = np.ones(len(t), dtype=bool)
        if counties is not None:
            keep &= t.county.isin(counties).to_numpy()
        if window_from is not None:
            keep &= (t.window >= window_from).to_numpy()
        if window_to is not None:
            keep &= (t.window <= window_to).to_numpy()
        if stratum is not None:
            keep &= (t.stratum == stratum).to_numpy()
        if stratum_value is not None:
            keep &= (t.stratum_value == stratum_value).to_numpy()
        if period_type is not None:
            keep &= (t.period_type == period_type).to_numpy()
        return t[keep]

    def latest_window(self, measure_id: str, period_type: str | None = None) -> str | None:
        """The latest window with a complete (ok) state value, else the latest window."""
        rows = self._by_measure[("secure", measure_id)]
        rows = rows[(rows.county == STATE) & (rows.stratum == "all")
                    & (rows.period_type == (period_type or self.measure(measure_id).period_type))]
        if rows.empty:
            return None
        complete = rows[rows.status == "ok"]
        return (complete if len(complete) else rows).window.max()

    def quality_view(self, *, masked: bool, county: str | None = None) -> pd.DataFrame | None:
        """The data-quality checks; public view masks failing and total counts of 1-10 (G14)
        and the rate computed from them."""
        if self.quality is None:
            return None
        q = self.quality if county is None else self.quality[self.quality.county == county]
        q = q.copy()
        if masked:
            small = is_small(q.failing) | is_small(q.total)
            q["masked"] = small
            q.loc[small, ["failing", "total", "rate"]] = np.nan
        else:
            q["masked"] = False
        return q

    def status_counts(self) -> pd.DataFrame:
        """Cells by measure and status (the data-quality page's summary)."""
        t = self.secure[self.secure.stratum == "all"]
        counts = t.groupby(["measure_id", "status"]).size().unstack(fill_value=0)
        return counts.reset_index()


def _info(measure_id: str, rows: pd.DataFrame, measure) -> MeasureInfo:
    from cwoutcomes.measures.base import UNIT_LABEL
    from cwoutcomes.model.framework import areas_for, components_for

    present = list(dict.fromkeys(rows.period_type))
    period_types = tuple(sorted(present, key=lambda p: PERIOD_TYPE_ORDER.index(p) if p in PERIOD_TYPE_ORDER else 99))
    first = rows.iloc[0]
    if measure is None:
        unit = str(first.unit)
        standard = first.national_standard
        return MeasureInfo(
            measure_id, str(first.measure_version), measure_id, unit, UNIT_LABEL.get(unit, unit), "none",
            None if standard != standard else float(standard), {}, period_types[0], period_types,
            tuple(s for s in dict.fromkeys(rows.stratum) if s != "all"),
            "(this measure is not defined in the installed version of cwoutcomes)",
            tuple(areas_for(measure_id)), tuple(components_for(measure_id)), registered=False,
        )
    main = measure.period_type if measure.period_type in period_types else period_types[0]
    standard = measure.national_standard
    reference = {k: float(v) for k, v in measure.reference.items() if isinstance(v, (int, float)) and not math.isnan(v)}
    return MeasureInfo(
        measure.id, measure.version, measure.name, measure.unit, measure.unit_label, measure.direction,
        None if standard is None else float(standard), reference, main, period_types, tuple(measure.strata),
        measure.definition, tuple(areas_for(measure_id, measure.inputs)), tuple(components_for(measure_id)),
        measure.follow_up_months,
    )


def load_quality(data_path: Path, results: pd.DataFrame) -> tuple[pd.DataFrame, dt.date]:
    """The G16 checks for the windows present in the results, from a loaded database."""
    from cwoutcomes.engine.dataset import Dataset
    from cwoutcomes.engine.quality import CHECKS, quality_checks

    labels = sorted({str(label) for label in results.period_label if WINDOW_LABEL.match(str(label))})
    ds = Dataset.from_database(Path(data_path))
    try:
        windows: list[Window] = [parse_window(label) for label in labels]
        table = quality_checks(ds, windows) if windows else pd.DataFrame(
            columns=["county", "dq_start", "failing", "total", "check", "rate", "limit", "passed"])
    finally:
        con = getattr(ds, "con", None)
        if con is not None and hasattr(con, "disconnect"):
            con.disconnect()
    table = table.copy()
    table["county"] = table.county.astype(str)
    table["description"] = table.check.map(lambda c: CHECKS[c].description if c in CHECKS else c)
    table["of"] = table.check.map(lambda c: CHECKS[c].of if c in CHECKS else "")
    return table, ds.extract_date
