"""Parse AI-gateway payload rows into inference-log rows: the pure-Python half of `unpack`.

One function, `parse_payloads(batch, model)`, turns a pandas batch of payload-table rows into
a batch of UNPACKED rows: one per prediction for usable payloads, one with a `reason` for each
payload that cannot be used (non-200, malformed JSON, unknown request format, row-count
mismatch, bad values). LocalEngine calls it directly; SparkEngine runs it with mapInPandas.
It never raises for bad data: a bad payload becomes a reason, and the others are unaffected.

Request formats (the MLflow / Databricks scoring protocol):
  {"dataframe_records": [{"col": v, ...}, ...]}
  {"dataframe_split": {"columns": [...], "data": [[...], ...]}}
  {"instances": [...]} or {"inputs": [...]}: a list of records, a list of positional rows
      (in the model's feature order), or one dict of columns.
Response: {"predictions": [...]}, a list of dicts keyed by the model config's output names
(what model_code/probability_classifier.py returns: {"prediction": 1, "prediction_proba": 0.83})
or a list of scalars (the class only; probability stays null).
Model version: the payload's served_entity_id, else the request's "model_version" (top level
or under "params").
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from lakemon.config.model import Column, Model
from lakemon.tables import inference_log_columns, output_columns

REQUEST_FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
EXTRA_COLUMNS = [
    Column(name="status_code", type="int"),
    Column(name="request", type="string"),
    Column(name="response", type="string"),
    Column(name="reason", type="string"),
]
"""Carried along so that a quarantined payload keeps its raw request and response."""


class PayloadError(ValueError):
    """Why one payload row cannot be unpacked (becomes the quarantine reason)."""


def unpacked_columns(model: Model) -> list[Column]:
    return [*inference_log_columns(model), *EXTRA_COLUMNS]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def coerce(value: Any, column: Column) -> Any:
    """A JSON value as the column's type; PayloadError if it cannot be one."""
    if _is_missing(value):
        return None
    kind = column.type
    if isinstance(value, dict | list):
        raise PayloadError(f"column {column.name}: expected a {kind} value, got a JSON {type(value).__name__}")
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError(f"column {column.name}: expected a number, got {value!r}")
        return float(value)
    if kind in ("bigint", "int"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
        raise PayloadError(f"column {column.name}: expected an integer, got {value!r}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise PayloadError(f"column {column.name}: expected true/false, got {value!r}")
    return value  # date/timestamp features are kept as sent (ISO strings)


def request_records(body: Any, feature_names: list[str]) -> list[dict[str, Any]]:
    """The request's input rows as dicts, whatever the format."""
    if not isinstance(body, dict):
        raise PayloadError("request is not a JSON object")
    present = [k for k in REQUEST_FORMATS if k in body]
    if len(present) != 1:
        found = ", ".join(present) if present else "none"
        raise PayloadError(f"request must have exactly one of {', '.join(REQUEST_FORMATS)} (found: {found})")
    fmt = present[0]
    data = body[fmt]
    if fmt == "dataframe_split":
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list) or not isinstance(data.get("data"), list):
            raise PayloadError("dataframe_split needs 'columns' and 'data' lists")
        columns = data["columns"]
        rows = data["data"]
        if any(not isinstance(r, list) or len(r) != len(columns) for r in rows):
            raise PayloadError(f"dataframe_split: every row of 'data' must have {len(columns)} values")
        return [dict(zip(columns, r, strict=True)) for r in rows]
    if fmt in ("instances", "inputs") and isinstance(data, dict):  # columnar: {"col": [v, ...]}
        lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise PayloadError(f"{fmt}: a dict of columns needs equally long lists")
        n = lengths.pop()
        return [{k: v[i] for k, v in data.items()} for i in range(n)]
    if not isinstance(data, list):
        raise PayloadError(f"{fmt} must be a list")
    records = []
    for i, row in enumerate(data):
        if isinstance(row, dict):
            records.append(row)
        elif fmt in ("instances", "inputs") and isinstance(row, list) and len(row) == len(feature_names):
            records.append(dict(zip(feature_names, row, strict=True)))
        else:
            raise PayloadError(f"{fmt}: row {i} is not a record")
    return records


def response_predictions(body: Any, model: Model) -> list[dict[str, Any]]:
    """The response's predictions as dicts keyed by the model's output column names."""
    outputs = output_columns(model)
    if not isinstance(body, dict) or not isinstance(body.get("predictions"), list):
        raise PayloadError('response is not {"predictions": [...]}')
    result = []
    for i, item in enumerate(body["predictions"]):
        if isinstance(item, dict):
            if outputs[0].name not in item:
                raise PayloadError(f"prediction {i} has no {outputs[0].name!r} key")
            result.append({c.name: coerce(item.get(c.name), c) for c in outputs})
        elif isinstance(item, list):
            raise PayloadError(f"prediction {i} is a list, expected a value or an object")
        else:
            result.append({outputs[0].name: coerce(item, outputs[0])})
    return result


def _model_version(row: dict[str, Any], body: Any) -> str | None:
    if row.get("served_entity_id"):
        return str(row["served_entity_id"])
    if isinstance(body, dict):
        version = body.get("model_version") or (body.get("params") or {}).get("model_version")
        if version is not None:
            return str(version)
    return None


def unpack_payload(row: dict[str, Any], model: Model) -> list[dict[str, Any]]:
    """One payload row -> its inference-log rows. PayloadError if the payload is unusable."""
    status = row.get("status_code")
    if status != 200:
        raise PayloadError(f"status_code {status}")
    try:
        request = json.loads(row.get("request") or "")
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"request is not valid JSON ({exc})") from None
    try:
        response = json.loads(row.get("response") or "")
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"response is not valid JSON ({exc})") from None
    records = request_records(request, model.feature_names())
    predictions = response_predictions(response, model)
    if not records:
        raise PayloadError("request has no rows")
    if len(records) != len(predictions):
        raise PayloadError(f"request has {len(records)} rows but response has {len(predictions)} predictions")
    version = _model_version(row, request)
    out = []
    for index, (record, prediction) in enumerate(zip(records, predictions, strict=True)):
        values = {c.name: coerce(record.get(c.name), c) for c in model.features}
        out.append(
            {
                **values,
                **prediction,
                model.label.name: None,
                model.model_id_column: version,
                model.timestamp_column: row.get("request_time"),
                "databricks_request_id": row.get("databricks_request_id"),
                "client_request_id": row.get("client_request_id"),
                "row_index": index,
            }
        )
    return out


