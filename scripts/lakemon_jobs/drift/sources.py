"""Read the two monitor output tables through the TableEngine: the same two SELECTs run on
Databricks (Spark, `SparkEngine`) and on the embedded default (DuckDB over local Delta tables,
`LocalEngine`, via SQLGlot).

Both return pyarrow tables with the columns of monitoring/schema.py, so the decision code never
knows where the rows came from. Only the rows analyze-drift uses are read: BASELINE drift and
whole-table profile rows of the lookback period, plus the baseline profile (every slice's rows
for a model whose custom metrics carry a threshold: they are judged per slice).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from lakemon.contract.tables import ModelTables

from ..errors import JobError
from ..table_engines.engine import TableEngine, timestamp_sql


class TablesMissing(JobError):
    """A metrics table does not exist yet (the monitor has not run): exit code 1, clear message."""


def metrics_queries(tables: ModelTables, since: datetime) -> tuple[str, str]:
    """The two SELECTs (Databricks SQL). `since` is formatted by us (not user input), as an
    exact instant: a zone-less TIMESTAMP literal would be read in the session time zone."""
    ts = timestamp_sql(since)
    # The model-id column is named after the monitor's model_id_col (docs/monitoring.md).
    model_id = f"`{tables.model.model_id_column}`"
    # Custom metrics with a threshold are judged per slice too (drift/custom.py): their models
    # read every slice's rows; the built-in rule still uses the whole-table rows only.
    judged_per_slice = any(m.threshold is not None for m in tables.model.monitoring.custom_metrics)
    scope = f"{model_id} = '*'" if judged_per_slice else f"slice_key IS NULL AND {model_id} = '*'"
    drift = (
        f"SELECT * FROM {tables.drift_metrics} WHERE drift_type = 'BASELINE' AND {scope} "
        f"AND `window`.`end` > {ts}"
    )
    profile = (
        f"SELECT * FROM {tables.profile_metrics} WHERE {scope} "
        f"AND (log_type = 'BASELINE' OR `window`.`end` > {ts})"
    )
    return drift, profile


def older_windows_sql(tables: ModelTables, since: datetime) -> str:
    """Per granularity: how many windows (and inference rows) of the profile table end at or
    before `since`, the start of the lookback period: analyze-drift does not judge them, and
    says so (never dropped without a line)."""
    model_id = f"`{tables.model.model_id_column}`"
    return (
        f"SELECT granularity, COUNT(*) AS windows, SUM(`count`) AS rows FROM {tables.profile_metrics} "
        f"WHERE log_type = 'INPUT' AND column_name = ':table' AND slice_key IS NULL AND {model_id} = '*' "
        f"AND `window`.`end` <= {timestamp_sql(since)} GROUP BY granularity ORDER BY granularity"
    )


def read_tables(engine: TableEngine, tables: ModelTables, since: datetime) -> tuple[pa.Table, pa.Table]:
    """(drift, profile): the rows of the lookback period that starts at `since`.

    TablesMissing (before anything is read) when either table does not exist yet."""
    for name in (tables.drift_metrics, tables.profile_metrics):
        if not engine.exists(name):
            raise TablesMissing(
                f"table {name} does not exist yet: the monitor has not written its metrics "
                "(run `lakemon refresh` first)"
            )
    drift_sql, profile_sql = metrics_queries(tables, since)
    return engine.query_arrow(drift_sql), engine.query_arrow(profile_sql)


def judged_against(engine: TableEngine, tables: ModelTables, *, analysis_run: str, home: str | None) -> dict:
    """What this analysis judged against, for the report and the JSON summary: the baseline
    table and its Delta version, the model version(s) the baseline holds (register writes the
    champion's rows; the monitor's drift metrics compare each window with it), this analysis's
    run id (the `run_id` of its rows in the verdicts table), and the embedded default's run
    folder (None on Databricks).

    Why read at analysis time: after a retrain the baseline is replaced and the next refresh
    re-computes every window's drift against it, so a report must say which baseline it used.
    A baseline that cannot be read is reported as such (None), never an error: the metrics
    tables, not the baseline, are what the verdicts come from."""
    baseline = tables.baseline
    version: int | None = None
    model_versions: list[str] = []
    if engine.exists(baseline):
        try:
            version = engine.table_version(baseline).version
        except Exception:  # noqa: BLE001 - a version the engine cannot tell is reported as unknown
            version = None
        column = tables.model.model_id_column
        rows = engine.query_arrow(f"SELECT DISTINCT `{column}` AS v FROM {baseline}").column("v").to_pylist()
        model_versions = sorted(str(v) for v in rows if v is not None)
    return {
        "baseline_table": baseline,
        "baseline_version": version,
        "baseline_exists": bool(engine.exists(baseline)),
        "champion": model_versions[-1] if len(model_versions) == 1 else (", ".join(model_versions) or None),
        "analysis_run": analysis_run,
        "home": home,
        "metrics_tables": [tables.drift_metrics, tables.profile_metrics],
    }
