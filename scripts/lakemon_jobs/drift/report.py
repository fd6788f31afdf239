"""Write the drift report: a self-contained HTML page (inline CSS, SVG and a few lines of
script, no network) and the JSON summary next to it. `write_report(report, out_dir) -> ReportPaths`.

Layout, answer first: status and a one-line summary, then the verdict grid (features x windows,
short dates, the year once in the header), then the distributions behind a window selector, the
drift and quality trends, the drifted windows, and last the thresholds and the rule.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from lakemon.contract.statistics import DEFAULT_STATISTIC, KINDS, NUMERIC, STATISTICS, UNIT_WORDS
from lakemon.contract.verdicts import Verdict

from ..monitor_engine.schema import ALL_MODELS
from . import charts, plots
from .null import draws_for
from .rule import share_to_sd
from .summary import to_summary
from .verdicts import DriftReport, Judgement


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    json: Path


CUES = {Verdict.DRIFT: "\u2715", Verdict.DEGRADED: "\u2715", Verdict.WARN: "!", Verdict.OK: "\u2713",
        Verdict.TOO_FEW_ROWS: "\u2013", Verdict.UNAVAILABLE: "?", "no_data": "\u2013"}
"""Each verdict's symbol, shown with its colour in the grid, the status badge and the legend, so a
reader who cannot tell red from green still reads the verdict (tests/drift/browser_check.py)."""
QUALITY_SHORT = {"accuracy_score": "acc", "r2_score": "R\u00b2"}
"""The judged quality metric's short name in the grid's quality row."""

SCRIPT = """document.querySelectorAll("select[data-feature]").forEach(function (s) {
  s.addEventListener("change", function () {
    document.querySelectorAll('[data-chart="' + s.dataset.feature + '"]').forEach(function (c) {
      c.hidden = c.dataset.window !== s.value; });
  });
});"""

TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drift report: {{ s.model }} ({{ s.env }}): {{ s.status }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.2em 2em; color: #212121; max-width: 72em; }
h1 { font-size: 1.5em; margin: 0 0 0.2em; } h2 { font-size: 1.15em; margin: 1.4em 0 0.4em; }
.meta { color: #616161; font-size: 0.85em; margin: 0 0 0.6em; }
.summary { font-size: 1.05em; margin: 0.3em 0 0.8em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.3em 0 0.6em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; white-space: nowrap; }
th { background: #f5f5f5; }
table.grid td { text-align: center; min-width: 3.4em; }
.status { display: inline-block; padding: 0.15em 0.8em; border-radius: 1em; color: #fff; font-weight: bold; }
.ok { background: #2e7d32; } .warn { background: #f9a825; } .drift, .degraded { background: #c62828; }
.too_few_rows, .unavailable, .no_data { background: #616161; }
td.ok, td.drift, td.degraded, td.too_few_rows, td.unavailable, .status { color: #fff; }
td.warn, .status.warn { color: #212121; }
.cue { font-weight: bold; margin-right: 0.25em; }
.note { font-size: 0.8em; color: #616161; max-width: 60em; }
.cards { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; }
figcaption { font-size: 0.78em; color: #616161; max-width: 440px; }
select { font-size: 0.85em; margin: 0.2em 0; }
svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Drift report: {{ s.model }} in {{ s.env }}</h1>
<p class="meta">{{ header.granularity }} windows from {{ header.first }} to {{ header.last }} ({{ header.year }}, UTC);
generated {{ header.generated }} UTC by lakemon analyze-drift.</p>
{% if s.judged_against %}{% set b = s.judged_against %}<p class="meta" id="judged-against">Judged against: baseline
<code>{{ b.baseline_table }}</code>{% if b.baseline_version is not none %} (Delta version {{ b.baseline_version }}){% endif %}{% if not b.baseline_exists %} (not found){% endif %},
champion model version {{ b.champion or "unknown" }}; every window above is compared with this baseline.
Analysis run {{ b.analysis_run }}{% if b.home %}, run folder {{ b.home }}{% endif %}; thresholds in <a href="#thresholds">Thresholds used</a>.</p>{% endif %}
<p class="summary" id="summary"><span class="status {{ s.status }}"><span class="cue">{{ cues.get(s.status, '?') }}</span>{{ s.status }}</span>&nbsp; {{ summary_line }}</p>

<table class="grid" id="verdict-grid" title="Verdict per feature and window; hover a cell for the numbers">
<tr><th>feature</th>{% for w in grid.windows %}<th title="{{ w.full }}">{{ w.short }}</th>{% endfor %}</tr>
{% for row in grid.rows %}<tr><th>{{ row.feature }}</th>
{% for c in row.cells %}{% if c %}<td class="{{ c.verdict }}" title="{{ c.tip }}"><span class="cue" aria-label="{{ c.verdict }}">{{ cues.get(c.verdict, '?') }}</span>{{ c.text }}</td>{% else %}<td></td>{% endif %}{% endfor %}</tr>
{% endfor %}{% if grid.quality %}<tr><th title="model quality verdict of the labelled rows: {{ grid.quality_metric }} against its threshold">quality ({{ grid.quality_metric }})</th>
{% for c in grid.quality %}{% if c %}<td class="{{ c.verdict }}" title="{{ c.tip }}"><span class="cue" aria-label="{{ c.verdict }}">{{ cues.get(c.verdict, '?') }}</span>{{ c.text }}</td>{% else %}<td></td>{% endif %}{% endfor %}</tr>{% endif %}{% for row in grid.custom %}
<tr class="custom-metric"><th title="custom metric verdict (threshold from models[].monitoring.custom_metrics)">{{ row.label }}</th>
{% for c in row.cells %}{% if c %}<td class="{{ c.verdict }}" title="{{ c.tip }}"><span class="cue" aria-label="{{ c.verdict }}">{{ cues.get(c.verdict, '?') }}</span>{{ c.text }}</td>{% else %}<td></td>{% endif %}{% endfor %}</tr>{% endfor %}
</table>
<p class="note" id="grid-note">Cells: the drift statistic with sampling noise removed (hover for raw value, threshold,
p-values and row count); symbol and colour = verdict: <span class="status drift"><span class="cue">{{ cues.drift }}</span>drift</span>
<span class="status warn"><span class="cue">{{ cues.warn }}</span>warn</span> <span class="status ok"><span class="cue">{{ cues.ok }}</span>ok</span>
<span class="status too_few_rows"><span class="cue">{{ cues.too_few_rows }}</span>too few rows</span>
<span class="status unavailable"><span class="cue">{{ cues.unavailable }}</span>unavailable</span>{% if grid.quality %};
the quality row judges {{ grid.quality_metric }} only (<span class="status degraded"><span class="cue">{{ cues.degraded }}</span>degraded</span> below its threshold){% endif %}.
<b>Why many categorical p-values read {{ pfloor.text }}:</b> a categorical feature's p-value comes from
{{ pfloor.draws }} bootstrap draws of windows with no drift; the smallest value such a bootstrap can give is
1 / ({{ pfloor.draws }} + 1) = {{ pfloor.text }}, so {{ pfloor.text }} means "no draw came close", i.e. far below
the {{ pfloor.alpha }} needed. The draw count is set from that cut-off (20 / {{ pfloor.alpha }}).</p>

<h2>Distributions: baseline vs one window</h2>
<p class="note">One chart per feature, showing the window named in its title (its first drifted window, or the
window closest to drifting); pick any other window in the list above it.</p>
<div class="cards">{% for card in cards %}<figure>
<select data-feature="{{ card.feature }}" aria-label="window shown for {{ card.feature }}">
{% for o in card.options %}<option value="{{ o.value }}"{% if o.selected %} selected{% endif %}>{{ o.label }}</option>{% endfor %}</select>
{% for c in card.charts %}<div data-chart="{{ card.feature }}" data-window="{{ c.window }}"{% if not c.selected %} hidden{% endif %}>{{ c.svg | safe }}</div>{% endfor %}
<figcaption>{{ card.caption }}</figcaption></figure>{% endfor %}</div>

<h2>Drift over time</h2>
<p class="note">Per feature: the raw statistic (grey), the statistic with sampling noise removed (blue, dots coloured
by verdict), the threshold (red dashed) and the warning level (yellow dotted).</p>
<div class="cards">{% for svg in trend_svgs %}<figure>{{ svg | safe }}</figure>{% endfor %}</div>

<h2>Model quality over time</h2>
{% if quality_svg %}<figure>{{ quality_svg | safe }}<figcaption>Quality metrics of each window's labelled rows, one
panel each: only the judged metric has a threshold (the model's quality_threshold, else
monitoring.quality_threshold; dashed) and verdict shapes; the others are shown, not judged.</figcaption></figure>{% else %}<p>No model-quality metrics in the profile
table for these windows (labels have not arrived, or the monitor has no label column).</p>{% endif %}

<h2>Drifted windows</h2>
<table><tr><th>window</th><th>feature</th><th>statistic</th><th>value</th><th>adjusted</th><th>threshold</th>
<th>p-value</th><th>rows</th></tr>
{% for j in drifted %}<tr><td>{{ j.short }}</td><td>{{ j.feature }}</td>
<td>{{ j.statistic }}</td><td>{{ "%.4g" | format(j.value) }}</td><td>{{ "%.4g" | format(j.adjusted) }}</td>
<td>{{ j.threshold }}</td><td>{{ "%.3g" | format(j.pvalue) }}</td><td>{{ j.count }}</td></tr>{% endfor %}</table>

<h2 id="thresholds">Thresholds used</h2>
<table><tr><th>feature</th><th>kind</th><th>statistic</th><th>threshold</th><th>from</th></tr>
{% for t in s.thresholds %}<tr><td>{{ t.feature }}</td><td>{{ t.kind }}</td><td>{{ t.statistic }}</td>
<td>{{ t.threshold }}</td><td>{{ t.threshold_source }}</td></tr>{% endfor %}</table>
<p class="note">Rule: a window with fewer than {{ s.settings.min_rows }} rows is <i>too_few_rows</i>. Otherwise the
statistic, with the noise expected from sampling alone removed (calibrated null), is compared with the
threshold: <i>drift</i> when it reaches the threshold and both the test's p-value and the calibrated null's
are below max_pvalue {{ s.settings.max_pvalue }} divided by the number of features judged in the window;
<i>warn</i> when it reaches the threshold with p below warn_max_pvalue {{ s.settings.warn_max_pvalue }} divided
the same way, or {{ s.settings.warn_ratio }} &times; threshold with drift's p-value; else <i>ok</i>. Guards read
the same window's other statistics, so what {{ defaults }} cannot see (a repeated value such as zeros that moved,
a tail that grew) still counts: {{ guard_words }}; the verdict's reason names the statistic that saw it.
Lookback {{ s.settings.lookback_days }} days. Details: docs/drift.md.</p>
<p class="note" id="threshold-words">What the thresholds mean: {% for t in threshold_words %}{{ t }}{% if not loop.last %}; {% endif %}{% endfor %}
({{ defaults | replace(" or ", " and ") }} on their own need more: docs/drift.md, "What a threshold means").
A small window cannot show a small move: the p-value must also say it is not sampling noise.</p>
<p class="note">Summary for machines: the JSON file next to this page.</p>
<script>{{ script | safe }}</script>
</body></html>
"""
)


