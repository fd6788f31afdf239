"""`ModelCatalog`: the Unity Catalog objects of one model (registered model and its grants),
in the schema and volume of its environment."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_databricks.grants import Grants, GrantsGrant
from cdktf_cdktf_provider_databricks.registered_model import RegisteredModel

from constructs import Construct

from ..config.model import Environment, Model
from .home import SchemaHome


class ModelCatalog(Construct):
    """Schema, `artifacts` volume, the registered model `<catalog>.<schema>.<model>` and grants.

    The schema and volume are shared: inside a LakemonStack they are the stack's `home` (declared
    once for all models); elsewhere pass `home=` or one is created inside this construct.
    Aliases (`champion`, `challenger`) are NOT managed here: databricks_registered_model cannot
    manage them well, the register job sets them with MLflow.

    Example::

        catalog = ModelCatalog(stack, "catalog-alive", env=env, model=env.model())
        catalog.registered_model_name   # "mlops_dev.marvel_characters.alive_classifier"

    Props: env, model; home (shared SchemaHome); managers (ALL_PRIVILEGES on the model, default
    env.permissions.manage); readers (EXECUTE: may load the model, default env.permissions.read_tables).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        home: SchemaHome | None = None,
        managers: Sequence[str] | None = None,
        readers: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, id)
        if home is None:  # standalone use; MonitoredModel passes its stack's shared home
            home = SchemaHome(self, "home", env=env)
        self.home = home
        self.registered_model_name = env.full_name(model.name)
        self.registered_model = RegisteredModel(
            self,
            "model",
            catalog_name=home.catalog_name,
            schema_name=home.schema_name,
            name=model.name,
            comment=f"lakemon: {model.problem_type.value} model; aliases are set by the register job",
            depends_on=[home.schema],
        )
        managers = tuple(managers if managers is not None else env.permissions.manage)
        readers = tuple(readers if readers is not None else env.permissions.read_tables)
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
