"""The AI gateway's payload table, and the two tables unpack keeps beside the inference log.

Databricks' AI gateway writes `<prefix>_payload` (ModelTables.payload); on the embedded default
the logging layer writes the same columns to a local Delta table; unpack reads it in both places.
unpack also writes the quarantine (one row per payload it could not use) and the unpack-runs
table (one row per finished run). Their columns are spelled here once, so the logging layer,
unpack, retention and the tests agree on them (docs/jobs.md, docs/embedded.md).
"""

from __future__ import annotations

from ..config.model import Column
from .tables import CLIENT_REQUEST_ID, REQUEST_ID, ddl_columns

REQUEST_TIME = "request_time"
"""When the gateway logged the request (the inference log's timestamp; retention's clock for
the quarantine)."""
STATUS_CODE = "status_code"
REQUEST = "request"
"""The raw JSON request body."""
RESPONSE = "response"
"""The raw JSON response body."""
SERVED_ENTITY_ID = "served_entity_id"
"""The served entity that answered: unpack's model version."""

PAYLOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    (REQUEST_ID, "string"),
    (CLIENT_REQUEST_ID, "string"),
    ("request_date", "date"),
    (REQUEST_TIME, "timestamp"),
    (STATUS_CODE, "int"),
    ("sampling_fraction", "double"),
    ("execution_duration_ms", "bigint"),
    (REQUEST, "string"),
    (RESPONSE, "string"),
    ("logging_error_codes", "array<string>"),
    (SERVED_ENTITY_ID, "string"),
    ("requester", "string"),
)
"""(name, Databricks SQL type) of the payload table, in order, as the AI gateway writes it (the
team's notes on Databricks, docs/jobs.md). Pairs rather than `Column`s: `logging_error_codes` is
an array, which no model column can be. The jobs render it as a pyarrow schema
(lakemon_jobs.payload_table.PAYLOAD_SCHEMA)."""

PAYLOAD_NAMES = [name for name, _ in PAYLOAD_COLUMNS]

PAYLOAD_TYPED = [Column(name=name, type=sql_type) for name, sql_type in PAYLOAD_COLUMNS
                 if name in (REQUEST_ID, REQUEST_TIME, STATUS_CODE, REQUEST, RESPONSE)]
"""The payload columns unpack reads by type: a request_time or status code of another type is
refused up front instead of failing or quarantining good rows."""

PAYLOAD_TABLE_PROPERTIES = {"delta.enableChangeDataFeed": "true"}
"""Delta properties of the payload table: change data feed on (the AI gateway's table has it,
see docs/jobs.md); unpack reads the rows each commit inserted through it."""

# The quarantine's own columns (the others are the payload's), one constant each, for unpack's SQL
# and the payload parser's rows.
REASON = "reason"
"""Why the payload was set aside (the parser's message; also the parsed rows' column: null for a
usable row)."""
QUARANTINED_AT = "quarantined_at"
"""When unpack set it aside."""

QUARANTINE_COLUMNS = ddl_columns(
    f"{REQUEST_ID} string, {CLIENT_REQUEST_ID} string, {REQUEST_TIME} timestamp, {STATUS_CODE} int, "
    f"{REQUEST} string, {RESPONSE} string, {SERVED_ENTITY_ID} string, {REASON} string, {QUARANTINED_AT} timestamp"
)
"""Columns of ModelTables.quarantine: the raw payload row (request/response bounded, see
lakemon_jobs.payloads.bounded_raw), why it was set aside, and when."""
QUARANTINE_KEYS = [REQUEST_ID, REQUEST_TIME]
"""What identifies a quarantined payload: a rerun quarantines nothing twice."""

# Columns of ModelTables.unpack_runs, one constant each (its name in upper case, checked by
# tests/architecture), for unpack's SQL and for reading the last run back.
PAYLOAD_TABLE = "payload_table"
"""The payload table the run read (three-part name)."""
PAYLOAD_TABLE_ID = "payload_table_id"
"""Its Delta table id: another id means the table was re-created."""
PAYLOAD_VERSION = "payload_version"
"""The payload table's Delta version the run read up to: the next run reads the commits after it."""
READ_MODE = "read_mode"
PAYLOAD_ROWS = "payload_rows"
UNPACKED = "unpacked"
QUARANTINED = "quarantined"
INFERENCE_ROWS_WRITTEN = "inference_rows_written"
STARTED_AT = "started_at"
FINISHED_AT = "finished_at"

UNPACK_RUN_COLUMNS = ddl_columns(
    f"{PAYLOAD_TABLE} string, {PAYLOAD_TABLE_ID} string, {PAYLOAD_VERSION} bigint, {READ_MODE} string, "
    f"{PAYLOAD_ROWS} bigint, {UNPACKED} bigint, {QUARANTINED} bigint, {INFERENCE_ROWS_WRITTEN} bigint, "
    f"{STARTED_AT} timestamp, {FINISHED_AT} timestamp"
)
"""Columns of ModelTables.unpack_runs: one row per run that accounted for every row it read; the
payload table's Delta id and the version read up to are the next run's starting point."""
UNPACK_RUN_KEYS = [PAYLOAD_TABLE, PAYLOAD_TABLE_ID, PAYLOAD_VERSION, STARTED_AT]
"""What identifies a recorded run: a run is recorded once."""
