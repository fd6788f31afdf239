"""Read the two monitor output tables: local Delta tables, or Databricks through a SQL warehouse.

Both paths return pyarrow tables with the columns of monitoring/schema.py, so the decision code
never knows where the rows came from. Only the rows analyze-drift uses are read on Databricks
(BASELINE drift and whole-table profile rows of the lookback period, plus the baseline profile).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pyarrow as pa

from lakemon.tables import ModelTables

from ..runtime import LocalRuntime

STATEMENT_TIMEOUT_S = 600
"""How long to wait for the warehouse (a stopped serverless warehouse starts in seconds, a
classic one can take minutes)."""
POLL_S = 2.0


class TablesMissing(RuntimeError):
    """A metrics table does not exist yet (the monitor has not run): exit code 1, clear message."""


def read_local(tables: ModelTables, runtime: LocalRuntime) -> tuple[pa.Table, pa.Table]:
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    out = []
    for name in (tables.drift_metrics, tables.profile_metrics):
        path = runtime.table_path(name)
        try:
            out.append(DeltaTable(str(path)).to_pyarrow_table())
        except TableNotFoundError:
            raise TablesMissing(
                f"table {name} does not exist at {path}; run `lakemon refresh` first to compute the metrics"
            ) from None
    return out[0], out[1]


def databricks_queries(tables: ModelTables, since: datetime) -> tuple[str, str]:
    """The two SELECTs run on the warehouse. `since` is formatted by us (not user input), as an
    exact instant: a zone-less TIMESTAMP literal would be read in the session time zone."""
    from ..tables.engine import timestamp_sql

    ts = timestamp_sql(since)
    # The model-id column is named after the monitor's model_id_col (docs/monitoring.md).
    model_id = f"`{tables.model.model_id_column}`"
    drift = (
        f"SELECT * FROM {tables.drift_metrics} WHERE drift_type = 'BASELINE' AND slice_key IS NULL "
        f"AND {model_id} = '*' AND `window`.`end` > {ts}"
    )
    profile = (
        f"SELECT * FROM {tables.profile_metrics} WHERE slice_key IS NULL AND {model_id} = '*' "
        f"AND (log_type = 'BASELINE' OR `window`.`end` > {ts})"
    )
    return drift, profile


def _run_statement(client, warehouse_id: str, sql: str) -> pa.Table:
    """Statement execution API, Arrow results via external links; polls with a deadline."""
    import requests
    from databricks.sdk.service.sql import Disposition, Format, StatementState

    response = client.statement_execution.execute_statement(
        statement=sql, warehouse_id=warehouse_id, format=Format.ARROW_STREAM,
        disposition=Disposition.EXTERNAL_LINKS, wait_timeout="30s",
    )
    deadline = time.monotonic() + STATEMENT_TIMEOUT_S
    while response.status.state in (StatementState.PENDING, StatementState.RUNNING):
        if time.monotonic() > deadline:
            client.statement_execution.cancel_execution(response.statement_id)
            raise TimeoutError(f"warehouse {warehouse_id} did not answer within {STATEMENT_TIMEOUT_S} s: {sql}")
        time.sleep(POLL_S)
        response = client.statement_execution.get_statement(response.statement_id)
    if response.status.state != StatementState.SUCCEEDED:
        error = response.status.error
        message = error.message if error else response.status.state.value
        if "TABLE_OR_VIEW_NOT_FOUND" in (message or ""):
            raise TablesMissing(f"{message}; the monitor has not written its metrics tables yet")
        raise RuntimeError(f"query failed on warehouse {warehouse_id}: {message}")
    batches: list[pa.RecordBatch] = []
    chunk = response.result
    while chunk is not None:
        links = chunk.external_links or []
        for link in links:
            # presigned URL: no workspace auth header, only the headers the API says to send
            body = requests.get(link.external_link, headers=link.http_headers or {}, timeout=120)
            body.raise_for_status()
            batches.extend(pa.ipc.open_stream(body.content))
        index = chunk.next_chunk_index if chunk.next_chunk_index is not None else (
            links[-1].next_chunk_index if links else None)
        chunk = (
            client.statement_execution.get_statement_result_chunk_n(response.statement_id, index)
            if index is not None else None
        )
    return pa.Table.from_batches(batches) if batches else pa.table({})


class UndecodableColumn(ValueError):
    """A warehouse result column is neither the expected Arrow type nor JSON text of it."""


def _parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _from_json(value, target: pa.DataType):
    """One JSON-decoded value shaped for the Arrow type `target` (timestamps from ISO text)."""
    if value is None:
        return None
    if pa.types.is_struct(target):
        return {f.name: _from_json(value.get(f.name), f.type) for f in target}
    if pa.types.is_list(target) or pa.types.is_large_list(target):
        return [_from_json(v, target.value_type) for v in value]
    if pa.types.is_timestamp(target):
        return _parse_timestamp(value) if isinstance(value, str) else value
    return value


def decode_complex_columns(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The warehouse's result with every column of `schema` in its Arrow type.

    Why: with EXTERNAL_LINKS + ARROW_STREAM, complex columns (the `window` struct, `ks_test`,
    `frequent_items`, `quantiles`) may arrive as native Arrow or as JSON text, depending on the
    warehouse and client (Databricks docs, "Statement Execution API: ARROW_STREAM format": complex
    types may be serialized as JSON strings). One function accepts both, so the decision code
    always sees the schema of monitoring/schema.py. Columns the schema does not name pass through.
    """
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name not in schema.names:
            columns[name] = column
            continue
        target = schema.field(name).type
        if column.type.equals(target):
            columns[name] = column
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pa.types.is_string(target) or pa.types.is_large_string(target):
                columns[name] = column
                continue
            try:
                values = [None if v is None else json.loads(v) for v in column.to_pylist()]
                if pa.types.is_nested(target):
                    values = [_from_json(v, target) for v in values]
                elif pa.types.is_timestamp(target):
                    values = [None if v is None else _parse_timestamp(v) for v in values]
                columns[name] = pa.array(values, type=target)
            except (ValueError, TypeError, AttributeError, pa.ArrowException) as exc:
                raise UndecodableColumn(
                    f"column {name!r} arrived as text that is not JSON of {target}: {type(exc).__name__}: {exc}"
                ) from None
        else:
            try:
                columns[name] = column.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise UndecodableColumn(f"column {name!r} is {column.type}, expected {target}: {exc}") from None
    fields = [schema.field(n) if n in schema.names else table.schema.field(n) for n in columns]
    return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields))


