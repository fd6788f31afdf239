"""Write the drift report: a self-contained HTML page (inline CSS and SVG, no network) and the
JSON summary next to it. `write_report(report, out_dir) -> ReportPaths`."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from lakemon.statistics import NUMERIC

from ..monitoring.schema import ALL_MODELS
from . import plots
from .summary import to_summary
from .verdicts import DriftReport, Judgement


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    json: Path


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Drift report: {{ s.model }} ({{ s.env }})</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #212121; max-width: 72em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f5f5f5; }
.status { display: inline-block; padding: 0.2em 0.8em; border-radius: 1em; color: #fff; font-weight: bold; }
.ok { background: #2e7d32; } .warn { background: #f9a825; } .drift { background: #c62828; }
.too_few_rows, .unavailable, .no_data { background: #9e9e9e; }
td.ok, td.warn, td.drift, td.too_few_rows, td.unavailable { color: #fff; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; } .grid > div { flex: 0 0 auto; }
svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Drift report: {{ s.model }} in {{ s.env }}</h1>
<p>Status: <span class="status {{ s.status }}">{{ s.status }}</span>
&nbsp; windows ending after {{ s.since }} up to {{ s.as_of }}; generated {{ s.generated_at }}.</p>
{% if s.drifted_features %}<p>Drifted features: <b>{{ s.drifted_features | join(", ") }}</b></p>{% endif %}

<h2>Thresholds used</h2>
<table><tr><th>feature</th><th>kind</th><th>statistic</th><th>threshold</th><th>from</th></tr>
{% for t in s.thresholds %}<tr><td>{{ t.feature }}</td><td>{{ t.kind }}</td><td>{{ t.statistic }}</td>
<td>{{ t.threshold }}</td><td>{{ t.threshold_source }}</td></tr>{% endfor %}</table>
<p>Rule: a window with fewer than {{ s.settings.min_rows }} rows is <i>too_few_rows</i>. Otherwise the
statistic, with the noise expected from sampling alone removed (calibrated null), is compared with the
threshold: <i>drift</i> when it reaches the threshold and both the test's p-value and the calibrated null's
are below max_pvalue {{ s.settings.max_pvalue }} divided by the number of features judged in the window;
<i>warn</i> when it reaches {{ s.settings.warn_ratio }} &times; threshold, or the threshold without
significance; else <i>ok</i>. Lookback {{ s.settings.lookback_days }} days.</p>

<h2>Verdicts</h2>
<table><tr><th>granularity</th><th>window start</th>{% for f in features %}<th>{{ f }}</th>{% endfor %}</tr>
{% for w in windows %}<tr><td>{{ w.granularity }}</td><td>{{ w.start }}</td>
{% for f in features %}{% set j = w.cells.get(f) %}{% if j %}<td class="{{ j.verdict }}" title="{{ j.reason }}">{{ j.verdict }}
{% if j.adjusted is not none %}({{ "%.3g" | format(j.adjusted) }}){% endif %}</td>{% else %}<td></td>{% endif %}{% endfor %}
</tr>{% endfor %}</table>

<h2>Drift over time</h2>
<div class="grid">{% for svg in trend_svgs %}<div>{{ svg | safe }}</div>{% endfor %}</div>

{% if distribution_svgs %}<h2>Baseline vs window, drifted features</h2>
<div class="grid">{% for svg in distribution_svgs %}<div>{{ svg | safe }}</div>{% endfor %}</div>{% endif %}

<h2>Model quality over time</h2>
{% if quality_svg %}<div>{{ quality_svg | safe }}</div>{% else %}<p>No model-quality metrics in the profile
table for these windows (labels have not arrived, or the monitor has no label column).</p>{% endif %}

<h2>Drifted windows</h2>
<table><tr><th>window start</th><th>feature</th><th>statistic</th><th>value</th><th>adjusted</th><th>threshold</th>
<th>p-value</th><th>rows</th></tr>
{% for j in s.judgements if j.verdict == "drift" %}<tr><td>{{ j.window_start }}</td><td>{{ j.feature }}</td>
<td>{{ j.statistic }}</td><td>{{ "%.4g" | format(j.value) }}</td><td>{{ "%.4g" | format(j.adjusted) }}</td>
<td>{{ j.threshold }}</td><td>{{ "%.3g" | format(j.pvalue) }}</td><td>{{ j.count }}</td></tr>{% endfor %}</table>
<p style="font-size:0.8em;color:#757575">lakemon analyze-drift. Summary for machines: the JSON file next to this page.</p>
</body></html>
"""
)


