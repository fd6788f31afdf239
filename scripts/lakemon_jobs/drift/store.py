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

import pandas as pd

from lakemon.contract.tables import ModelTables
from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    QUALITY_SUBJECT,
    TABLE_FEATURE,
    VERDICT_KEYS,
    verdicts_columns,
)

from ..table_engines.engine import Bound, TableEngine
from .rule import RULE_VERSION
from .verdicts import DriftReport


def new_run_id() -> str:
    """Identifies one analyze-drift run in the verdicts table."""
    return uuid.uuid4().hex


def verdict_frame(report: DriftReport, run_id: str, judged_at: datetime | None = None) -> pd.DataFrame:
    """One row per drift judgement and per quality judgement, with `verdicts_columns()`."""
    judged_at = judged_at or datetime.now(UTC)
    min_rows = int(report.settings["min_rows"])
    common = {"rule_version": RULE_VERSION, "run_id": run_id, "judged_at": judged_at}
    rows = [
        {
            "subject": DRIFT_SUBJECT, "granularity": j.granularity, "window_start": j.window_start,
            "window_end": j.window_end, "feature": j.feature, "kind": j.kind, "statistic": j.statistic,
            "value": j.value, "adjusted": j.adjusted, "threshold": j.threshold, "pvalue": j.pvalue,
            "alpha": j.alpha, "verdict": str(j.verdict), "reason": j.reason, "row_count": j.count,
            "min_rows": min_rows, **common,
        }
        for j in report.judgements
    ]
    rows += [
        {
            "subject": QUALITY_SUBJECT, "granularity": q.granularity, "window_start": q.window_start,
            "window_end": q.window_end, "feature": TABLE_FEATURE, "kind": None, "statistic": q.metric,
            "value": q.value, "adjusted": q.value, "threshold": q.threshold, "pvalue": None, "alpha": None,
            "verdict": str(q.verdict), "reason": q.reason, "row_count": q.labelled, "min_rows": q.min_rows,
            **common,
        }
        for q in report.quality_judgements
    ]
    rows += [  # custom metrics with a threshold: quality rows, so the quality alert reads them too
        {
            "subject": QUALITY_SUBJECT, "granularity": c.granularity, "window_start": c.window_start,
            "window_end": c.window_end, "feature": c.feature, "kind": None, "statistic": c.metric,
            "value": c.value, "adjusted": c.value, "threshold": c.threshold, "pvalue": None, "alpha": None,
            "verdict": str(c.verdict), "reason": c.reason, "row_count": c.count, "min_rows": c.min_rows,
            **common,
        }
        for c in report.custom_judgements
    ]
    columns = [c.name for c in verdicts_columns()]
    wrong = {key for row in rows for key in set(row) ^ set(columns)}
    if wrong:  # a misspelt key would otherwise become an all-null column
        raise AssertionError(f"verdict rows and the verdicts table disagree on {sorted(wrong)}")
    return pd.DataFrame(rows, columns=columns)


def write_verdicts(engine: TableEngine, tables: ModelTables, report: DriftReport, run_id: str) -> int:
    """Replace the judged period's rows of the verdicts table with this report's, in one commit.
    Creates the table when it is missing (the stack declares it on Databricks). Raises
    TableError, before writing anything, when the table has other columns or types."""
    name = tables.drift_verdicts
    columns = verdicts_columns()
    if not engine.create_if_missing(name, columns):
        engine.require_schema(name, columns)
    frame = verdict_frame(report, run_id)
    scope = [Bound("window_end", ">", report.since), Bound("window_start", "<=", report.as_of)]
    engine.replace_rows(name, frame, columns, VERDICT_KEYS, scope)
    return len(frame)
