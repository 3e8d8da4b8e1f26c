"""The server-rendered pages. Every view has a stable URL:

    /                                      outcome areas and their measures
    /practice                              Core Practice Model components and their measures
    /measures/{id}/{county}                trend over windows (county = state or a county code)
    /measures/{id}/{county}/{window}       strata of one window (?stratum=age_group)
    /measures/{id}/compare?window=         all counties side by side, with small multiples
    /measures/{id}/methodology             definition and the SQL it runs
    /quality                               data-quality checks (?county=)

Pickers are plain GET forms sent to /measures/{id}, which redirects to the canonical URL, so
tables work without JavaScript; htmx (hx-boost) only swaps pages in place. `?format=csv` or
`?format=xlsx` on a table view downloads exactly its rows and columns. `?masked=true|false`
chooses the public or unmasked view where the role allows."""

from __future__ import annotations

from typing import Literal, Optional
from urllib.parse import urlsplit

import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cwoutcomes.model.framework import AREA_LABELS, outcome_framework, practice_crosswalk
from cwoutcomes.model.tables import STATE
from cwoutcomes.web import charts, tables
from cwoutcomes.web.appdb import LOCKOUT_FAILURES
from cwoutcomes.web.auth import Forbidden, decide_masking
from cwoutcomes.web.store import NotFound