def guard_words() -> str:
    """What the guards read, from the registry: `KS and TV as the share of rows that moved, ...`."""
    by_unit: dict[str, list[str]] = defaultdict(list)
    for s in STATISTICS:
        if s.guard:
            by_unit[s.unit].append(s.label)
    return ", ".join(f"{' and '.join(labels)} as {UNIT_WORDS[unit]}" for unit, labels in by_unit.items())


def threshold_words(thresholds: list[float]) -> list[str]:
    """Each threshold in a data scientist's words: the share of rows that moved (the guards read
    as a share of rows) and the mean shift of a normal feature, in standard deviations, that
    moves that share."""
    return [f"{t:g} = {100 * t:.3g}% of rows moved, or a mean shift of {share_to_sd(t):.2f} sd of a normal feature"
            for t in thresholds if 0 < t < 1]


def _short(moment: datetime, granularity: str) -> str:
    """`11-21` for day windows, `11-21 14:00` for shorter ones; the year is in the header."""
    if granularity.endswith(("minutes", "hour")):
        return f"{moment:%m-%d %H:%M}"
    return f"{moment:%m-%d}"


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


def _severity(j: Judgement) -> float:
    """How close to (or past) its threshold a judgement is: adjusted statistic / threshold."""
    return (j.adjusted or 0.0) / j.threshold if j.threshold else 0.0


