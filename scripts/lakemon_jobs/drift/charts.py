"""Small hand-written SVG charts for the drift report's distributions (a few kB each).

Why not matplotlib here: the report shows every feature for every window behind a selector, 8
features x 7 windows in run-local alone; matplotlib's SVG is 15-40 kB a chart, these are 2-4 kB,
so the whole page stays far below 1 MB and opens instantly offline.

- `numeric_histogram`: baseline vs window on the baseline's PSI bins (its deciles, the bins the
  engine computes PSI on), bar height = share of rows in the bin, log x axis for skewed features.
- `categorical_bars`: the top categories by share in either side, the rest as "other".
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

WIDTH, PLOT_H = 460, 120
LEFT, RIGHT, TOP = 48, 12, 34
FONT_PX = 12
"""Every text of a chart, legends included, at the report's note size (0.8em of 16 px, rounded up)."""
BASE_COLOR, WINDOW_COLOR = "#78909c", "#c62828"
TOP_CATEGORIES = 8
LABEL_CHARS = 16
"""Longest category label shown in full; longer ones end in an ellipsis, the full text on hover."""
TITLE_CHARS = 56
"""Longest chart title shown in full at 13 px bold in WIDTH (the full title is the chart's hover text)."""
SHARE_TEXT_PX = 84
"""Room kept right of the longest bar for its "99% / 100%" text (11 characters at 12 px)."""


def _fmt(x: float) -> str:
    """An axis value as a reader writes it: whole numbers (years, counts) never in scientific
    notation (`1939`, `4040`, `12,500`), others to 3 significant digits."""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.0f}"
    if abs(x) >= 1e-2:
        return f"{x:.3g}"
    return f"{x:.2g}"


def ellipsis(label: str, limit: int = LABEL_CHARS) -> str:
    """`label`, or its first `limit - 1` characters and an ellipsis."""
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _frame(title: str, height: int, body: list[str], legend_y: int, note: str = "") -> str:
    legend = (
        f'<rect x="{LEFT}" y="{legend_y}" width="12" height="12" fill="{BASE_COLOR}" fill-opacity="0.6"/>'
        f'<text x="{LEFT + 16}" y="{legend_y + 11}">baseline</text>'
        f'<rect x="{LEFT + 90}" y="{legend_y}" width="12" height="12" fill="{WINDOW_COLOR}" fill-opacity="0.55"/>'
        f'<text x="{LEFT + 106}" y="{legend_y + 11}">window</text>'
    )
    # the note gets a line of its own under the legend: beside it, a long note ran off the edge
    note_line = f'<text x="{LEFT}" y="{legend_y + 28}" fill="#555">{escape(note)}</text>' if note else ""
    shown = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "\u2026"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" font-family="system-ui,sans-serif" font-size="{FONT_PX}"><title>{escape(title)}</title>'
        f'<text x="4" y="16" font-size="{FONT_PX + 1}" font-weight="bold">{escape(shown)}</text>'
        + "".join(body) + legend + note_line + "</svg>"
    )


def cdf_from_percentiles(percentiles: list[float], x: float) -> float:
    """Share of rows <= x, read off a side's 101 profile percentiles (1-point resolution)."""
    q = np.asarray(percentiles, dtype=np.float64)
    return float(np.searchsorted(q, x, side="right") - 1) / (len(q) - 1) if x >= q[0] else 0.0


def psi_bin_shares(base_q: list[float], window_q: list[float]) -> tuple[list[float], list[float], list[float]]:
    """(bin edges, baseline shares, window shares) on the baseline's decile bins (duplicate edges
    merged, as the engine's PSI bins are); the outer bins reach the smaller min / larger max."""
    inner = sorted(set(base_q[i] for i in range(10, 100, 10)))
    lo, hi = min(base_q[0], window_q[0]), max(base_q[-1], window_q[-1])
    edges = [lo, *[e for e in inner if lo < e < hi], hi]

    def shares(q: list[float]) -> list[float]:
        cuts = [0.0, *[cdf_from_percentiles(q, e) for e in edges[1:-1]], 1.0]
        return [max(0.0, b - a) for a, b in zip(cuts, cuts[1:], strict=False)]

    return edges, shares(base_q), shares(window_q)


def is_skewed(base_q: list[float]) -> bool:
    """Log axis when all values are positive and the top is far above the middle."""
    lo, mid, hi = base_q[0], base_q[50], base_q[-1]
    return lo > 0 and mid > 0 and hi / mid > 20


