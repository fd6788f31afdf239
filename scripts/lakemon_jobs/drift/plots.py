"""Matplotlib figures for the HTML report (drift and quality over time), returned as inline SVG
text (the report opens offline). The distribution charts are hand-written SVG: `charts.py`."""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # no display on a job cluster or in CI
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "lakemon"  # stable ids: the same report renders the same bytes
plt.rcParams["svg.fonttype"] = "none"  # text as <text>, not glyph paths: a third of the bytes

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
    ax.set_title(f"{feature}: {statistic} per window (dots: verdict colour)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.legend(fontsize=6, loc="upper left")
    return _svg(fig)


def quality_over_time(series: dict[str, list[tuple[datetime, float]]], thresholds: dict[str, float]) -> str:
    """Each quality metric per window; the judged metric's threshold as a dashed line."""
    fig, ax = plt.subplots(figsize=(6.0, 2.4))
    for name, points in series.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=name)
    for name, threshold in thresholds.items():
        ax.axhline(threshold, color=COLORS["drift"], ls="--", lw=1, label=f"threshold {threshold:g} ({name})")
    ax.set_title("model quality per window (labelled rows)", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    ax.legend(fontsize=6)
    return _svg(fig)