def _cell_text(j: Judgement) -> str:
    if j.verdict == Verdict.TOO_FEW_ROWS:
        return f"n={j.count}"
    if j.adjusted is None:
        return "n/a"
    return f"{j.adjusted:.2g}"


def _tip(j: Judgement) -> str:
    parts = [f"{j.feature}, window {j.window_start:%Y-%m-%d %H:%M}: {j.verdict}", f"{j.statistic}"]
    if j.value is not None:
        parts.append(f"raw {j.value:.4g}, noise removed {j.adjusted if j.adjusted is None else format(j.adjusted, '.4g')}")
    parts.append(f"threshold {j.threshold:g}")
    if j.pvalue is not None:
        parts.append(f"p {j.pvalue:.3g} (needs < {j.alpha:.3g})")
    parts.append(f"{j.count} rows" if j.count is not None else "no rows")
    parts.append(j.reason)
    return "; ".join(parts)


def _summary_line(report: DriftReport, granularity: str) -> str:
    js = [j for j in report.judgements if j.granularity == granularity]
    windows = sorted({j.window_start for j in js})
    features = [r.feature for r in report.rules]
    drifts = [j for j in js if j.verdict == Verdict.DRIFT]
    if not js:
        return "no windows to judge in the lookback period."
    if not drifts:
        closest = max(js, key=_severity)
        return (f"no feature drifted in {len(windows)} window{'s' * (len(windows) != 1)}; closest: {closest.feature} "
                f"at {_severity(closest):.2f}x its threshold on {_short(closest.window_start, granularity)}.")
    worst = max(drifts, key=_severity)
    drifted_features = {j.feature for j in drifts}
    drifted_windows = sorted({j.window_start for j in drifts})
    return (
        f"{len(drifted_features)} of {len(features)} features drifted in {len(drifted_windows)} of {len(windows)} windows; "
        f"worst: {worst.feature} ({worst.statistic} {worst.adjusted:.3g} after noise removal, "
        f"{_severity(worst):.1f}x its threshold, {_short(worst.window_start, granularity)}); "
        f"first drifted window: {_short(drifted_windows[0], granularity)}."
    )


