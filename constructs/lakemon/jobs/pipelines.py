"""The two lakemon pipelines of one model, as serverless wheel jobs.

- Training: train -> register (challenger; champion if better) -> deploy (champion to endpoint).
  Triggered (by the delivery pipeline or a person), not scheduled: retraining is a decision.
- Monitoring, on the env schedule: unpack payloads -> refresh monitor -> analyze drift, which
  writes the verdicts table the drift and quality alerts read.
- Retraining, only for a model with `retraining:` (opt in): `lakemon retrain`, started by a
  table-update trigger on the verdicts table, so every monitoring run that writes verdicts
  starts it; it retrains only on confirmed drift not yet acted on (docs/retraining.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable

from constructs import Construct

from ..alerting.destination import AlertDestination
from ..config.model import Environment, Model
from ..tables import ModelTables
from .artifacts import JobArtifacts
from .wheel_job import WheelJob, WheelTask


def _failure_targets(env: Environment, destinations: Sequence[AlertDestination]) -> dict:
    return {
        "failure_emails": env.alerts.recipients,
        "failure_destinations": [d for d in destinations if d.kind != "email"],
    }


class TrainingPipeline(WheelJob):
    """Job `lakemon-<env>-<model>-training`: train -> register -> deploy."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        artifacts: JobArtifacts,
        destinations: Sequence[AlertDestination] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            name=f"lakemon-{env.name}-{model.name}-training",
            artifacts=artifacts,
            model_name=model.name,
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
            managers=env.permissions.manage,
            tags={"lakemon_env": env.name, "lakemon_model": model.name, "lakemon_pipeline": "training"},
            depends_on=depends_on,
            **_failure_targets(env, destinations),
        )


class MonitoringPipeline(WheelJob):
    """Job `lakemon-<env>-<model>-monitoring` on the env schedule: unpack -> refresh -> analyze-drift
    (which writes `<model>_drift_verdicts`, the table the drift and quality alerts read).
    analyze-drift reads the metrics tables with the task's own Spark session, as it writes."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        artifacts: JobArtifacts,
        destinations: Sequence[AlertDestination] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            name=f"lakemon-{env.name}-{model.name}-monitoring",
            artifacts=artifacts,
            model_name=model.name,
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
                        "--output-dir", f"{artifacts.volume_path}/reports/{model.name}",
                        "--drift-exit-code", "0",
                    ),
                    depends_on=("refresh",),
                    description="judge drift, write the report to the volume",
                ),
            ],
            schedule_cron=env.monitoring.schedule.quartz_cron,
            schedule_timezone=env.monitoring.schedule.timezone,
            managers=env.permissions.manage,
            tags={"lakemon_env": env.name, "lakemon_model": model.name, "lakemon_pipeline": "monitoring"},
            depends_on=depends_on,
            **_failure_targets(env, destinations),
        )


class RetrainingPipeline(WheelJob):
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
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        artifacts: JobArtifacts,
        destinations: Sequence[AlertDestination] = (),
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        if model.retraining is None:
            from ..errors import LakemonConstructError

            raise LakemonConstructError(
                f"{scope.node.path}/{id}", f"model {model.name} has no `retraining:`; only opted-in models get this job"
            )
        super().__init__(
            scope,
            id,
            name=f"lakemon-{env.name}-{model.name}-retraining",
            artifacts=artifacts,
            model_name=model.name,
            tasks=[
                WheelTask(
                    "retrain",
                    "retrain",
                    timeout_seconds=3 * 3600,
                    description="on confirmed drift: retrain with recent labels, gate on recent rows, deploy the winner",
                ),
            ],
            trigger_tables=[ModelTables(env, model).drift_verdicts],
            managers=env.permissions.manage,
            tags={"lakemon_env": env.name, "lakemon_model": model.name, "lakemon_pipeline": "retraining"},
            depends_on=depends_on,
            **_failure_targets(env, destinations),
        )
