"""Write a DriftReport's verdicts to `<model>_drift_verdicts`, through the TableEngine.

The same code runs on Databricks (SparkEngine: one Delta MERGE) and on the embedded default
(LocalEngine: one deltalake MERGE): the rows of the judged period (windows ending after `since`
and starting no later than `as_of`) become exactly this run's verdicts, in one commit. A rerun
over the same metrics rewrites the same keys and adds nothing; a verdict that no longer exists
(a feature whose statistic changed) is deleted. Rows outside the judged period are kept.
Before writing, the table's columns and types are checked: a table with another schema is
refused with one clear message, and nothing is written.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

import pandas as pd

from lakemon.contract.tables import ModelTables
from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    QUALITY_SUBJECT,
    TABLE_FEATURE,
    VERDICT_COLUMNS,
    VERDICT_KEYS,
    WINDOW_END,
    WINDOW_START,
    VerdictRow,
    verdicts_columns,
)

from ..table_engines.engine import Bound, TableEngine
from .rule import RULE_VERSION
from .verdicts import DriftReport


def new_run_id() -> str:
    """Identifies one analyze-drift run in the verdicts table."""
    return uuid.uuid4().hex


def verdict_rows(report: DriftReport, run_id: str, judged_at: datetime) -> list[VerdictRow]:
    """One row per drift judgement, per quality judgement and per judged custom metric."""
    row = partial(VerdictRow, rule_version=RULE_VERSION, run_id=run_id, judged_at=judged_at)
    min_rows = int(report.settings["min_rows"])
    rows = [
        row(
            subject=DRIFT_SUBJECT, granularity=j.granularity, window_start=j.window_start,
            window_end=j.window_end, feature=j.feature, kind=j.kind, statistic=j.statistic,
            value=j.value, adjusted=j.adjusted, threshold=j.threshold, pvalue=j.pvalue,
            alpha=j.alpha, verdict=str(j.verdict), reason=j.reason, row_count=j.count,
            min_rows=min_rows,
        )
        for j in report.judgements
    ]
    quality = [(q, TABLE_FEATURE, q.labelled) for q in report.quality_judgements]
    # custom metrics with a threshold: quality rows, so the quality alert reads them too
    quality += [(c, c.feature, c.count) for c in report.custom_judgements]
    rows += [
        row(
            subject=QUALITY_SUBJECT, granularity=q.granularity, window_start=q.window_start,
            window_end=q.window_end, feature=feature, kind=None, statistic=q.metric,
            value=q.value, adjusted=q.value, threshold=q.threshold, pvalue=None, alpha=None,
            verdict=str(q.verdict), reason=q.reason, row_count=row_count, min_rows=q.min_rows,
        )
        for q, feature, row_count in quality
    ]
    return rows


def verdict_frame(report: DriftReport, run_id: str, judged_at: datetime | None = None) -> pd.DataFrame:
    """The report's verdict rows (`verdict_rows`) as a frame with `verdicts_columns()`."""
    rows = verdict_rows(report, run_id, judged_at or datetime.now(UTC))
    columns = [c.name for c in verdicts_columns()]
    wrong = set(VERDICT_COLUMNS) ^ set(columns)
    if wrong:  # VerdictRow defines the table's columns; should the two ever part, an unfilled column would be all null
        raise AssertionError(f"verdict rows and the verdicts table disagree on {sorted(wrong)}")
    return pd.DataFrame([row.as_dict() for row in rows], columns=columns)


def write_verdicts(engine: TableEngine, tables: ModelTables, report: DriftReport, run_id: str) -> int:
    """Replace the judged period's rows of the verdicts table with this report's, in one commit.
    Creates the table when it is missing (the stack declares it on Databricks). Raises
    TableError, before writing anything, when the table has other columns or types."""
    name = tables.drift_verdicts
    columns = verdicts_columns()
    if not engine.create_if_missing(name, columns):
        engine.require_schema(name, columns)
    frame = verdict_frame(report, run_id)
    scope = [Bound(WINDOW_END, ">", report.since), Bound(WINDOW_START, "<=", report.as_of)]
    engine.replace_rows(name, frame, columns, VERDICT_KEYS, scope)
    return len(frame)
