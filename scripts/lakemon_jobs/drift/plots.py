"""Matplotlib figures for the HTML report (drift and quality over time), returned as inline SVG
text (the report opens offline). The distribution charts are hand-written SVG: `charts.py`."""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # no display on a job cluster or in CI
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

plt.rcParams["svg.hashsalt"] = "lakemon"  # stable ids: the same report renders the same bytes
plt.rcParams["svg.fonttype"] = "none"  # text as <text>, not glyph paths: a third of the bytes

COLORS = {"ok": "#2e7d32", "warn": "#f9a825", "drift": "#c62828", "too_few_rows": "#9e9e9e", "unavailable": "#9e9e9e",
          "degraded": "#c62828"}
MARKERS = {"ok": "o", "warn": "^", "drift": "X", "degraded": "X", "too_few_rows": "s", "unavailable": "s"}
"""The verdict as a shape as well as a colour (colour-blind readers; the grid uses symbols)."""
FONT_PT = 10
"""Legend and tick text size: the figures render at 4/3 px per pt, so 10 pt is the notes' 13 px."""


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE (it names an external DTD)


MAX_TICKS = 8


def _axes_style(ax, title: str, xs: list[datetime]) -> None:
    """Title; x ticks at the windows' own starts (at most MAX_TICKS), as `11-25`, so a tick never
    repeats a date between two windows; values never in scientific notation or with an offset."""
    ax.set_title(title, fontsize=FONT_PT + 1)
    ax.tick_params(labelsize=FONT_PT)
    starts = sorted(set(xs))
    if starts:
        ax.set_xticks(starts[:: -(-len(starts) // MAX_TICKS)])
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d" if _whole_days(starts) else "%m-%d %H:%M"))
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)


def _whole_days(starts: list[datetime]) -> bool:
    return all(s.hour == 0 and s.minute == 0 for s in starts)


def _verdict_handles(verdicts: list[str]) -> list:
    return [
        Line2D([], [], ls="", marker=MARKERS.get(v, "o"), color=COLORS.get(v, "#000"), label=v.replace("_", " "))
        for v in dict.fromkeys(verdicts)
    ]


def _legend_below(ax, handles: list, ncol: int) -> None:
    """Under the axes, never over the lines (it used to cover the threshold)."""
    ax.legend(handles=handles, fontsize=FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol,
              frameon=False)


def drift_over_time(feature: str, statistic: str, threshold: float, warn_at: float,
                    points: list[tuple[datetime, float | None, float | None, str]]) -> str:
    """points: (window start, raw value, adjusted value, verdict)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.9))
    xs = [p[0] for p in points]
    raw = ax.plot(xs, [p[1] for p in points], color="#90a4ae", lw=1, marker=".", label="raw")[0]
    adjusted = ax.plot(xs, [p[2] for p in points], color="#1565c0", lw=1.5, label="noise removed")[0]
    for x, _raw, adj, verdict in points:
        if adj is not None:
            ax.scatter([x], [adj], color=COLORS.get(verdict, "#000"), marker=MARKERS.get(verdict, "o"), zorder=3, s=30)
    limit = ax.axhline(threshold, color=COLORS["drift"], ls="--", lw=1, label=f"threshold {threshold:g}")
    warn = ax.axhline(warn_at, color=COLORS["warn"], ls=":", lw=1.2, label=f"warn {warn_at:g}")
    _axes_style(ax, f"{feature}: {statistic} per window", xs)
    handles = [raw, adjusted, limit, warn, *_verdict_handles([p[3] for p in points if p[2] is not None])]
    _legend_below(ax, handles, ncol=4)
    return _svg(fig)


def quality_over_time(series: dict[str, list[tuple[datetime, float]]], thresholds: dict[str, float],
                      verdicts: dict[datetime, str] | None = None) -> str:
    """One panel per quality metric, each against its own threshold: the judged metric with its
    threshold line and verdict shapes, every other one marked "not judged" (no threshold is
    configured for it), so an accuracy above its threshold is not read as a good f1."""
    names = list(series)
    fig, axes = plt.subplots(len(names), 1, figsize=(6.4, 1.35 * len(names) + 0.9), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        points = series[name]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        ax.plot(xs, ys, color="#1565c0", lw=1.2)
        threshold = thresholds.get(name)
        if threshold is None:
            ax.scatter(xs, ys, color="#1565c0", s=14, zorder=3)
            _axes_style(ax, f"{name}: not judged (no threshold configured)", xs)
            continue
        for x, y in points:
            verdict = (verdicts or {}).get(x, "ok" if y >= threshold else "degraded")
            ax.scatter([x], [y], color=COLORS.get(verdict, "#000"), marker=MARKERS.get(verdict, "o"), s=30, zorder=3)
        ax.axhline(threshold, color=COLORS["drift"], ls="--", lw=1)
        _axes_style(ax, f"{name}: judged, threshold {threshold:g} (dashed)", xs)
    fig.tight_layout()
    return _svg(fig)
