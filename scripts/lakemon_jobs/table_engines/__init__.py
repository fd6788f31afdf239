"""The table store: one implementation of each job's table logic, two engines.

Jobs write their set-based logic ONCE, as Databricks SQL over three-part table names, and call
a small set of engine operations (query, insert_new, update_from, overwrite, map_rows).
- On Databricks, `SparkEngine` runs the SQL as written with `spark.sql` and writes with MERGE.
- On the embedded default, `LocalEngine` transpiles the same SQL to DuckDB with SQLGlot, reads
  the local Delta tables (LocalRuntime.table_path) through `deltalake` as Arrow datasets, and
  writes with deltalake's MERGE / overwrite: each write is one atomic Delta commit.
Python-only logic (parsing JSON payloads) is one pure pandas function that LocalEngine calls
directly and SparkEngine runs through `mapInPandas`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .engine import TableEngine, TableError
from .schemas import arrow_schema, spark_ddl

if TYPE_CHECKING:
    from ..context import JobContext

__all__ = ["TableEngine", "TableError", "arrow_schema", "engine_for", "spark_ddl"]


def engine_for(ctx: JobContext) -> TableEngine:
    """Spark on Databricks, DuckDB + deltalake on the embedded default."""
    if ctx.runtime is None:
        from .spark import SparkEngine  # lazy: pyspark, on Databricks only

        return SparkEngine.active()
    from .local import LocalEngine  # lazy: duckdb and deltalake, embedded default only

    return LocalEngine(ctx.runtime)
