"""The one mapping from the app config (env, model) to the props of the L2 constructs.

Why one place: the L2 constructs take only what they need (names, columns, warehouse,
protection, schedule...) as typed props, so a team can use them without a lakemon env file.
The convenience of building them from an env file lives here, once, instead of a 12-argument
pass-through in every construct: `Cls.for_model(scope, id, env=env, model=model, **props)`
builds `Cls(scope, id, **props_for_model(Cls, env, model) | props)` (explicit props win).
No construct classes are imported here (base layer); a construct opts in by inheriting
`ForModel` and naming its mapping in `MODEL_PROPS` under its class name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .config.model import Environment, Model
from .contract.alert_queries import drift_alert_spec, quality_alert_spec
from .contract.monitor_analysis import CustomMetric, InferenceLogAnalysis
from .contract.tables import (
    ModelTables,
    baseline_columns,
    inference_log_columns,
    labels_columns,
    monitor_prediction_proba_col,
    verdicts_columns,
)

Props = dict[str, Any]
"""Keyword props of one construct."""


def _table(full_name: str, columns, env: Environment, model: Model) -> Props:
    return {"full_name": full_name, "columns": columns, "model_name": model.name, "protect_data": env.protect_data}


def inference_log_table(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    props = _table(ModelTables(env, model).inference_log, inference_log_columns(model), env, model)
    return props | {"retention_days": env.inference.retention_days}


def baseline_table(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return _table(ModelTables(env, model).baseline, baseline_columns(model), env, model)


def labels_table(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return _table(ModelTables(env, model).labels, labels_columns(model), env, model)


def verdicts_table(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return _table(ModelTables(env, model).drift_verdicts, verdicts_columns(), env, model)


def custom_metrics(model: Model) -> tuple:
    """The model's `monitoring.custom_metrics` as the monitor construct's CustomMetric values:
    the definition as written (Databricks renders its Jinja template), the type and the output
    type in the provider's spelling (lakemon.config.custom_metrics)."""
    from .config.custom_metrics import METRIC_TYPES, output_data_type_json

    return tuple(
        CustomMetric(
            name=m.name, definition=m.definition, input_columns=tuple(m.input_columns),
            output_data_type=output_data_type_json(m.output_data_type), type=METRIC_TYPES[m.type],
        )
        for m in model.monitoring.custom_metrics
    )


def quality_monitor(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    """An inference-log monitor of the model's inference-log table against its baseline."""
    tables = ModelTables(env, model)
    return {
        "table_name": tables.inference_log,
        "output_schema_name": f"{env.catalog}.{env.schema_}",
        "assets_dir": f"/Workspace/Shared/lakemon/{env.name}/{model.name}/monitoring",
        "analysis": InferenceLogAnalysis(
            problem_type=model.problem_type,
            prediction_col=model.prediction.name,
            timestamp_col=model.timestamp_column,
            model_id_col=model.model_id_column,
            label_col=model.label.name,
            prediction_proba_col=monitor_prediction_proba_col(model),
        ),
        "granularities": env.monitoring.granularities,
        "baseline_table_name": tables.baseline,
        "slicing_exprs": model.slicing_exprs,
        "custom_metrics": custom_metrics(model),
        "schedule_cron": env.monitoring.schedule.quartz_cron,
        "schedule_timezone": env.monitoring.schedule.timezone,
        "notify_on_failure": env.alerts.recipients,
        "protect_data": env.protect_data,
        "api": env.monitoring.api,
    }


def _alert(display_name: str, env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return {
        "display_name": display_name,
        "verdicts_table": ModelTables(env, model).drift_verdicts,
        "granularity": env.monitoring.granularities[0],
        # e-mail recipients only when no notification destination is given (they hold the secrets)
        "emails": () if given.get("destinations") else env.alerts.recipients,
        "schedule_timezone": env.monitoring.schedule.timezone,
    }


def drift_alert(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return _alert(drift_alert_spec(env, model).display_name, env, model, given)


def quality_alert(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return _alert(quality_alert_spec(env, model).display_name, env, model, given)


def schema_home(env: Environment) -> Props:
    """The shared schema and volume of the environment (`SchemaHome.for_env`)."""
    return {
        "catalog": env.catalog,
        "schema": env.schema_,
        "readers": env.permissions.read_tables,
        "managers": env.permissions.manage,
        "protect_data": env.protect_data,
    }


def model_catalog(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    """The registered model in the env's schema; the same principals as the schema (EXECUTE for
    readers, ALL_PRIVILEGES for managers), and the schema's props for a home of its own."""
    return schema_home(env) | {
        "model_name": model.name,
        "comment": f"lakemon: {model.problem_type.value} model; aliases are set by the register job",
    }


def training_pipeline(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    return {
        "env_name": env.name,
        "model_name": model.name,
        "failure_emails": env.alerts.recipients,
        "managers": env.permissions.manage,
    }


def monitoring_pipeline(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    schedule = env.monitoring.schedule
    return training_pipeline(env, model, given) | {
        "schedule_cron": schedule.quartz_cron,
        "schedule_timezone": schedule.timezone,
    }


def retraining_pipeline(env: Environment, model: Model, given: Mapping[str, Any]) -> Props:
    if model.retraining is None:
        raise ValueError(f"model {model.name} has no `retraining:`; only opted-in models get a retraining job")
    return training_pipeline(env, model, given) | {"verdicts_table": ModelTables(env, model).drift_verdicts}


MODEL_PROPS: dict[str, Callable[[Environment, Model, Mapping[str, Any]], Props]] = {
    "InferenceLogTable": inference_log_table,
    "BaselineTable": baseline_table,
    "LabelsTable": labels_table,
    "VerdictsTable": verdicts_table,
    "QualityMonitor": quality_monitor,
    "DriftAlert": drift_alert,
    "QualityAlert": quality_alert,
    "ModelCatalog": model_catalog,
    "TrainingPipeline": training_pipeline,
    "MonitoringPipeline": monitoring_pipeline,
    "RetrainingPipeline": retraining_pipeline,
}
"""Construct class name -> its props from (env, model, the props given explicitly)."""


def props_for_model(cls: type, env: Environment, model: Model, given: Mapping[str, Any] = {}) -> Props:  # noqa: B006
    """The props `cls` (or the nearest lakemon class it derives from) gets from (env, model)."""
    for klass in cls.__mro__:
        mapping = MODEL_PROPS.get(klass.__name__)
        if mapping is not None:
            return mapping(env, model, given)
    raise TypeError(f"{cls.__name__} has no props mapping from (env, model) in lakemon.model_props")


C = TypeVar("C")



class ForModel:
    """Mixin for L2 constructs: `for_model(scope, id, *, env, model, **props)`.

    Example::

        InferenceLogTable.for_model(stack, "inference-log", env=env, model=env.model(),
                                    warehouse_id=stack.warehouse_id)
    """

    @classmethod
    def for_model(cls: type[C], scope: Any, id: str, *, env: Environment, model: Model, **props: Any) -> C:
        """`cls(scope, id, ...)` with its props from the env config; explicit `props` win."""
        return cls(scope, id, **(props_for_model(cls, env, model, props) | props))
