"""The AI-gateway payload table (`<prefix>_payload`) as a pyarrow schema.

The columns and their types are the contract's (lakemon.contract.payload.PAYLOAD_COLUMNS); this
module only renders them for pyarrow, which the contract cannot import. On Databricks the serving
endpoint's AI gateway writes the table; on the embedded default the logging layer in front of the
local scoring server writes the same columns to a local Delta table (ModelTables.payload).
unpack reads it in both places.
"""

from __future__ import annotations

import pyarrow as pa

from lakemon.contract.payload import PAYLOAD_COLUMNS

from .table_engines.schemas import ARROW_TYPES

PAYLOAD_ARROW_TYPES = {**ARROW_TYPES, "array<string>": pa.list_(pa.string())}
"""The model columns' Arrow types plus the payload table's one array (`logging_error_codes`)."""

PAYLOAD_SCHEMA = pa.schema([(name, PAYLOAD_ARROW_TYPES[sql_type]) for name, sql_type in PAYLOAD_COLUMNS])
"""Column order and types of the payload table (see ../shared/notes/databricks.md)."""
