"""The dashboard in Debian's Chromium: navigation measure -> county -> window -> strata with
the numbers checked against the results table, CSV download, county and state sign-in, 403 for
another county, masking for the public, keyboard use, charts under the CSP, and axe-core."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import HERE, sign_in

AXE = HERE / "vendor" / "axe.min.js"


def column(page, key: str) -> list[str]:
    return [cell.strip() for cell in page.locator(f'td[data-column="{key}"]').all_inner_texts()]


def expected(frame, **filters) -> list:
    rows = frame
    for key, value in filters.items():
        rows = rows[rows[key] == value]
    return rows


def test_navigate_measure_county_window_strata(page, results):
    _, frame = results
    sign_in(page, "sally")
    page.get_by_role("link", name="4-P1").first.click()
    page.wait_for_url("**/measures/4-P1/state")
    page.get_by_role("combobox", name="Geography").select_option(label="Alameda")
    page.get_by_role("button", name="Show").first.click()
    page.wait_for_url("**/measures/4-P1/06001")
    assert page.get_by_role("heading", level=2).first.inner_text() == "Alameda: trend"
    alameda = expected(frame, measure_id="4-P1", county="06001", stratum="all").sort_values("period_label")
    assert column(page, "numerator") == [f"{v:,.0f}" for v in alameda.numerator]
    assert column(page, "value") == [f"{v:.1f}" for v in alameda.value]
    page.get_by_role("link", name="2024Q4").click()
    page.wait_for_url("**/measures/4-P1/06001/2024Q4")
    page.get_by_role("combobox", name="Stratum").select_option("sex")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/measures/4-P1/06001/2024Q4?stratum=sex")
    sexes = expected(frame, measure_id="4-P1", county="06001", stratum="sex", period_label="2024Q4")
    assert column(page, "denominator") == [f"{v:,.0f}" for v in sexes.denominator]
    assert column(page, "value") == [f"{v:.1f}" for v in sexes.value]
    assert page.locator("caption").first.inner_text() == "4-P1, Alameda, 2024Q4"
    # A stable URL: loading it afresh shows the same table.
    page.goto("/measures/4-P1/06001/2024Q4?stratum=sex")
    assert column(page, "value") == ["20.0", "45.0"]
    assert page.errors == []


def test_csv_download_is_the_table(page, results):
    _, frame = results
    sign_in(page, "alex")
    page.goto("/measures/4-P1/06001")
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "cwoutcomes_4-P1_06001.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    alameda = expected(frame, measure_id="4-P1", county="06001", stratum="all").sort_values("period_label")
    assert [r["Window"] for r in rows] == alameda.period_label.tolist()
    assert [float(r["Numerator"]) for r in rows] == alameda.numerator.tolist()
    assert [float(r["Value"]) for r in rows] == pytest.approx(alameda.value.tolist())


def test_county_user_gets_403_for_another_county(page):
    sign_in(page, "alex")
    assert "Signed in as alex" in page.locator("header").inner_text()
    own = page.goto("/measures/4-P1/06001?masked=false")
    assert own.status == 200 and "Unmasked view" in page.content()
    other = page.goto("/measures/4-P1/06019?masked=false")
    assert other.status == 403
    assert "may see unmasked results of 06001 only" in page.inner_text("main")
    assert page.locator('td[data-column="numerator"]').count() == 0
    api = page.request.get("/api/results?measure=4-P1&county=06019&masked=false")
    assert api.status == 403 and "numerator" not in api.text()


def test_state_user_sees_every_county_unmasked(page):
    sign_in(page, "sally")
    page.goto("/measures/4-P1/compare?window=2024Q4")
    assert column(page, "numerator") == ["235", "30", "5", "200"]
    assert column(page, "status") == ["ok"] * 4
    page.goto("/audit")
    assert "/measures/4-P1/compare?window=2024Q4" in page.inner_text("main")


def test_public_sees_masking(page):
    page.goto("/measures/4-P1/compare?window=2024Q4")
    assert "Public view." in page.inner_text("main")
    assert column(page, "status") == ["ok", "masked (1-10)", "masked (1-10)", "ok"]
    assert column(page, "numerator") == ["235", "", "", "200"]
    assert page.goto("/measures/4-P1/06001?masked=false").status == 403


def test_charts_draw_under_the_content_security_policy(page):
    page.goto("/measures/4-P1/state")
    page.wait_for_selector("#trend-chart[data-ready] svg", timeout=15000)
    page.goto("/measures/4-P1/compare")
    page.wait_for_selector("#multiples-chart[data-ready] svg", timeout=15000)
    assert page.errors == []


def test_keyboard_skip_link_and_pickers(page):
    page.goto("/measures/4-P1/state")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    page.focus("#county")
    page.keyboard.press("ArrowDown")  # California (state) -> Alameda
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Show"
    page.keyboard.press("Enter")
    page.wait_for_url("**/measures/4-P1/06001")


@pytest.mark.parametrize("path", ["/", "/practice", "/measures/4-P1/state", "/measures/4-P1/06037/2024Q4",
                                  "/measures/4-P1/compare", "/measures/4-P1/methodology", "/quality", "/login"])
def test_axe_finds_no_serious_violations(browser, server, path):
    # axe is injected as an inline script, which the page's CSP forbids: bypass it for the audit only.
    context = browser.new_context(base_url=server, bypass_csp=True)
    page = context.new_page()
    page.goto(path)
    if page.locator("[data-chart]").count():
        page.wait_for_selector("[data-ready]", timeout=15000)
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    context.close()
    assert serious == [], json.dumps(serious, indent=1)
