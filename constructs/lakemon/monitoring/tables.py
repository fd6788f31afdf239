"""Delta tables lakemon declares with an explicit schema: inference log, baseline, labels.

Why declare them in Terraform (instead of letting the jobs create them): the quality monitor
needs its table to exist when it is created, and the schema is the contract between the unpack
job, the monitor and the local engine. Columns come from `lakemon.contract.tables`, never re-spelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypedDict

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.sql_table import SqlTable, SqlTableColumn

from constructs import Construct

from .._marks import mark_data_role, protect
from ..config.model import Column, Environment, Model
from ..config.validators import check_identifier
from ..contract.tables import (
    SQL_TYPES,
    ModelTables,
    baseline_columns,
    inference_log_columns,
    labels_columns,
)
from ..contract.verdicts import verdicts_columns
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, ForModel
from ..variables import stack_variable

RETENTION_PROPERTY = "lakemon.retention_days"
"""Table property read by the retention step: rows older than this many days are deleted."""


class DeltaTable(Construct):
    """A managed Delta table (`databricks_sql_table`) with explicit columns, change data feed on.

    No `data_source_format`: with `MANAGED` plus `DELTA` the provider creates the table with
    `CREATE OR REPLACE TABLE` (v1.99.0 `catalog/resource_sql_table.go`, buildTableCreateStatement),
    which would empty a table that exists but is not in state; its docs say the field is "Not
    supported for MANAGED tables" (`docs/resources/sql_table.md`). Without it the statement is a
    plain `CREATE TABLE`, which fails loudly on an existing table, and Unity Catalog managed
    tables are Delta by default. Policy rule LM-DATA-2 keeps it that way.

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


class ModelTableProps(TypedDict):
    """What `for_model` fills for every model table."""

    full_name: str
    columns: Sequence[Column]
    model_name: str
    protect_data: bool


class InferenceLogTableProps(ModelTableProps):
    """What `InferenceLogTable.for_model` fills: a model table's, and the retention."""

    retention_days: int


class _ModelTable(ForModel, DeltaTable):
    """A table of one served model; a subclass says its data role and comment.

    Props (default in brackets):
        full_name: `catalog.schema.table` (required; `for_model`: `lakemon.contract.tables.ModelTables`).
        columns: the columns (required; `for_model`: the model's, from `lakemon.contract.tables`).
        model_name: the served model's name, used in the table comment (required).
        warehouse_id: SQL warehouse that runs the DDL [the stack's Terraform variable `warehouse_id`].
        protect_data: prevent_destroy [False; `for_model`: the env's `protect_data`].
        depends_on: resources created first, normally the schema [none].
    """

    role: str
    comment: str
    """Table comment; `{model}` stands for the model name."""
    fixed_props: ClassVar[tuple[str, ...]] = ("role", "comment")
    """DeltaTable props this class sets itself (lakemon.model_props.prop_names)."""

    def __init__(
        self, scope: Construct, id: str, *, model_name: str, warehouse_id: str | None = None, **props
    ) -> None:
        """`props`: DeltaTable's full_name, columns, protect_data, properties, depends_on."""
        super().__init__(
            scope,
            id,
            role=self.role,
            comment=self.comment.format(model=model_name),
            warehouse_id=_warehouse(scope, warehouse_id),
            **props,
        )

    @staticmethod
    def _model_table(env: Environment, model: Model, full_name: str, columns: Sequence[Column]) -> ModelTableProps:
        """A subclass's `props_for_model`: its name (`ModelTables`) and columns (`lakemon.contract.tables`)."""
        return ModelTableProps(
            full_name=full_name, columns=columns, model_name=model.name, protect_data=env.protect_data
        )


class InferenceLogTable(_ModelTable):
    """The unpacked inference log the monitor watches: one row per prediction, with features,
    prediction (and probability for classification), label, model id, timestamp and request keys.

    Props: those of every model table (full_name, columns, model_name, warehouse_id,
    protect_data, depends_on) and retention_days: rows older than this are deleted by the
    retention step [90; `for_model`: `inference.retention_days`], kept in the table property
    `lakemon.retention_days`.

    Example::

        InferenceLogTable.for_model(stack, "inference-log", env=env, model=env.model())
    """

    role = "inference_log"
    comment = "lakemon: unpacked inference log of {model} (one row per prediction); watched by its monitor"
    fixed_props = ("properties",)

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> InferenceLogTableProps:
        props = cls._model_table(env, model, ModelTables(env, model).inference_log, inference_log_columns(model))
        return InferenceLogTableProps(**props, retention_days=env.inference.retention_days)

    def __init__(self, scope: Construct, id: str, *, retention_days: int = 90, **props) -> None:
        if retention_days <= 0:
            raise LakemonConstructError(f"{scope.node.path}/{id}", f"retention_days must be positive; got {retention_days}")
        super().__init__(scope, id, properties={RETENTION_PROPERTY: str(retention_days)}, **props)


class BaselineTable(_ModelTable):
    """Training data scored by the model: what the monitor compares each window with."""

    role = "baseline"
    comment = "lakemon: training baseline of {model} (written by the register job when a champion is promoted)"

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> ModelTableProps:
        return cls._model_table(env, model, ModelTables(env, model).baseline, baseline_columns(model))


class LabelsTable(_ModelTable):
    """Ground truth that arrives after the prediction; unpack joins it into the inference log."""

    role = "labels"
    comment = "lakemon: late-arriving labels of {model}, keyed by client_request_id and row_index"

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> ModelTableProps:
        return cls._model_table(env, model, ModelTables(env, model).labels, labels_columns(model))


class VerdictsTable(_ModelTable):
    """`<model>_drift_verdicts`: analyze-drift's verdict per window and feature (and model
    quality), written by the monitoring job, read by the DriftAlert and QualityAlert SQL.
    Declared here so the alerts' table exists before the first job run, with the columns of
    `lakemon.contract.verdicts.verdicts_columns` (the job refuses to write a table with other columns)."""

    role = "metrics"
    comment = "lakemon: drift and quality verdicts of {model} per window (written by analyze-drift); read by its alerts"

    @classmethod
    def props_for_model(cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS) -> ModelTableProps:
        return cls._model_table(env, model, ModelTables(env, model).drift_verdicts, verdicts_columns())
