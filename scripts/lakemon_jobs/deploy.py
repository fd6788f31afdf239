"""`lakemon deploy`: serve the `champion` version at the model's endpoint.

On Databricks: `serving_endpoints.update_config` with the champion as the only served entity
(100% traffic), then wait for the update with progress and a timeout. The declared serving
configuration (env file `serving`: workload size, workload type, scale to zero) is applied even
when the champion is already served: the endpoint's `config` is ignored by Terraform
(`lifecycle.ignore_changes`), so this job is the only thing that can change it, and it compares
the served entity with the declaration every run (`config_changes`). Databricks keeps the
previous config serving until the new one is ready, and keeps it if the update fails: a failed
rollout leaves the previous version serving. The endpoint itself belongs to Terraform; its
`config` and its AI gateway are left to this job (Terraform cannot declare an endpoint for a
model version that does not exist yet: databricks/mlops-stacks#217).

On the embedded default: load the champion, check it predicts its own input example with the
served output columns, then atomically replace LocalRuntime.deployment_path(endpoint), the file
the local serving layer serves from. A failed check leaves the previous file untouched.

Both then put the declared AI gateway (inference table, rate limits) once the endpoint serves
the version, through one function (`gateway.apply_ai_gateway`; no call when it is already set):
the endpoint is created without one (docs/deploy.md, "Endpoint without served entities").
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from lakemon.contract.gateway import GatewaySpec
from lakemon.contract.tables import output_columns

from . import arguments
from .context import JobContext, run_job
from .errors import JobError
from .gateway_apply import apply_ai_gateway
from .gateway_apply import sdk_message as _sdk_message
from .local.endpoints import LocalServingEndpoints
from .local.runtime import write_atomically
from .model_steps import CHAMPION, served_entity_name
from .tracking import configure_mlflow

DEFAULT_TIMEOUT_S = arguments.DEPLOY_TIMEOUT_S
"""Databricks endpoint updates can take up to 45 minutes."""


class DeployError(JobError):
    """The champion could not be rolled out; the previous deployment keeps serving."""


@dataclass(frozen=True)
class ServingConfig:
    """The compute of a served entity that the env file declares (`serving`): what `lakemon
    deploy` owns besides the version. Compared field by field with the served entity."""

    workload_size: str | None
    workload_type: str | None
    scale_to_zero: bool | None

    @classmethod
    def declared(cls, serving) -> ServingConfig:
        return cls(serving.workload_size.value, str(serving.workload_type), bool(serving.scale_to_zero))

    @classmethod
    def served(cls, entity) -> ServingConfig:
        """From an SDK `ServedEntityOutput` (workload_type is a `ServingModelWorkloadType`)."""
        kind = entity.workload_type
        return cls(entity.workload_size, None if kind is None else str(getattr(kind, "value", kind)), entity.scale_to_zero_enabled)

    def describe(self) -> str:
        zero = {True: "on", False: "off", None: "unset"}[self.scale_to_zero]
        return f"{self.workload_size or 'unset'} {self.workload_type or 'unset'}, scale to zero {zero}"


def config_changes(declared: ServingConfig, served: ServingConfig) -> list[str]:
    """What differs between the declared and the served compute, one `field served -> declared`
    per field; empty when they agree. The API documents no default it would fill in for a field
    we send, so any difference, an unset served field included, is a change to apply."""
    fields = (("workload_size", lambda v: v or "unset"), ("workload_type", lambda v: v or "unset"),
              ("scale_to_zero", lambda v: {True: "on", False: "off", None: "unset"}[v]))
    changes = []
    for name, show in fields:
        want, have = getattr(declared, name), getattr(served, name)
        if want != have:
            changes.append(f"{name} {show(have)} -> {show(want)}")
    return changes


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    model_name: str
    version: str
    model_uri: str
    deployed_at: str
    """ISO-8601 UTC time the deployment was recorded (local) or became ready (Databricks)."""

    @classmethod
    def read(cls, path: Path) -> Deployment:
        """The deployment recorded at `path` (LocalRuntime.deployment_path) by deploy_local."""
        if not path.exists():
            raise FileNotFoundError(f"no deployment recorded at {path}: run `lakemon deploy` first")
        data = json.loads(path.read_text())
        missing = [k for k in ("endpoint", "model_name", "version", "model_uri") if k not in data]
        if missing:
            raise ValueError(f"deployment file {path} lacks {', '.join(missing)}")
        return cls(
            endpoint=data["endpoint"],
            model_name=data["model_name"],
            version=str(data["version"]),
            model_uri=data["model_uri"],
            deployed_at=str(data.get("deployed_at", "")),
        )

    @property
    def served_entity_id(self) -> str:
        """Databricks' default served entity name: `<model name>-<version>` (last name part)."""
        return f"{self.model_name.split('.')[-1]}-{self.version}"


