"""Screenshots of the main pages for the README (docs/images/), taken from a running server:

    cwoutcomes demo --out out/demo
    printf 'state-password-123\\n' | cwoutcomes users add sally --role state --password-stdin --app-db /tmp/s.sqlite
    cwoutcomes serve out/demo/results.parquet --data out/demo/cwoutcomes.duckdb --app-db /tmp/s.sqlite --port 8765
    python tests/e2e/take_screenshots.py http://127.0.0.1:8765 docs/images --user sally --password state-password-123
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
PUBLIC = [("web-index.png", "/", 1400), ("web-trend.png", "/measures/4-P1/state", 1300),
          ("web-compare.png", "/measures/4-P1/compare?window=2024Q4", 1500)]
SIGNED_IN = [("web-strata.png", "/measures/4-P1/06037/2024Q4?stratum=age_group", 1200),
             ("web-quality.png", "/quality?county=06005", 900)]


def shoot(page, base: str, shots, out: Path) -> None:
    for name, path, height in shots:
        page.set_viewport_size({"width": 1280, "height": height})
        page.goto(base + path)
        if page.locator("[data-chart]").count():
            page.wait_for_selector("[data-ready]", timeout=20000)
        page.screenshot(path=str(out / name))
        print(out / name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("out", type=Path)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=LAUNCH_ARGS)
        page = browser.new_page()
        shoot(page, args.base, PUBLIC, args.out)
        if args.user:
            page.goto(args.base + "/login")
            page.get_by_label("User name").fill(args.user)
            page.get_by_label("Password").fill(args.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            shoot(page, args.base, SIGNED_IN, args.out)
        browser.close()


if __name__ == "__main__":
    main()
