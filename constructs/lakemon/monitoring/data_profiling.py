"""The Data Quality API's spelling of a monitor (`databricks_data_quality_monitor`, `data_profiling_config`).

Why a module of its own: the current API names the same settings differently from the
deprecated `quality_monitors` one, and a wrong spelling is accepted at synth and refused only
at apply. Sources (docs/deploy.md, "Monitors on the Data Quality API"):

- granularities are enum names, `AGGREGATION_GRANULARITY_1_DAY` for "1 day"
  (databricks-sdk 0.162 `dataquality.AggregationGranularity`; the provider's
  docs/resources/data_quality_monitor.md at v1.99.0 only says "list of string");
- problem types `INFERENCE_PROBLEM_TYPE_CLASSIFICATION` / `..._REGRESSION`
  (`dataquality.InferenceProblemType`; the same doc page);
- columns `timestamp_column`, `prediction_column`, `model_id_column`, `label_column`, and no
  prediction-probability column at all (`dataquality.InferenceLogConfig`);
- custom metric types `DATA_PROFILING_CUSTOM_METRIC_TYPE_*` (`DataProfilingCustomMetricType`);
- failure e-mails under `notification_settings.on_failure.email_addresses`, at most 5
  (the doc page, "NotificationDestination");
- the monitored table and the output schema by UUID: `object_id` = the table's `table_id`,
  `output_schema_id` = the schema's `schema_id` (the doc page, "Arguments").
The construct gets the legacy spelling (lakemon's config and `monitor_analysis`) and maps it here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config.validators import GRANULARITIES

MAX_FAILURE_EMAILS = 5
"""`NotificationDestination.email_addresses`: "A maximum of 5 email addresses is supported"."""

PROBLEM_TYPES = {
    "PROBLEM_TYPE_CLASSIFICATION": "INFERENCE_PROBLEM_TYPE_CLASSIFICATION",
    "PROBLEM_TYPE_REGRESSION": "INFERENCE_PROBLEM_TYPE_REGRESSION",
}
"""Legacy problem type -> `dataquality.InferenceProblemType`."""

CUSTOM_METRIC_TYPES = {
    "CUSTOM_METRIC_TYPE_AGGREGATE": "DATA_PROFILING_CUSTOM_METRIC_TYPE_AGGREGATE",
    "CUSTOM_METRIC_TYPE_DERIVED": "DATA_PROFILING_CUSTOM_METRIC_TYPE_DERIVED",
    "CUSTOM_METRIC_TYPE_DRIFT": "DATA_PROFILING_CUSTOM_METRIC_TYPE_DRIFT",
}
"""Legacy custom metric type -> `dataquality.DataProfilingCustomMetricType`."""


def granularity(value: str) -> str:
    """'1 day' -> 'AGGREGATION_GRANULARITY_1_DAY', '2 weeks' -> '..._2_WEEKS' (every value of
    lakemon's GRANULARITIES; a test checks each against the SDK enum)."""
    if value not in GRANULARITIES:
        raise ValueError(f"granularity {value!r} is not allowed; allowed: {', '.join(GRANULARITIES)}")
    count, unit = value.split()
    return f"AGGREGATION_GRANULARITY_{count}_{unit.upper()}"


def analysis_config(kind: str, block: dict[str, Any]) -> dict[str, Any]:
    """One analysis block of the legacy spelling (`monitor_analysis.*.block`) in the Data Quality one."""
    if kind == "snapshot":
        return {}
    config: dict[str, Any] = {
        "timestamp_column": block["timestamp_col"],
        "granularities": [granularity(g) for g in block["granularities"]],
    }
    if kind == "time_series":
        return config
    if block.get("prediction_proba_col"):
        raise ValueError(
            "the Data Quality API has no prediction probability column (databricks-sdk "
            "dataquality.InferenceLogConfig); remove prediction_proba_col or use api='legacy'"
        )
    config |= {
        "problem_type": PROBLEM_TYPES[block["problem_type"]],
        "prediction_column": block["prediction_col"],
        "model_id_column": block["model_id_col"],
    }
    if block.get("label_col"):
        config["label_column"] = block["label_col"]
    return config


def data_profiling_config(
    *,
    output_schema_id: str,
    assets_dir: str,
    kind: str,
    block: dict[str, Any],
    schedule_cron: str,
    schedule_timezone: str,
    baseline_table_name: str | None,
    slicing_exprs: Sequence[str],
    custom_metrics: Sequence[Any],
    notify_on_failure: Sequence[str],
    warehouse_id: str | None,
) -> dict[str, Any]:
    """The `data_profiling_config` argument (binding field names); raises ValueError for what the
    Data Quality API cannot express."""
    if len(notify_on_failure) > MAX_FAILURE_EMAILS:
        raise ValueError(
            f"the Data Quality API e-mails at most {MAX_FAILURE_EMAILS} addresses on failure; "
            f"got {len(notify_on_failure)} (use a group address)"
        )
    config: dict[str, Any] = {
        "output_schema_id": output_schema_id,
        "assets_dir": assets_dir,
        kind: analysis_config(kind, block),
        "schedule": {"quartz_cron_expression": schedule_cron, "timezone_id": schedule_timezone},
    }
    if baseline_table_name:
        config["baseline_table_name"] = baseline_table_name
    if slicing_exprs:
        config["slicing_exprs"] = list(slicing_exprs)
    if custom_metrics:
        config["custom_metrics"] = [
            {
                "name": m.name,
                "definition": m.definition,
                "input_columns": list(m.input_columns),
                "output_data_type": m.output_data_type,
                "type": CUSTOM_METRIC_TYPES[m.type],
            }
            for m in custom_metrics
        ]
    if notify_on_failure:
        config["notification_settings"] = {"on_failure": {"email_addresses": list(notify_on_failure)}}
    if warehouse_id:
        config["warehouse_id"] = warehouse_id
    return config