def champion_version(ctx: JobContext) -> str:
    client = configure_mlflow(ctx)
    try:
        return str(client.get_model_version_by_alias(ctx.tables.registered_model, CHAMPION).version)
    except MlflowException as exc:
        raise DeployError(f"{ctx.tables.registered_model} has no '{CHAMPION}' version; run `lakemon register` first ({exc})") from None


def validate_locally(ctx: JobContext, model_uri: str) -> None:
    """The model loads and predicts its input example with the served output columns."""
    try:
        pyfunc = mlflow.pyfunc.load_model(model_uri)
        example = pyfunc.input_example
        if example is None:
            raise DeployError(f"{model_uri} has no input example to validate with")
        output = pyfunc.predict(example)
    except DeployError:
        raise
    except Exception as exc:  # any load/predict failure means: do not deploy
        raise DeployError(f"{model_uri} failed validation: {type(exc).__name__}: {exc}") from exc
    missing = [c.name for c in output_columns(ctx.model) if c.name not in getattr(output, "columns", [])]
    if missing or len(output) != len(example):
        raise DeployError(f"{model_uri} predicted {type(output).__name__} without column(s) {missing} or with a wrong row count")


def deploy_local(ctx: JobContext, version: str, progress: Callable[[str], None]) -> Deployment:
    assert ctx.runtime is not None
    name = ctx.tables.registered_model
    endpoint = ctx.model.endpoint(ctx.env.name)
    model_uri = f"models:/{name}/{version}"
    progress(f"deploy: validating {model_uri}")
    validate_locally(ctx, model_uri)
    deployment = Deployment(endpoint, name, version, model_uri, datetime.now(UTC).isoformat())
    path = ctx.runtime.deployment_path(endpoint)
    write_atomically(path, json.dumps(asdict(deployment), indent=2) + "\n")
    progress(f"deploy: {endpoint} now serves {model_uri} ({path})")
    apply_ai_gateway(LocalServingEndpoints(ctx.runtime), endpoint, GatewaySpec.for_model(ctx.env, ctx.model), progress)
    return deployment


