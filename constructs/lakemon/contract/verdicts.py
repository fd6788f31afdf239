"""The verdicts table (`<model>_drift_verdicts`): what analyze-drift decided, and what the alerts read.

analyze-drift writes one row per window and feature (and per window's model quality); the
DriftAlert and QualityAlert constructs deploy SQL that filters these rows (alert_queries), and
the embedded default runs that same SQL on its local copy. Columns, keys and verdict values are
spelled here once for the three of them.
"""

from __future__ import annotations

from enum import StrEnum

from ..config.model import Column
from .tables import ddl_columns


class Verdict(StrEnum):
    """What analyze-drift decides for a window and feature (or the window's model quality): the
    `verdict` column of the verdicts table, which the alerts' SQL filters on."""

    OK = "ok"
    WARN = "warn"
    DRIFT = "drift"
    TOO_FEW_ROWS = "too_few_rows"
    UNAVAILABLE = "unavailable"
    """The statistic is null in the table (e.g. the column is absent in the window)."""
    DEGRADED = "degraded"
    """Model quality: the window's quality metric is below monitoring.quality_threshold."""


DRIFT_JUDGED = (Verdict.OK, Verdict.WARN, Verdict.DRIFT)
"""Drift verdicts of a window that had the rows and numbers to be judged."""
QUALITY_JUDGED = (Verdict.OK, Verdict.DEGRADED)
"""Quality verdicts of a window that had the labelled rows and the metric to be judged."""

DRIFT_SUBJECT = "drift"
QUALITY_SUBJECT = "quality"
"""`subject` of a verdict row: a feature's drift, or the model's quality in the window."""
TABLE_FEATURE = ":table"
"""`feature` of a quality verdict (the whole table, as the metrics tables name it)."""


def verdicts_columns() -> list[Column]:
    """Columns of `<model>_drift_verdicts`, written by analyze-drift (one MERGE commit per run)
    and read by the DriftAlert and QualityAlert SQL. One row per (subject, granularity, window,
    feature, statistic):

    - drift rows: `statistic` judged `feature`; `value` is the raw statistic from the drift
      metrics table, `adjusted` the value with the sampling noise taken out, compared with
      `threshold`; `pvalue` the evidence, significant below `alpha`; `verdict` ok, warn, drift,
      too_few_rows or unavailable; `row_count` the window's rows; `min_rows` the setting.
    - quality rows (`feature` ':table'): `statistic` is the quality metric (accuracy_score or
      r2_score), `value` its value, `threshold` monitoring.quality_threshold, `row_count` the
      labelled rows, `verdict` ok, degraded, too_few_rows or unavailable.
    `rule_version` names the decision rule, `run_id` the analyze-drift run that wrote the row.
    """
    return ddl_columns(
        "subject string, granularity string, window_start timestamp, window_end timestamp, feature string, "
        "kind string, statistic string, value double, adjusted double, threshold double, pvalue double, "
        "alpha double, verdict string, reason string, row_count bigint, min_rows bigint, rule_version string, "
        "run_id string, judged_at timestamp"
    )


VERDICT_KEYS = ["subject", "granularity", "window_start", "feature", "statistic"]
"""What identifies a verdict row: a rerun updates these rows instead of adding new ones."""
