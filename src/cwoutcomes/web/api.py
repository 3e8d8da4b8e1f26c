"""The JSON API under /api: measures and their metadata, results with filters, counties,
windows, the data-quality checks, who is asking, and (state users) the audit log. The
OpenAPI document at /api/openapi.json lists the valid measure ids, counties and windows as
enumerations, so clients and schema-driven tests know the vocabulary."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal, Optional

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cwoutcomes.model.framework import AREA_LABELS, outcome_framework, practice_crosswalk
from cwoutcomes.model.tables import RESULT_STATUSES, STATE
from cwoutcomes.web.auth import Forbidden, decide_masking
from cwoutcomes.web.store import NotFound

RESULT_FIELDS = (
    "measure_id", "measure_version", "period_type", "period_label", "window", "period_start", "period_end",
    "county", "stratum", "stratum_value", "numerator", "denominator", "value", "ci_lower", "ci_upper", "unit",
    "status", "national_standard", "target", "reference_median", "meets_standard", "percent_of_standard",
    "meets_target",
)
MAX_LIMIT = 10_000


class Measure(BaseModel):
    id: str
    version: str
    name: str
    unit: str
    unit_label: str
    direction: str
    national_standard: Optional[float]
    reference: dict[str, float]
    period_type: str
    period_types: list[str]
    strata: list[str]
    definition: str
    areas: list[str]
    practice_components: list[str]
    follow_up_months: int


class ResultRow(BaseModel):
    measure_id: str
    measure_version: str
    period_type: str
    period_label: str
    window: str
    period_start: Optional[dt.date]
    period_end: Optional[dt.date]
    county: str
    stratum: str
    stratum_value: str
    numerator: Optional[float]
    denominator: Optional[float]
    value: Optional[float]
    ci_lower: Optional[float]
    ci_upper: Optional[float]
    unit: str
    status: str
    national_standard: Optional[float]
    target: Optional[float]
    reference_median: Optional[float]
    meets_standard: Optional[bool]
    percent_of_standard: Optional[float]
    meets_target: Optional[bool]


class ResultsPage(BaseModel):
    masked: bool
    total: int
    offset: int
    limit: int
    rows: list[ResultRow]


class County(BaseModel):
    county: str
    name: str
    region: str


class QualityRow(BaseModel):
    county: str
    dq_start: dt.date
    check: str
    description: str
    of: str
    failing: Optional[float]
    total: Optional[float]
    rate: Optional[float]
    limit: float
    passed: bool
    masked: bool


class Quality(BaseModel):
    available: bool
    masked: bool
    rows: list[QualityRow]
    status_counts: list[dict[str, int | str]]


class Me(BaseModel):
    username: str
    role: str
    counties: list[str]
    signed_in: bool


class Metadata(BaseModel):
    source: str
    extract_date: Optional[dt.date]
    statuses: list[str]
    windows: list[str]
    areas: dict[str, str]
    outcome_framework: list[dict[str, str]]
    practice_crosswalk: list[dict[str, str]]
    masking: str


class Sql(BaseModel):
    measure_id: str
    engine: str
    window: str
    sql: str


class AuditRow(BaseModel):
    id: int
    at: str
    username: str
    role: str
    action: str
    masked: Optional[bool]
    path: str
    detail: dict
    client: Optional[str]


class Problem(BaseModel):
    detail: str


ERRORS = {
    401: {"model": Problem, "description": "The bearer token is not valid."},
    403: {"model": Problem, "description": "The role may not see this (e.g. another county's unmasked results)."},
    404: {"model": Problem, "description": "Unknown measure, county, window, stratum or value; the message lists what exists."},
    422: {"model": Problem, "description": "A parameter has the wrong type or range."},
}


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (dt.date,)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def records(frame: pd.DataFrame, fields) -> list[dict]:
    columns = [f for f in fields if f in frame.columns]
    return [dict(zip(columns, map(_clean, row))) for row in frame[columns].itertuples(index=False, name=None)]


def router(web) -> APIRouter:
    store = web.store
    r = APIRouter(prefix="/api", responses=ERRORS)
    measure_ids = list(store.measures)
    geos = list(store.county_names)
    all_strata = sorted({s for mid in measure_ids for s in store.strata(mid)})
    period_types = sorted({p for m in store.measures.values() for p in m.period_types})

    def enum(values):
        return {"enum": list(values)}

    @r.get("/measures", response_model=list[Measure], summary="Every measure with results")
    def measures():
        return [m.as_dict() for m in store.measures.values()]

    @r.get("/measures/{measure_id}", response_model=Measure, summary="One measure's metadata and definition")
    def measure(measure_id: str):
        return store.measure(measure_id).as_dict()

    @r.get("/measures/{measure_id}/sql", response_model=Sql,
           summary="The SQL the measure runs (as `cwoutcomes explain` prints it) for the latest window")
    def measure_sql(measure_id: str, engine: Literal["duckdb", "spark"] = "duckdb"):
        info = store.measure(measure_id)
        window = store.latest_window(measure_id) or store.windows[-1]
        return {"measure_id": info.id, "engine": engine, "window": window,
                "sql": sql_for(web, measure_id, engine, window)}

    @r.get("/results", response_model=ResultsPage, summary="Result rows with filters",
           description="Rows of the results table. Without `masked`, the rows are unmasked when your role "
           "may see every county in the answer, else masked (G14). `masked=false` beyond your role is 403.")
    def results(
        request: Request,
        measure: Optional[str] = Query(None, description="Measure id", json_schema_extra=enum(measure_ids)),
        county: Optional[list[str]] = Query(None, description="`state` or county code; repeat for several",
                                            json_schema_extra={"items": enum(geos)}),
        window_from: Optional[str] = Query(None, description="First window, e.g. 2024Q1", json_schema_extra=enum(store.windows)),
        window_to: Optional[str] = Query(None, description="Last window", json_schema_extra=enum(store.windows)),
        stratum: Optional[str] = Query(None, json_schema_extra=enum(all_strata)),
        stratum_value: Optional[str] = Query(None, max_length=100),
        period_type: Optional[str] = Query(None, json_schema_extra=enum(period_types)),
        masked: Optional[bool] = Query(None, description="true: public view; false: unmasked (role permitting)"),
        limit: int = Query(1000, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=10_000_000),
    ):
        principal = web.principal(request)
        if measure is not None:
            store.measure(measure)
        counties = [store.county(c) for c in county] if county is not None else None
        low = store.window(window_from) if window_from is not None else None
        high = store.window(window_to) if window_to is not None else None
        if low is not None and high is not None and low > high:
            raise NotFound(f"window_from {low} is after window_to {high}")
        if stratum is not None:
            if measure is not None:
                store.stratum(measure, stratum)
            elif stratum not in all_strata:
                raise NotFound(f"unknown stratum {stratum!r}; strata are {', '.join(all_strata)}")
        if period_type is not None:
            if measure is not None:
                store.period_type(measure, period_type)
            elif period_type not in period_types:
                raise NotFound(f"unknown period type {period_type!r}; the results have {', '.join(period_types)}")
        is_masked = decide_masking(principal, counties or geos, masked)
        rows = store.rows(masked=is_masked, measure=measure, counties=counties, window_from=low, window_to=high,
                          stratum=stratum, stratum_value=None, period_type=period_type)
        if stratum_value is not None:
            subset = rows[rows.stratum_value == stratum_value]
            if subset.empty:
                values = sorted(set(rows.stratum_value))[:30]
                raise NotFound(f"no rows with stratum_value {stratum_value!r}; values here include {', '.join(values)}")
            rows = subset
        page = rows.iloc[offset:offset + limit]
        if not is_masked:
            web.audit(request, "api_results", masked=False, measure=measure, counties=counties,
                      window_from=low, window_to=high, rows=len(page))
        body = {"masked": is_masked, "total": len(rows), "offset": offset, "limit": limit,
                "rows": records(page, RESULT_FIELDS)}
        return JSONResponse(body)

    @r.get("/counties", response_model=list[County], summary="Counties present in the results")
    def counties():
        return [{"county": c, "name": store.county_names[c], "region": store.regions.get(c, "")}
                for c in store.counties]

    @r.get("/windows", response_model=list[str], summary="Windows present in the results, oldest first")
    def windows():
        return store.windows

    @r.get("/metadata", response_model=Metadata, summary="Statuses, windows, outcome areas and practice model")
    def metadata():
        return {
            "source": store.source, "extract_date": store.extract_date, "statuses": list(RESULT_STATUSES),
            "windows": store.windows, "areas": AREA_LABELS,
            "outcome_framework": outcome_framework().to_dict("records"),
            "practice_crosswalk": practice_crosswalk().to_dict("records"),
            "masking": "G14: a cell whose numerator or denominator is 1-10 is masked, with complementary "
                       "suppression; zero is shown as zero.",
        }

    @r.get("/quality", response_model=Quality, summary="Data-quality checks (G16) per county and 6-month period")
    def quality(
        request: Request,
        county: Optional[str] = Query(None, json_schema_extra=enum(geos)),
        masked: Optional[bool] = Query(None),
    ):
        principal = web.principal(request)
        code = store.county(county) if county is not None else None
        is_masked = decide_masking(principal, [code] if code is not None else geos, masked)
        table = store.quality_view(masked=is_masked, county=code)
        if not is_masked:
            web.audit(request, "api_quality", masked=False, county=code)
        fields = ("county", "dq_start", "check", "description", "of", "failing", "total", "rate", "limit",
                  "passed", "masked")
        counts = store.status_counts()
        return JSONResponse({
            "available": table is not None, "masked": is_masked,
            "rows": [] if table is None else records(table, fields),
            "status_counts": records(counts, list(counts.columns)),
        })

    @r.get("/me", response_model=Me, summary="Who the server thinks you are")
    def me(request: Request):
        return web.principal(request).as_dict()

    @r.get("/audit", response_model=list[AuditRow], summary="The audit log, newest first (state users)")
    def audit(request: Request, limit: int = Query(200, ge=1, le=10_000), username: Optional[str] = Query(None, max_length=64)):
        principal = web.principal(request)
        if principal.role != "state":
            raise Forbidden("the audit log is for state users")
        return web.db.audit_rows(limit=limit, username=username)

    return r


def sql_for(web, measure_id: str, engine: str, window: str) -> str:
    """The measure's SQL, compiled once per server (compiling takes a second or two)."""
    from cwoutcomes.engine.explain import measure_sql
    from cwoutcomes.measures import registry

    measure = registry().get(measure_id)
    if measure is None:
        raise NotFound(f"measure {measure_id} is not defined in this version of cwoutcomes, so its SQL is unknown")
    return web.cached(("sql", measure_id, engine, window), lambda: measure_sql(measure, engine, window))
