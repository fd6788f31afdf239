"""`WheelJob`: a serverless Databricks job whose tasks run `lakemon <subcommand>` from our wheel.

Serverless: tasks carry an `environment_key` and no cluster; the job's environment installs
lakemon from the wheel on the volume, or from a package index (`JobArtifacts.dependencies`), on
serverless environment version 4 (Python 3.12, Databricks Connect 17.2.3; `lakemon.jobs.serverless`
says why and cites the source).

Tasks, and each task's `depends_on`, are emitted sorted by `task_key`: the provider reads them
back in that order, so any other order is a permanent plan diff (provider issues #3126, #4159;
docs/deploy.md). Run order comes from `depends_on`, never from the list order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.job import (
    Job,
    JobEnvironment,
    JobEnvironmentSpec,
    JobTask,
    JobTaskDependsOn,
    JobTaskPythonWheelTask,
    JobTrigger,
    JobTriggerTableUpdate,
    JobWebhookNotificationsOnFailure,
)
from cdktf_cdktf_provider_databricks.permissions import Permissions

from constructs import Construct

from ..access import access_control
from ..alerting.destination import AlertDestination
from ..config.validators import check_quartz_cron, check_timezone
from ..errors import LakemonConstructError
from ..serverless import ENVIRONMENT_VERSION
from .artifacts import JobArtifacts

ENVIRONMENT_KEY = "lakemon"


@dataclass(frozen=True)
class WheelTask:
    """One task: runs `lakemon <subcommand> --env-file <env> --model <model> <args...>`."""

    key: str
    subcommand: str
    args: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    timeout_seconds: int = 3600
    max_retries: int = 0
    description: str = ""


class WheelJob(Construct):
    """`databricks_job` (serverless) running lakemon subcommands in order, with failure notifications.

    Example::

        WheelJob(stack, "job", name="lakemon-dev-train", artifacts=stack.artifacts, model_name="alive_classifier",
                 tasks=[WheelTask("train", "train"), WheelTask("register", "register", depends_on=("train",))],
                 failure_emails=["ml-platform@example.com"])

    Props: name, artifacts (wheel + env file on the volume), model_name, tasks (keys unique,
    dependencies on earlier keys), schedule_cron/schedule_timezone (optional), failure_emails,
    failure_destinations (webhook/Slack/... destinations), managers (CAN_MANAGE), tags,
    trigger_tables (run when any of these Unity Catalog tables is updated: a table-update
    trigger, provider docs/resources/job.md at v1.99.0, `trigger.table_update`; not together
    with a schedule), trigger_min_interval_s (its `min_time_between_triggers_seconds`, >= 60).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        artifacts: JobArtifacts,
        model_name: str,
        tasks: Sequence[WheelTask],
        schedule_cron: str | None = None,
        schedule_timezone: str = "UTC",
        failure_emails: Sequence[str] = (),
        failure_destinations: Sequence[AlertDestination] = (),
        managers: Sequence[str] = (),
        tags: dict[str, str] | None = None,
        timeout_seconds: int = 4 * 3600,
        depends_on: Sequence[ITerraformDependable] = (),
        trigger_tables: Sequence[str] = (),
        trigger_min_interval_s: int = 60,
    ) -> None:
        super().__init__(scope, id)
        path = self.node.path
        if trigger_tables and schedule_cron is not None:
            raise LakemonConstructError(path, "a job runs on a schedule or on table updates, not both")
        if trigger_min_interval_s < 60:
            raise LakemonConstructError(path, "trigger_min_interval_s must be at least 60 (the API's minimum)")
        if not tasks:
            raise LakemonConstructError(path, "a job needs at least one task")
        seen: list[str] = []
        for task in tasks:
            if task.key in seen:
                raise LakemonConstructError(path, f"task key {task.key!r} repeats")
            missing = [d for d in task.depends_on if d not in seen]
            if missing:
                raise LakemonConstructError(
                    path,
                    f"task {task.key!r} depends on {', '.join(missing)}, which must be declared before it",
                )
            seen.append(task.key)
        if schedule_cron is not None:
            try:
                check_quartz_cron(schedule_cron)
                check_timezone(schedule_timezone)
            except ValueError as exc:
                raise LakemonConstructError(path, str(exc)) from None
        if not failure_emails and not failure_destinations:
            raise LakemonConstructError(
                path, "a job needs failure_emails or failure_destinations: a silent failure is lost data"
            )
        self.tasks = tuple(tasks)
        self.job = Job(
            self,
            "job",
            name=name,
            environment=[
                JobEnvironment(
                    environment_key=ENVIRONMENT_KEY,
                    spec=JobEnvironmentSpec(
                        environment_version=ENVIRONMENT_VERSION,
                        dependencies=list(artifacts.dependencies),
                    ),
                )
            ],
            task=[self._task(t, artifacts, model_name) for t in sorted(tasks, key=lambda t: t.key)],
            schedule=(
                {
                    "quartz_cron_expression": schedule_cron,
                    "timezone_id": schedule_timezone,
                    "pause_status": "UNPAUSED",
                }
                if schedule_cron
                else None
            ),
            trigger=(
                JobTrigger(
                    table_update=JobTriggerTableUpdate(
                        table_names=list(trigger_tables),
                        condition="ANY_UPDATED",
                        min_time_between_triggers_seconds=trigger_min_interval_s,
                    ),
                    pause_status="UNPAUSED",
                )
                if trigger_tables
                else None
            ),
            email_notifications={"on_failure": list(failure_emails)} if failure_emails else None,
            webhook_notifications=(
                {
                    "on_failure": [
                        JobWebhookNotificationsOnFailure(id=d.destination_id) for d in failure_destinations
                    ]
                }
                if failure_destinations
                else None
            ),
            max_concurrent_runs=1,
            queue={"enabled": True},
            timeout_seconds=timeout_seconds,
            # Every run of the job carries the lakemon version it installs (job tags show on runs).
            tags={**(tags or {}), "lakemon_version": artifacts.version},
            depends_on=[d for d in (artifacts.wheel, artifacts.env_file) if d is not None] + list(depends_on),
        )
        acl = [access_control(p, "CAN_MANAGE") for p in managers]
        self.permissions = (
            Permissions(self, "permissions", job_id=self.job.id, access_control=acl) if acl else None
        )

    @staticmethod
    def _task(task: WheelTask, artifacts: JobArtifacts, model_name: str) -> JobTask:
        return JobTask(
            task_key=task.key,
            environment_key=ENVIRONMENT_KEY,
            python_wheel_task=JobTaskPythonWheelTask(
                package_name="lakemon",
                entry_point="lakemon",
                parameters=[
                    task.subcommand,
                    "--env-file",
                    artifacts.env_file_path,
                    "--model",
                    model_name,
                    *task.args,
                ],
            ),
            timeout_seconds=task.timeout_seconds,
            max_retries=task.max_retries,
            description=task.description or None,
            depends_on=[JobTaskDependsOn(task_key=k) for k in sorted(task.depends_on)] or None,
        )
