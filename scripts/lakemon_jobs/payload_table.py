"""The AI-gateway payload table (`<prefix>_payload`), as Databricks writes it.

On Databricks the serving endpoint's AI gateway writes it; on the embedded default the
logging layer in front of the local scoring server writes the same columns to a local Delta
table (ModelTables.payload). unpack reads it in both places.
"""

from __future__ import annotations

import pyarrow as pa

PAYLOAD_SCHEMA = pa.schema(
    [
        ("databricks_request_id", pa.string()),
        ("client_request_id", pa.string()),
        ("request_date", pa.date32()),
        ("request_time", pa.timestamp("us", tz="UTC")),
        ("status_code", pa.int32()),
        ("sampling_fraction", pa.float64()),
        ("execution_duration_ms", pa.int64()),
        ("request", pa.string()),
        ("response", pa.string()),
        ("logging_error_codes", pa.list_(pa.string())),
        ("served_entity_id", pa.string()),
        ("requester", pa.string()),
    ]
)
"""Column order and types of the payload table (see ../shared/notes/databricks.md)."""

PAYLOAD_TABLE_PROPERTIES = {"delta.enableChangeDataFeed": "true"}
"""Delta properties of the payload table: change data feed on (the AI gateway's table has it,
see docs/jobs.md); unpack reads the rows each commit inserted through it."""