def read_databricks(tables: ModelTables, warehouse_id: str, since: datetime) -> tuple[pa.Table, pa.Table]:
    from databricks.sdk import WorkspaceClient

    from ..monitoring.schema import drift_metrics_schema, profile_metrics_schema

    client = WorkspaceClient()  # credentials from the job's identity / environment, never config
    drift_sql, profile_sql = databricks_queries(tables, since)
    model_id_col = tables.model.model_id_column
    drift = decode_complex_columns(_run_statement(client, warehouse_id, drift_sql), drift_metrics_schema(model_id_col))
    profile = decode_complex_columns(
        _run_statement(client, warehouse_id, profile_sql), profile_metrics_schema(model_id_col)
    )
    return drift, profile


def read_tables(
    tables: ModelTables,
    runtime: LocalRuntime | None = None,
    warehouse_id: str | None = None,
    since: datetime | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(drift, profile): local Delta tables when `runtime` is given, else the SQL warehouse."""
    if runtime is not None:
        return read_local(tables, runtime)
    if not warehouse_id:
        raise ValueError("reading on Databricks needs a SQL warehouse: set workspace.warehouse_id or --warehouse-id")
    if since is None:
        raise ValueError("reading on Databricks needs `since` (start of the lookback period)")
    return read_databricks(tables, warehouse_id, since)

