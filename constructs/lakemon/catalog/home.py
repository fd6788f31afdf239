"""`SchemaHome`: the schema and the artifacts volume that every model of an environment shares.

Why separate from ModelCatalog: several models live in one schema; the schema and its volume
must be declared once per stack, the registered model once per model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from cdktf_cdktf_provider_databricks.grants import Grants, GrantsGrant
from cdktf_cdktf_provider_databricks.schema import Schema
from cdktf_cdktf_provider_databricks.volume import Volume

from constructs import Construct

from .._marks import mark_data_role, protect
from ..config.model import Environment
from ..config.validators import check_identifier
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, check_prop_names

VOLUME_NAME = "artifacts"


class SchemaHomeProps(TypedDict):
    """What `SchemaHome.for_env` fills from the env file."""

    catalog: str
    schema: str
    readers: Sequence[str]
    managers: Sequence[str]
    protect_data: bool


class SchemaHome(Construct):
    """A Unity Catalog schema plus a managed volume `artifacts` (job wheel, env file), with grants.

    Example::

        home = SchemaHome(stack, "catalog", catalog="mlops_dev", schema="marvel_characters")
        home = SchemaHome.for_env(stack, "catalog", env=env)   # the same, from the env file
        home.schema_full_name   # "mlops_dev.marvel_characters"
        home.volume_path        # "/Volumes/mlops_dev/marvel_characters/artifacts"

    Props (default in brackets):
        catalog: the Unity Catalog catalog (required; `for_env`: `catalog`).
        schema: the schema, created here (required; `for_env`: `schema`).
        readers: principals granted USE_SCHEMA + SELECT [none; `for_env`: `permissions.read_tables`].
        managers: principals granted ALL_PRIVILEGES on the schema and READ/WRITE_VOLUME on the
            volume [none; `for_env`: `permissions.manage`].
        protect_data: prevent_destroy on the schema [False; `for_env`: `protect_data`].
    """

    @classmethod
    def props_for_env(cls, env: Environment, given: Mapping[str, Any] = NO_PROPS) -> SchemaHomeProps:
        """The environment's schema, its principals and its protection."""
        return SchemaHomeProps(
            catalog=env.catalog,
            schema=env.schema_,
            readers=env.permissions.read_tables,
            managers=env.permissions.manage,
            protect_data=env.protect_data,
        )

    @classmethod
    def for_env(cls, scope: Construct, id: str, *, env: Environment, **props) -> SchemaHome:
        """The environment's schema and volume; explicit `props` win (lakemon.model_props)."""
        check_prop_names(cls, props, "for_env")
        merged: dict[str, Any] = {**cls.props_for_env(env, props), **props}
        return cls(scope, id, **merged)

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        catalog: str,
        schema: str,
        readers: Sequence[str] = (),
        managers: Sequence[str] = (),
        protect_data: bool = False,
    ) -> None:
        super().__init__(scope, id)
        for value in (catalog, schema):
            try:
                check_identifier(value)
            except ValueError as exc:
                raise LakemonConstructError(self.node.path, str(exc)) from None
        readers, managers = tuple(readers), tuple(managers)

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
