"""`MonitoredModel`: everything one served model needs, from (env, model), in deployable order.

Order (Terraform dependencies): schema -> volume/registered model/tables -> endpoint ->
monitor (needs its tables) ; verdicts table -> alerts (read analyze-drift's verdicts) ;
wheel/env file -> jobs.
"""

from __future__ import annotations

from typing import Any

from cdktf import TerraformStack

from constructs import Construct

from ._signatures import init_signature
from .alerting import AlertDestination, AlertFolder, DriftAlert, QualityAlert
from .catalog import ModelCatalog
from .config.model import Environment, Model
from .contract.tables import ModelTables
from .env_pieces import EnvironmentPieces
from .jobs import JobArtifacts, MonitoringPipeline, RetrainingPipeline, TrainingPipeline
from .monitoring import BaselineTable, InferenceLogTable, LabelsTable, QualityMonitor, VerdictsTable
from .serving import ServingEndpoint
from .stack import LakemonStack


@init_signature
class MonitoredModel(Construct):
    """A watched model: catalog objects, endpoint, inference-log/baseline/labels/verdicts tables,
    quality monitor, destinations, drift and quality alerts, training and monitoring jobs.

    Example (a complete app)::

        app = App(); env = load_environment("envs/dev.yml")
        stack = LakemonStack(app, env)
        MonitoredModel(stack, "alive", env=env, model=env.model())
        app.synth()

    Args:
        scope: where the model's constructs go; normally the environment's `LakemonStack`,
            which shares the schema, artifacts volume, wheel and destinations across models.
        id: construct id, unique within `scope` (e.g. the model name with `-` for `_`); it is
            part of every resource's construct path, which policy findings name.
        env: the validated environment (`load_environment("envs/dev.yml")`): catalog, schema,
            serving, monitoring, alerts, permissions and jobs settings all come from it.
        model: the served model, an entry of `env.models` (`env.model()` is the first,
            `env.model("name")` picks one).
        warehouse_id: SQL warehouse for the tables, the monitor and the alerts. Default: the
            stack's (`workspace.warehouse_id`, else the Terraform variable `warehouse_id`);
            required outside a LakemonStack when the env file has none.
        wheel: lakemon wheel file for the jobs, used only outside a LakemonStack (inside one,
            the stack's `wheel` applies). Default: $LAKEMON_WHEEL, else built from a source
            tree, else `wheels/lakemon-<version>-py3-none-any.whl`, else none: then only
            `jobs.package_index` lets the jobs install `lakemon[jobs]==<version>` (else it refuses).

    Attributes: catalog, endpoint, inference_log, baseline, labels, verdicts, monitor, destinations,
    alert_folder (the workspace folder of the alerts), drift_alert, quality_alert (None without a
    label), artifacts, training, monitoring, retraining (None unless the model opts in with `retraining:`), tables,
    pieces (the `EnvironmentPieces` that destinations, alert_folder and artifacts come from: the
    stack's; outside a LakemonStack of its environment, the first such model's in the same
    Terraform stack, declared under that model).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        wheel: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        stack = LakemonStack.of(self)
        # The pieces of `env` this Terraform stack already has: a LakemonStack of `env` declares
        # them, else the first model of `env` in the stack did (one schema, one folder, ...).
        # Environments compare equal, not identical: an env file loaded twice is the same
        # environment, and its models share one schema and volume.
        shared = EnvironmentPieces.declared_for(TerraformStack.of(self), env)
        if warehouse_id is None:
            if stack is not None:
                warehouse_id = stack.warehouse_id
            elif env.workspace.warehouse_id:
                warehouse_id = env.workspace.warehouse_id
            else:
                raise ValueError(f"{self.node.path}: warehouse_id is required outside a LakemonStack")
        tables = ModelTables(env, model)
        self.tables = tables

        self.catalog = ModelCatalog.for_model(
            self, "catalog", env=env, model=model, home=shared.home if shared is not None else None
        )
        # The first model of its env outside a LakemonStack of that env declares the env's pieces
        # itself, in the home its catalog created (`<model>/catalog/home`): the same ids, hence
        # addresses, as always.
        if shared is None:
            shared = EnvironmentPieces(self, env, wheel=wheel, home=self.catalog.home)
            shared.remember_in(TerraformStack.of(self))
        self.pieces: EnvironmentPieces = shared
        schema = self.catalog.schema
        # The gateway it records is the one `lakemon deploy` puts (GatewaySpec.for_model, both sides).
        self.endpoint = ServingEndpoint.for_model(self, "endpoint", env=env, model=model, depends_on=[schema])
        from_config: dict[str, Any] = {"env": env, "model": model, "warehouse_id": warehouse_id}
        self.inference_log = InferenceLogTable.for_model(self, "inference-log", **from_config, depends_on=[schema])
        self.baseline = BaselineTable.for_model(self, "baseline", **from_config, depends_on=[schema])
        self.labels = LabelsTable.for_model(self, "labels", **from_config, depends_on=[schema])
        self.verdicts = VerdictsTable.for_model(self, "verdicts", **from_config, depends_on=[schema])
        self.monitor = QualityMonitor.for_model(
            self, "monitor", **from_config, table_id=self.inference_log.table.table_id,
            output_schema_id=schema.schema_id, depends_on=[self.inference_log.table, self.baseline.table]
        )
        self.destinations: list[AlertDestination] = self.pieces.destinations
        self.alert_folder: AlertFolder = self.pieces.alert_folder
        alert_props: dict[str, Any] = {
            **from_config,
            "destinations": self.destinations,
            "parent_path": self.alert_folder.path,
            "depends_on": [self.verdicts.table],
        }
        self.drift_alert = DriftAlert.for_model(self, "drift-alert", **alert_props)
        self.quality_alert = (
            QualityAlert.for_model(self, "quality-alert", **alert_props) if self.monitor.has_label else None
        )
        self.artifacts: JobArtifacts = self.pieces.artifacts
        job_props: dict[str, Any] = {
            "env": env,
            "model": model,
            "artifacts": self.artifacts,
            # jobs mail `alerts.recipients` themselves; the other destinations are told by webhook
            "failure_destinations": [d for d in self.destinations if d.kind != "email"],
        }
        self.training = TrainingPipeline.for_model(
            self,
            "training",
            **job_props,
            depends_on=[self.catalog.registered_model, self.endpoint.endpoint, self.baseline.table],
        )
        self.monitoring = MonitoringPipeline.for_model(
            self,
            "monitoring",
            **job_props,
            depends_on=[self.monitor.monitor, self.inference_log.table, self.labels.table, self.verdicts.table],
        )
        # Opt in only: a model without `retraining:` gets no retraining job (snapshot-tested).
        self.retraining = (
            RetrainingPipeline.for_model(
                self,
                "retraining",
                **job_props,
                depends_on=[
                    self.catalog.registered_model, self.endpoint.endpoint, self.baseline.table,
                    self.inference_log.table, self.verdicts.table,
                ],
            )
            if model.retraining is not None
            else None
        )
