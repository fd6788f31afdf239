"""The HTML report opens offline and shows what matters; the JSON summary follows its schema."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import lru_cache

import jsonschema
import pytest
from drift_fixtures import FEATURES, START, dc, dev_env, marvel_split
from scipy_drift_metrics import build_tables

from lakemon_jobs.drift import analyze, write_report
from lakemon_jobs.drift.summary import SUMMARY_SCHEMA

EXTERNAL = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@lru_cache(maxsize=1)
def _report():
    env = dev_env()
    train, held_out = marvel_split()
    windows = [held_out.sample(400, random_state=1), held_out.sample(400, random_state=2), dc().sample(400, random_state=3)]
    quality = [{"accuracy_score": 0.8, "roc_auc_score": 0.75}, {"accuracy_score": 0.79, "roc_auc_score": 0.74},
               {"accuracy_score": 0.6, "roc_auc_score": 0.55}]
    drift, profile = build_tables(train, windows, FEATURES, START, quality=quality)
    return analyze(env, env.model(), drift, profile, now=START + timedelta(days=3))


def test_html_is_self_contained_and_puts_the_answer_first(tmp_path):
    report = _report()
    assert report.status == "drift" and {"id", "align"} <= set(report.drifted_features)
    paths = write_report(report, tmp_path / "out")
    html = paths.html.read_text(encoding="utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<link" not in html.lower() and html.lower().count("<script") == 1  # the selector's few lines
    assert len(re.search(r"<script>(.*?)</script>", html, re.S).group(1)) < 600
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    # answer first: status, the one-line summary, the grid; thresholds and rule last
    order = [html.index(m) for m in ('id="summary"', 'id="verdict-grid"', "Distributions:", "Drift over time",
                                     "Model quality over time", "Drifted windows", "Thresholds used")]
    assert order == sorted(order)
    drifted = len(report.drifted_features)
    assert f"{drifted} of {len(FEATURES)} features drifted in 1 of 3 windows" in html
    assert "first drifted window: 01-03" in html
    # short dates in the grid, the year once in the header, no microseconds anywhere visible
    assert "<th title=\"2026-01-03 00:00 UTC\">01-03</th>" in html and "(2026, UTC)" in html
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", html)
    # the p-value floor is explained next to the grid
    assert "smallest value such a" in html and "6.25e-05" in html
    # a chart per feature and window behind a selector; the shown one is the first drifted window
    for feature in report.drifted_features:
        assert f'data-chart="{feature}" data-window="2026-01-03T00:00:00+00:00">' in html
        assert f"{feature}: 01-03 (first drifted window), drift" in html
    assert html.count("<select") == len(FEATURES)
    # each quality metric in its own panel: the judged one against its threshold, the rest marked not judged
    assert "accuracy: judged, threshold 0.7 (dashed)" in html and "roc_auc: not judged (no threshold configured)" in html
    assert "quality (acc)" in html
    assert "population_stability_index" in html and "js_distance" in html  # thresholds table
    assert list(tmp_path.joinpath("out").glob("*.tmp")) == []


def test_psi_bin_shares_read_off_percentiles_match_the_data():
    """The numeric chart's bars: baseline deciles as bins, each side's share per bin, checked
    against counting the rows themselves (within the 1-point resolution of 101 percentiles)."""
    import numpy as np

    from lakemon_jobs.drift.charts import is_skewed, psi_bin_shares

    rng = np.random.default_rng(7)
    base, window = rng.lognormal(3, 1.2, 20_000), rng.lognormal(3.6, 1.2, 20_000)
    qb, qw = list(np.percentile(base, range(101))), list(np.percentile(window, range(101)))
    edges, b, w = psi_bin_shares(qb, qw)
    assert len(edges) == 11 and abs(sum(b) - 1) < 1e-9 and abs(sum(w) - 1) < 1e-9
    counted = np.histogram(window, bins=edges)[0] / window.size
    assert np.max(np.abs(np.asarray(w) - counted)) <= 0.011
    assert np.allclose(b, 0.1, atol=0.011)
    assert is_skewed(qb) and not is_skewed(list(np.percentile(rng.normal(50, 5, 1000), range(101))))


def test_categorical_chart_keeps_the_top_categories_and_pools_the_rest():
    from lakemon_jobs.drift.charts import top_categories

    base = {f"c{i}": 0.05 for i in range(20)}
    window = {**{f"c{i}": 0.02 for i in range(20)}, "new": 0.6}
    labels, b, w = top_categories(base, window, n=8)
    assert labels[0] == "new" and labels[-1] == "other" and len(labels) == 9
    assert abs(sum(b) - 1) < 1e-9 and abs(sum(w) - 1) < 1e-9
    assert b[-1] == pytest.approx(1 - 7 * 0.05) and w[-1] == pytest.approx(1 - 0.6 - 7 * 0.02)


def test_json_summary_follows_the_schema(tmp_path):
    report = _report()
    summary = json.loads(write_report(report, tmp_path).json.read_text())
    jsonschema.validate(summary, SUMMARY_SCHEMA)
    assert summary["env"] == "dev" and summary["model"] == "alive_classifier" and summary["status"] == "drift"
    assert {t["feature"]: t["statistic"] for t in summary["thresholds"]}["year"] == "population_stability_index"
    assert {t["feature"]: t["threshold"] for t in summary["thresholds"]}["eye"] == 0.1
    drifted = [j for j in summary["judgements"] if j["verdict"] == "drift"]
    assert drifted and all(j["window_start"].startswith("2026-01-03") for j in drifted)
    assert all(j["adjusted"] <= j["value"] and j["pvalue"] < j["alpha"] for j in drifted)
    assert [q["accuracy"] for q in summary["quality"]] == [0.8, 0.79, 0.6]
    # a broken summary is caught by the schema (the schema is not vacuous)
    summary["judgements"][0]["verdict"] = "maybe"
    try:
        jsonschema.validate(summary, SUMMARY_SCHEMA)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("schema accepted an unknown verdict")


def test_the_report_reads_without_colour_scientific_notation_or_cut_labels(tmp_path):
    """Verdicts carry a symbol as well as a colour; axis numbers are written as a reader writes
    them; a long category label ends in an ellipsis with the full text as its hover text."""
    from lakemon_jobs.drift.charts import _fmt, categorical_bars, numeric_histogram
    from lakemon_jobs.drift.report import CUES

    report = _report()
    html = write_report(report, tmp_path).html.read_text(encoding="utf-8")
    cells = re.findall(r'<td class="([a-z_]+)" title="[^"]*"><span class="cue" aria-label="\1">([^<]+)</span>', html)
    verdict_cells = re.findall(r'<td class="[a-z_]+"', html)
    assert cells and len(cells) == len(verdict_cells)  # every verdict cell has its symbol
    assert all(symbol == CUES[verdict] for verdict, symbol in cells)
    assert len({CUES[v] for v in ("ok", "warn", "drift")}) == 3
    # no number in scientific notation on any axis or label of the page's charts
    assert not re.search(r">[^<]*\d\.\d+e[+-]\d+[^<]*</text>", html), re.search(r">[^<]*\de[+-]\d+[^<]*</text>", html)
    assert [_fmt(v) for v in (1939.0, 4040.0, 12500.0, 0.123, 0.004)] == ["1939", "4040", "12,500", "0.123", "0.004"]
    years = numeric_histogram("year", [1935.0 + i * 0.8 for i in range(101)], [1950.0 + i * 0.6 for i in range(101)])
    assert ">1935<" in years and "e+03" not in years
    label = "Variable Eyes And Glowing Pupils"
    bars = categorical_bars("eye", {label: 0.6, "Blue Eyes": 0.4}, {label: 0.2, "Blue Eyes": 0.8})
    assert f"<title>{label}</title>Variable Eyes A\u2026</text>" in bars
