"""The drift report in a real browser (report readability): headless Debian Chromium at 1000x800.

The end-to-end test runs the same check on run-local's own report; here a fixture report (real
Marvel vs DC rows) is checked, and doctored pages prove the check can fail."""

from __future__ import annotations

from browser_check import SCREENSHOTS, assert_report_reads_well, check_report, chromium_or_skip
from test_drift_report import _report

from lakemon_jobs.drift import write_report


def test_the_report_reads_well_in_chromium(tmp_path):
    chromium_or_skip()
    html = write_report(_report(), tmp_path).html
    check = assert_report_reads_well(html, SCREENSHOTS / "drift-report-fixture-1000x800.png")
    assert check.charts >= 8 + 8 + 1  # distributions, trends, quality
    assert html.stat().st_size < 1_000_000


def test_the_check_catches_a_request_an_error_and_a_buried_grid(tmp_path):
    chromium_or_skip()
    html = write_report(_report(), tmp_path).html
    text = html.read_text(encoding="utf-8")
    bad = tmp_path / "bad.html"
    bad.write_text(
        text.replace('<p class="summary"', '<div style="height:900px"></div><p class="summary"', 1)
        .replace("<script>", '<img src="http://127.0.0.1:9/x.png"><script>nosuchfunction();', 1),
        encoding="utf-8",
    )
    check = check_report(bad)
    assert check.above_fold == {"summary": False, "verdict grid": False}
    assert any("127.0.0.1:9" in r for r in check.requests)
    assert any("nosuchfunction" in e for e in check.console_errors)


def test_the_check_catches_clipped_text_a_colour_only_verdict_low_contrast_and_tiny_legends(tmp_path):
    import re

    chromium_or_skip()
    html = write_report(_report(), tmp_path).html
    text = html.read_text(encoding="utf-8")
    assert 'class="cue"' in text
    bad = tmp_path / "bad.html"
    doctored = re.sub(r'<span class="cue" aria-label="[a-z_]+">[^<]*</span>', "", text)  # colour alone
    doctored = doctored.replace("td.warn, .status.warn { color: #212121; }", "td.warn, .status.warn { color: #fff; }")
    doctored = doctored.replace(  # a label running off the right edge of the first distribution chart
        "</svg></div>", '<text x="400" y="40">a category label far too long for its chart</text></svg></div>', 1
    )
    doctored = doctored.replace("<figure>", '<figure style="font-size:6px">', 1)
    doctored = doctored.replace('font-size="12"', 'font-size="7"', 1)  # one distribution chart's legend at 7 px
    bad.write_text(doctored, encoding="utf-8")
    check = check_report(bad)
    assert check.cells_without_cue and all(v.split(":")[0] in ("ok", "warn", "drift", "too_few_rows", "unavailable", "degraded")
                                           for v in check.cells_without_cue)  # fmt: skip
    assert any("far too long" in o for o in check.overflowing), check.overflowing
    assert any(line.startswith("warn") for line in check.low_contrast), check.low_contrast
    assert check.small_text, "a 7 px legend must be reported"
