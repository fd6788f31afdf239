"""Load a drift report in headless Chromium (Debian's, driven by Playwright) and check what a
reader sees at 1000x800: no console error, no network request, the summary and the verdict grid
inside the first viewport, every chart rendered (non-empty box); every chart's text inside its
chart and no table cell's text wider than its cell (nothing clipped); every verdict cell with a
symbol as well as its colour (one symbol per verdict) and its text at WCAG AA contrast (4.5:1)
on its colour; every chart's text, legends included, at least MIN_TEXT_PX on screen. Used on the
run-local report by the end-to-end test and on a fixture report by test_drift_report_browser.py.
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
MIN_TEXT_PX = 12.0
"""Smallest on-screen size of a chart's text: the report's notes are 0.8 em of 16 px (12.8 px)."""
MIN_CONTRAST = 4.5
"""WCAG 2.x AA for normal text: a verdict cell's text on its background colour."""
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
    overflowing: list[str] = field(default_factory=list)
    """Chart texts outside their chart, and cells whose text is wider than the cell."""
    cells_without_cue: list[str] = field(default_factory=list)
    cues: dict[str, set[str]] = field(default_factory=dict)
    """verdict class -> the symbols its cells show."""
    low_contrast: list[str] = field(default_factory=list)
    small_text: list[str] = field(default_factory=list)


# Runs in the page: every chart shown (the selector hides all but one per feature), then each
# text measured against its own <svg>; table cells by scroll width.
OVERFLOW_JS = """() => {
  document.querySelectorAll('[data-chart]').forEach(c => { c.hidden = false; });
  const out = [];
  document.querySelectorAll('figure svg').forEach(svg => {
    const box = svg.getBoundingClientRect();
    svg.querySelectorAll('text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (r.width === 0) return;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.push('chart text "' + t.textContent.trim().slice(0, 40) + '" outside its chart');
    });
  });
  document.querySelectorAll('td, th').forEach(c => {
    if (c.scrollWidth > c.clientWidth + 1) out.push('cell "' + c.textContent.trim().slice(0, 40) + '" overflows');
  });
  return out;
}"""

SMALL_TEXT_JS = """(minPx) => {
  const out = [];
  document.querySelectorAll('figure svg').forEach(svg => {
    const width = svg.getBoundingClientRect().width;
    if (width === 0) return;  // a chart the window selector hides
    const vb = svg.viewBox && svg.viewBox.baseVal;
    const scale = vb && vb.width ? width / vb.width : 1;
    svg.querySelectorAll('text').forEach(t => {
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (t.textContent.trim() && px < minPx - 0.05) out.push(t.textContent.trim().slice(0, 30) + ' at ' + px.toFixed(1) + 'px');
    });
  });
  return out;
}"""

CELLS_JS = """() => Array.from(document.querySelectorAll('#verdict-grid td[class]')).map(td => {
  const cue = td.querySelector('.cue');
  const s = getComputedStyle(td);
  return {verdict: td.className, cue: cue ? cue.textContent.trim() : '', text: td.textContent.trim(),
          color: s.color, background: s.backgroundColor};
})"""


def _luminance(css: str) -> float:
    """Relative luminance (WCAG 2.x) of an `rgb(r, g, b)` colour."""
    r, g, b = (int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(foreground: str, background: str) -> float:
    hi, lo = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


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
            for cell in page.evaluate(CELLS_JS):
                if not cell["cue"]:
                    result.cells_without_cue.append(f"{cell['verdict']}: {cell['text']!r}")
                result.cues.setdefault(cell["verdict"], set()).add(cell["cue"])
                ratio = contrast(cell["color"], cell["background"])
                if ratio < MIN_CONTRAST:
                    result.low_contrast.append(f"{cell['verdict']} {cell['text']!r}: {ratio:.2f}:1")
            result.small_text = page.evaluate(SMALL_TEXT_JS, MIN_TEXT_PX)
            result.overflowing = page.evaluate(OVERFLOW_JS)  # last: it shows every chart
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
    assert check.overflowing == [], check.overflowing
    assert check.cells_without_cue == [], check.cells_without_cue
    assert check.cues and all(len(symbols) == 1 for symbols in check.cues.values()), check.cues
    shown = [next(iter(symbols)) for symbols in check.cues.values()]
    judged = [v for v in check.cues if v in ("ok", "warn", "drift")]
    assert len({next(iter(check.cues[v])) for v in judged}) == len(judged), f"verdicts share a symbol: {check.cues}"
    assert all(shown), check.cues
    assert check.low_contrast == [], check.low_contrast
    assert check.small_text == [], check.small_text[:10]
    return check