def deploy_databricks(
    ctx: JobContext, version: str, timeout_s: float, progress: Callable[[str], None], client=None
) -> Deployment:
    from databricks.sdk import WorkspaceClient  # lazy: Databricks-only path
    from databricks.sdk.service.serving import (  # lazy: Databricks-only path
        Route,
        ServedEntityInput,
        ServingModelWorkloadType,
        TrafficConfig,
    )

    name = ctx.tables.registered_model
    endpoint = ctx.model.endpoint(ctx.env.name)
    served_name = served_entity_name(ctx.model, version)
    from databricks.sdk.errors import DatabricksError, NotFound  # lazy: Databricks-only path
    from databricks.sdk.service.serving import EndpointStateReady  # lazy: Databricks-only path

    w = client or WorkspaceClient()
    try:
        current = w.serving_endpoints.get(endpoint)
    except NotFound:
        raise DeployError(f"serving endpoint {endpoint} does not exist; deploy the environment's stack first") from None
    except DatabricksError as exc:
        raise DeployError(f"cannot read serving endpoint {endpoint}: {_sdk_message(exc)}") from None
    entities = (current.config.served_entities or []) if current.config else []
    serving = ctx.env.serving
    declared = ServingConfig.declared(serving)
    entity = next((e for e in entities if e.entity_name == name and str(e.entity_version) == version), None)
    changes = config_changes(declared, ServingConfig.served(entity)) if entity is not None else []
    if entity is not None and not changes:
        progress(f"deploy: {endpoint} already serves {name} version {version} as declared ({declared.describe()})")
        detail = current
    else:
        if entity is not None:
            progress(
                f"deploy: {endpoint} serves {name} version {version} as {ServingConfig.served(entity).describe()}, "
                f"declared {declared.describe()}: updating its config ({'; '.join(changes)}) (timeout {timeout_s:.0f}s)"
            )
        else:
            progress(
                f"deploy: updating {endpoint} to {name} version {version} ({declared.describe()}) (timeout {timeout_s:.0f}s)"
            )
        try:
            # Inside the error handling: the API refuses an update while another is in progress
            # (SDK ServingEndpointsAPI.update_config: "An endpoint that already has an update in
            # progress can not be updated until the current update completes or fails").
            waiter = w.serving_endpoints.update_config(
                name=endpoint,
                served_entities=[
                    ServedEntityInput(
                        name=served_name,
                        entity_name=name,
                        entity_version=version,
                        workload_size=declared.workload_size,
                        workload_type=ServingModelWorkloadType(declared.workload_type),
                        scale_to_zero_enabled=declared.scale_to_zero,
                    )
                ],
                traffic_config=TrafficConfig(routes=[Route(served_entity_name=served_name, traffic_percentage=100)]),
            )
        except DatabricksError as exc:
            raise DeployError(
                f"{endpoint} refused the update ({_sdk_message(exc)}); if another update is in progress, wait for "
                "it to finish (the endpoint's page shows it) and run `lakemon deploy` again; the previous "
                "version keeps serving"
            ) from None
        started = time.monotonic()

        def report(detail) -> None:
            state = detail.state.config_update.value if detail.state and detail.state.config_update else "?"
            progress(f"deploy: {endpoint} config update {state} after {time.monotonic() - started:.0f}s")

        try:
            detail = waiter.result(timeout=timedelta(seconds=timeout_s), callback=report)
        except TimeoutError as exc:
            raise DeployError(
                f"{endpoint} did not finish updating within {timeout_s:.0f}s; the previous version keeps serving "
                f"until the update completes or fails ({exc})"
            ) from exc
        except Exception as exc:  # OperationFailed: UPDATE_FAILED / UPDATE_CANCELED, or an API error while polling
            raise DeployError(f"{endpoint} update failed; the previous version keeps serving ({exc})") from exc
    # The waiter returns once the config update stopped; that is not "serving". NOT_READY means the
    # endpoint cannot answer (SDK EndpointStateReady: READY / NOT_READY).
    ready = detail.state.ready if detail is not None and detail.state is not None else None
    if ready is not EndpointStateReady.READY:
        raise DeployError(
            f"{endpoint} finished updating but is {ready.value if ready else 'in an unknown state'}, not READY; "
            "check the served entity's events and logs on the endpoint's page, then run `lakemon deploy` again"
        )
    # Only now: the endpoint serves a version (why: docs/deploy.md, "Endpoint without served entities").
    apply_ai_gateway(w.serving_endpoints, endpoint, GatewaySpec.for_model(ctx.env, ctx.model), progress)
    return Deployment(endpoint, name, version, f"models:/{name}/{version}", datetime.now(UTC).isoformat())


def deploy_champion(
    ctx: JobContext, timeout_s: float = DEFAULT_TIMEOUT_S, progress: Callable[[str], None] = print
) -> Deployment:
    """Roll the champion out; DeployError (previous deployment untouched) if that fails,
    GatewayError if it serves but its AI gateway could not be put."""
    version = champion_version(ctx)
    if ctx.runtime is None:
        return deploy_databricks(ctx, version, timeout_s, progress)
    return deploy_local(ctx, version, progress)


add_arguments = arguments.deploy
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)

    def deploy() -> str:
        deployment = deploy_champion(ctx, timeout_s=args.timeout)
        return f"{deployment.endpoint}: {deployment.model_uri}"

    return run_job("deploy", deploy)
