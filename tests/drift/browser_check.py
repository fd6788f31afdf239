"""Load a drift report in headless Chromium (Debian's, driven by Playwright) and check what a
reader sees at 1000x800: no console error, no network request, the summary and the verdict grid
inside the first viewport, every chart rendered (non-empty box). Used on the run-local report
by the end-to-end test and on a fixture report by test_drift_report_browser.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1000, "height": 800}
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-results"


def chromium_or_skip() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed: .ci/setup installs it with apt-get where apt is available")
    return path


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    above_fold: dict[str, bool] = field(default_factory=dict)
    charts: int = 0
    empty_charts: list[str] = field(default_factory=list)
    switched: bool = False


def check_report(html: Path, screenshot: Path | None = None) -> PageCheck:
    from playwright.sync_api import sync_playwright

    result = PageCheck()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: result.console_errors.append(str(e)))
            page.on("request", lambda r: result.requests.append(r.url))
            page.goto(html.resolve().as_uri(), wait_until="load")
            for name, selector in (("summary", "#summary"), ("verdict grid", "#verdict-grid")):
                box = page.locator(selector).bounding_box()
                result.above_fold[name] = bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]
            # every chart: the visible ones have a box; the hidden ones get shown through their selector
            charts = page.locator("figure svg")
            result.charts = charts.count()
            for i in range(result.charts):
                chart = charts.nth(i)
                if not chart.is_visible():
                    continue
                box = chart.bounding_box()
                if not box or box["width"] < 50 or box["height"] < 50:
                    result.empty_charts.append(chart.evaluate("e => e.querySelector('title')?.textContent || 'svg'"))
            select = page.locator("select[data-feature]").first
            if select.count():
                feature = select.get_attribute("data-feature")
                values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
                other = next(v for v in values if v != select.input_value())
                select.select_option(other)
                shown = page.locator(f'[data-chart="{feature}"]:visible')
                result.switched = shown.count() == 1 and shown.get_attribute("data-window") == other
                select.select_option(values[0])
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
        finally:
            browser.close()
    # the page itself is the one file:// request; anything else is the report reaching out
    result.requests = [r for r in result.requests if r != html.resolve().as_uri()]
    return result


def assert_report_reads_well(html: Path, screenshot: Path | None = None) -> PageCheck:
    check = check_report(html, screenshot)
    assert check.console_errors == [], check.console_errors
    assert check.requests == [], check.requests
    assert check.above_fold == {"summary": True, "verdict grid": True}, check.above_fold
    assert check.charts > 0 and check.empty_charts == [], check.empty_charts
    assert check.switched, "the window selector did not switch the chart"
    return check