def _profile_rows(report: DriftReport) -> tuple[dict[str, dict], dict[tuple, dict]]:
    if report.profile is None:
        return {}, {}
    base, inputs = {}, {}
    for r in report.profile.to_pylist():
        if r.get("slice_key") is not None or r.get("model_id", ALL_MODELS) != ALL_MODELS:
            continue
        if r["log_type"] == "BASELINE":
            base.setdefault(r["column_name"], r)
        elif r.get("window"):
            inputs[(r["granularity"], r["window"]["start"].timestamp(), r["column_name"])] = r
    return base, inputs


def _shares(row: dict) -> dict[str, float]:
    total = row.get("count") or 0
    if not total:
        return {}
    shares = {str(i["item"]): i["count"] / total for i in row.get("frequent_items") or []}
    if row.get("num_nulls"):
        shares["(null)"] = row["num_nulls"] / total
    return shares


def _distribution_svg(j: Judgement, base: dict[str, dict], inputs: dict[tuple, dict]) -> str | None:
    b = base.get(j.feature)
    w = inputs.get((j.granularity, j.window_start.timestamp(), j.feature))
    if b is None or w is None:
        return None
    title = f"window {j.window_start:%Y-%m-%d %H:%M} ({j.count} rows)"
    if j.kind == NUMERIC:
        if b.get("quantiles") and w.get("quantiles"):
            return plots.numeric_distribution(j.feature, b["quantiles"], w["quantiles"], title)
        return None
    bs, ws = _shares(b), _shares(w)
    labels = sorted(set(bs) | set(ws), key=lambda k: -max(bs.get(k, 0), ws.get(k, 0)))[:20]
    return plots.categorical_distribution(j.feature, labels, [bs.get(k, 0) for k in labels],
                                          [ws.get(k, 0) for k in labels], title)


def render_html(report: DriftReport) -> str:
    summary = to_summary(report)
    features = [r.feature for r in report.rules]
    cells: dict[tuple, dict[str, Any]] = defaultdict(dict)
    by_feature: dict[tuple[str, str], list[Judgement]] = defaultdict(list)
    for j, row in zip(report.judgements, summary["judgements"], strict=True):
        cells[(j.granularity, j.window_start)][j.feature] = row
        by_feature[(j.granularity, j.feature)].append(j)
    windows = [{"granularity": g, "start": s.isoformat(), "cells": c} for (g, s), c in cells.items()]
    warn_ratio = report.settings["warn_ratio"]
    trend_svgs = []
    granularities = {j.granularity for j in report.judgements}
    for rule in report.rules:
        for (granularity, feature), js in by_feature.items():
            if feature != rule.feature:
                continue
            points = [(j.window_start, j.value, j.adjusted, str(j.verdict)) for j in js]
            name = rule.statistic if len(granularities) == 1 else f"{rule.statistic} ({granularity})"
            trend_svgs.append(plots.drift_over_time(feature, name, rule.threshold, warn_ratio * rule.threshold, points))
    base, inputs = _profile_rows(report)
    latest_drift: dict[str, Judgement] = {}
    for j in report.drifted:
        latest_drift[j.feature] = j  # judgements are oldest first: keep the newest
    distribution_svgs = [svg for j in latest_drift.values() if (svg := _distribution_svg(j, base, inputs))]
    series: dict[str, list] = defaultdict(list)
    for q in report.quality:
        for name, value in q.items():
            if name not in ("granularity", "window_start", "window_end"):
                series[name].append((q["window_start"], value))
    quality_svg = plots.quality_over_time(series) if series else None
    return TEMPLATE.render(s=summary, features=features, windows=windows, trend_svgs=trend_svgs,
                           distribution_svgs=distribution_svgs, quality_svg=quality_svg)


def write_report(report: DriftReport, out_dir: str | Path) -> ReportPaths:
    """Write `drift_<model>_<env>_<timestamp>.html` and `.json` into out_dir (created if needed).
    Each file is written to a temporary name and renamed, so a reader never sees half a file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"drift_{report.model}_{report.env}_{report.generated_at:%Y%m%dT%H%M%S%fZ}"
    paths = ReportPaths(html=out / f"{stem}.html", json=out / f"{stem}.json")
    for path, text in ((paths.json, json.dumps(to_summary(report), indent=2)), (paths.html, render_html(report))):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return paths