Format = Optional[Literal["csv", "xlsx"]]
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def router(web) -> APIRouter:
    store = web.store
    r = APIRouter(include_in_schema=False)

    def download(request: Request, table: tables.Table, fmt: str, masked: bool, name: str, **detail) -> Response:
        web.audit(request, "download", masked=masked, format=fmt, rows=len(table.rows), **detail)
        body = table.to_csv() if fmt == "csv" else table.to_xlsx()
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return Response(body, media_type=MEDIA[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'})

    def seen(request: Request, masked: bool, view: str, **detail) -> None:
        if not masked:
            web.audit(request, "view", masked=False, view=view, **detail)

    def latest_values(masked: bool) -> dict[str, pd.Series]:
        """Per measure, the state value of its latest complete window (index page)."""
        out = {}
        for mid, info in store.measures.items():
            window = store.latest_window(mid)
            if window is None:
                continue
            rows = store.rows(masked=masked, measure=mid, counties=[STATE], window_from=window, window_to=window,
                              stratum="all", period_type=info.period_type)
            if len(rows):
                out[mid] = rows.iloc[0]
        return out

    @r.get("/healthz")
    def healthz():
        return {"status": "ok", "measures": len(store.measures), "rows": len(store.secure)}

    @r.get("/")
    def index(request: Request, masked: Optional[bool] = None):
        principal = web.principal(request)
        is_masked = decide_masking(principal, [STATE], masked)
        seen(request, is_masked, "index")
        framework = outcome_framework()
        areas = []
        placed = set()
        for area, label in AREA_LABELS.items():
            outcomes = []
            for outcome, rows in framework[framework.area == area].groupby("outcome", sort=False):
                ids = [mid for mid in store.measures
                       if any(mid == f or mid.startswith(f + ".") for f in rows.measure_id)]
                placed.update(ids)
                outcomes.append((outcome, ids))
            areas.append((area, label, outcomes))
        others = [mid for mid in store.measures if mid not in placed]
        latest = web.cached(("latest", is_masked), lambda: latest_values(is_masked))
        return web.render(request, "index.html", areas=areas, others=others, latest=latest,
                          masked=is_masked)

    @r.get("/practice")
    def practice(request: Request):
        crosswalk = practice_crosswalk()
        components = []
        for (cid, name), rows in crosswalk.groupby(["component_id", "component"], sort=False):
            elements = []
            for row in rows.itertuples(index=False):
                ids = [m for m in row.measure_ids.split(";") if m]
                present = [mid for mid in store.measures
                           if any(mid == f or mid.startswith(f + ".") for f in ids)]
                elements.append({"type": row.element_type.replace("_", " "), "element": row.element,
                                 "measures": present, "named": ids})
            components.append((cid, name, elements))
        return web.render(request, "practice.html", components=components)

    @r.get("/measures")
    def measures(request: Request):
        return web.render(request, "measures.html")

    @r.get("/measures/{measure_id}")
    def navigate(request: Request, measure_id: str, county: Optional[str] = Query(None, max_length=100),
                 window: Optional[str] = Query(None, max_length=20), stratum: Optional[str] = Query(None, max_length=50)):
        """Where the pickers send their choice: redirect to the canonical URL."""
        store.measure(measure_id)
        geo = store.county(county) if county else STATE
        path = f"/measures/{measure_id}/{geo}"
        params = {}
        if window:
            path += f"/{store.window(window)}"
            if stratum and stratum != "all":
                params["stratum"] = store.stratum(measure_id, stratum)
        return RedirectResponse(web.url(request, path, **params), status_code=303)

    @r.get("/measures/{measure_id}/methodology")
    def methodology(request: Request, measure_id: str, engine: Literal["duckdb", "spark"] = "duckdb"):
        from cwoutcomes.web.api import sql_for

        info = store.measure(measure_id)
        window = store.latest_window(measure_id) or store.windows[-1]
        sql = sql_for(web, measure_id, engine, window) if info.registered else None
        return web.render(request, "methodology.html", info=info, sql=sql, engine=engine, window=window)

    @r.get("/measures/{measure_id}/compare")
    def compare(request: Request, measure_id: str, window: Optional[str] = Query(None, max_length=20),
                masked: Optional[bool] = None, format: Format = None):
        info = store.measure(measure_id)
        window = store.window(window) if window else (store.latest_window(measure_id) or store.windows[-1])
        principal = web.principal(request)
        geos = list(store.county_names)
        is_masked = decide_masking(principal, geos, masked)
        rows = store.rows(masked=is_masked, measure=measure_id, window_from=window, window_to=window,
                          stratum="all", period_type=info.period_type)
        rows = rows.assign(name=rows.county.map(store.county_names))
        rows = rows.assign(_order=rows.county != STATE).sort_values(["_order", "name"])
        table = tables.Table(f"{measure_id} by county, {window}", tables.COMPARE, rows, info.unit)
        if format:
            return download(request, table, format, is_masked, f"cwoutcomes_{measure_id}_counties_{window}",
                            measure=measure_id, window=window)
        seen(request, is_masked, "compare", measure=measure_id, window=window)
        spec = web.cached(("multiples", measure_id, is_masked), lambda: _multiples(store, info, is_masked))
        links = [web.url(request, f"/measures/{measure_id}/{c}/{window}") for c in rows.county]
        return web.render(request, "compare.html", info=info, window=window, table=table, links=links,
                          spec=spec, masked=is_masked, may_unmask=principal.may_unmask(geos))

    @r.get("/measures/{measure_id}/{county}")
    def trend(request: Request, measure_id: str, county: str, period_type: Optional[str] = Query(None, max_length=20),
              masked: Optional[bool] = None, format: Format = None):
        info = store.measure(measure_id)
        code = store.county(county)
        if code != county:
            return RedirectResponse(web.url(request, f"/measures/{measure_id}/{code}"), status_code=301)
        ptype = store.period_type(measure_id, period_type) if period_type else info.period_type
        principal = web.principal(request)
        is_masked = decide_masking(principal, [code], masked)
        rows = store.rows(masked=is_masked, measure=measure_id, counties=[code], stratum="all", period_type=ptype)
        rows = rows.sort_values(["window", "period_start"])
        name = store.county_names[code]
        table = tables.Table(f"{measure_id}, {name}", tables.TREND, rows, info.unit)
        if format:
            return download(request, table, format, is_masked, f"cwoutcomes_{measure_id}_{code}",
                            measure=measure_id, county=code)
        seen(request, is_masked, "trend", measure=measure_id, county=code)
        # Beside a county, the state's trend in grey: unmasked only for those who may see it so.
        state_masked = is_masked or not principal.may_unmask([STATE])
        spec = web.cached(("trend", measure_id, code, ptype, is_masked, state_masked), lambda: charts.trend_chart(
            rows, names=store.county_names, labels=list(dict.fromkeys(rows.period_label)),
            unit_label=info.unit_label, title=f"{measure_id} {info.name}: {name}",
            state_rows=None if code == STATE else store.rows(
                masked=state_masked, measure=measure_id, counties=[STATE], stratum="all", period_type=ptype)))
        links = [web.url(request, f"/measures/{measure_id}/{code}/{w}") for w in rows.window]
        return web.render(request, "trend.html", info=info, county=code, name=name, table=table, spec=spec,
                          links=links, period_type=ptype, masked=is_masked, may_unmask=principal.may_unmask([code]))

    @r.get("/measures/{measure_id}/{county}/{window}")
    def strata(request: Request, measure_id: str, county: str, window: str,
               stratum: Optional[str] = Query(None, max_length=50), masked: Optional[bool] = None,
               format: Format = None):
        info = store.measure(measure_id)
        code = store.county(county)
        label = store.window(window)
        if code != county or label != window:
            return RedirectResponse(web.url(request, f"/measures/{measure_id}/{code}/{label}",
                                            stratum=stratum), status_code=301)
        chosen = store.stratum(measure_id, stratum) if stratum else None
        principal = web.principal(request)
        is_masked = decide_masking(principal, [code], masked)
        rows = store.rows(masked=is_masked, measure=measure_id, counties=[code], window_from=label, window_to=label,
                          stratum=chosen, period_type=info.period_type)
        order = {s: i for i, s in enumerate(store.strata(measure_id))}
        rows = rows.assign(_order=rows.stratum.map(order)).sort_values(["_order", "stratum_value"])
        name = store.county_names[code]
        table = tables.Table(f"{measure_id}, {name}, {label}", tables.STRATA, rows, info.unit)
        if format:
            return download(request, table, format, is_masked, f"cwoutcomes_{measure_id}_{code}_{label}",
                            measure=measure_id, county=code, window=label, stratum=chosen)
        seen(request, is_masked, "strata", measure=measure_id, county=code, window=label, stratum=chosen)
        bars = rows[rows.stratum != "all"]
        bars = bars.assign(stratum_value=bars.stratum + ": " + bars.stratum_value) if chosen is None else bars
        spec = charts.strata_chart(bars, title=f"{measure_id} {name}, {label}", unit_label=info.unit_label) \
            if bars.value.notna().any() else None
        return web.render(request, "strata.html", info=info, county=code, name=name, window=label, table=table,
                          spec=spec, stratum=chosen, strata=store.strata(measure_id), masked=is_masked,
                          may_unmask=principal.may_unmask([code]))

    @r.get("/quality")
    def quality(request: Request, county: Optional[str] = Query(None, max_length=100),
                masked: Optional[bool] = None, format: Format = None):
        principal = web.principal(request)
        code = store.county(county) if county else None
        geos = [code] if code else list(store.county_names)
        is_masked = decide_masking(principal, geos, masked)
        checks = store.quality_view(masked=is_masked, county=code)
        table = None
        if checks is not None:
            shown = checks if code else checks[~checks.passed]
            shown = shown.assign(name=shown.county.map(lambda c: store.county_names.get(c, c)))
            caption = f"Data-quality checks, {store.county_names[code]}" if code else "Failed data-quality checks"
            table = tables.Table(caption, tables.QUALITY, shown)
            if format:
                return download(request, table, format, is_masked, f"cwoutcomes_quality_{code or 'all'}",
                                county=code)
        elif format:
            raise NotFound("the data-quality checks need the loaded database (start the server with --data)")
        seen(request, is_masked, "quality", county=code)
        counts = store.status_counts()
        return web.render(request, "quality.html", table=table, county=code, counts=counts, masked=is_masked,
                          may_unmask=principal.may_unmask(geos))

    @r.get("/login")
    def login_form(request: Request, next: Optional[str] = Query(None, max_length=500)):
        return web.render(request, "login.html", next=_safe_next(next), error=None)

    @r.post("/login")
    def login(request: Request, username: str = Form(..., max_length=64), password: str = Form(..., max_length=256),
              csrf_token: str = Form("", max_length=200), next: str = Form("/", max_length=500)):
        if not web.auth.csrf_valid(request, csrf_token):
            raise Forbidden("the form has expired or did not come from this site; reload the page and try again")
        target = _safe_next(next)
        if web.db.recent_failures(username) >= LOCKOUT_FAILURES:
            web.db.audit(username=username, role="public", action="login_locked", path="/login",
                         client=request.client.host if request.client else None)
            return web.render(request, "login.html", status_code=429, next=target,
                              error="Too many failed sign-ins for this user; wait 15 minutes.")
        user = web.db.check_password(username, password)
        client = request.client.host if request.client else None
        if user is None:
            web.db.audit(username=username, role="public", action="login_failed", path="/login", client=client)
            return web.render(request, "login.html", status_code=401, next=target,
                              error="Unknown user name or wrong password.")
        web.db.audit(username=user.username, role=user.role, action="login", path="/login", client=client)
        response = RedirectResponse(web.url(request, target), status_code=303)
        response.set_cookie(web.auth.session_cookie, web.db.open_session(user.username),
                            max_age=12 * 3600, **web.auth.cookie_options())
        return response

    @r.post("/logout")
    def logout(request: Request, csrf_token: str = Form("", max_length=200)):
        if not web.auth.csrf_valid(request, csrf_token):
            raise Forbidden("the form has expired or did not come from this site; reload the page and try again")
        session = request.cookies.get(web.auth.session_cookie)
        if session:
            web.db.close_session(session)
        response = RedirectResponse(web.url(request, "/"), status_code=303)
        response.delete_cookie(web.auth.session_cookie, path="/", secure=web.auth.secure_cookies, httponly=True)
        return response

    @r.get("/audit")
    def audit(request: Request):
        principal = web.principal(request)
        if principal.role != "state":
            raise Forbidden("the audit log is for state users")
        return web.render(request, "audit.html", rows=web.db.audit_rows(limit=500))

    return r


def _multiples(store, info, masked: bool) -> dict:
    rows = store.rows(masked=masked, measure=info.id, stratum="all", period_type=info.period_type)
    rows = rows.sort_values(["window", "period_start"])
    labels = list(dict.fromkeys(rows.period_label))
    return charts.small_multiples(rows[rows.county != STATE], state_rows=rows[rows.county == STATE],
                                  names=store.county_names, labels=labels, unit_label=info.unit_label,
                                  title=f"{info.id} {info.name} by county")
