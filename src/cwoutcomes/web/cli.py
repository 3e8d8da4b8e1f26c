"""The `cwoutcomes serve` command and the `cwoutcomes users ...` commands (mounted by the main
CLI). They parse options and print what changed; the application database and the server do
the work."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from cwoutcomes.errors import CwoutcomesError

console = Console(stderr=True)
out = Console()
APP_DB_ENV = "CWOUTCOMES_APP_DB"
DEFAULT_APP_DB = Path("cwoutcomes-web.sqlite")

users_app = typer.Typer(
    help="Dashboard users (county or state analysts) in the application database. The public "
    "needs no account.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


def _errors(func):
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CwoutcomesError as exc:
            console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def app_db_path(option: Optional[Path]) -> Path:
    if option is not None:
        return option
    return Path(os.environ.get(APP_DB_ENV, DEFAULT_APP_DB))


APP_DB_HELP = f"Application database (SQLite; default ${APP_DB_ENV} or ./{DEFAULT_APP_DB})."


@users_app.command("add")
@_errors
def users_add(
    username: str = typer.Argument(..., help="User name (no spaces)."),
    role: str = typer.Option(..., help="county or state."),
    county: Optional[List[str]] = typer.Option(None, "--county", help="County code (repeat for several); county users only."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of standard input."),
    token: bool = typer.Option(False, "--token", help="Also issue an API token (printed once)."),
    no_password: bool = typer.Option(False, "--no-password", help="No password: the user signs in with API tokens only."),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help=APP_DB_HELP),
) -> None:
    """Add a user; the password is asked for (twice) unless --password-stdin or --no-password."""
    from cwoutcomes.web.appdb import AppDatabase

    if no_password:
        password = None
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = AppDatabase(app_db_path(app_db))
    user = db.add_user(username, role, county or (), password)
    out.print(f"added {user.username} ({user.role}{': ' + ', '.join(user.counties) if user.counties else ''}) to {db.path}")
    if token or no_password:
        out.print(f"API token (shown once): {db.issue_token(user.username)}")


@users_app.command("remove")
@_errors
def users_remove(
    username: str = typer.Argument(...),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help=APP_DB_HELP),
) -> None:
    """Remove a user with their API tokens and sessions (the audit log keeps their entries)."""
    from cwoutcomes.web.appdb import AppDatabase

    db = AppDatabase(app_db_path(app_db))
    db.remove_user(username)
    out.print(f"removed {username} from {db.path}")


@users_app.command("list")
@_errors
def users_list(app_db: Optional[Path] = typer.Option(None, "--app-db", help=APP_DB_HELP)) -> None:
    """List users: name, role, counties, API tokens, created."""
    from cwoutcomes.web.appdb import AppDatabase

    db = AppDatabase(app_db_path(app_db))
    table = RichTable(title=f"Users in {db.path}")
    for header in ("user", "role", "counties", "tokens", "created (UTC)"):
        table.add_column(header)
    for user in db.users():
        table.add_row(user.username, user.role, ", ".join(user.counties), str(db.token_count(user.username)),
                      user.created_at)
    out.print(table)


@users_app.command("token")
@_errors
def users_token(
    username: str = typer.Argument(...),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help=APP_DB_HELP),
) -> None:
    """Issue another API token for a user (printed once; removing the user revokes it)."""
    from cwoutcomes.web.appdb import AppDatabase

    db = AppDatabase(app_db_path(app_db))
    out.print(f"API token (shown once): {db.issue_token(username)}")


@_errors
def serve(
    results: Path = typer.Argument(..., help="Results file (.parquet/.csv from `compute`) or a DuckDB database with a `results` table."),
    data: Optional[Path] = typer.Option(None, help="Loaded database (from validate/compute/demo) for the data-quality page."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    app_db: Optional[Path] = typer.Option(None, "--app-db", help=APP_DB_HELP),
    insecure_cookies: bool = typer.Option(False, "--insecure-cookies", help="Send cookies over plain HTTP too (local trials only; behind HTTPS leave it off)."),
    workers: int = typer.Option(1, help="Server processes (each holds the results in memory)."),
    root_path: str = typer.Option("", help="URL prefix when a reverse proxy serves the dashboard under a sub-path, e.g. /outcomes."),
    forwarded_allow_ips: str = typer.Option("127.0.0.1", help="Proxies whose X-Forwarded-For/-Proto headers are trusted (comma-separated, or *)."),
) -> None:
    """Serve the dashboard and the JSON API."""
    import uvicorn

    from cwoutcomes.web import server

    settings = server.Settings(results=results, data=data, app_db=app_db_path(app_db),
                               secure_cookies=not insecure_cookies)
    common = dict(host=host, port=port, root_path=root_path, proxy_headers=True,
                  forwarded_allow_ips=forwarded_allow_ips, log_level="info")
    if workers > 1:
        settings.export()
        # Each worker loads and masks the results before it answers the supervisor's health
        # checks, which takes minutes on a state's results: give it that long.
        uvicorn.run("cwoutcomes.web.server:app_from_environment", factory=True, workers=workers,
                    timeout_worker_healthcheck=600, **common)
    else:
        console.print(f"loading {results} ...", soft_wrap=True)
        uvicorn.run(server.build(settings), **common)
