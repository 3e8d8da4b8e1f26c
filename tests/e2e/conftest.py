"""End-to-end fixtures: the `cwoutcomes serve` command on 127.0.0.1 over the hand-made
results of tests/web_results.py, with users made by `cwoutcomes users add`, driven by Debian's
Chromium through Playwright (no browser download). Everything skips when /usr/bin/chromium or
Playwright is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CWOUTCOMES_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
HERE = Path(__file__).parent
CLI = [sys.executable, "-m", "cwoutcomes.cli"]

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - playwright is a test dependency
    sync_api = None
SKIP_REASON = (f"{CHROMIUM} is not installed (apt-get install chromium)" if not CHROMIUM.exists()
               else "playwright is not installed" if sync_api is None else None)


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        # One server and one browser for all browser tests: keep them on one xdist worker.
        item.add_marker(pytest.mark.xdist_group("e2e"))
        if SKIP_REASON:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    from web_results import results_frame

    folder = tmp_path_factory.mktemp("e2e")
    frame = results_frame()
    frame.to_parquet(folder / "results.parquet", index=False)
    return folder, frame


@pytest.fixture(scope="session")
def server(results):
    """Base URL of a running `cwoutcomes serve` (secure cookies as in production: Chromium
    treats 127.0.0.1 as a secure origin)."""
    from web_results import PASSWORDS

    folder, _ = results
    app_db = folder / "app.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for user, extra in (("sally", ["--role", "state"]), ("alex", ["--role", "county", "--county", "06001"])):
        subprocess.run([*CLI, "users", "add", user, *extra, "--password-stdin", "--app-db", str(app_db)],
                       input=PASSWORDS[user] + "\n", text=True, check=True, env=env, capture_output=True)
    port = _free_port()
    log = open(folder / "server.log", "w")
    process = subprocess.Popen([*CLI, "serve", str(folder / "results.parquet"), "--host", "127.0.0.1",
                                "--port", str(port), "--app-db", str(app_db)], stdout=log, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                raise RuntimeError("the server did not start: " + (folder / "server.log").read_text())
            time.sleep(0.5)
    yield base
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    """A fresh browser context (no cookies) per test; console errors fail the test."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def sign_in(page, user: str) -> None:
    from web_results import PASSWORDS

    page.goto("/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
