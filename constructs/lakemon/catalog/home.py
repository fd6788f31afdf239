"""`SchemaHome`: the schema and the artifacts volume that every model of an environment shares.

Why separate from ModelCatalog: several models live in one schema; the schema and its volume
must be declared once per stack, the registered model once per model.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_databricks.grants import Grants, GrantsGrant
from cdktf_cdktf_provider_databricks.schema import Schema
from cdktf_cdktf_provider_databricks.volume import Volume

from constructs import Construct

from .._marks import mark_data_role, protect
from ..config.model import Environment
from ..config.validators import check_identifier
from ..errors import LakemonConstructError

VOLUME_NAME = "artifacts"


class SchemaHome(Construct):
    """A Unity Catalog schema plus a managed volume `artifacts` (job wheel, env file), with grants.

    Example::

        home = SchemaHome(stack, "catalog", env=env)
        home.schema_full_name   # "mlops_dev.marvel_characters"
        home.volume_path        # "/Volumes/mlops_dev/marvel_characters/artifacts"

    Props (from `env` unless given): catalog, schema, readers (USE_SCHEMA + SELECT),
    managers (ALL_PRIVILEGES), protect_data (prevent_destroy on the schema).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        readers: Sequence[str] | None = None,
        managers: Sequence[str] | None = None,
        protect_data: bool | None = None,
    ) -> None:
        super().__init__(scope, id)
        catalog = catalog or (env.catalog if env else None)
        schema = schema or (env.schema_ if env else None)
        if not catalog or not schema:
            raise LakemonConstructError(self.node.path, "catalog and schema are required (or pass env=)")
        for value in (catalog, schema):
            try:
                check_identifier(value)
            except ValueError as exc:
                raise LakemonConstructError(self.node.path, str(exc)) from None
        readers = tuple(readers if readers is not None else (env.permissions.read_tables if env else ()))
        managers = tuple(managers if managers is not None else (env.permissions.manage if env else ()))
        protect_data = protect_data if protect_data is not None else (env.protect_data if env else False)

        self.catalog_name = catalog
        self.schema_name = schema
        self.schema = Schema(
            self,
            "schema",
            catalog_name=catalog,
            name=schema,
            comment="lakemon: models, inference logs, baselines and monitor metrics",
            lifecycle=protect(protect_data),
        )
        mark_data_role(self.schema, "schema")
        self.volume = Volume(
            self,
            "artifacts",
            catalog_name=catalog,
            schema_name=schema,
            name=VOLUME_NAME,
            volume_type="MANAGED",
            comment="lakemon: job wheel and environment files",
            depends_on=[self.schema],
        )
        grants = [GrantsGrant(principal=p, privileges=["USE_SCHEMA", "SELECT"]) for p in readers]
        grants += [GrantsGrant(principal=p, privileges=["ALL_PRIVILEGES"]) for p in managers]
        self.schema_grants = (
            Grants(
                self, "schema-grants", schema=self.schema_full_name, grant=grants, depends_on=[self.schema]
            )
            if grants
            else None
        )
        volume_grants = [
            GrantsGrant(principal=p, privileges=["READ_VOLUME", "WRITE_VOLUME"]) for p in managers
        ]
        self.volume_grants = (
            Grants(
                self,
                "volume-grants",
                volume=self.volume_full_name,
                grant=volume_grants,
                depends_on=[self.volume],
            )
            if volume_grants
            else None
        )

    @property
    def schema_full_name(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}"

    @property
    def volume_full_name(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}.{VOLUME_NAME}"

    @property
    def volume_path(self) -> str:
        """POSIX path of the volume as jobs and databricks_file see it."""
        return f"/Volumes/{self.catalog_name}/{self.schema_name}/{VOLUME_NAME}"
