"""`ModelCatalog`: the Unity Catalog objects of one model (registered model and its grants),
in the schema and volume of its environment (a SchemaHome)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdktf_cdktf_provider_databricks.grants import Grants, GrantsGrant
from cdktf_cdktf_provider_databricks.registered_model import RegisteredModel

from constructs import Construct

from ..config.model import Environment, Model
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, ForModel
from .home import SchemaHome, SchemaHomeProps


class ModelCatalogProps(SchemaHomeProps):
    """What `ModelCatalog.for_model` fills from the env file: the schema's props (for a home of
    its own) and the registered model."""

    model_name: str
    comment: str


class ModelCatalog(ForModel, Construct):
    """The registered model `<catalog>.<schema>.<model>` and its grants, in a SchemaHome.

    The schema and volume are shared: inside a LakemonStack they are the stack's `home` (declared
    once for all models; pass `home=`); without `home` one is created inside this construct from
    catalog/schema/readers/managers/protect_data.
    Aliases (`champion`, `challenger`) are NOT managed here: databricks_registered_model cannot
    manage them well, the register job sets them with MLflow.

    Example::

        catalog = ModelCatalog(stack, "catalog-alive", model_name="alive_classifier", home=stack.home)
        catalog = ModelCatalog.for_model(stack, "catalog-alive", env=env, model=env.model(), home=stack.home)
        catalog.registered_model_name   # "mlops_dev.marvel_characters.alive_classifier"

    Props (default in brackets):
        model_name: the registered model's name in the schema (required; `for_model`: the model's).
        home: the shared SchemaHome [none: one is created here, as `<this>/home`].
        catalog, schema: where the home created here goes (required without `home`; ignored
            with it; `for_model`: the env's).
        managers: ALL_PRIVILEGES on the model (and the home created here) [none;
            `for_model`: `permissions.manage`].
        readers: EXECUTE on the model, i.e. may load it (USE_SCHEMA + SELECT on a home created
            here) [none; `for_model`: `permissions.read_tables`].
        protect_data: prevent_destroy on a home created here [False; `for_model`: `protect_data`].
        comment: the registered model's comment ["lakemon: model; aliases are set by the register job"].
    """

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> ModelCatalogProps:
        """The registered model in the env's schema; the same principals as the schema (EXECUTE
        for readers, ALL_PRIVILEGES for managers), and the schema's props for a home of its own."""
        return ModelCatalogProps(
            **SchemaHome.props_for_env(env),
            model_name=model.name,
            comment=f"lakemon: {model.problem_type.value} model; aliases are set by the register job",
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        model_name: str,
        home: SchemaHome | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        managers: Sequence[str] = (),
        readers: Sequence[str] = (),
        protect_data: bool = False,
        comment: str = "lakemon: model; aliases are set by the register job",
    ) -> None:
        super().__init__(scope, id)
        if home is None:  # standalone use; MonitoredModel passes its stack's shared home
            if not catalog or not schema:
                raise LakemonConstructError(self.node.path, "catalog and schema are required without a home")
            home = SchemaHome(
                self, "home", catalog=catalog, schema=schema, readers=readers, managers=managers,
                protect_data=protect_data,
            )
        self.home = home
        self.registered_model_name = f"{home.catalog_name}.{home.schema_name}.{model_name}"
        self.registered_model = RegisteredModel(
            self, "model", catalog_name=home.catalog_name, schema_name=home.schema_name, name=model_name,
            comment=comment, depends_on=[home.schema],
        )
        managers, readers = tuple(managers), tuple(readers)
        grants = [GrantsGrant(principal=p, privileges=["ALL_PRIVILEGES"]) for p in managers]
        grants += [GrantsGrant(principal=p, privileges=["EXECUTE"]) for p in readers if p not in managers]
        self.grants = (
            Grants(
                self,
                "grants",
                model=self.registered_model_name,
                grant=grants,
                depends_on=[self.registered_model],
            )
            if grants
            else None
        )

    @property
    def schema(self):
        return self.home.schema

    @property
    def volume(self):
        return self.home.volume
