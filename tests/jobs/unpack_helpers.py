"""Payload rows and table helpers shared by the unpack tests (a uniquely named module)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakemon.contract.tables import labels_columns
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.table_engines import arrow_schema, engine_for

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
REC = {
    "id": "Secret Identity", "align": "Good Characters", "eye": None, "hair": "Brown Hair",
    "sex": "Male Characters", "gsm": None, "appearances": 10, "year": 1990.0,
}
REC2 = {**REC, "align": "Bad Characters", "appearances": 3.0, "year": None}


def response(*probas: float) -> str:
    return json.dumps({"predictions": [{"prediction": int(p >= 0.5), "prediction_proba": p} for p in probas]})


def payload(i: int, request, response_text: str | None, status: int = 200, served: str | None = "alive_classifier-3",
            minutes: int | None = None) -> dict:
    return {
        "databricks_request_id": f"req-{i}",
        "client_request_id": f"client-{i}",
        "request_date": T0.date(),
        "request_time": T0 + dt.timedelta(minutes=i if minutes is None else minutes),
        "status_code": status,
        "sampling_fraction": 1.0,
        "execution_duration_ms": 5,
        "request": request if isinstance(request, str) else json.dumps(request),
        "response": response_text,
        "logging_error_codes": [],
        "served_entity_id": served,
        "requester": "tester",
    }


def write_payloads(ctx, rows: list[dict], mode: str = "append", change_data_feed: bool = True) -> None:
    """Append rows as one commit, like the AI gateway (whose table has change data feed on)."""
    path = str(ctx.runtime.table_path(ctx.tables.payload))
    config = {"delta.enableChangeDataFeed": "true"} if change_data_feed else None
    write_deltalake(path, pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA), mode=mode, configuration=config)


def write_labels(ctx, rows: list[tuple[str, int, int | None, int]]) -> None:
    """(client_request_id, row_index, label, minutes after T0)."""
    table = pa.Table.from_pylist(
        [{"client_request_id": c, "row_index": r, "alive": y, "label_time": T0 + dt.timedelta(minutes=m)} for c, r, y, m in rows],
        schema=arrow_schema(labels_columns(ctx.model)),
    )
    write_deltalake(str(ctx.runtime.table_path(ctx.tables.labels)), table, mode="append")


def log(ctx) -> pd.DataFrame:
    frame = engine_for(ctx).read_table(ctx.tables.inference_log)
    return frame.sort_values(["databricks_request_id", "row_index"]).reset_index(drop=True)


def version(ctx, table: str) -> int:
    return DeltaTable(str(ctx.runtime.table_path(table))).version()
