"""Matplotlib figures for the HTML report, returned as inline SVG text (the report opens offline)."""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # no display on a job cluster or in CI
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "lakemon"  # stable ids: the same report renders the same bytes

COLORS = {"ok": "#2e7d32", "warn": "#f9a825", "drift": "#c62828", "too_few_rows": "#9e9e9e", "unavailable": "#9e9e9e"}


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE (it names an external DTD)


def drift_over_time(feature: str, statistic: str, threshold: float, warn_at: float,
                    points: list[tuple[datetime, float | None, float | None, str]]) -> str:
    """points: (window start, raw value, adjusted value, verdict)."""
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    xs = [p[0] for p in points]
    ax.plot(xs, [p[1] for p in points], color="#90a4ae", lw=1, marker=".", label="raw")
    ax.plot(xs, [p[2] for p in points], color="#1565c0", lw=1.5, label="adjusted (noise removed)")
    for x, _raw, adj, verdict in points:
        if adj is not None:
            ax.scatter([x], [adj], color=COLORS.get(verdict, "#000"), zorder=3, s=18)
    ax.axhline(threshold, color=COLORS["drift"], ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.axhline(warn_at, color=COLORS["warn"], ls=":", lw=1, label=f"warn {warn_at:g}")
    ax.set_title(f"{feature}: {statistic}", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left")
    fig.autofmt_xdate()
    return _svg(fig)


def categorical_distribution(feature: str, labels: list[str], baseline: list[float], current: list[float], title: str) -> str:
    fig, ax = plt.subplots(figsize=(6.0, max(1.6, 0.22 * len(labels) + 0.8)))
    ys = range(len(labels))
    ax.barh([y - 0.2 for y in ys], baseline, height=0.4, color="#90a4ae", label="baseline")
    ax.barh([y + 0.2 for y in ys], current, height=0.4, color="#c62828", label="window")
    ax.set_yticks(list(ys), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("share of rows", fontsize=7)
    ax.set_title(f"{feature}: {title}", fontsize=9)
    ax.legend(fontsize=6)
    return _svg(fig)


def numeric_distribution(feature: str, baseline_q: list[float], current_q: list[float], title: str) -> str:
    """Quantile functions (the profile's 101 percentiles) of baseline and window."""
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    ps = [i / (len(baseline_q) - 1) for i in range(len(baseline_q))]
    ax.plot(ps, baseline_q, color="#90a4ae", label="baseline")
    ax.plot([i / (len(current_q) - 1) for i in range(len(current_q))], current_q, color="#c62828", label="window")
    ax.set_xlabel("quantile", fontsize=7)
    ax.set_title(f"{feature}: {title}", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)
    return _svg(fig)


def quality_over_time(series: dict[str, list[tuple[datetime, float]]]) -> str:
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=name)
    ax.set_title("model quality per window", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)
    fig.autofmt_xdate()
    return _svg(fig)