def _chart(j: Judgement, base: dict, inputs: dict, why: str) -> str | None:
    b = base.get(j.feature)
    w = inputs.get((j.granularity, j.window_start.timestamp(), j.feature))
    if b is None or w is None:
        return None
    title = f"{j.feature}: {_short(j.window_start, j.granularity)} ({why}), {j.verdict}, {w.get('count') or 0} rows"
    if j.kind == NUMERIC:
        if b.get("quantiles") and w.get("quantiles"):
            return charts.numeric_histogram(title, b["quantiles"], w["quantiles"])
        return None
    return charts.categorical_bars(title, _shares(b), _shares(w))


def _cards(report: DriftReport, granularity: str) -> list[dict]:
    base, inputs = _profile_rows(report)
    by_feature: dict[str, list[Judgement]] = defaultdict(list)
    for j in report.judgements:
        if j.granularity == granularity:
            by_feature[j.feature].append(j)
    cards = []
    for rule in report.rules:
        js = sorted(by_feature.get(rule.feature, []), key=lambda j: j.window_start)
        if not js:
            continue
        drifted = [j for j in js if j.verdict == Verdict.DRIFT]
        chosen, why = (drifted[0], "first drifted window") if drifted else (max(js, key=_severity), "closest to drifting")
        options, rendered = [], []
        for j in js:
            reason = why if j is chosen else "selected window"
            svg = _chart(j, base, inputs, reason)
            if svg is None:
                continue
            key = j.window_start.isoformat()
            options.append({"value": key, "label": f"{_short(j.window_start, granularity)}: {j.verdict}", "selected": j is chosen})
            rendered.append({"window": key, "svg": svg, "selected": j is chosen})
        if not rendered:
            continue
        if not any(c["selected"] for c in rendered):
            rendered[0]["selected"] = options[0]["selected"] = True
        what = ("baseline vs window on the baseline's decile bins (the bins PSI is computed on); window shares "
                "read off its 101 profile percentiles") if rule.kind == NUMERIC else (
                "share of rows per category, baseline vs window: the 8 largest, the rest as other")
        cards.append({"feature": rule.feature, "options": options, "charts": rendered,
                      "caption": f"{rule.feature} ({rule.kind}, judged by {rule.statistic}): {what}."})
    return cards


