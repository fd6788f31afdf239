"""The lakemon pipelines of one model, as serverless wheel jobs.

- Training: train -> register (challenger; champion if better) -> deploy (champion to endpoint).
  Triggered (by the delivery pipeline or a person), not scheduled: retraining is a decision.
- Monitoring, on the env schedule: unpack payloads -> refresh monitor -> analyze drift, which
  writes the verdicts table the drift and quality alerts read.
- Retraining, only for a model with `retraining:` (opt in): `lakemon retrain`, started by a
  table-update trigger on the verdicts table, so every monitoring run that writes verdicts
  starts it; it retrains only on confirmed drift not yet acted on (docs/retraining.md).

Each takes typed props (what the job needs, no app config); `for_model(scope, id, *, env, model,
**props)` fills them from the env file (each pipeline's `props_for_model`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypedDict

from cdktf import ITerraformDependable

from constructs import Construct

from ..alerting.destination import AlertDestination
from ..config.model import Environment, Model
from ..contract.tables import ModelTables
from ..model_props import NO_PROPS, ForModel
from .artifacts import JobArtifacts
from .wheel_job import WheelJob, WheelTask


class ModelPipelineProps(TypedDict):
    """What `for_model` fills for every model pipeline (the training pipeline's whole mapping)."""

    env_name: str
    model_name: str
    failure_emails: Sequence[str]
    managers: Sequence[str]


class MonitoringPipelineProps(ModelPipelineProps):
    """What `MonitoringPipeline.for_model` fills: a pipeline's, and the env's monitoring schedule."""

    schedule_cron: str
    schedule_timezone: str


class RetrainingPipelineProps(ModelPipelineProps):
    """What `RetrainingPipeline.for_model` fills: a pipeline's, and the verdicts table."""

    verdicts_table: str


class _ModelPipeline(ForModel, WheelJob):
    """Job `lakemon-<env>-<model>-<kind>` running lakemon subcommands for one served model; a
    subclass says its `kind` and its tasks.

    Props (default in brackets):
        env_name: the environment's name, part of the job name and its tags (required).
        model_name: the served model the tasks run for (`--model`) (required).
        artifacts: the JobArtifacts the tasks run (wheel and env file on the volume) (required).
        failure_emails: addresses mailed when a run fails [none; `for_model`: `alerts.recipients`].
        failure_destinations: notification destinations (webhook, Slack, ...) told when a run
            fails [none]. A job needs failure_emails or failure_destinations.
        managers: principals with CAN_MANAGE on the job [none; `for_model`: `permissions.manage`].
        depends_on: resources created first [none].
    """

    kind: str
    """`training`, `monitoring` or `retraining`: the job name's suffix and its `lakemon_pipeline` tag."""
    fixed_props: ClassVar[tuple[str, ...]] = ("name", "tags", "tasks")
    """WheelJob props a pipeline sets itself (lakemon.model_props.prop_names)."""

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> ModelPipelineProps:
        return ModelPipelineProps(
            env_name=env.name,
            model_name=model.name,
            failure_emails=env.alerts.recipients,
            managers=env.permissions.manage,
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env_name: str,
        model_name: str,
        artifacts: JobArtifacts,
        tasks: Sequence[WheelTask],
        failure_emails: Sequence[str] = (),
        failure_destinations: Sequence[AlertDestination] = (),
        managers: Sequence[str] = (),
        depends_on: Sequence[ITerraformDependable] = (),
        **job,
    ) -> None:
        super().__init__(
            scope,
            id,
            name=f"lakemon-{env_name}-{model_name}-{self.kind}",
            artifacts=artifacts,
            model_name=model_name,
            tasks=tasks,
            managers=managers,
            tags={"lakemon_env": env_name, "lakemon_model": model_name, "lakemon_pipeline": self.kind},
            depends_on=depends_on,
            failure_emails=failure_emails,
            failure_destinations=failure_destinations,
            **job,
        )


class TrainingPipeline(_ModelPipeline):
    """Job `lakemon-<env>-<model>-training`: train -> register -> deploy.

    Example::

        TrainingPipeline.for_model(stack, "training", env=env, model=model, artifacts=stack.artifacts)

    Props: those of every model pipeline (env_name, model_name, artifacts, failure_emails,
    failure_destinations, managers, depends_on).
    """

    kind = "training"

    def __init__(self, scope: Construct, id: str, **props) -> None:
        super().__init__(
            scope,
            id,
            tasks=[
                WheelTask("train", "train", description="train and log the run to MLflow"),
                WheelTask(
                    "register", "register", depends_on=("train",), description="register; promote if better"
                ),
                WheelTask(
                    "deploy",
                    "deploy",
                    depends_on=("register",),
                    timeout_seconds=2 * 3600,
                    description="point the endpoint at the champion (endpoint updates can take 45 min)",
                ),
            ],
            **props,
        )


class MonitoringPipeline(_ModelPipeline):
    """Job `lakemon-<env>-<model>-monitoring` on a schedule: unpack -> refresh -> analyze-drift
    (which writes `<model>_drift_verdicts`, the table the drift and quality alerts read).
    analyze-drift reads the metrics tables with the task's own Spark session, as it writes.

    Example::

        MonitoringPipeline.for_model(stack, "monitoring", env=env, model=model, artifacts=stack.artifacts)

    Props: those of every model pipeline, and
        schedule_cron: Quartz schedule of the runs ["0 0 0 * * ?", daily at midnight;
            `for_model`: `monitoring.schedule.quartz_cron`].
        schedule_timezone: IANA zone of the schedule ["UTC"; `for_model`: `monitoring.schedule.timezone`].
    """

    kind = "monitoring"

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> MonitoringPipelineProps:
        schedule = env.monitoring.schedule
        return MonitoringPipelineProps(
            **super().props_for_model(env, model, given),
            schedule_cron=schedule.quartz_cron,
            schedule_timezone=schedule.timezone,
        )

    def __init__(
        self, scope: Construct, id: str, *, model_name: str, artifacts: JobArtifacts,
        schedule_cron: str = "0 0 0 * * ?", schedule_timezone: str = "UTC", **props,
    ) -> None:
        super().__init__(
            scope,
            id,
            model_name=model_name,
            artifacts=artifacts,
            tasks=[
                WheelTask(
                    "unpack", "unpack", max_retries=1, description="payloads -> inference log (idempotent)"
                ),
                WheelTask(
                    "refresh", "refresh", depends_on=("unpack",), description="refresh the quality monitor"
                ),
                WheelTask(
                    "analyze_drift",
                    "analyze-drift",
                    # The report lands on the volume (a serverless task's disk is gone after
                    # the run); drift is not a job failure: the SQL alerts notify, and failure
                    # notifications stay for real failures.
                    args=(
                        "--output-dir", f"{artifacts.volume_path}/reports/{model_name}",
                        "--drift-exit-code", "0",
                    ),
                    depends_on=("refresh",),
                    description="judge drift, write the report to the volume",
                ),
            ],
            schedule_cron=schedule_cron,
            schedule_timezone=schedule_timezone,
            **props,
        )


class RetrainingPipeline(_ModelPipeline):
    """Job `lakemon-<env>-<model>-retraining`: `lakemon retrain` when the verdicts table changes.

    WHY a table-update trigger and not a condition task + run_job_task in the monitoring job:
    a condition task compares task values, and task values can only be set from Python
    notebooks (https://docs.databricks.com/aws/en/jobs/task-values), not from our wheel tasks;
    the table-update trigger (https://docs.databricks.com/aws/en/jobs/trigger-table-update;
    provider docs/resources/job.md at v1.99.0, `trigger.table_update`) needs no such value:
    the monitoring job's analyze-drift writes the verdicts table, the write starts this job, and
    `lakemon retrain` reads the verdicts itself. It does the whole step (train on original +
    recent labelled rows, gate on held-out recent rows, register, deploy, rewrite the baseline)
    in one task, so a retrain that fails anywhere leaves the champion serving.

    Example::

        RetrainingPipeline.for_model(stack, "retraining", env=env, model=model, artifacts=stack.artifacts)

    Props: those of every model pipeline, and
        verdicts_table: `<model>_drift_verdicts`, whose updates start the job (required;
            `for_model`: the model's, and only for a model with `retraining:`).
    """

    kind = "retraining"
    fixed_props = ("trigger_tables",)

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> RetrainingPipelineProps:
        if model.retraining is None:
            raise ValueError(f"model {model.name} has no `retraining:`; only opted-in models get a retraining job")
        return RetrainingPipelineProps(
            **super().props_for_model(env, model, given), verdicts_table=ModelTables(env, model).drift_verdicts
        )

    def __init__(self, scope: Construct, id: str, *, verdicts_table: str, **props) -> None:
        super().__init__(
            scope,
            id,
            tasks=[
                WheelTask(
                    "retrain",
                    "retrain",
                    timeout_seconds=3 * 3600,
                    description="on confirmed drift: retrain with recent labels, gate on recent rows, deploy the winner",
                ),
            ],
            trigger_tables=[verdicts_table],
            **props,
        )