def parse_payloads(batch: pd.DataFrame, model: Model) -> pd.DataFrame:
    """Pure function over a batch of payload rows (see module docstring)."""
    rows: list[dict[str, Any]] = []
    for payload in batch.to_dict("records"):
        payload = {k: (None if _is_missing(v) else v) for k, v in payload.items()}
        carried = {"status_code": payload.get("status_code"), "request": payload.get("request"), "response": payload.get("response")}
        try:
            rows.extend({**r, **carried, "reason": None} for r in unpack_payload(payload, model))
        except PayloadError as exc:
            rows.append(
                {
                    **carried,
                    "reason": str(exc),
                    model.timestamp_column: payload.get("request_time"),
                    model.model_id_column: payload.get("served_entity_id"),
                    "databricks_request_id": payload.get("databricks_request_id"),
                    "client_request_id": payload.get("client_request_id"),
                }
            )
    return typed_frame(rows, unpacked_columns(model))


_PANDAS_DTYPES = {"string": object, "double": "float64", "float": "float32", "bigint": "Int64", "int": "Int32", "boolean": "boolean"}


def typed_frame(rows: list[dict[str, Any]], columns: list[Column]) -> pd.DataFrame:
    """Rows as a frame with exactly these columns and nullable dtypes (what mapInPandas and
    Arrow expect: integers stay integers even with nulls)."""
    frame = pd.DataFrame.from_records(rows, columns=[c.name for c in columns])
    for c in columns:
        if c.type == "timestamp":
            frame[c.name] = pd.to_datetime(frame[c.name], utc=True)
        elif c.type in _PANDAS_DTYPES:
            frame[c.name] = frame[c.name].astype(_PANDAS_DTYPES[c.type])
    return frame