def _grid(report: DriftReport, granularity: str) -> dict[str, Any]:
    js = [j for j in report.judgements if j.granularity == granularity]
    windows = sorted({j.window_start for j in js})
    index = {w: i for i, w in enumerate(windows)}
    rows = []
    for rule in report.rules:
        cells: list[dict | None] = [None] * len(windows)
        for j in js:
            if j.feature == rule.feature:
                cells[index[j.window_start]] = {"verdict": str(j.verdict), "text": _cell_text(j), "tip": _tip(j)}
        rows.append({"feature": rule.feature, "cells": cells})
    quality: list[dict | None] = [None] * len(windows)
    metric = next((q.metric for q in report.quality_judgements), "")
    for q in report.quality_judgements:
        if q.granularity == granularity and q.window_start in index:
            text = "n/a" if q.value is None else f"{q.value:.2f}"
            tip = (f"{q.metric} {text} vs threshold {q.threshold:g}; {q.labelled} labelled rows "
                   f"(needs {q.min_rows}); {q.reason}")
            quality[index[q.window_start]] = {"verdict": str(q.verdict), "text": text, "tip": tip}
    return {
        "windows": [{"short": _short(w, granularity), "full": f"{w:%Y-%m-%d %H:%M} UTC"} for w in windows],
        "rows": rows,
        "quality": quality if any(quality) else None,
        "custom": _custom_rows(report, granularity, index),
        "quality_metric": QUALITY_SHORT.get(metric, metric.removesuffix("_score")),
    }


def _custom_rows(report: DriftReport, granularity: str, index: dict) -> list[dict[str, Any]]:
    """One grid row per custom metric and feature (input column and slice) with a threshold."""
    rows: dict[str, list[dict | None]] = {}
    for c in report.custom_judgements:
        if c.granularity != granularity or c.window_start not in index:
            continue
        cells = rows.setdefault(f"{c.metric} {c.feature}", [None] * len(index))
        text = "n/a" if c.value is None else f"{c.value:.3g}"
        tip = f"{c.metric} of {c.feature}: {text} vs {c.threshold:g}; {c.count} rows (needs {c.min_rows}); {c.reason}"
        cells[index[c.window_start]] = {"verdict": str(c.verdict), "text": text, "tip": tip}
    return [{"label": label, "cells": cells} for label, cells in rows.items()]


