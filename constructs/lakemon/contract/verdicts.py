"""The verdicts table (`<model>_drift_verdicts`): what analyze-drift decided, and what the alerts read.

analyze-drift writes one row per window and feature (and per window's model quality); the
DriftAlert and QualityAlert constructs deploy SQL that filters these rows (alert_queries), and
the embedded default runs that same SQL on its local copy. Columns (a typed row, VerdictRow),
keys and verdict values are spelled here once for the three of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..config.model import Column


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


SQL_TYPE = "sql_type"
"""Key of a VerdictRow field's metadata: the column's type in the verdicts table."""


def _column(sql_type: str):
    """A VerdictRow field: required (no default), with the column's SQL type."""
    return field(metadata={SQL_TYPE: sql_type})


@dataclass(frozen=True, slots=True, kw_only=True)
class VerdictRow:
    """One row of `<model>_drift_verdicts`, written by analyze-drift (one MERGE commit per run)
    and read by the DriftAlert and QualityAlert SQL, retrain and the rehearsal. Its fields ARE
    the table's columns, in order, with their SQL types (`verdicts_columns()` is derived from
    them): analyze-drift builds every row through this class, so a misspelt or forgotten column
    fails where the row is made (keyword-only, no defaults) instead of becoming an all-null
    column. Code that names a column in SQL or reads one from a row uses the constants below
    (SUBJECT, WINDOW_START, ...), which tests/architecture checks equal to these fields.

    One row per (subject, granularity, window, feature, statistic), VERDICT_KEYS:
    - drift rows: `statistic` judged `feature`; `value` is the raw statistic from the drift
      metrics table, `adjusted` the value with the sampling noise taken out, compared with
      `threshold`; `pvalue` the evidence, significant below `alpha`; `verdict` ok, warn, drift,
      too_few_rows or unavailable; `row_count` the window's rows; `min_rows` the setting.
    - quality rows (`feature` ':table', or a custom metric's column): `statistic` is the quality
      metric (accuracy_score or r2_score, or the custom metric), `value` its value, `threshold`
      monitoring.quality_threshold, `row_count` the labelled rows, `verdict` ok, degraded,
      too_few_rows or unavailable.
    `rule_version` names the decision rule, `run_id` the analyze-drift run that wrote the row.
    """

    subject: str = _column("string")
    """DRIFT_SUBJECT or QUALITY_SUBJECT."""
    granularity: str = _column("string")
    window_start: datetime = _column("timestamp")
    window_end: datetime = _column("timestamp")
    feature: str = _column("string")
    kind: str | None = _column("string")
    statistic: str = _column("string")
    value: float | None = _column("double")
    adjusted: float | None = _column("double")
    threshold: float | None = _column("double")
    pvalue: float | None = _column("double")
    alpha: float | None = _column("double")
    verdict: str = _column("string")
    """A Verdict value, as plain text."""
    reason: str | None = _column("string")
    row_count: int | None = _column("bigint")
    min_rows: int | None = _column("bigint")
    rule_version: str = _column("string")
    run_id: str = _column("string")
    judged_at: datetime = _column("timestamp")

    def as_dict(self) -> dict[str, Any]:
        """Column name -> value, in table order (a shallow `dataclasses.asdict`: values are scalars)."""
        return {name: getattr(self, name) for name in VERDICT_COLUMNS}


VERDICT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(VerdictRow))
"""The verdicts table's column names, in order."""

# The verdicts table's column names, one constant per VerdictRow field (its name in upper case),
# for SQL and for reading rows. They are common words, so no test can find a stray literal in
# every job script; tests/architecture checks each equals its field, and that the modules which
# read or write the verdicts table spell none in their SQL or row keys.
SUBJECT = "subject"
GRANULARITY = "granularity"
WINDOW_START = "window_start"
WINDOW_END = "window_end"
FEATURE = "feature"
KIND = "kind"
STATISTIC = "statistic"
VALUE = "value"
ADJUSTED = "adjusted"
THRESHOLD = "threshold"
PVALUE = "pvalue"
ALPHA = "alpha"
VERDICT = "verdict"
REASON = "reason"
ROW_COUNT = "row_count"
MIN_ROWS = "min_rows"
RULE_VERSION = "rule_version"
RUN_ID = "run_id"
JUDGED_AT = "judged_at"


def verdicts_columns() -> list[Column]:
    """Columns of `<model>_drift_verdicts`, in order: the fields of VerdictRow and their SQL types."""
    return [Column(name=f.name, type=f.metadata[SQL_TYPE]) for f in fields(VerdictRow)]


VERDICT_KEYS = [SUBJECT, GRANULARITY, WINDOW_START, FEATURE, STATISTIC]
"""What identifies a verdict row: a rerun updates these rows instead of adding new ones."""
