"""The web dashboard and JSON API (`cwoutcomes serve`): a FastAPI application over a results
table, with server-rendered pages (Jinja2, htmx, Vega-Lite charts, all assets vendored in
`static/`), the /api endpoints with their OpenAPI document, and access control — public
(masked aggregates), county (their own counties unmasked) and state users, kept with argon2
password hashes, API tokens, sessions and an audit log of every unmasked view and download in
a SQLite application database (`appdb.py`). It owns no measure logic: numbers come from the
results table, masking from `engine.masking`, definitions from the measure registry."""

__all__ = ["create_app"]


def __getattr__(name: str):
    # The CLI imports `cwoutcomes.web.cli` for every command; FastAPI loads only when needed.
    if name == "create_app":
        from cwoutcomes.web.app import create_app

        return create_app
    raise AttributeError(name)
