"""Column lists (lakemon.config Column) as Arrow schemas, Spark DDL and typed pandas frames."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from lakemon.config.model import Column
from lakemon.tables import SQL_TYPES

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
        if field.name in frame.columns:
            values = frame[field.name]
            arrays.append(pa.array(values.astype(object).where(values.notna(), None), type=field.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(len(frame), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)
