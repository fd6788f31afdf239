"""MLflow wiring for both places a job runs, so the job code itself never branches on it.

On Databricks: tracking "databricks", registry "databricks-uc" (three-part model names).
On the embedded default: one SQLite file for tracking and registry, artifacts in a folder,
and the same three-part registered model name (MLflow 3.17 accepts it).
"""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient

from .context import JobContext


def experiment_name(ctx: JobContext) -> str:
    """One experiment per environment and model. Databricks wants a workspace path; the same
    path is a valid (if unusual) experiment name locally, so both places use it."""
    return f"/Shared/lakemon/{ctx.env.name}/{ctx.model.name}"


def configure_mlflow(ctx: JobContext) -> MlflowClient:
    """Point the mlflow module (fluent API) and a client at this context's stores."""
    if ctx.runtime is None:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
    else:
        ctx.runtime.artifact_root.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(ctx.runtime.tracking_uri)
        mlflow.set_registry_uri(ctx.runtime.tracking_uri)
    return MlflowClient()


def ensure_workspace_folder(folder: str, workspace=None) -> None:
    """Create the workspace folder an experiment lives in (and its parents), if missing.

    MLflow's create_experiment fails when `/Shared/lakemon/<env>` does not exist. The job creates
    it rather than the stack: `WorkspaceAPI.mkdirs` is idempotent ("If the directory already exists,
    this command will do nothing and succeed", databricks-sdk `WorkspaceAPI.mkdirs`), and a custom `--experiment` path gets
    its folder too."""
    if workspace is None:
        from databricks.sdk import WorkspaceClient  # lazy: Databricks-only path

        workspace = WorkspaceClient().workspace
    workspace.mkdirs(folder)


def use_experiment(ctx: JobContext, name: str | None = None) -> str:
    """Create the experiment if needed (locally with its artifacts under the runtime's artifact
    root) and make it the active one. Returns its id."""
    name = name or experiment_name(ctx)
    client = MlflowClient()
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        experiment_id = existing.experiment_id
    elif ctx.runtime is None:
        ensure_workspace_folder(name.rsplit("/", 1)[0])
        experiment_id = client.create_experiment(name)
    else:
        location = (ctx.runtime.artifact_root / name.strip("/").replace("/", "_")).as_uri()
        experiment_id = client.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
