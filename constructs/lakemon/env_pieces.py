"""`EnvironmentPieces`: the constructs every model of an environment shares, composed in one place.

The pieces are the schema home (`SchemaHome`: schema, artifacts volume, grants), the uploaded
wheel and env file (`JobArtifacts`), the notification destinations of `alerts.destinations`
(`AlertDestination`) and the workspace folder of the alerts (`AlertFolder`). A `LakemonStack`
holds one instance, scoped on itself, that the models of its environment share; a
`MonitoredModel` outside a LakemonStack of its environment holds its own, scoped on itself, in
its catalog's schema home. Both used to compose the same four constructs by hand.

Why a plain class and not a Construct: a construct's id is part of the path of everything under
it, and the path is what cdktf derives each Terraform logical id (the resource address) from. A
construct in between would move every piece to a new address, and Terraform would destroy the
schema and the volume (with the tables and files in them) and create new ones. This class only
remembers the scope and creates each piece there, with the ids the pieces always had, on first
use: a stack without models declares none of them.
"""

from __future__ import annotations

import os
from functools import cached_property

from cdktf import TerraformStack

from constructs import Construct

from .alerting import AlertDestination, AlertFolder, alert_folder_path
from .catalog import SchemaHome
from .config.model import Environment
from .jobs import JobArtifacts
from .wheel import locate_wheel

HOME_ID = "uc-home"
"""Construct id of a home created here (a LakemonStack's: `<stack>/uc-home`)."""
ARTIFACTS_ID = "artifacts"
ALERT_FOLDER_ID = "alert-folder"


_DECLARED = "_lakemon_environment_pieces"
"""Attribute of a TerraformStack holding the pieces declared in it, by a LakemonStack for its
environment or by a model for its own (see declared_for)."""


def _declared(stack: TerraformStack) -> list[EnvironmentPieces]:
    declared = getattr(stack, _DECLARED, None)
    if declared is None:
        declared = []
        setattr(stack, _DECLARED, declared)
    return declared


def destination_id(name: str) -> str:
    """Construct id of the destination named `name` in `alerts.destinations`."""
    return f"destination-{name}"


class EnvironmentPieces:
    """The per-environment constructs of `env`, each created under `scope` on first use.

    Example::

        pieces = EnvironmentPieces(stack, env, wheel="dist/lakemon-0.1.0-py3-none-any.whl")
        pieces.home           # SchemaHome `<scope>/uc-home`
        pieces.artifacts      # JobArtifacts `<scope>/artifacts`, on pieces.home's volume
        pieces.destinations   # an AlertDestination `<scope>/destination-<name>` per alerts.destinations entry
        pieces.alert_folder   # AlertFolder `<scope>/alert-folder`: /Shared/lakemon/<env>/alerts

    Args:
      scope: where the pieces go: the LakemonStack, or a MonitoredModel that has no stack of its
        environment. The construct ids above are Terraform addresses: they never change.
      env: the validated environment the pieces are declared from.
      wheel: the lakemon wheel file the jobs install. Default: `lakemon.wheel.locate_wheel`'s
        ($LAKEMON_WHEEL, a build of the source tree, the project's `wheels/` file, or none, then
        `jobs.package_index` must be set); looked up only when `artifacts` is first used.
      home: an existing schema home to use (a MonitoredModel's catalog home, `<model>/catalog/home`).
        Default: one created as `<scope>/uc-home` from the env file on first use.
    """

    def __init__(
        self,
        scope: Construct,
        env: Environment,
        *,
        wheel: str | os.PathLike[str] | None = None,
        home: SchemaHome | None = None,
    ) -> None:
        self.scope = scope
        self.env = env
        self._wheel = wheel
        if home is not None:
            self.home = home  # fills the cached property: no home of its own is ever created

    @staticmethod
    def declared_for(stack: TerraformStack, env: Environment) -> EnvironmentPieces | None:
        """The pieces of `env` already in `stack`: a LakemonStack's own for its environment, or
        those the first model of `env` declared (in a plain TerraformStack, or a LakemonStack of
        another environment); else None.

        Why: every model of an environment in one stack must use the same pieces, not declare the
        same schema, volume, destinations and folder again (Terraform would create the schema
        twice and the second create fails: it already exists). Environments are compared by
        value: an env file loaded twice is the same environment."""
        for pieces in _declared(stack):
            if pieces.env == env:
                return pieces
        return None

    def remember_in(self, stack: TerraformStack) -> None:
        """Record these pieces as `env`'s in `stack`, for the next model of that environment."""
        _declared(stack).append(self)

    @cached_property
    def home(self) -> SchemaHome:
        """The environment's schema and artifacts volume."""
        return SchemaHome.for_env(self.scope, HOME_ID, env=self.env)

    @cached_property
    def artifacts(self) -> JobArtifacts:
        """The job wheel and the env file, uploaded to the home's volume."""
        return JobArtifacts(
            self.scope, ARTIFACTS_ID, env=self.env, volume=self.home, wheel=locate_wheel(self._wheel)
        )

    @cached_property
    def destinations(self) -> list[AlertDestination]:
        """The env's notification destinations (`alerts.destinations`), in the file's order."""
        return [
            AlertDestination.from_config(self.scope, destination_id(d.name), d)
            for d in self.env.alerts.destinations
        ]

    @cached_property
    def alert_folder(self) -> AlertFolder:
        """The workspace folder of the env's alerts (`/Shared/lakemon/<env>/alerts`): every
        alert's `parent_path` (why: lakemon.alerting.folder)."""
        return AlertFolder(self.scope, ALERT_FOLDER_ID, path=alert_folder_path(self.env.name))
