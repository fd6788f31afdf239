"""run-local's retrain rehearsal (docs/retraining.md): what happened before and after the retrain.

The loop (loop.py) runs `lakemon retrain` after the first drift analysis, swaps the logging
layer's upstream to a scoring server of the new champion (as a Databricks endpoint swaps its
served entity), sends more DC days, and analyzes again. This module reads what the tables say
about each simulated day, so the closing table shows drift and quality per day, before the
retrain (judged against the first baseline) and after it (against the new one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lakemon.contract.statistics import QUALITY_METRIC
from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    FEATURE,
    GRANULARITY,
    QUALITY_SUBJECT,
    STATISTIC,
    SUBJECT,
    VALUE,
    VERDICT,
    WINDOW_START,
    Verdict,
)

from .run_context import DAILY_GRANULARITY


@dataclass
class DayView:
    """One simulated day as the verdicts table judged it."""

    day: date
    source: str
    served_by: str = "?"
    drifted: list[str] = field(default_factory=list)
    judged: int = 0
    quality_metric: str | None = None
    quality: float | None = None
    quality_verdict: str | None = None


def day_views(ctx, day_sources: dict[date, str]) -> dict[date, DayView]:
    """Per day of `day_sources`: drifted features, quality, and the model version that served it,
    from the daily windows (DAILY_GRANULARITY, whichever granularity the env file lists first)."""
    from deltalake import DeltaTable  # lazy: deltalake (12 ms), after the env check

    views = {d: DayView(d, s) for d, s in day_sources.items()}
    verdicts = DeltaTable(str(ctx.runtime.table_path(ctx.tables.drift_verdicts))).to_pyarrow_table().to_pylist()
    for row in verdicts:
        if row[GRANULARITY] != DAILY_GRANULARITY:
            continue
        view = views.get(row[WINDOW_START].date())
        if view is None:
            continue
        if row[SUBJECT] == DRIFT_SUBJECT:
            view.judged += 1
            if row[VERDICT] == Verdict.DRIFT:
                view.drifted.append(row[FEATURE])
        elif row[SUBJECT] == QUALITY_SUBJECT and row[STATISTIC] in QUALITY_METRIC.values():  # not a custom metric
            view.quality_metric, view.quality, view.quality_verdict = row[STATISTIC], row[VALUE], row[VERDICT]
    log = DeltaTable(str(ctx.runtime.table_path(ctx.tables.inference_log))).to_pyarrow_table(
        columns=[ctx.model.model_id_column, ctx.model.timestamp_column]
    )
    served: dict[date, set[str]] = {}
    for version, stamp in zip(
        log[ctx.model.model_id_column].to_pylist(), log[ctx.model.timestamp_column].to_pylist(), strict=True
    ):
        served.setdefault(stamp.date(), set()).add(str(version))
    for day, versions in served.items():
        if day in views:
            views[day].served_by = ", ".join(sorted(versions))
    for view in views.values():
        view.drifted = sorted(set(view.drifted))
    return views


def table_lines(before: dict[date, DayView], after: dict[date, DayView], retrained_on: set[date]) -> list[str]:
    """Markdown table: each day once, judged before the retrain (the first analysis) and, for
    the days sent after it, against the new baseline."""
    lines = [
        "| day | traffic | served by | judged | drifted features | quality |",
        "|---|---|---|---|---|---|",
    ]
    for day in sorted({*before, *after}):
        view, when = (before[day], "before retrain") if day in before else (after[day], "after retrain")
        quality = (
            f"{view.quality_metric} {view.quality:.3f} ({view.quality_verdict})"
            if view.quality is not None
            else (view.quality_verdict or "-")
        )
        drifted = f"{len(view.drifted)}/{view.judged}: {', '.join(view.drifted)}" if view.drifted else f"0/{view.judged}"
        mark = " (retrain data)" if day in retrained_on else ""
        lines.append(f"| {day} | {view.source}{mark} | {view.served_by} | {when} | {drifted} | {quality} |")
    return lines
