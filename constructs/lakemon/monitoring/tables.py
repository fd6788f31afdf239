"""Delta tables lakemon declares with an explicit schema: inference log, baseline, labels.

Why declare them in Terraform (instead of letting the jobs create them): the quality monitor
needs its table to exist when it is created, and the schema is the contract between the unpack
job, the monitor and the local engine. Columns come from `lakemon.tables`, never re-spelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.sql_table import SqlTable, SqlTableColumn

from constructs import Construct

from .._marks import mark_data_role, protect
from ..config.model import Column, Environment, Model
from ..config.validators import check_identifier
from ..errors import LakemonConstructError
from ..tables import (
    SQL_TYPES,
    ModelTables,
    baseline_columns,
    inference_log_columns,
    labels_columns,
    verdicts_columns,
)
from ..variables import stack_variable

RETENTION_PROPERTY = "lakemon.retention_days"
"""Table property read by the retention step: rows older than this many days are deleted."""


class DeltaTable(Construct):
    """A managed Delta table (`databricks_sql_table`) with explicit columns, change data feed on.

    Props: full_name (`catalog.schema.table`), columns, comment, role (what data it holds, for
    policy: inference_log, baseline, labels), protect_data (prevent_destroy), properties,
    warehouse_id (the SQL warehouse that runs the DDL), depends_on.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        full_name: str,
        columns: Sequence[Column],
        role: str,
        comment: str,
        warehouse_id: str | None = None,
        protect_data: bool = False,
        properties: Mapping[str, str] | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        parts = full_name.split(".")
        if len(parts) != 3:
            raise LakemonConstructError(
                self.node.path, f"table name {full_name!r} must be catalog.schema.table"
            )
        try:
            for part in parts:
                check_identifier(part)
        except ValueError as exc:
            raise LakemonConstructError(self.node.path, str(exc)) from None
        if not columns:
            raise LakemonConstructError(self.node.path, "a table needs at least one column")
        names = [c.name for c in columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise LakemonConstructError(self.node.path, f"column names repeat: {', '.join(repeated)}")
        catalog, schema, name = parts
        self.full_name = full_name
        self.columns = tuple(columns)
        self.table = SqlTable(
            self,
            "table",
            catalog_name=catalog,
            schema_name=schema,
            name=name,
            table_type="MANAGED",
            data_source_format="DELTA",
            comment=comment,
            column=[SqlTableColumn(name=c.name, type=SQL_TYPES[c.type]) for c in columns],
            properties={"delta.enableChangeDataFeed": "true", **dict(properties or {})},
            warehouse_id=warehouse_id,
            lifecycle=protect(protect_data),
            depends_on=list(depends_on) or None,
        )
        mark_data_role(self.table, role)


def _warehouse(scope: Construct, warehouse_id: str | None) -> str | None:
    """The SQL warehouse for the table's DDL: the prop, else `var.warehouse_id` of the stack
    (declared once per stack), so a table never looks up the stack class that composes it."""
    if warehouse_id is not None:
        return warehouse_id
    return stack_variable(
        scope, "warehouse_id", sensitive=False, description="SQL warehouse id for tables, monitors and alerts"
    ).string_value


class InferenceLogTable(DeltaTable):
    """The unpacked inference log the monitor watches: one row per prediction, with features,
    prediction (and probability for classification), label, model id, timestamp and request keys.

    Example::

        InferenceLogTable(stack, "inference-log", env=env, model=env.model())
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        protect_data: bool | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            full_name=ModelTables(env, model).inference_log,
            columns=inference_log_columns(model),
            role="inference_log",
            comment=f"lakemon: unpacked inference log of {model.name} (one row per prediction); watched by its monitor",
            warehouse_id=_warehouse(scope, warehouse_id),
            protect_data=env.protect_data if protect_data is None else protect_data,
            properties={RETENTION_PROPERTY: str(env.inference.retention_days)},
            depends_on=depends_on,
        )


class BaselineTable(DeltaTable):
    """Training data scored by the model: what the monitor compares each window with."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        protect_data: bool | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            full_name=ModelTables(env, model).baseline,
            columns=baseline_columns(model),
            role="baseline",
            comment=f"lakemon: training baseline of {model.name} (written by the register job when a champion is promoted)",
            warehouse_id=_warehouse(scope, warehouse_id),
            protect_data=env.protect_data if protect_data is None else protect_data,
            depends_on=depends_on,
        )


class LabelsTable(DeltaTable):
    """Ground truth that arrives after the prediction; unpack joins it into the inference log."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        protect_data: bool | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            full_name=ModelTables(env, model).labels,
            columns=labels_columns(model),
            role="labels",
            comment=f"lakemon: late-arriving labels of {model.name}, keyed by client_request_id and row_index",
            warehouse_id=_warehouse(scope, warehouse_id),
            protect_data=env.protect_data if protect_data is None else protect_data,
            depends_on=depends_on,
        )


class VerdictsTable(DeltaTable):
    """`<model>_drift_verdicts`: analyze-drift's verdict per window and feature (and model
    quality), written by the monitoring job, read by the DriftAlert and QualityAlert SQL.
    Declared here so the alerts' table exists before the first job run, with the columns of
    `lakemon.tables.verdicts_columns` (the job refuses to write a table with other columns)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: Environment,
        model: Model,
        warehouse_id: str | None = None,
        protect_data: bool | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(
            scope,
            id,
            full_name=ModelTables(env, model).drift_verdicts,
            columns=verdicts_columns(),
            role="metrics",
            comment=f"lakemon: drift and quality verdicts of {model.name} per window (written by analyze-drift); read by its alerts",
            warehouse_id=_warehouse(scope, warehouse_id),
            protect_data=env.protect_data if protect_data is None else protect_data,
            depends_on=depends_on,
        )
