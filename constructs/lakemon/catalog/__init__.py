"""Unity Catalog home of models: schema, artifacts volume, registered models, grants."""

from .home import SchemaHome
from .model_catalog import ModelCatalog

__all__ = ["ModelCatalog", "SchemaHome"]
