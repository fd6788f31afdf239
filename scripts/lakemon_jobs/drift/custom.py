"""Custom metrics with a threshold, judged per window like the built-in model-quality metric.

A custom metric that carries `threshold: {max: ..., min: ...}` gets a verdict per window for the
whole table and for every slice (all model versions together): `degraded` when its value is
above `max` or below `min`, `too_few_rows` below `monitoring.drift.min_rows` rows (labelled rows
when the definition reads `{{label_col}}`, as model quality counts labelled rows), `unavailable`
when the metric is null there (e.g. labels not arrived yet). The verdicts go to the verdicts
table as `subject = 'quality'` rows, so the quality alert's unchanged SQL fires on them too.
Aggregate and derived metrics are read from the profile table (INPUT rows), drift metrics from
the drift table (BASELINE rows: the window against the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lakemon.config import custom_metrics as cm
from lakemon.config.model import Environment, Model
from lakemon.contract.verdicts import TABLE_FEATURE, Verdict

from ..monitor_engine.schema import ALL_MODELS, TABLE_COLUMN


@dataclass(frozen=True)
class CustomJudgement:
    granularity: str
    window_start: datetime
    window_end: datetime
    metric: str
    feature: str
    """The input column (':table' for the table) and the slice, e.g. ':table [horizon=7]'."""
    value: float | None
    threshold: float
    """The bound the value is compared with (the one it crossed when degraded; else max, or min)."""
    count: int | None
    min_rows: int
    verdict: Verdict
    reason: str


def judge_custom(value: float | None, count: int | None, *, max_value: float | None, min_value: float | None,
                 min_rows: int) -> tuple[Verdict, str, float]:
    """(verdict, reason, the bound reported) for one metric value of one window."""
    bound = max_value if max_value is not None else min_value
    if count is None or count < min_rows:
        return Verdict.TOO_FEW_ROWS, f"{count or 0} rows < min_rows {min_rows}", bound
    if value is None:
        return Verdict.UNAVAILABLE, "no value for this window", bound
    if max_value is not None and value > max_value:
        return Verdict.DEGRADED, f"{value:.4g} > max {max_value:g}", max_value
    if min_value is not None and value < min_value:
        return Verdict.DEGRADED, f"{value:.4g} < min {min_value:g}", min_value
    inside = " and ".join(x for x in (
        f"<= max {max_value:g}" if max_value is not None else "",
        f">= min {min_value:g}" if min_value is not None else "",
    ) if x)
    return Verdict.OK, f"{value:.4g} {inside}", bound


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def feature_label(column: str, slice_key: str | None, slice_value: str | None) -> str:
    """The verdict row's `feature`: the input column, and the slice when there is one."""
    label = TABLE_FEATURE if column == TABLE_COLUMN else column
    return label if slice_key is None else f"{label} [{slice_key}={slice_value}]"


def custom_judgements(env: Environment, model: Model, drift: pa.Table | None, profile: pa.Table | None, *,
                      since: datetime, as_of: datetime) -> list[CustomJudgement]:
    """A verdict per (metric with a threshold, window, input column, slice) in the judged period."""
    metrics = [m for m in model.monitoring.custom_metrics if m.threshold is not None]
    if not metrics or profile is None:
        return []
    mid = model.model_id_column
    min_rows = env.monitoring.drift.min_rows
    wanted = [n for n in (m.name for m in metrics)]

    def rows_of(table: pa.Table | None, **equal: str) -> list[dict[str, Any]]:
        if table is None:
            return []
        keep = [c for c in table.column_names if c in {"window", "granularity", "slice_key", "slice_value",
                                                          "column_name", mid, "log_type", "drift_type",
                                                          "count", "num_labeled", *wanted}]
        out = []
        for r in table.select(keep).to_pylist():
            if r.get(mid, ALL_MODELS) != ALL_MODELS or not r.get("window"):
                continue
            if all(r.get(k) == v for k, v in equal.items()):
                start, end = _utc(r["window"]["start"]), _utc(r["window"]["end"])
                if end > since and start <= as_of:
                    out.append(r)
        return out

    inputs = rows_of(profile, log_type="INPUT")
    tables = {(r["granularity"], r["window"]["start"], r["slice_key"], r["slice_value"]): r
              for r in inputs if r["column_name"] == TABLE_COLUMN}
    baseline_drift = rows_of(drift, drift_type="BASELINE")
    out: list[CustomJudgement] = []
    for m in metrics:
        columns = {TABLE_COLUMN if c == cm.TABLE else c for c in m.input_columns}
        labelled = "label_col" in cm.variables(m.definition)
        for r in baseline_drift if m.type == "drift" else inputs:
            if r["column_name"] not in columns or m.name not in r:
                continue
            table_row = tables.get((r["granularity"], r["window"]["start"], r["slice_key"], r["slice_value"]), {})
            count = table_row.get("num_labeled" if labelled else "count")
            value = r.get(m.name)
            value = None if value is None else float(value)
            verdict, reason, bound = judge_custom(value, count, max_value=m.threshold.max,
                                                  min_value=m.threshold.min, min_rows=min_rows)
            out.append(CustomJudgement(
                granularity=r["granularity"], window_start=_utc(r["window"]["start"]),
                window_end=_utc(r["window"]["end"]), metric=m.name,
                feature=feature_label(r["column_name"], r["slice_key"], r["slice_value"]),
                value=value, threshold=float(bound), count=None if count is None else int(count),
                min_rows=min_rows, verdict=verdict, reason=reason,
            ))
    out.sort(key=lambda j: (j.granularity, j.window_start, j.metric, j.feature))
    return out
