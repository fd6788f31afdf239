"""`QualityMonitor`: a Databricks quality monitor, refusing contradictory settings at synth.

Why refuse at synth: the API rejects many of these only at apply time (after a long plan and
approval), some not at all (a monitor without a schedule silently never refreshes). A synth error
names the construct and what is allowed.

Two resources, one construct (`api`): `databricks_data_quality_monitor` (the Data Quality API,
the default) or the deprecated `databricks_quality_monitor` (`api="legacy"`, kept one release for
teams that need it; docs/deploy.md, "Monitors on the Data Quality API"). Both watch the same
monitor of the table: Databricks allows one per table. Binding quirk of the legacy one
(plugin-framework): `inference_log`, `time_series`, `snapshot`, `schedule`, `notifications` and
`on_failure` are lists of one element; the data-quality one takes single objects.

The warehouse is chosen when the monitor is created and never updated by Terraform
(`ignore_changes`): the legacy update API has no warehouse field and provider v1.99.0 writes the
old value back into state (`resource_quality_monitor.go`, Update), an "inconsistent result"; the
data-quality resource does not carry it into state either. docs/deploy.md says how to move a
monitor's dashboard to a new warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, TypedDict

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.data_quality_monitor import (
    DataQualityMonitor,
    DataQualityMonitorDataProfilingConfig,
    DataQualityMonitorDataProfilingConfigCustomMetrics,
)
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
from ..config.custom_metrics import METRIC_TYPES, output_data_type_json
from ..config.model import Environment, Model
from ..config.validators import GRANULARITIES, check_quartz_cron, check_timezone
from ..contract.monitor_analysis import (
    CUSTOM_METRIC_TYPES,
    PROBLEM_TYPES,
    CustomMetric,
    InferenceLogAnalysis,
    MonitorAnalysis,
    SnapshotAnalysis,
    TimeSeriesAnalysis,
)
from ..contract.tables import ModelTables, monitor_prediction_proba_col
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, ForModel
from .data_profiling import data_profiling_config

__all__ = [
    "CUSTOM_METRIC_TYPES",
    "MONITOR_APIS",
    "PROBLEM_TYPES",
    "CustomMetric",
    "InferenceLogAnalysis",
    "MonitorAnalysis",
    "QualityMonitor",
    "QualityMonitorProps",
    "SnapshotAnalysis",
    "TimeSeriesAnalysis",
]
MONITOR_APIS = ("data_quality", "legacy")
"""`data_quality`: databricks_data_quality_monitor (default); `legacy`: databricks_quality_monitor."""
WAREHOUSE_ATTRIBUTE = {"data_quality": "data_profiling_config.warehouse_id", "legacy": "warehouse_id"}
"""Where each resource holds the dashboard's warehouse: create-only for lakemon (ignore_changes)."""


class QualityMonitorProps(TypedDict):
    """What `QualityMonitor.for_model` fills from the env file (the table and schema UUIDs, the
    warehouse and depends_on come from the composition)."""

    table_name: str
    output_schema_name: str
    assets_dir: str
    analysis: MonitorAnalysis
    granularities: Sequence[str]
    baseline_table_name: str
    slicing_exprs: Sequence[str]
    custom_metrics: Sequence[CustomMetric]
    schedule_cron: str
    schedule_timezone: str
    notify_on_failure: Sequence[str]
    protect_data: bool
    api: str


def custom_metrics_of(model: Model) -> tuple[CustomMetric, ...]:
    """The model's `monitoring.custom_metrics` as CustomMetric values: the definition as written
    (Databricks renders its Jinja template), the type and the output type in the provider's
    spelling (lakemon.config.custom_metrics)."""
    return tuple(
        CustomMetric(
            name=m.name, definition=m.definition, input_columns=tuple(m.input_columns),
            output_data_type=output_data_type_json(m.output_data_type), type=METRIC_TYPES[m.type],
        )
        for m in model.monitoring.custom_metrics
    )


