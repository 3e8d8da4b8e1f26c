"""The web dashboard and JSON API over the hand-made results of `web_results.py` (answers
worked out there): every endpoint, the roles, masking, downloads, sign-in with CSRF, the audit
log, bad input, and the `serve`/`users` commands."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cwoutcomes.cli import app as cli_app
from cwoutcomes.errors import CwoutcomesError
from cwoutcomes.web.appdb import AppDatabase
from cwoutcomes.web.store import ResultsStore, read_results
from web_results import PASSWORDS, make_app, results_frame


@pytest.fixture()
def env(tmp_path):
    app, db, tokens = make_app(tmp_path)
    return TestClient(app), db, tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def by_county(body: dict) -> dict:
    return {(r["period_label"], r["county"], r["stratum_value"]): r for r in body["rows"]}


def sign_in(client: TestClient, user: str, password: str | None = None):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    return client.post("/login", data={"username": user, "password": password or PASSWORDS[user],
                                       "csrf_token": token, "next": "/measures/4-P1/06001"},
                       follow_redirects=False)


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/login").text).group(1)


# -- API: metadata -------------------------------------------------------------------------

def test_api_measures_counties_windows_metadata(env):
    client, _, _ = env
    measures = client.get("/api/measures").json()
    assert [m["id"] for m in measures] == ["4-S1", "4-P1"]  # registry order
    p1 = client.get("/api/measures/4-P1").json()
    assert (p1["unit"], p1["direction"], p1["national_standard"], p1["version"]) == ("percent", "higher", 35.2, "cfsr4")
    assert p1["areas"] == ["permanency_stability"] and "reunified" not in p1["definition"]
    assert p1["definition"].startswith("Children entering care in the window")
    assert client.get("/api/counties").json() == [
        {"county": "06001", "name": "Alameda", "region": "Bay Area"},
        {"county": "06019", "name": "Fresno", "region": "Central"},
        {"county": "06037", "name": "Los Angeles", "region": "Los Angeles"},
    ]
    assert client.get("/api/windows").json() == ["2024Q3", "2024Q4"]
    meta = client.get("/api/metadata").json()
    assert meta["windows"] == ["2024Q3", "2024Q4"] and "masked" in meta["statuses"]
    assert meta["areas"]["safety"] == "Safety" and any(r["measure_id"] == "4-P1" for r in meta["outcome_framework"])
    assert client.get("/api/me").json() == {"username": "public", "role": "public", "counties": [], "signed_in": False}
    assert client.get("/healthz").json() == {"status": "ok", "measures": 2, "rows": 14}


def test_api_sql_is_the_explain_sql(env):
    from cwoutcomes.engine.explain import measure_sql
    from cwoutcomes.measures import registry

    client, _, _ = env
    body = client.get("/api/measures/4-S1/sql").json()
    assert body["window"] == "2024Q4" and body["engine"] == "duckdb"
    def same(sql: str) -> str:  # in-memory tables get random names per compilation
        return re.sub(r"_memtable_[a-z0-9]+", "_memtable_", sql)

    assert same(body["sql"]) == same(measure_sql(registry()["4-S1"], "duckdb", "2024Q4"))


# -- API: results and roles ----------------------------------------------------------------

def test_public_results_are_masked(env):
    client, db, _ = env
    body = client.get("/api/results", params={"measure": "4-P1", "window_from": "2024Q4", "stratum": "all"}).json()
    assert body["masked"] is True and body["total"] == 4
    rows = by_county(body)
    state = rows[("2024Q4", "state", "all")]
    assert (state["numerator"], state["denominator"], state["status"]) == (235, 550, "ok")
    assert state["value"] == pytest.approx(42.7272727)
    assert rows[("2024Q4", "06037", "all")]["value"] == 50.0
    for county in ("06001", "06019"):  # 06019 small, 06001 its complement
        row = rows[("2024Q4", county, "all")]
        assert row["status"] == "masked"
        assert row["numerator"] is None and row["denominator"] is None and row["value"] is None
    sexes = by_county(client.get("/api/results", params={"measure": "4-P1", "county": "06037", "stratum": "sex"}).json())
    assert {k[2]: r["status"] for k, r in sexes.items()} == {"female": "masked", "male": "masked"}
    # A data-quality cell of 3/8: counts hidden, status kept, and 06001 masked beside it.
    q3 = by_county(client.get("/api/results", params={"measure": "4-P1", "window_to": "2024Q3"}).json())
    fresno = q3[("2024Q3", "06019", "all")]
    assert (fresno["status"], fresno["numerator"], fresno["denominator"]) == ("data_quality", None, None)
    assert q3[("2024Q3", "06001", "all")]["status"] == "masked"
    assert q3[("2024Q3", "06037", "all")]["numerator"] == 157
    assert db.audit_rows() == []  # masked views are not audited


def test_public_may_not_unmask(env):
    client, _, _ = env
    response = client.get("/api/results", params={"measure": "4-P1", "masked": "false"})
    assert response.status_code == 403
    assert response.json() == {"detail": "unmasked results need a signed-in county or state user"}


def test_county_user_sees_own_county_unmasked_and_gets_403_for_others(env):
    client, db, tokens = env
    own = client.get("/api/results", params={"measure": "4-P1", "county": "06001", "window_from": "2024Q4",
                                             "stratum": "all"}, headers=bearer(tokens["alex"])).json()
    assert own["masked"] is False
    (row,) = own["rows"]
    assert (row["numerator"], row["denominator"], row["value"], row["status"]) == (30, 100, 30.0, "ok")
    assert row["meets_standard"] is False and row["percent_of_standard"] == pytest.approx(85.2272727)
    other = client.get("/api/results", params={"measure": "4-P1", "county": "06019", "masked": "false"},
                       headers=bearer(tokens["alex"]))
    assert other.status_code == 403
    assert other.json() == {"detail": "user alex may see unmasked results of 06001 only, not of 06019"}
    assert "numerator" not in other.text
    # Without asking, another county (or all counties) comes masked, never unmasked.
    fresno = client.get("/api/results", params={"measure": "4-P1", "county": "06019"}, headers=bearer(tokens["alex"])).json()
    assert fresno["masked"] is True and {r["status"] for r in fresno["rows"]} == {"masked", "data_quality"}
    assert {r["numerator"] for r in fresno["rows"]} == {None}
    everyone = client.get("/api/results", params={"measure": "4-P1"}, headers=bearer(tokens["alex"])).json()
    assert everyone["masked"] is True
    state = client.get("/api/results", params={"county": "state", "masked": "false"}, headers=bearer(tokens["alex"]))
    assert state.status_code == 403
    (entry,) = db.audit_rows()
    assert (entry["username"], entry["role"], entry["action"], entry["masked"]) == ("alex", "county", "api_results", False)
    assert entry["detail"]["counties"] == ["06001"] and entry["path"].startswith("/api/results?")
    assert client.get("/api/me", headers=bearer(tokens["alex"])).json()["counties"] == ["06001"]


def test_state_user_sees_everything_and_reads_the_audit_log(env):
    client, db, tokens = env
    body = client.get("/api/results", params={"measure": "4-P1", "window_from": "2024Q4", "window_to": "2024Q4",
                                              "stratum": "all"}, headers=bearer(tokens["sally"])).json()
    assert body["masked"] is False
    assert {k[1]: r["numerator"] for k, r in by_county(body).items()} == {"state": 235, "06001": 30, "06019": 5, "06037": 200}
    page = client.get("/api/results", params={"measure": "4-P1", "limit": 2, "offset": 3}, headers=bearer(tokens["sally"])).json()
    assert (page["total"], len(page["rows"]), page["offset"]) == (12, 2, 3)
    masked = client.get("/api/results", params={"measure": "4-P1", "masked": "true"}, headers=bearer(tokens["sally"])).json()
    assert masked["masked"] is True
    log = client.get("/api/audit", headers=bearer(tokens["sally"])).json()
    assert [e["action"] for e in log] == ["api_results", "api_results"] and all(e["username"] == "sally" for e in log)
    assert client.get("/api/audit", headers=bearer(tokens["alex"])).status_code == 403
    assert client.get("/api/audit").status_code == 403


def test_quality_api_masks_small_counts_for_the_public(env):
    client, _, tokens = env
    public = client.get("/api/quality", params={"county": "06019"}).json()
    assert public["available"] is True and public["masked"] is True
    failed = next(r for r in public["rows"] if r["check"] == "no_placement")
    assert (failed["failing"], failed["total"], failed["rate"], failed["passed"]) == (None, None, None, False)
    secure = client.get("/api/quality", params={"county": "06019"}, headers=bearer(tokens["sally"])).json()
    failed = next(r for r in secure["rows"] if r["check"] == "no_placement")
    assert (failed["failing"], failed["total"], failed["rate"]) == (3, 8, 0.375)
    assert client.get("/api/quality", params={"county": "06019", "masked": "false"},
                      headers=bearer(tokens["alex"])).status_code == 403
    counts = {r["measure_id"]: r for r in public["status_counts"]}
    assert counts["4-P1"]["data_quality"] == 1 and counts["4-P1"]["ok"] == 7


@pytest.mark.parametrize("params, message", [
    ({"measure": "9-X9"}, "unknown measure '9-X9'; the results hold 4-S1, 4-P1"),
    ({"county": "06999"}, "unknown county '06999'"),
    ({"county": ""}, "unknown county ''"),
    ({"window_from": "2019Q1"}, "no results for window 2019Q1; the results hold 2024Q3, 2024Q4"),
    ({"window_to": "last year"}, "'last year' is not a window"),
    ({"window_from": "2024Q4", "window_to": "2024Q3"}, "window_from 2024Q4 is after window_to 2024Q3"),
    ({"measure": "4-P1", "stratum": "shoe_size"}, "measure 4-P1 has no stratum 'shoe_size'"),
    ({"stratum": "shoe_size"}, "unknown stratum 'shoe_size'"),
    ({"measure": "4-P1", "stratum_value": "martian"}, "no rows with stratum_value 'martian'"),
    ({"measure": "4-P1", "period_type": "decade"}, "measure 4-P1 has no 'decade' periods"),
])
def test_api_bad_input_is_404_with_a_clear_message(env, params, message):
    client, _, _ = env
    response = client.get("/api/results", params=params)
    assert response.status_code == 404
    assert response.json()["detail"].startswith(message)


def test_api_other_bad_requests(env):
    client, _, _ = env
    assert client.get("/api/measures/nope").status_code == 404
    assert client.get("/api/quality", params={"county": ""}).status_code == 404
    assert client.get("/api/measures/nope/sql").status_code == 404
    assert client.get("/api/nothing-here").json()["detail"].startswith("there is no page at /api/nothing-here")
    malformed = client.get("/api/results", params={"limit": "abc"})
    assert malformed.status_code == 422 and malformed.json()["detail"].startswith("invalid request: limit:")
    assert client.get("/api/results", params={"limit": 0}).status_code == 422
    revoked = client.get("/api/results", headers=bearer("cwo_not-a-token"))
    assert revoked.status_code == 401 and revoked.headers["www-authenticate"] == "Bearer"


# -- pages -----------------------------------------------------------------------------------

def cells(html: str, column: str) -> list[str]:
    return re.findall(rf'data-column="{column}">([^<]*)</td>', html)


def test_pages_render_and_show_the_numbers(env):
    client, _, tokens = env
    index = client.get("/")
    assert index.status_code == 200 and "Permanency and stability" in index.text
    assert 'href="/measures/4-P1/state"' in index.text and "42.7 %" in index.text
    practice = client.get("/practice")
    assert practice.status_code == 200 and "Engaging Families through Relationship" in practice.text
    assert "4-P1" in client.get("/measures").text
    trend = client.get("/measures/4-P1/state")
    assert trend.status_code == 200
    assert cells(trend.text, "numerator") == ["200", "235"] and cells(trend.text, "value") == ["40.0", "42.7"]
    assert 'data-chart="trend-chart"' in trend.text and "Public view." in trend.text
    strata = client.get("/measures/4-P1/06001/2024Q4", params={"stratum": "sex"}, headers=bearer(tokens["alex"]))
    assert cells(strata.text, "value") == ["20.0", "45.0"] and "Unmasked view: confidential." in strata.text
    every = client.get("/measures/4-P1/06001/2024Q4", headers=bearer(tokens["alex"]))
    assert cells(every.text, "numerator") == ["30", "12", "18"]
    compare = client.get("/measures/4-P1/compare", params={"window": "2024Q4"})
    assert re.findall(r'<th scope="row" class="text"><a href="[^"]+">([^<]+)</a>', compare.text) == \
        ["state", "06001", "06019", "06037"]
    assert cells(compare.text, "status") == ["ok", "masked (1-10)", "masked (1-10)", "ok"]
    assert 'data-chart="multiples-chart"' in compare.text
    quality = client.get("/quality", params={"county": "06019"}, headers=bearer(tokens["sally"]))
    assert "episodes with no placement" in quality.text and cells(quality.text, "rate")[0] == "37.5"
    methodology = client.get("/measures/4-S1/methodology")
    assert "SELECT" in methodology.text and "Children in care during the window" in methodology.text or \
        "SELECT" in methodology.text


def test_page_roles_and_errors(env):
    client, _, tokens = env
    refused = client.get("/measures/4-P1/06019", params={"masked": "false"}, headers=bearer(tokens["alex"]))
    assert refused.status_code == 403 and "may see unmasked results of 06001 only" in refused.text
    assert 'data-column="numerator"' not in refused.text
    assert client.get("/measures/4-P1/compare", params={"masked": "false"}, headers=bearer(tokens["alex"])).status_code == 403
    missing = client.get("/measures/NOPE/state")
    assert missing.status_code == 404 and "unknown measure &#39;NOPE&#39;" in missing.text
    assert client.get("/measures/4-P1/06999").status_code == 404
    assert "no results for window 2030Q1" in client.get("/measures/4-P1/state/2030Q1").text
    assert client.get("/measures/4-P1/state/2024Q4", params={"stratum": "nope"}).status_code == 404
    assert client.get("/measures/4-P1/state", params={"format": "pdf"}).status_code == 422
    assert client.get("/audit").status_code == 403
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/quality", params={"county": "nowhere"}).status_code == 404


def test_navigation_redirects_to_stable_urls(env):
    client, _, _ = env
    go = client.get("/measures/4-P1", params={"county": "fresno", "window": "24A24B", "stratum": "sex"},
                    follow_redirects=False)
    assert go.status_code == 303 and go.headers["location"] == "/measures/4-P1/06019/2024Q3?stratum=sex"
    assert client.get("/measures/4-P1", follow_redirects=False).headers["location"] == "/measures/4-P1/state"
    named = client.get("/measures/4-P1/Los Angeles", follow_redirects=False)
    assert named.status_code == 301 and named.headers["location"] == "/measures/4-P1/06037"


def test_downloads_hold_exactly_the_table_shown(env):
    client, db, tokens = env
    page = client.get("/measures/4-P1/06001/2024Q4", headers=bearer(tokens["alex"]))
    download = client.get("/measures/4-P1/06001/2024Q4", params={"format": "csv"}, headers=bearer(tokens["alex"]))
    assert download.headers["content-disposition"] == 'attachment; filename="cwoutcomes_4-P1_06001_2024Q4.csv"'
    rows = list(csv.DictReader(io.StringIO(download.text)))
    headers = re.findall(r'<th scope="col" class="[a-z]+">([^<]+)</th>', page.text)
    assert list(rows[0].keys()) == headers
    assert [(r["Group"], r["Numerator"], r["Denominator"], r["Value"]) for r in rows] == [
        ("all", "30.0", "100.0", "30.0"), ("female", "12.0", "60.0", "20.0"), ("male", "18.0", "40.0", "45.0")]
    assert rows[0]["% of standard"].startswith("85.227272")  # full precision in the file
    book = openpyxl.load_workbook(io.BytesIO(client.get("/measures/4-P1/state", params={"format": "xlsx"}).content))
    sheet = book.active
    values = list(sheet.values)
    assert values[0][:6] == ("Window", "From", "To", "Numerator", "Denominator", "Value")
    assert [v[0] for v in values[1:]] == ["2024Q3", "2024Q4"] and values[2][3] == 235
    public = list(csv.DictReader(io.StringIO(client.get("/measures/4-P1/compare", params={"format": "csv"}).text)))
    assert [r["Status"] for r in public] == ["ok", "masked", "masked", "ok"] and public[1]["Numerator"] == ""
    actions = [(e["username"], e["action"], e["masked"]) for e in reversed(db.audit_rows())]
    assert actions == [("alex", "view", False), ("alex", "download", False), ("public", "download", True),
                       ("public", "download", True)]


def test_sign_in_csrf_session_and_sign_out(env):
    client, db, _ = env
    assert client.post("/login", data={"username": "alex", "password": PASSWORDS["alex"]}).status_code == 403
    wrong = sign_in(client, "alex", "not-the-password")
    assert wrong.status_code == 401 and "Unknown user name or wrong password." in wrong.text
    ok = sign_in(client, "alex")
    assert ok.status_code == 303 and ok.headers["location"] == "/measures/4-P1/06001"
    page = client.get("/measures/4-P1/06001")
    assert "Signed in as <strong>alex</strong>" in page.text and "Unmasked view" in page.text
    assert client.get("/measures/4-P1/06019", params={"masked": "false"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    out = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert out.status_code == 303
    assert "Public view" in client.get("/measures/4-P1/06001").text
    actions = [e["action"] for e in reversed(db.audit_rows())]
    assert actions == ["login_failed", "login", "view"]


def test_next_after_sign_in_stays_on_this_site(env):
    client, _, _ = env
    token = csrf_of(client)
    response = client.post("/login", data={"username": "sally", "password": PASSWORDS["sally"], "csrf_token": token,
                                           "next": "//evil.example/x"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_lockout_after_repeated_failures(env):
    client, _, _ = env
    for _ in range(10):
        assert sign_in(client, "sally", "wrong-password!").status_code == 401
    locked = sign_in(client, "sally")
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text


def test_cookies_are_secure_by_default_and_headers_set(tmp_path):
    app, _, _ = make_app(tmp_path, secure_cookies=True)
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-cwo_csrf=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=lax" in cookie.lower() and "Path=/" in cookie
    response = sign_in(client, "sally")
    session = response.headers["set-cookie"]
    assert session.startswith("__Host-cwo_session=") and "Secure" in session and "HttpOnly" in session
    headers = client.get("/").headers
    assert "script-src 'self';" in headers["content-security-policy"] and "unsafe-eval" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert client.get("/static/vendor/htmx.min.js").status_code == 200


# -- application database ---------------------------------------------------------------

def test_app_database_hashes_and_revokes(tmp_path):
    db = AppDatabase(tmp_path / "a.sqlite")
    db.add_user("cora", "county", ["06001", "06019"], password="a-long-password")
    token = db.issue_token("cora")
    session = db.open_session("cora")
    stored = db._connect().execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a-long-password" not in stored
    assert token not in str(db._connect().execute("SELECT * FROM tokens").fetchall())
    assert db.check_password("cora", "a-long-password").counties == ("06001", "06019")
    assert db.check_password("cora", "wrong") is None and db.check_password("nobody", "x") is None
    assert db.user_for_token(token).username == "cora" and db.user_for_session(session).username == "cora"
    db.remove_user("cora")
    assert db.user_for_token(token) is None and db.user_for_session(session) is None
    with pytest.raises(CwoutcomesError, match="no user 'cora'"):
        db.remove_user("cora")
    with pytest.raises(CwoutcomesError, match="needs at least one --county"):
        db.add_user("dan", "county", password="a-long-password")
    with pytest.raises(CwoutcomesError, match="role 'public'"):
        db.add_user("dan", "public")
    with pytest.raises(CwoutcomesError, match="at least 12 characters"):
        db.add_user("dan", "state", password="short")


def test_users_commands(tmp_path):
    runner = CliRunner()
    path = str(tmp_path / "users.sqlite")
    added = runner.invoke(cli_app, ["users", "add", "cora", "--role", "county", "--county", "06001",
                                    "--password-stdin", "--token", "--app-db", path], input="a-long-password\n")
    assert added.exit_code == 0, added.output
    assert "added cora (county: 06001)" in added.output and "API token (shown once): cwo_" in added.output
    listed = runner.invoke(cli_app, ["users", "list", "--app-db", path])
    assert "cora" in listed.output and "06001" in listed.output
    twice = runner.invoke(cli_app, ["users", "add", "cora", "--role", "state", "--no-password", "--app-db", path])
    assert twice.exit_code == 2 and "exists already" in twice.output
    assert runner.invoke(cli_app, ["users", "remove", "cora", "--app-db", path]).exit_code == 0
    assert "cora" not in runner.invoke(cli_app, ["users", "list", "--app-db", path]).output
    assert AppDatabase(path).users() == []


def test_serve_refuses_bad_input(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["serve", str(tmp_path / "missing.parquet"), "--app-db", str(tmp_path / "a.sqlite")])
    assert result.exit_code == 2 and "missing.parquet does not exist" in " ".join(result.output.split())


# -- store ------------------------------------------------------------------------------

def test_store_reads_parquet_csv_and_duckdb(tmp_path):
    import duckdb

    frame = results_frame()
    frame.to_parquet(tmp_path / "r.parquet", index=False)
    frame.to_csv(tmp_path / "r.csv", index=False)
    for name in ("r.parquet", "r.csv"):
        store = ResultsStore.open(tmp_path / name)
        assert store.rows(masked=False, measure="4-P1", counties=["06001"], stratum="all").numerator.tolist() == [30, 40]
    with duckdb.connect(str(tmp_path / "r.duckdb")) as con:
        con.execute("CREATE TABLE results AS SELECT * FROM frame")
        con.execute("CREATE TABLE nothing AS SELECT 1 AS x")
    assert len(ResultsStore.open(tmp_path / "r.duckdb").secure) == 14
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        con.execute("CREATE TABLE nothing AS SELECT 1 AS x")
    with pytest.raises(CwoutcomesError, match="has no `results` table"):
        read_results(tmp_path / "empty.duckdb")
    frame.drop(columns=["status"]).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(CwoutcomesError, match=r"missing column\(s\) status"):
        read_results(tmp_path / "bad.parquet")


def test_comparisons_are_direction_aware(env):
    client, _, _ = env
    (row,) = client.get("/api/results", params={"measure": "4-S1", "window_from": "2024Q4"}).json()["rows"]
    assert (row["value"], row["meets_standard"]) == (12.0, False)
    assert row["percent_of_standard"] == pytest.approx(75.5833333)
    state = pd.DataFrame(client.get("/api/results", params={"measure": "4-P1", "county": "state"}).json()["rows"])
    assert state.meets_standard.tolist() == [True, True]
