"""The FastAPI application: `create_app(store, db)` wires the results store, the application
database, the pages (`pages.py`), the JSON API (`api.py`), static files, security headers and
the error pages. Unknown measures, counties and windows answer 404 with a message naming what
exists; refused views answer 403; nothing a user types leads to a 500."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from cwoutcomes import __version__
from cwoutcomes.web.appdb import AppDatabase
from cwoutcomes.web.auth import Authenticator, Forbidden, InvalidToken, Principal
from cwoutcomes.web.store import NotFound, ResultsStore
from cwoutcomes.web.tables import format_cell

HERE = Path(__file__).parent
# Vega evaluates expressions with vega-interpreter, so scripts need no eval; Vega and htmx set
# inline styles on the elements they draw.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")


class Web:
    """What every route needs: store, database, authenticator, templates and small helpers."""

    def __init__(self, store: ResultsStore, db: AppDatabase, auth: Authenticator):
        self.store, self.db, self.auth = store, db, auth
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["version"] = __version__
        self.templates.env.filters["tojson_script"] = _json_for_script
        self.templates.env.globals["with_params"] = _with_params
        self.templates.env.filters["value"] = lambda v, unit: format_cell(v, "value", unit)
        self.cache: dict = {}

    def principal(self, request: Request) -> Principal:
        principal = getattr(request.state, "principal", None)
        if principal is None:
            principal = self.auth.principal(request)
            request.state.principal = principal
        return principal

    def url(self, request: Request, path: str, **params) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return request.scope.get("root_path", "") + path + (f"?{query}" if query else "")

    def render(self, request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
        principal = self.principal(request)
        seed, new = self.auth.csrf_seed(request)
        context.update(request=request, principal=principal, csrf_token=self.auth.csrf_token(seed),
                       root=request.scope.get("root_path", ""), store=self.store)
        response = self.templates.TemplateResponse(request, template, context, status_code=status_code)
        if new:
            response.set_cookie(self.auth.csrf_cookie, seed, **self.auth.cookie_options())
        return response

    def audit(self, request: Request, action: str, *, masked: bool | None, **detail) -> None:
        principal = self.principal(request)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        client = request.client.host if request.client else None
        self.db.audit(username=principal.username, role=principal.role, action=action, path=path,
                      masked=masked, detail={k: v for k, v in detail.items() if v is not None}, client=client)

    def cached(self, key, build):
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]


def _with_params(request: Request, **changes) -> str:
    """The current URL's query with some parameters replaced (links that keep the view)."""
    params = dict(request.query_params)
    params.pop("format", None)
    params.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode(params)


def _json_for_script(value) -> str:
    # Inside <script type="application/json"> only "</" can end the element early.
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def create_app(store: ResultsStore, db: AppDatabase, *, secure_cookies: bool = True) -> FastAPI:
    from cwoutcomes.web import api, pages

    app = FastAPI(
        title="cwoutcomes", version=__version__,
        description="Child-welfare outcome measures: results by measure, county, window and stratum. "
        "Without a token the results are masked (G14); send `Authorization: Bearer <token>` for the "
        "unmasked results your role allows.",
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
    )
    web = Web(store, db, Authenticator(db, secure_cookies=secure_cookies))
    app.state.web = web
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router(web))
    app.include_router(pages.router(web))

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            # Pages may hold unmasked numbers: keep them out of shared caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path == "/api"

    def error(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": message}, status_code=status, headers=headers)
        try:
            return web.render(request, "error.html", status_code=status, status=status, message=message)
        except InvalidToken:
            return HTMLResponse(message, status_code=status)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return error(request, 404, str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        return error(request, 403, str(exc))

    @app.exception_handler(InvalidToken)
    async def invalid_token(request: Request, exc: InvalidToken):
        request.state.principal = None
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return error(request, 422, f"invalid request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else (
            f"there is no page at {request.url.path}; start at / or see /api/openapi.json")
        return error(request, exc.status_code, str(message), getattr(exc, "headers", None))

    return app