def numeric_histogram(title: str, base_q: list[float], window_q: list[float]) -> str:
    edges, base, window = psi_bin_shares(base_q, window_q)
    log = is_skewed(base_q) and edges[0] > 0
    tx = (lambda v: math.log10(v)) if log else (lambda v: v)
    x0, x1 = tx(edges[0]), tx(edges[-1])
    span = (x1 - x0) or 1.0

    def px(v: float) -> float:
        return LEFT + (tx(v) - x0) / span * (WIDTH - LEFT - RIGHT)

    top = max([*base, *window, 1e-9])
    body = []
    for i in range(len(edges) - 1):
        a, b = px(edges[i]), max(px(edges[i + 1]), px(edges[i]) + 1.5)
        for share, color, opacity in ((base[i], BASE_COLOR, 0.6), (window[i], WINDOW_COLOR, 0.55)):
            h = share / top * PLOT_H
            body.append(
                f'<rect x="{a:.1f}" y="{TOP + PLOT_H - h:.1f}" width="{b - a:.1f}" height="{h:.1f}" '
                f'fill="{color}" fill-opacity="{opacity}"><title>{_fmt(edges[i])} to {_fmt(edges[i + 1])}: '
                f'{"baseline" if color == BASE_COLOR else "window"} {share:.1%}</title></rect>'
            )
    axis_y = TOP + PLOT_H
    body.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{WIDTH - RIGHT}" y2="{axis_y}" stroke="#444"/>')
    for v, anchor in ((edges[0], "start"), (edges[len(edges) // 2], "middle"), (edges[-1], "end")):
        body.append(f'<text x="{px(v):.1f}" y="{axis_y + 14}" text-anchor="{anchor}">{_fmt(v)}</text>')
    body.append(f'<text x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end">{top:.0%}</text>')
    body.append(f'<text x="{LEFT - 4}" y="{axis_y}" text-anchor="end">0</text>')
    axis = "log" if log else "linear"
    return _frame(title, axis_y + 60, body, axis_y + 22, f"share of rows per baseline decile bin; x: {axis} scale")


def top_categories(base: dict[str, float], window: dict[str, float], n: int = TOP_CATEGORIES) -> tuple[list[str], list[float], list[float]]:
    """The n categories with the largest share on either side, then "other" for the rest."""
    ranked = sorted(set(base) | set(window), key=lambda k: (-max(base.get(k, 0.0), window.get(k, 0.0)), k))
    shown = ranked[:n]
    labels, b, w = list(shown), [base.get(k, 0.0) for k in shown], [window.get(k, 0.0) for k in shown]
    rest_b, rest_w = max(0.0, 1.0 - sum(b)), max(0.0, 1.0 - sum(w))
    if len(ranked) > n or rest_b > 0.005 or rest_w > 0.005:
        labels.append("other")
        b.append(rest_b)
        w.append(rest_w)
    return labels, b, w


def categorical_bars(title: str, base: dict[str, float], window: dict[str, float]) -> str:
    labels, b, w = top_categories(base, window)
    row, label_w = 20, 128
    room = WIDTH - label_w - RIGHT - SHARE_TEXT_PX  # the longest bar ends here; its text fits after it
    top = max([*b, *w, 1e-9])
    body = []
    for i, label in enumerate(labels):
        y = TOP + i * row
        # a long label is cut with an ellipsis; the full text is its hover text
        body.append(
            f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end"><title>{escape(label)}</title>'
            f"{escape(ellipsis(label))}</text>"
        )
        for k, (share, color, opacity) in enumerate(((b[i], BASE_COLOR, 0.6), (w[i], WINDOW_COLOR, 0.55))):
            length = share / top * room
            body.append(
                f'<rect x="{label_w}" y="{y + 2 + k * 8}" width="{length:.1f}" height="8" fill="{color}" '
                f'fill-opacity="{opacity}"><title>{escape(label)}: {"baseline" if k == 0 else "window"} '
                f"{share:.1%}</title></rect>"
            )
        body.append(f'<text x="{label_w + (max(b[i], w[i]) / top) * room + 4:.1f}" y="{y + 13}" '
                    f'fill="#555">{b[i]:.0%} / {w[i]:.0%}</text>')
    end = TOP + len(labels) * row
    return _frame(title, end + 46, body, end + 8, "share of rows (baseline / window)")
