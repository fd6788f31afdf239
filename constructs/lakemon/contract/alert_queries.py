"""What the production alerts evaluate: SQL over the verdicts table (Databricks SQL dialect).

The alerts decide nothing themselves. `lakemon analyze-drift` judges every window and feature
with the rule of docs/drift.md and writes `<model>_drift_verdicts`; the alerts only look at the
newest judged window there:
- DriftAlert: one row per feature judged `drift` in the newest judged window (any verdict ok,
  warn or drift); it fires when there is at least one row, and the rows name the features.
- QualityAlert: the quality metric of the newest judged window if it is judged `degraded`.
No threshold, p-value or statistic appears in this SQL: those belong to the rule.

The embedded default evaluates exactly this text (read back from the synthesized stack, or from
these functions when synthesis was skipped), transpiled to DuckDB by SQLGlot, on its local
verdicts table, and applies the alert's `evaluation` as Databricks does
(lakemon_jobs.drift.alerting). Kept free of CDK imports so job scripts can use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.model import Environment, Model
from .tables import ModelTables
from .verdicts import (
    ADJUSTED,
    DRIFT_JUDGED,
    DRIFT_SUBJECT,
    FEATURE,
    GRANULARITY,
    PVALUE,
    QUALITY_JUDGED,
    QUALITY_SUBJECT,
    ROW_COUNT,
    RULE_VERSION,
    RUN_ID,
    STATISTIC,
    SUBJECT,
    THRESHOLD,
    VALUE,
    VERDICT,
    WINDOW_END,
    WINDOW_START,
    Verdict,
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: tuple[Verdict, ...]) -> str:
    return ", ".join(_quote(str(v)) for v in values)


def _scope(subject: str, granularity: str, prefix: str = "") -> str:
    return f"{prefix}{SUBJECT} = {_quote(subject)} AND {prefix}{GRANULARITY} = {_quote(granularity)}"


def _newest_window_query(
    *, title: str, verdicts_table: str, subject: str, granularity: str, judged: tuple[Verdict, ...],
    columns: str, verdict: Verdict, order_by: str = "",
) -> str:
    """The rows of `subject` with `verdict` in the newest window of `granularity` that has any
    verdict of `judged`: the shape both alerts share (what differs is subject, verdicts and columns)."""
    scope, v_scope = _scope(subject, granularity), _scope(subject, granularity, "v.")
    return (
        f"-- lakemon {title} in the newest judged {granularity} window\n"
        f"WITH newest AS (\n"
        f"  SELECT max({WINDOW_START}) AS {WINDOW_START} FROM {verdicts_table}\n"
        f"  WHERE {scope} AND {VERDICT} IN ({_in(judged)})\n"
        f")\n"
        f"SELECT {columns}\n"
        f"FROM {verdicts_table} v JOIN newest n ON v.{WINDOW_START} = n.{WINDOW_START}\n"
        f"WHERE {v_scope} AND v.{VERDICT} = {_quote(verdict)}"
        + (f"\nORDER BY {order_by}" if order_by else "")
    )


METRIC = "metric"
"""The quality alert row's name for the verdict's `statistic` (the quality metric): its source column."""
LABELLED_ROWS = "labelled_rows"
"""The quality alert row's name for the verdict's `row_count` (the rows that had labels)."""

DRIFT_COLUMNS = (
    f"v.{WINDOW_START}, v.{WINDOW_END}, v.{FEATURE}, v.{STATISTIC}, v.{VALUE}, v.{ADJUSTED}, v.{THRESHOLD},\n"
    f"       v.{PVALUE}, v.{ROW_COUNT}, v.{RULE_VERSION}, v.{RUN_ID}"
)
"""What a drift alert row says: the feature, the statistic and the rule's numbers."""
QUALITY_COLUMNS = (
    f"v.{WINDOW_START}, v.{WINDOW_END}, v.{STATISTIC} AS {METRIC}, v.{VALUE}, v.{THRESHOLD},\n"
    f"       v.{ROW_COUNT} AS {LABELLED_ROWS}, v.{RULE_VERSION}, v.{RUN_ID}"
)
"""What the quality alert row says: the metric, its value and threshold, how many rows had labels."""


def drift_query(*, verdicts_table: str, granularity: str) -> str:
    """Features judged `drift` in the newest judged window of `granularity` (one row each)."""
    return _newest_window_query(
        title="drift alert: features analyze-drift judged 'drift'", verdicts_table=verdicts_table,
        granularity=granularity, subject=DRIFT_SUBJECT, judged=DRIFT_JUDGED, columns=DRIFT_COLUMNS,
        verdict=Verdict.DRIFT, order_by=f"v.{FEATURE}",
    )


def quality_query(*, verdicts_table: str, granularity: str) -> str:
    """The newest judged window's quality verdict row, if it is `degraded`."""
    return _newest_window_query(
        title="quality alert: model quality analyze-drift judged 'degraded'", verdicts_table=verdicts_table,
        granularity=granularity, subject=QUALITY_SUBJECT, judged=QUALITY_JUDGED, columns=QUALITY_COLUMNS,
        verdict=Verdict.DEGRADED,
    )


@dataclass(frozen=True)
class AlertSpec:
    """What one `databricks_alert_v2` evaluates: its query and its `evaluation` block."""

    display_name: str
    query_text: str
    source_column: str
    aggregation: str
    operator: str
    threshold: float
    empty_result_state: str = "OK"


def count_alert_spec(*, display_name: str, query_text: str, source_column: str) -> AlertSpec:
    """An alert that fires when its query returns at least one row: `COUNT(source_column) > 0`,
    an empty result is `OK` (both lakemon alerts have this evaluation)."""
    return AlertSpec(
        display_name=display_name,
        query_text=query_text,
        source_column=source_column,
        aggregation="COUNT",
        operator="GREATER_THAN",
        threshold=0.0,
    )


DRIFT_ALERT = "feature drift"
QUALITY_ALERT = "model quality"
"""What each alert is about: the end of its display name, and how notifications name its kind."""


def _model_alert_spec(env: Environment, model: Model, what: str, query, source_column: str) -> AlertSpec:
    verdicts_table = ModelTables(env, model).drift_verdicts
    return count_alert_spec(
        display_name=f"lakemon {env.name} {model.name}: {what}",
        query_text=query(verdicts_table=verdicts_table, granularity=env.monitoring.granularities[0]),
        source_column=source_column,
    )


def drift_alert_spec(env: Environment, model: Model) -> AlertSpec:
    """The drift alert of `model` in `env`: fires when the count of drifted features is > 0."""
    return _model_alert_spec(env, model, DRIFT_ALERT, drift_query, FEATURE)


def quality_alert_spec(env: Environment, model: Model) -> AlertSpec:
    """The quality alert of `model` in `env`: fires when the newest judged window is degraded."""
    return _model_alert_spec(env, model, QUALITY_ALERT, quality_query, METRIC)
