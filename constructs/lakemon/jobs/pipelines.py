"""The two lakemon pipelines of one model, as serverless wheel jobs.

- Training: train -> register (challenger; champion if better) -> deploy (champion to endpoint).
  Triggered (by the delivery pipeline or a person), not scheduled: retraining is a decision.
- Monitoring, on the env schedule: unpack payloads -> refresh monitor -> analyze drift, which
  writes the verdicts table the drift and quality alerts read.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable

from constructs import Construct

from ..alerting.destination import AlertDestination
from ..config.model import Environment, Model
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

    `warehouse_id` is the SQL warehouse analyze-drift reads the metrics tables through."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        artifacts: JobArtifacts,
        warehouse_id: str,
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
                    # The warehouse reads the metrics tables; the report lands on the volume (a
                    # serverless task's disk is gone after the run); drift is not a job failure:
                    # the SQL alerts notify, and failure notifications stay for real failures.
                    args=(
                        "--warehouse-id", warehouse_id,
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
