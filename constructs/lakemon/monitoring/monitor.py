"""`QualityMonitor`: a Databricks quality monitor, refusing contradictory settings at synth.

Why refuse at synth: the API rejects many of these only at apply time (after a long plan and
approval), some not at all (a monitor without a schedule silently never refreshes). A synth error
names the construct and what is allowed.

Binding quirk: databricks_quality_monitor is a plugin-framework resource, so `inference_log`,
`time_series`, `snapshot`, `schedule`, `notifications` and `on_failure` are lists of one element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitor as QualityMonitorResource
from cdktf_cdktf_provider_databricks.quality_monitor import (
    QualityMonitorCustomMetrics,
    QualityMonitorInferenceLog,
    QualityMonitorNotifications,
    QualityMonitorNotificationsOnFailure,
    QualityMonitorSchedule,
    QualityMonitorSnapshot,
    QualityMonitorTimeSeries,
)

from constructs import Construct

from .._marks import mark_data_role, protect
from ..config.model import Environment, Model, ProblemType
from ..config.validators import GRANULARITIES, check_quartz_cron, check_timezone
from ..errors import LakemonConstructError
from ..tables import ModelTables, monitor_prediction_proba_col

PROBLEM_TYPES = {
    "classification": "PROBLEM_TYPE_CLASSIFICATION",
    "regression": "PROBLEM_TYPE_REGRESSION",
}
CUSTOM_METRIC_TYPES = (
    "CUSTOM_METRIC_TYPE_AGGREGATE",
    "CUSTOM_METRIC_TYPE_DERIVED",
    "CUSTOM_METRIC_TYPE_DRIFT",
)


@dataclass(frozen=True)
class CustomMetric:
    """A custom metric: `definition` is a SQL expression (Jinja `{{input_column}}` allowed),
    `output_data_type` a Spark StructField JSON, `type` one of CUSTOM_METRIC_TYPES."""

    name: str
    definition: str
    input_columns: tuple[str, ...]
    output_data_type: str
    type: str = "CUSTOM_METRIC_TYPE_AGGREGATE"


class QualityMonitor(Construct):
    """`databricks_quality_monitor` with exactly one analysis type (inference log by default).

    Example::

        QualityMonitor.for_model(stack, "monitor", env=env, model=model,
                                 depends_on=[log_table.table, baseline.table])

    Props: table_name, output_schema_name (`catalog.schema`), assets_dir (workspace folder for
    the dashboard), one of (inference_log=True with problem_type/prediction_col/timestamp_col/
    model_id_col[/label_col/prediction_proba_col], time_series=True with timestamp_col,
    (prediction_proba_col must name a MAP<STRING, DOUBLE> column, class -> probability; `for_model`
    leaves it out, see lakemon.tables.monitor_prediction_proba_col),
    snapshot=True), granularities, baseline_table_name, slicing_exprs, custom_metrics,
    schedule_cron + schedule_timezone (required), notify_on_failure (e-mails, required by
    policy), warehouse_id, protect_data (prevent_destroy: the monitor owns the metrics tables).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table_name: str,
        output_schema_name: str,
        assets_dir: str,
        schedule_cron: str | None,
        schedule_timezone: str = "UTC",
        inference_log: bool = False,
        time_series: bool = False,
        snapshot: bool = False,
        problem_type: ProblemType | str | None = None,
        prediction_col: str | None = None,
        timestamp_col: str | None = None,
        model_id_col: str | None = None,
        label_col: str | None = None,
        prediction_proba_col: str | None = None,
        granularities: Sequence[str] = ("1 day",),
        baseline_table_name: str | None = None,
        slicing_exprs: Sequence[str] = (),
        custom_metrics: Sequence[CustomMetric] = (),
        notify_on_failure: Sequence[str] = (),
        warehouse_id: str | None = None,
        protect_data: bool = False,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        refuse = self._refuse
        kinds = [
            k
            for k, on in (
                ("inference_log", inference_log),
                ("time_series", time_series),
                ("snapshot", snapshot),
            )
            if on
        ]
        if len(kinds) != 1:
            refuse(
                "exactly one analysis type must be set (inference_log, time_series or snapshot); "
                + (f"got {', '.join(kinds)}" if kinds else "got none")
            )
        if schedule_cron is None:
            refuse("a refresh schedule is required (schedule_cron, Quartz syntax, e.g. '0 0 2 * * ?')")
        try:
            check_quartz_cron(schedule_cron)
            check_timezone(schedule_timezone)
        except ValueError as exc:
            refuse(str(exc))
        if kinds != ["snapshot"]:
            if not granularities:
                refuse("at least one granularity is required")
            for granularity in granularities:
                if granularity not in GRANULARITIES:
                    refuse(f"granularity {granularity!r} is not allowed; allowed: {', '.join(GRANULARITIES)}")
        if len(table_name.split(".")) != 3:
            refuse(f"table_name {table_name!r} must be catalog.schema.table")
        if len(output_schema_name.split(".")) != 2:
            refuse(f"output_schema_name {output_schema_name!r} must be catalog.schema")
        if baseline_table_name is not None and baseline_table_name == table_name:
            refuse("the baseline table cannot be the monitored table itself")
        if not assets_dir.startswith("/"):
            refuse(
                f"assets_dir {assets_dir!r} must be an absolute workspace folder, e.g. /Workspace/Shared/lakemon"
            )
        if any(not expr.strip() for expr in slicing_exprs):
            refuse("slicing expressions must not be empty")
        for metric in custom_metrics:
            if metric.type not in CUSTOM_METRIC_TYPES:
                refuse(
                    f"custom metric {metric.name!r}: type {metric.type!r}; allowed: {', '.join(CUSTOM_METRIC_TYPES)}"
                )

        analysis: dict = {}
        if inference_log:
            analysis["inference_log"] = [
                QualityMonitorInferenceLog(
                    **self._inference_log(
                        problem_type,
                        prediction_col,
                        timestamp_col,
                        model_id_col,
                        label_col,
                        prediction_proba_col,
                        granularities,
                    )
                )
            ]
        elif time_series:
            if not timestamp_col:
                refuse("time_series analysis needs timestamp_col")
            if any(
                v is not None
                for v in (problem_type, prediction_col, label_col, prediction_proba_col, model_id_col)
            ):
                refuse(
                    "problem_type, prediction/label/model-id columns belong to inference_log analysis, not time_series"
                )
            analysis["time_series"] = [
                QualityMonitorTimeSeries(timestamp_col=timestamp_col, granularities=list(granularities))
            ]
        else:
            if any(
                v is not None
                for v in (
                    problem_type,
                    prediction_col,
                    label_col,
                    prediction_proba_col,
                    model_id_col,
                    timestamp_col,
                )
            ):
                refuse("snapshot analysis takes no timestamp, problem type or model columns")
            analysis["snapshot"] = [QualityMonitorSnapshot()]

        self.table_name = table_name
        self.output_schema_name = output_schema_name
        self.profile_metrics_table = f"{output_schema_name}.{table_name.split('.')[-1]}_profile_metrics"
        self.drift_metrics_table = f"{output_schema_name}.{table_name.split('.')[-1]}_drift_metrics"
        self.has_label = bool(inference_log and label_col)
        self.monitor = QualityMonitorResource(
            self,
            "monitor",
            table_name=table_name,
            output_schema_name=output_schema_name,
            assets_dir=assets_dir,
            baseline_table_name=baseline_table_name,
            slicing_exprs=list(slicing_exprs) or None,
            custom_metrics=[
                QualityMonitorCustomMetrics(
                    name=m.name,
                    definition=m.definition,
                    input_columns=list(m.input_columns),
                    output_data_type=m.output_data_type,
                    type=m.type,
                )
                for m in custom_metrics
            ]
            or None,
            schedule=[
                QualityMonitorSchedule(quartz_cron_expression=schedule_cron, timezone_id=schedule_timezone)
            ],
            notifications=(
                [
                    QualityMonitorNotifications(
                        on_failure=[
                            QualityMonitorNotificationsOnFailure(email_addresses=list(notify_on_failure))
                        ]
                    )
                ]
                if notify_on_failure
                else None
            ),
            warehouse_id=warehouse_id,
            lifecycle=protect(protect_data),
            depends_on=list(depends_on) or None,
            **analysis,
        )
        mark_data_role(self.monitor, "metrics")

    def _refuse(self, problem: str) -> NoReturn:
        raise LakemonConstructError(self.node.path, problem)

    def _inference_log(
        self, problem_type, prediction_col, timestamp_col, model_id_col, label_col, proba_col, granularities
    ) -> dict:
        if problem_type is None:
            self._refuse(f"inference_log analysis needs problem_type; allowed: {', '.join(PROBLEM_TYPES)}")
        kind = problem_type.value if isinstance(problem_type, ProblemType) else str(problem_type)
        if kind not in PROBLEM_TYPES:
            self._refuse(f"problem_type {kind!r} is not allowed; allowed: {', '.join(PROBLEM_TYPES)}")
        missing = [
            n
            for n, v in (
                ("prediction_col", prediction_col),
                ("timestamp_col", timestamp_col),
                ("model_id_col", model_id_col),
            )
            if not v
        ]
        if missing:
            self._refuse(f"inference_log analysis needs {', '.join(missing)}")
        if proba_col and kind != "classification":
            self._refuse(
                "prediction_proba_col is only meaningful for classification; remove it or change problem_type"
            )
        named = [c for c in (prediction_col, timestamp_col, model_id_col, label_col, proba_col) if c]
        if len(set(named)) != len(named):
            self._refuse(
                f"prediction, timestamp, model id, label and probability columns must differ; got {named}"
            )
        block = {
            "problem_type": PROBLEM_TYPES[kind],
            "prediction_col": prediction_col,
            "timestamp_col": timestamp_col,
            "model_id_col": model_id_col,
            "granularities": list(granularities),
        }
        if label_col:
            block["label_col"] = label_col
        if proba_col:
            block["prediction_proba_col"] = proba_col
        return block

    @classmethod
    def for_model(
        cls,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        custom_metrics: Sequence[CustomMetric] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> QualityMonitor:
        """An inference-log monitor of the model's inference-log table against its baseline,
        with granularities, schedule and failure recipients from the env config."""
        tables = ModelTables(env, model)
        return cls(
            scope,
            id,
            table_name=tables.inference_log,
            output_schema_name=f"{env.catalog}.{env.schema_}",
            assets_dir=f"/Workspace/Shared/lakemon/{env.name}/{model.name}/monitoring",
            inference_log=True,
            problem_type=model.problem_type,
            prediction_col=model.prediction.name,
            timestamp_col=model.timestamp_column,
            model_id_col=model.model_id_column,
            label_col=model.label.name,
            prediction_proba_col=monitor_prediction_proba_col(model),
            granularities=env.monitoring.granularities,
            baseline_table_name=tables.baseline,
            slicing_exprs=model.slicing_exprs,
            custom_metrics=custom_metrics,
            schedule_cron=env.monitoring.schedule.quartz_cron,
            schedule_timezone=env.monitoring.schedule.timezone,
            notify_on_failure=env.alerts.recipients,
            warehouse_id=warehouse_id,
            protect_data=env.protect_data,
            depends_on=depends_on,
        )