class QualityMonitor(ForModel, Construct):
    """A Databricks data-profiling monitor of one table with exactly one analysis type.

    Example::

        QualityMonitor.for_model(stack, "monitor", env=env, model=model,
                                 table_id=log_table.table.table_id, output_schema_id=schema.schema_id,
                                 depends_on=[log_table.table, baseline.table])
        QualityMonitor(stack, "events", table_name="c.s.events", table_id=events.table_id,
                       output_schema_name="c.s", output_schema_id=schema.schema_id,
                       assets_dir="/Workspace/Shared/events", schedule_cron="0 0 2 * * ?",
                       analysis=TimeSeriesAnalysis(timestamp_col="ts"))

    Props (default in brackets):
        table_name: the monitored table, `catalog.schema.table` (required).
        output_schema_name: `catalog.schema` for the profile/drift metrics tables (required).
        assets_dir: absolute workspace folder for the dashboard (required).
        schedule_cron: Quartz refresh schedule (required: without one a monitor never refreshes).
        analysis: one of InferenceLogAnalysis, TimeSeriesAnalysis, SnapshotAnalysis (required).
        schedule_timezone: IANA zone of the schedule ["UTC"].
        granularities: time windows of a windowed analysis [("1 day",)]; ignored by snapshot.
        baseline_table_name: the table each window is compared with [none].
        slicing_exprs: SQL expressions to slice the metrics by [none].
        custom_metrics: CustomMetric values [none].
        notify_on_failure: e-mails told when a refresh fails [none; policy LM-MON-1 wants one].
        warehouse_id: SQL warehouse for the dashboard, used at creation only [the workspace default].
        api: "data_quality" (databricks_data_quality_monitor) or "legacy" (the deprecated
            databricks_quality_monitor) ["data_quality"].
        table_id: UUID of the monitored table, e.g. `SqlTable.table_id` (required for data_quality).
        output_schema_id: UUID of the output schema, e.g. `Schema.schema_id` (required for data_quality).
        protect_data: prevent_destroy, the monitor owns the metrics tables [False].
        depends_on: resources created first, normally the monitored and baseline tables [none].
    `for_model(scope, id, *, env, model, **props)` fills them from the env config (`props_for_model`):
    an inference-log monitor of the model's inference-log table against its baseline.
    """

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> QualityMonitorProps:
        """An inference-log monitor of the model's inference-log table against its baseline."""
        tables = ModelTables(env, model)
        schedule = env.monitoring.schedule
        return QualityMonitorProps(
            table_name=tables.inference_log,
            output_schema_name=f"{env.catalog}.{env.schema_}",
            assets_dir=f"/Workspace/Shared/lakemon/{env.name}/{model.name}/monitoring",
            analysis=InferenceLogAnalysis(
                problem_type=model.problem_type,
                prediction_col=model.prediction.name,
                timestamp_col=model.timestamp_column,
                model_id_col=model.model_id_column,
                label_col=model.label.name,
                prediction_proba_col=monitor_prediction_proba_col(model),
            ),
            granularities=env.monitoring.granularities,
            baseline_table_name=tables.baseline,
            slicing_exprs=model.slicing_exprs,
            custom_metrics=custom_metrics_of(model),
            schedule_cron=schedule.quartz_cron,
            schedule_timezone=schedule.timezone,
            notify_on_failure=env.alerts.recipients,
            protect_data=env.protect_data,
            api=env.monitoring.api,
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        table_name: str,
        output_schema_name: str,
        assets_dir: str,
        schedule_cron: str | None,
        analysis: MonitorAnalysis,
        schedule_timezone: str = "UTC",
        granularities: Sequence[str] = ("1 day",),
        baseline_table_name: str | None = None,
        slicing_exprs: Sequence[str] = (),
        custom_metrics: Sequence[CustomMetric] = (),
        notify_on_failure: Sequence[str] = (),
        warehouse_id: str | None = None,
        protect_data: bool = False,
        depends_on: Sequence[ITerraformDependable] = (),
        api: str = "data_quality",
        table_id: str | None = None,
        output_schema_id: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        refuse = self._refuse
        if not isinstance(analysis, MonitorAnalysis):
            refuse(
                "analysis must be exactly one of InferenceLogAnalysis, TimeSeriesAnalysis or SnapshotAnalysis; "
                f"got {type(analysis).__name__}"
            )
        if api not in MONITOR_APIS:
            refuse(f"api {api!r} is not known; allowed: {', '.join(MONITOR_APIS)}")
        if api == "data_quality" and not (table_id and output_schema_id):
            refuse(
                "the Data Quality API addresses the table and the output schema by UUID: pass table_id "
                "(e.g. SqlTable.table_id) and output_schema_id (e.g. Schema.schema_id), or api='legacy'"
            )
        if schedule_cron is None:
            refuse("a refresh schedule is required (schedule_cron, Quartz syntax, e.g. '0 0 2 * * ?')")
        try:
            check_quartz_cron(schedule_cron)
            check_timezone(schedule_timezone)
        except ValueError as exc:
            refuse(str(exc))
        if analysis.windowed:
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
        try:
            block = analysis.block(granularities)
        except ValueError as exc:
            refuse(str(exc))

        self.analysis = analysis
        self.api = api
        self.table_name = table_name
        self.output_schema_name = output_schema_name
        self.profile_metrics_table = f"{output_schema_name}.{table_name.split('.')[-1]}_profile_metrics"
        self.drift_metrics_table = f"{output_schema_name}.{table_name.split('.')[-1]}_drift_metrics"
        self.has_label = isinstance(analysis, InferenceLogAnalysis) and bool(analysis.label_col)
        lifecycle = (protect(protect_data) or {}) | {"ignore_changes": [WAREHOUSE_ATTRIBUTE[api]]}
        if api == "data_quality":
            try:
                config = data_profiling_config(
                    output_schema_id=output_schema_id, assets_dir=assets_dir, kind=analysis.kind, block=block,
                    schedule_cron=schedule_cron, schedule_timezone=schedule_timezone,
                    baseline_table_name=baseline_table_name, slicing_exprs=slicing_exprs,
                    custom_metrics=custom_metrics, notify_on_failure=notify_on_failure, warehouse_id=warehouse_id,
                )
            except ValueError as exc:
                refuse(str(exc))
            # nested single objects convert from dicts; list elements must be the binding's class
            metrics = [DataQualityMonitorDataProfilingConfigCustomMetrics(**m) for m in config.pop("custom_metrics", [])]
            self.monitor: DataQualityMonitor | QualityMonitorResource = DataQualityMonitor(
                self,
                "monitor",
                object_type="table",
                object_id=table_id,
                data_profiling_config=DataQualityMonitorDataProfilingConfig(**config, custom_metrics=metrics or None),
                lifecycle=lifecycle,
                depends_on=list(depends_on) or None,
            )
        else:
            self.monitor = self._legacy(
                block, table_name=table_name, output_schema_name=output_schema_name, assets_dir=assets_dir,
                baseline_table_name=baseline_table_name, slicing_exprs=slicing_exprs,
                custom_metrics=custom_metrics, schedule_cron=schedule_cron, schedule_timezone=schedule_timezone,
                notify_on_failure=notify_on_failure, warehouse_id=warehouse_id, lifecycle=lifecycle,
                depends_on=depends_on,
            )
        mark_data_role(self.monitor, "metrics")

    def _legacy(self, block: dict, *, table_name, output_schema_name, assets_dir, baseline_table_name,
                slicing_exprs, custom_metrics, schedule_cron, schedule_timezone, notify_on_failure,
                warehouse_id, lifecycle, depends_on) -> QualityMonitorResource:
        """The deprecated `databricks_quality_monitor` (api="legacy")."""
        block_type = {
            "inference_log": QualityMonitorInferenceLog,
            "time_series": QualityMonitorTimeSeries,
            "snapshot": QualityMonitorSnapshot,
        }[self.analysis.kind]
        return QualityMonitorResource(
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
            lifecycle=lifecycle,
            depends_on=list(depends_on) or None,
            # the provider's blocks are lists of one element (plugin-framework binding)
            **{self.analysis.kind: [block_type(**block)]},
        )

    def _refuse(self, problem: str) -> NoReturn:
        raise LakemonConstructError(self.node.path, problem)
