"""Column lists (lakemon.config Column) as Arrow schemas, Spark DDL and typed pandas frames;
query results with UTC-labelled timestamps."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from lakemon.config.model import Column
from lakemon.contract.tables import SQL_TYPES

ARROW_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in columns])


def spark_ddl(columns: list[Column]) -> str:
    """`a STRING, b DOUBLE`: for CREATE TABLE and for mapInPandas' output schema."""
    return ", ".join(f"`{c.name}` {SQL_TYPES[c.type]}" for c in columns)


def to_arrow(frame: pd.DataFrame, columns: list[Column]) -> pa.Table:
    """Exactly these columns, in this order, with these types (missing columns become nulls)."""
    schema = arrow_schema(columns)
    arrays = []
    for field in schema:
        if field.name not in frame.columns:
            arrays.append(pa.nulls(len(frame), type=field.type))
        elif _same_kind(frame[field.name].dtype, field.type):
            arrays.append(pa.array(frame[field.name], type=field.type, from_pandas=True))
        else:
            values = frame[field.name]
            arrays.append(pa.array(values.astype(object).where(values.notna(), None), type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def utc_timestamps(table: pa.Table) -> pa.Table:
    """`table` with every timestamp type, however deeply nested, marked UTC. The values are
    epoch instants in both engines; only the time-zone label can differ (a Spark client may
    label them with the session time zone), so this cast changes no instant."""
    schema = pa.schema([f.with_type(_utc_type(f.type)) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def _utc_type(kind: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(kind):
        return pa.timestamp(kind.unit, tz="UTC")
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(_utc_type(f.type)) for f in kind])
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_utc_type(kind.value_type)))
    if pa.types.is_large_list(kind):
        return pa.large_list(kind.value_field.with_type(_utc_type(kind.value_type)))
    if pa.types.is_map(kind):
        return pa.map_(kind.key_field.with_type(_utc_type(kind.key_type)), kind.item_field.with_type(_utc_type(kind.item_type)))
    return kind


def _same_kind(dtype, arrow_type: pa.DataType) -> bool:
    """A column Arrow can take as it is (NaN/NA become null, integers are range-checked): floats
    for a floating type, integers for an integer type, booleans for boolean, UTC microsecond
    timestamps for the timestamp type. Anything else goes value by value through Python objects,
    which is exact for every case but costs a Python object per value (seconds per million
    timestamps: most of unpack's time before)."""
    if pa.types.is_floating(arrow_type):
        return pd.api.types.is_float_dtype(dtype)
    if pa.types.is_integer(arrow_type):
        return pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if pa.types.is_boolean(arrow_type):
        return pd.api.types.is_bool_dtype(dtype)
    if pa.types.is_string(arrow_type):
        return pd.api.types.is_object_dtype(dtype)  # str and None/NaN (null) values; anything else fails, as before
    if pa.types.is_timestamp(arrow_type):
        return isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit == arrow_type.unit and str(dtype.tz) == arrow_type.tz
    return False
