"""`LakemonStack`: one Terraform stack per environment, with provider, state backend and policy.

Why a stack subclass in the library (not only in this repo's app): every team that deploys a
monitored model needs the same guarantees: the provider takes the workspace host from config and
credentials from the environment only, state lives in Azure Storage with one key per stack, no
absolute local path lands in the JSON, and the policy aspects run at synth.
"""

from __future__ import annotations

import os

from cdktf import AzurermBackend, LocalBackend, TerraformOutput, TerraformStack, TerraformVariable
from cdktf_cdktf_provider_databricks.provider import DatabricksProvider

from constructs import Construct

from ._signatures import init_signature
from ._version import __version__
from .alerting import AlertDestination, AlertFolder
from .catalog import SchemaHome
from .config.model import AzurermState, Environment
from .env_pieces import EnvironmentPieces
from .errors import install_excepthook
from .jobs import JobArtifacts
from .policy import LakemonPolicy
from .variables import stack_variable


@init_signature
class LakemonStack(TerraformStack):
    """The Terraform stack of one lakemon environment, named after it (`dev` for envs/dev.yml).

    Example::

        app = App()
        env = load_environment("envs/dev.yml")
        stack = LakemonStack(app, env)
        MonitoredModel(stack, "alive", env=env, model=env.model())
        app.synth()

    Args:
      scope: the cdktf `App`.
      env: the validated environment (`load_environment("envs/dev.yml")`): provider host,
        state backend, policy packs (`protect_data`) and the shared schema come from it.
      stack_id: stack name. Default: `env.name` (`dev` for envs/dev.yml).
      wheel: path of the lakemon wheel the jobs install (uploaded to the artifacts volume under
        its SHA-256). Default: $LAKEMON_WHEEL, else built from the source tree (this repository),
        else `wheels/lakemon-<version>-py3-none-any.whl` in the working directory (a `lakemon
        init` project), else none: then `jobs.package_index` must be set, or synth stops naming
        it. See `lakemon.wheel.locate_wheel`; resolved only if a job needs it.
      policy: add the lakemon policy aspects (default True). Turning them off is for tests of the
        rules themselves; suppress single findings with `lakemon.policy.suppress` instead.

    Creating the stack installs lakemon's exception hook (`lakemon.errors.install_excepthook`):
    a policy finding raised in `app.synth()` prints as one block, without a stack trace.
    """

    def __init__(
        self,
        scope: Construct,
        env: Environment,
        *,
        stack_id: str | None = None,
        wheel: str | os.PathLike[str] | None = None,
        policy: bool = True,
    ) -> None:
        install_excepthook()  # the app starts here: lakemon's errors print without a traceback
        name = stack_id or env.name
        super().__init__(scope, name)
        self.env = env
        self.stack_name = name
        self.pieces = EnvironmentPieces(self, env, wheel=wheel)
        self.pieces.remember_in(self)  # what every model of `env` in this stack finds and uses
        """The schema home, artifacts, destinations and alert folder the env's models share."""
        # Host only: the provider reads credentials from the environment (Azure CLI, OIDC
        # workload identity federation in the pipeline, DATABRICKS_* variables).
        self.provider = DatabricksProvider(self, "databricks", host=env.workspace.host)
        self._configure_backend()
        # The stack says which lakemon synthesized it (the jobs' wheel has the same version:
        # JobArtifacts refuses another): `terraform output lakemon_version`, and in the state.
        self.version_output = TerraformOutput(
            self, "lakemon_version", value=__version__, description="lakemon version that synthesized this stack"
        )
        if policy:
            self.policy = LakemonPolicy.apply(self, protect_data=env.protect_data)
        else:
            self.policy = []

    def _configure_backend(self) -> None:
        state = self.env.state
        if isinstance(state, AzurermState):
            AzurermBackend(
                self,
                resource_group_name=state.resource_group_name,
                storage_account_name=state.storage_account_name,
                container_name=state.container_name,
                key=f"{state.key_prefix}/{self.stack_name}.tfstate",
                use_azuread_auth=state.use_azuread_auth,
            )
        else:
            # Relative to the stack's working directory (cdktf.out/stacks/<name>): config
            # validation refuses absolute paths, so none reaches the JSON.
            LocalBackend(self, path=state.path)

    # --- shared per-environment pieces (created once, on first use) ---------------------------

    @classmethod
    def of(cls, scope: Construct) -> LakemonStack | None:
        """The LakemonStack that holds `scope`, or None when it lives in a plain TerraformStack."""
        stack = TerraformStack.of(scope)
        return stack if isinstance(stack, LakemonStack) else None

    def variable(self, name: str, *, sensitive: bool, description: str) -> TerraformVariable:
        """Get or declare a string Terraform variable (TF_VAR_<name> at deploy time)."""
        return stack_variable(self, name, sensitive=sensitive, description=description)

    @property
    def warehouse_id(self) -> str:
        """SQL warehouse for tables, alerts and monitors: from config, else `var.warehouse_id`."""
        if self.env.workspace.warehouse_id:
            return self.env.workspace.warehouse_id
        return self.variable(
            "warehouse_id", sensitive=False, description="SQL warehouse id for tables, monitors and alerts"
        ).string_value

    @property
    def home(self) -> SchemaHome:
        """The environment's schema and artifacts volume, shared by every model of the stack."""
        return self.pieces.home

    @property
    def artifacts(self) -> JobArtifacts:
        """The job wheel and the env file, uploaded once to the artifacts volume."""
        return self.pieces.artifacts

    @property
    def destinations(self) -> list[AlertDestination]:
        """The env's notification destinations (alerts.destinations), declared once per stack."""
        return self.pieces.destinations

    @property
    def alert_folder(self) -> AlertFolder:
        """The workspace folder of the env's alerts (`/Shared/lakemon/<env>/alerts`), declared
        once per stack: every alert's `parent_path` (why: lakemon.alerting.folder)."""
        return self.pieces.alert_folder