def render_html(report: DriftReport) -> str:
    summary = to_summary(report)
    granularities = sorted({j.granularity for j in report.judgements})
    granularity = granularities[0] if granularities else "1 day"
    windows = sorted({j.window_start for j in report.judgements if j.granularity == granularity})
    header = {
        "granularity": granularity,
        "first": f"{windows[0]:%m-%d}" if windows else "-",
        "last": f"{windows[-1]:%m-%d}" if windows else "-",
        "year": f"{(windows[-1] if windows else report.as_of):%Y}",
        "generated": f"{report.generated_at:%Y-%m-%d %H:%M}",
    }
    alpha = report.settings["max_pvalue"] / max(1, len(report.rules))
    draws = draws_for(alpha)
    pfloor = {"draws": draws, "text": f"{1 / (draws + 1):.3g}", "alpha": f"{alpha:.3g}"}

    warn_ratio = report.settings["warn_ratio"]
    trend_svgs = []
    for rule in report.rules:
        js = [j for j in report.judgements if j.feature == rule.feature and j.granularity == granularity]
        if js:
            # the configured statistic's own series (signals[0]), also where a guard decided
            points = [(j.window_start, *((j.signals[0].value, j.signals[0].adjusted) if j.signals else (j.value, j.adjusted)),
                       str(j.verdict)) for j in js]
            trend_svgs.append(plots.drift_over_time(rule.feature, rule.statistic, rule.threshold, warn_ratio * rule.threshold, points))
    series: dict[str, list] = defaultdict(list)
    for q in report.quality:
        for name, value in q.items():
            if name not in ("granularity", "window_start", "window_end") and value is not None:
                series[name].append((q["window_start"], value))
    thresholds = {q.metric.removesuffix("_score"): q.threshold for q in report.quality_judgements}
    quality_verdicts = {q.window_start: str(q.verdict) for q in report.quality_judgements if q.granularity == granularity}
    quality_svg = plots.quality_over_time(series, thresholds, quality_verdicts) if series else None
    drifted = [{**vars(j), "short": _short(j.window_start, j.granularity)} for j in report.judgements if j.verdict == Verdict.DRIFT]
    return TEMPLATE.render(
        threshold_words=threshold_words(sorted({r.threshold for r in report.rules})), guard_words=guard_words(),
        defaults=" or ".join(DEFAULT_STATISTIC[kind].label for kind in KINDS),
        s=summary, header=header, summary_line=_summary_line(report, granularity), grid=_grid(report, granularity),
        pfloor=pfloor, cards=_cards(report, granularity), trend_svgs=trend_svgs, quality_svg=quality_svg,
        drifted=drifted, script=SCRIPT, cues=CUES,
    )


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


def add_alerts_to_summary(json_path: Path, fired: list) -> list[dict[str, Any]]:
    """Add what the local alerts did to the JSON summary (`alerts`): per alert whether its SQL
    fired, the windows its rows name, and each delivery. Why in the summary: the alert's own
    query decides which windows it names, whatever destination then received it (an email in
    the outbox counts as much as a webhook); run-local reads its closing line from here."""
    data = json.loads(json_path.read_text(encoding="utf-8"))
    data["alerts"] = [
        {
            "alert": outcome.spec.display_name,
            "fired": outcome.fired,
            "windows": sorted({str(r["window_start"]) for r in outcome.rows if r.get("window_start")})
            if outcome.fired
            else [],
            "deliveries": [
                {"destination": d.destination, "type": d.type, "delivered": d.delivered, "detail": d.detail}
                for d in deliveries
            ],
        }
        for outcome, deliveries in fired
    ]
    tmp = json_path.with_suffix(json_path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(json_path)
    return data["alerts"]
