"""A real browser on the dashboard: headless Chromium (Debian's package) driven by Playwright.

`make test` installs Chromium when it is missing; without it this test fails, saying how to
install it, rather than skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, sync_playwright

from trading_automation.db.database import Database

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without these Chromium reaches for Google's services, which a closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def chromium_path() -> str:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.fail(
            f"the browser test needs Chromium at {CHROMIUM}: run `make test` (it installs "
            "Debian's chromium package) or `apt-get install -y chromium`, or set CHROMIUM"
        )
    return CHROMIUM


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_browser_opens_the_overview_and_pages_through_the_trades(
    chromium_path: str, traded: Database, serve_dashboard: Any, tmp_path: Path
) -> None:
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    with serve_dashboard() as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium_path,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("console", on_console)

            page.goto(f"{served.url}/overview")
            heading = page.locator("h1").inner_text()
            charts = page.locator("svg.chart").count()
            loss_bars = page.locator("svg .bar.loss rect").count()
            header_colour = page.locator("header.top").evaluate(
                "element => getComputedStyle(element).backgroundColor"
            )
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.goto(f"{served.url}/trades?limit=4")
            first_rows = page.locator("#trades-table tbody tr").all_inner_texts()
            page.get_by_role("link", name="Older →").click()
            page.wait_for_url("**cursor=**")
            second_url = page.url
            second_rows = page.locator("#trades-table tbody tr").all_inner_texts()
            page.screenshot(path=str(tmp_path / "trades.png"), full_page=True)
            page.get_by_role("link", name="← Newer").click()
            page.wait_for_load_state()
            back_rows = page.locator("#trades-table tbody tr").all_inner_texts()
        finally:
            browser.close()

    assert heading == "Overview"
    assert charts == 2  # P&L by position, orders per day
    assert loss_bars > 0  # some of the demo's later prices are below the fills
    assert header_colour == "rgb(29, 36, 51)"  # the stylesheet loaded under our CSP
    assert len(first_rows) == 4
    assert len(second_rows) == 4
    assert set(first_rows).isdisjoint(second_rows)
    assert "limit=4" in second_url
    assert back_rows == first_rows
    assert problems == []
    for name in ("overview.png", "trades.png"):
        shot = (tmp_path / name).read_bytes()
        assert shot.startswith(PNG)
        assert len(shot) > 20_000


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_browser_follows_a_members_name_to_their_page(
    chromium_path: str, traded: Database, serve_dashboard: Any, tmp_path: Path
) -> None:
    with serve_dashboard() as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium_path,
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            page = browser.new_page()
            page.goto(f"{served.url}/trades")
            page.locator("#trades-table").get_by_role("link", name="Nancy Pelosi").first.click()
            page.wait_for_url("**/members/**")
            url = page.url
            heading = page.locator("h1").inner_text()
            lots = page.locator("#lots-table tbody tr").count()
        finally:
            browser.close()

    assert url.endswith("/members/Nancy%20Pelosi")
    assert heading == "Nancy Pelosi"
    assert lots > 0
