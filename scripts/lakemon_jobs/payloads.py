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
(what model_code/served_model.py returns: {"prediction": 1, "prediction_proba": 0.83})
or a list of scalars (the class only; probability stays null).
Model version: the payload's served_entity_id, else the request's "model_version" (top level
or under "params").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from lakemon.config.model import Column, Model
from lakemon.contract.payload import REASON, REQUEST, REQUEST_TIME, RESPONSE, SERVED_ENTITY_ID, STATUS_CODE
from lakemon.contract.tables import (
    CLIENT_REQUEST_ID,
    REQUEST_ID,
    ROW_INDEX,
    inference_log_columns,
    output_columns,
)

from .table_engines.schemas import to_arrow

REQUEST_FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
EXTRA_COLUMNS = [
    Column(name=STATUS_CODE, type="int"),
    Column(name=REQUEST, type="string"),
    Column(name=RESPONSE, type="string"),
    Column(name=REASON, type="string"),
]
"""Set only on quarantine rows (one per unusable payload): the raw request and response, bounded
by `bounded_raw`, and why the payload was set aside. Unpacked rows leave them null, so a
request of n records is never copied n times (memory stays linear in the request size)."""

RAW_KEEP_CHARS = 32_768
"""Characters of the raw request/response a quarantine row keeps; longer texts are cut and
end with their length and SHA-256 (the full text stays in the payload table)."""
REASON_MAX_CHARS = 500
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
"""A request_time later than the run's start plus this is a client-set clock, not a request
time: the payload is quarantined (see docs/jobs.md, "Which payload rows a run reads")."""

_INT_RANGES = {"bigint": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1)}
_FLOAT32_MAX = 3.4028234663852886e38
_TIMESTAMP_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))
"""Timestamps pandas (and so mapInPandas) can hold: about 1677-09-22 to 2262-04-11."""


OUT_OF_RANGE_TIME = "request_time_out_of_range"
"""Input column set (as text) instead of request_time when that is outside the years pandas can
hold (unpack.PANDAS_TIME_RANGE); such a payload is quarantined."""


class PayloadError(ValueError):
    """Why one payload row cannot be unpacked (becomes the quarantine reason)."""


def unpacked_columns(model: Model) -> list[Column]:
    return [*inference_log_columns(model), *EXTRA_COLUMNS]


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def safe_text(text: str, limit: int | None = None) -> str:
    """`text` as valid UTF-8 (lone surrogates become backslash escapes), cut to `limit` chars."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def bounded_raw(text: str | None) -> str | None:
    """A raw request/response for the quarantine table: whole up to RAW_KEEP_CHARS, else its
    first RAW_KEEP_CHARS characters + `… [truncated: <n> characters, sha256 <hex>]`."""
    if text is None:
        return None
    text = safe_text(text)
    if len(text) <= RAW_KEEP_CHARS:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"{text[:RAW_KEEP_CHARS]}… [truncated: {len(text)} characters, sha256 {digest}]"


def _short(value: Any) -> str:
    """A value for a reason message: repr, at most 60 characters."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**40 else f"an integer with {len(str(abs(value)))} digits"
    return text if len(text) <= 60 else text[:57] + "..."


def _utf8(value: str, column: Column) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError(f"column {column.name}: text is not valid Unicode (lone surrogate {_short(value)})") from None
    return value


def _timestamp(value: Any, column: Column) -> pd.Timestamp:
    if not isinstance(value, str):
        raise PayloadError(f"column {column.name}: expected an ISO-8601 {column.type} string, got {_short(value)}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"column {column.name}: {_short(value)} is not an ISO-8601 {column.type}") from None
    stamp = pd.Timestamp(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).tz_convert("UTC")
    if not _TIMESTAMP_RANGE[0] <= stamp <= _TIMESTAMP_RANGE[1]:
        raise PayloadError(f"column {column.name}: {_short(value)} is outside the years 1678-2261")
    return stamp


def _date(value: Any, column: Column) -> dt.date:
    if not isinstance(value, str):
        raise PayloadError(f"column {column.name}: expected an ISO-8601 date string, got {_short(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"column {column.name}: {_short(value)} is not an ISO-8601 date") from None


def coerce(value: Any, column: Column) -> Any:
    """A JSON value as the column's type; PayloadError if it cannot be one or would not fit the
    column (out of range integers, non-finite numbers, invalid Unicode): whatever coerce
    returns can be written to the table."""
    if _is_missing(value):
        return None
    kind = column.type
    if isinstance(value, dict | list):
        raise PayloadError(f"column {column.name}: expected a {kind} value, got a JSON {type(value).__name__}")
    if kind == "string":
        if isinstance(value, str):
            return _utf8(value, column)
        return json.dumps(value)  # a number or true/false sent for a text column: its JSON text
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError(f"column {column.name}: expected a number, got {_short(value)}")
        try:
            number = float(value)
        except OverflowError:
            raise PayloadError(f"column {column.name}: {_short(value)} is out of range for a {kind}") from None
        if not math.isfinite(number):
            raise PayloadError(f"column {column.name}: {_short(value)} is not a finite number")
        if kind == "float" and abs(number) > _FLOAT32_MAX:
            raise PayloadError(f"column {column.name}: {_short(value)} is out of range for a float")
        return number
    if kind in _INT_RANGES:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise PayloadError(f"column {column.name}: expected an integer, got {_short(value)}")
        if not isinstance(value, int | float):
            raise PayloadError(f"column {column.name}: expected an integer, got {_short(value)}")
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            raise PayloadError(f"column {column.name}: {_short(value)} is out of range for a {kind}")
        return int(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise PayloadError(f"column {column.name}: expected true/false, got {_short(value)}")
    if kind == "timestamp":
        return _timestamp(value, column)
    if kind == "date":
        return _date(value, column)
    raise PayloadError(f"column {column.name}: unsupported column type {kind}")  # pragma: no cover (config forbids it)


_NUMBER_TYPES = {float, int, type(None)}
_INT_TYPES = {int, type(None)}


def coerce_column(values: list[Any], column: Column) -> list[Any] | np.ndarray | None:
    """`[coerce(v, column) for v in values]` for the common cases, checked a column at a time
    (one type scan, one UTF-8 check, one range check) instead of value by value; None when any
    value needs the value-by-value path (which then gives the exact error, or the same values).
    A double/float column comes back as a float64 array, NaN where coerce gives None (the same
    values once typed: typed_frame makes a NaN-for-null float column either way).
    Why: unpacking 10M rows spends most of its time in per-value coercion."""
    kind = column.type
    types = set(map(type, values))
    if kind == "string":
        if not types <= {str, type(None)}:
            return None
        try:
            "".join(filter(None, values)).encode("utf-8")  # every str (empty ones add nothing)
        except UnicodeEncodeError:
            return None
        return values
    if kind in ("double", "float"):
        if not types <= _NUMBER_TYPES:
            return None
        try:  # None and NaN become NaN (null); integers round as float() rounds them
            numbers = np.array(values, dtype=np.float64)
        except OverflowError:
            return None
        present = numbers[~np.isnan(numbers)]
        if not np.isfinite(present).all():
            return None
        if kind == "float" and present.size and np.abs(present).max() > _FLOAT32_MAX:
            return None
        return numbers
    if kind in _INT_RANGES:
        if not types <= _INT_TYPES:
            return None
        present = [v for v in values if v is not None]
        low, high = _INT_RANGES[kind]
        if present and not (low <= min(present) and max(present) <= high):
            return None
        return values
    if kind == "boolean":
        return values if types <= {bool, type(None)} else None
    return None


def request_records(body: Any, feature_names: list[str]) -> list[dict[str, Any]]:
    """The request's input rows as dicts, whatever the format."""
    layout, columns, rows = request_layout(body, feature_names)
    if layout == "positional":
        return [dict(zip(columns, r, strict=True)) for r in rows]
    if layout == "columns":
        return [{k: v[i] for k, v in rows.items()} for i in range(len(next(iter(rows.values()))))]
    return rows


def request_layout(body: Any, feature_names: list[str]) -> tuple[str, list[str], Any]:
    """The request's rows as they are laid out, after checking them (PayloadError otherwise):
    ("positional", column names, rows as lists), ("columns", [], {name: values}) or
    ("records", [], rows as dicts)."""
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
        if not all(isinstance(c, str) for c in columns):
            raise PayloadError("dataframe_split: every entry of 'columns' must be a column name (a string)")
        if len(set(columns)) != len(columns):
            raise PayloadError("dataframe_split: 'columns' names a column twice")
        rows = data["data"]
        if any(not isinstance(r, list) or len(r) != len(columns) for r in rows):
            raise PayloadError(f"dataframe_split: every row of 'data' must have {len(columns)} values")
        return "positional", columns, rows
    if fmt in ("instances", "inputs") and isinstance(data, dict):  # columnar: {"col": [v, ...]}
        lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
        if len(lengths) != 1 or -1 in lengths:
            raise PayloadError(f"{fmt}: a dict of columns needs equally long lists")
        return "columns", [], data
    if not isinstance(data, list):
        raise PayloadError(f"{fmt} must be a list")
    kinds = set(map(type, data))
    if kinds == {dict}:
        return "records", [], data
    if kinds == {list} and fmt in ("instances", "inputs") and all(len(r) == len(feature_names) for r in data):
        return "positional", feature_names, data
    records = []
    for i, row in enumerate(data):
        if isinstance(row, dict):
            records.append(row)
        elif fmt in ("instances", "inputs") and isinstance(row, list) and len(row) == len(feature_names):
            records.append(dict(zip(feature_names, row, strict=True)))
        else:
            raise PayloadError(f"{fmt}: row {i} is not a record")
    return "records", [], records


def response_predictions(body: Any, model: Model, outputs: list[Column] | None = None) -> list[dict[str, Any]]:
    """The response's predictions as dicts keyed by the model's output column names
    (`outputs`: output_columns(model), passed by callers that have it already)."""
    outputs = outputs or output_columns(model)
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


def request_columns(body: Any, names: list[str], feature_names: list[str]) -> tuple[int, dict[str, list[Any]]]:
    """(rows, {name: values}) of the request for these column names (None where a row lacks
    one), checked as request_records checks, read a column at a time (no dict per row)."""
    layout, columns, rows = request_layout(body, feature_names)
    if layout == "positional":
        return len(rows), _positional(rows, columns, names)
    if layout == "columns":
        n = len(next(iter(rows.values())))
        return n, {name: rows[name] if name in rows else [None] * n for name in names}
    return len(rows), {name: [r.get(name) for r in rows] for name in names}


def _positional(rows: list[list[Any]], columns: list[str], names: list[str]) -> dict[str, list[Any]]:
    where = {c: i for i, c in enumerate(columns)}
    return {name: [r[where[name]] for r in rows] if name in where else [None] * len(rows) for name in names}


def prediction_columns(body: Any, model: Model, outputs: list[Column] | None = None) -> dict[str, list[Any]]:
    """response_predictions as columns (every output column, None where a prediction has no
    value), coerced a column at a time; the same errors, from response_predictions itself.
    `outputs`: output_columns(model) when the caller has it (building it validates a Column:
    per payload, that was a measurable share of unpack's time)."""
    outputs = outputs or output_columns(model)
    items = body.get("predictions") if isinstance(body, dict) else None
    if isinstance(items, list):
        types = set(map(type, items))
        if types == {dict} and all(outputs[0].name in item for item in items):
            raw = {c.name: [item.get(c.name) for item in items] for c in outputs}
        elif items and not types & {dict, list}:
            raw = {outputs[0].name: items, **{c.name: [None] * len(items) for c in outputs[1:]}}
        else:
            raw = None
        if raw is not None:
            coerced = {c.name: coerce_column(raw[c.name], c) for c in outputs}
            if all(v is not None for v in coerced.values()):
                return coerced
    rows = response_predictions(body, model, outputs)  # the value-by-value path: its error, or its values
    return {c.name: [r.get(c.name) for r in rows] for c in outputs}


_VERSION_COLUMN = Column(name="model_version", type="string")
RESERVED_MODEL_VERSIONS = frozenset({"*"})
"""Model ids the metrics tables use for themselves: Databricks writes `*` as the model id of
its all-models rows (the profile and drift metrics tables' `model_id` column, monitoring.schema
ALL_MODELS), so a served version literally `*` would be merged with them."""


def _model_version(row: dict[str, Any], body: dict[str, Any]) -> str | None:
    if row.get(SERVED_ENTITY_ID):
        version = str(row[SERVED_ENTITY_ID])
    else:
        params = body.get("params")
        version = body.get("model_version")
        if version is None and isinstance(params, dict):
            version = params.get("model_version")
        version = coerce(version, _VERSION_COLUMN)
    if version is not None and version.strip() in RESERVED_MODEL_VERSIONS:
        raise PayloadError(
            f"model version {version!r} is reserved: the monitor's metrics tables use '*' for all models"
        )
    return version


def _load_json(text: Any, what: str) -> Any:
    try:
        return json.loads(text or "")
    except RecursionError:
        raise PayloadError(f"{what} is nested too deeply to parse") from None
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"{what} is not valid JSON ({safe_text(str(exc), 200)})") from None


def request_time_problem(request_time: Any, now: pd.Timestamp | None) -> str | None:
    """Why a payload's request_time cannot be used as the inference-log timestamp, or None.

    Null: the monitor windows rows by this time, so a row without one cannot be monitored.
    Later than `now` + FUTURE_TOLERANCE: no request is logged before it is made, so the time
    was set by a client (the embedded rehearsal clock); it would put the row into a window
    that does not exist yet. Both are quarantined, never dropped."""
    if _is_missing(request_time):
        return f"{REQUEST_TIME} is null"
    if now is not None and to_utc(request_time) > now + FUTURE_TOLERANCE:
        return f"{REQUEST_TIME} {to_utc(request_time).isoformat()} is in the future (the run started {now.isoformat()})"
    return None


def to_utc(value: Any) -> pd.Timestamp:
    """A timestamp as a UTC pandas Timestamp; naive values are UTC (the engines read in UTC)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def unpack_columns(row: dict[str, Any], model: Model, now: pd.Timestamp | None = None) -> tuple[int, dict[str, list[Any]]]:
    """unpack_payload as (rows, {column: values}) over the inference-log columns: the same
    checks in the same order, so the same reason for a bad payload, with the values read and
    coerced a column at a time (coerce_column) where they allow it."""
    parsed = _parse_payload(row, model, now)
    return parsed.rows, parsed.columns(model)


class _Parsed:
    """One payload, parsed: `rows` rows whose values are `per_row` (column -> one value per row)
    and `per_payload` (column -> one value for all its rows); a column in neither is null.
    `unpacked`: rows of the inference log (row_index 0..rows-1), else the one quarantine row.
    Kept apart so a batch repeats the per-payload values with one numpy call per column instead
    of a Python list of `rows` copies per payload."""

    __slots__ = ("rows", "per_row", "per_payload", "unpacked")

    def __init__(self, rows: int, per_row: dict[str, list[Any]], per_payload: dict[str, Any], unpacked: bool) -> None:
        self.rows, self.per_row, self.per_payload, self.unpacked = rows, per_row, per_payload, unpacked

    def columns(self, model: Model) -> dict[str, list[Any]]:
        """Every value as a list per column (what unpack_columns returns)."""
        n = self.rows
        out = {name: [value] * n for name, value in self.per_payload.items()}
        out.update({name: _as_list(values) for name, values in self.per_row.items()})
        if self.unpacked:
            out[model.label.name] = [None] * n
            out[ROW_INDEX] = list(range(n))
        return out


def _as_list(values: list[Any] | np.ndarray) -> list[Any]:
    """A coerce_column result as coerce's values: a float array's NaN as None."""
    if isinstance(values, np.ndarray):
        return [None if v != v else v for v in values.tolist()]
    return values


def _parse_payload(
    row: dict[str, Any], model: Model, now: pd.Timestamp | None, outputs: list[Column] | None = None
) -> _Parsed:
    """The checks and values of unpack_columns (PayloadError for an unusable payload).
    `outputs`: output_columns(model), computed once per batch by parse_payloads."""
    if not row.get(REQUEST_ID):
        raise PayloadError(f"{REQUEST_ID} is null: the payload cannot be identified")
    if row.get(OUT_OF_RANGE_TIME):
        raise PayloadError(f"{REQUEST_TIME} {row[OUT_OF_RANGE_TIME]} is outside the years 1678-2261")
    problem = request_time_problem(row.get(REQUEST_TIME), now)
    if problem:
        raise PayloadError(problem)
    status = row.get(STATUS_CODE)
    if status != 200:
        raise PayloadError(f"{STATUS_CODE} {status}")
    request = _load_json(row.get(REQUEST), "request")
    response = _load_json(row.get(RESPONSE), "response")
    names = model.feature_names()
    n, features = request_columns(request, names, names)
    predictions = prediction_columns(response, model, outputs)
    if not n:
        raise PayloadError("request has no rows")
    n_predictions = len(next(iter(predictions.values())))
    if n != n_predictions:
        raise PayloadError(f"request has {n} rows but response has {n_predictions} predictions")
    version = _model_version(row, request)
    values = {c.name: coerce_column(features[c.name], c) for c in model.features}
    if any(v is None for v in values.values()):  # row by row, as unpack_payload: the first bad value's error
        values = {c.name: [] for c in model.features}
        for i in range(n):
            for c in model.features:
                values[c.name].append(coerce(features[c.name][i], c))
    per_payload = {
        model.model_id_column: version,
        model.timestamp_column: row.get(REQUEST_TIME),
        REQUEST_ID: row.get(REQUEST_ID),
        CLIENT_REQUEST_ID: row.get(CLIENT_REQUEST_ID),
    }
    return _Parsed(n, {**values, **predictions}, per_payload, unpacked=True)


def unpack_payload(row: dict[str, Any], model: Model, now: pd.Timestamp | None = None) -> list[dict[str, Any]]:
    """One payload row -> its inference-log rows. PayloadError if the payload is unusable."""
    return _rows(*unpack_columns(row, model, now))


def _quarantine_row(payload: dict[str, Any], reason: str, model: Model) -> dict[str, Any]:
    return {
        STATUS_CODE: payload.get(STATUS_CODE),
        REQUEST: bounded_raw(payload.get(REQUEST)),
        RESPONSE: bounded_raw(payload.get(RESPONSE)),
        REASON: safe_text(reason, REASON_MAX_CHARS),
        model.timestamp_column: payload.get(REQUEST_TIME),
        model.model_id_column: payload.get(SERVED_ENTITY_ID),
        REQUEST_ID: payload.get(REQUEST_ID),
        CLIENT_REQUEST_ID: payload.get(CLIENT_REQUEST_ID),
    }


def _parsed_or_quarantined(
    payload: dict[str, Any], model: Model, now: pd.Timestamp | None, outputs: list[Column] | None = None
) -> _Parsed:
    """The unpacked rows of one payload, or its one quarantine row. Never raises: anything a
    payload can make go wrong (including a bug of ours) is that payload's quarantine reason."""
    try:
        return _parse_payload(payload, model, now, outputs)
    except PayloadError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - the isolation boundary: one payload never stops the others
        reason = f"unexpected {type(exc).__name__} while unpacking: {exc}"
    return _Parsed(1, {}, _quarantine_row(payload, reason, model), unpacked=False)


def _rows(n: int, columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def parse_payloads(batch: pd.DataFrame, model: Model, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Pure function over a batch of payload rows (see module docstring). `now` is the run's
    start (UTC): request times after it are quarantined (request_time_problem)."""
    columns = unpacked_columns(model)
    payloads = [{k: (None if _is_missing(v) else v) for k, v in p.items()} for p in batch.to_dict("records")]
    outputs = output_columns(model)
    parsed = [_parsed_or_quarantined(p, model, now, outputs) for p in payloads]
    try:
        return writable_frame(_batch_columns(parsed, columns, model, batch, outputs), columns)
    except Exception:  # noqa: BLE001 - find the payload(s) that cannot be written; keep the rest
        pass
    kept: list[dict[str, Any]] = []
    for payload, one in zip(payloads, parsed, strict=True):
        payload_rows = _rows(one.rows, one.columns(model))
        problem = _write_problem(payload_rows, columns)
        if problem is None:
            kept.extend(payload_rows)
            continue
        reason = payload_rows[0].get(REASON) or f"cannot be written: {problem}"
        row = _quarantine_row(payload, reason, model)
        if _write_problem([row], columns):  # even the raw row does not fit: keep the texts, name the rest
            odd = f"{REQUEST_TIME} {payload.get(REQUEST_TIME)!s}, {STATUS_CODE} {payload.get(STATUS_CODE)!s}"
            row = {**row, model.timestamp_column: None, STATUS_CODE: None, REASON: safe_text(f"{reason} ({odd})", REASON_MAX_CHARS)}
        kept.append(row)
    return writable_frame(kept, columns)


def _batch_columns(
    parsed: list[_Parsed], columns: list[Column], model: Model, batch: pd.DataFrame, outputs: list[Column]
) -> dict[str, Any]:
    """The rows of every payload of a batch, in order, as typed columns: per-row values
    concatenated, per-payload values typed once per payload and repeated (`take`).
    `outputs`: output_columns(model), as parse_payloads computed it for the batch."""
    counts = np.fromiter((p.rows for p in parsed), dtype=np.int64, count=len(parsed))
    repeat = np.repeat(np.arange(len(parsed)), counts)
    varying = {c.name for c in model.features} | {c.name for c in outputs}
    out: dict[str, Any] = {}
    for column in columns:
        name = column.name
        if name in varying and column.type in ("double", "float"):
            out[name] = np.concatenate(
                [np.full(p.rows, np.nan) if name not in p.per_row else np.asarray(p.per_row[name], dtype=np.float64) for p in parsed]
            ) if parsed else np.zeros(0)
        elif name in varying:
            values: list[Any] = []
            for p in parsed:
                values.extend(p.per_row[name] if name in p.per_row else [None] * p.rows)
            out[name] = values
        elif name == ROW_INDEX:
            index = np.concatenate([np.arange(p.rows) for p in parsed]) if parsed else np.zeros(0, dtype=np.int64)
            missing = np.repeat([not p.unpacked for p in parsed], counts).astype(bool)
            out[name] = pd.Series(pd.arrays.IntegerArray(index.astype(np.int64), missing))
        else:
            if name == model.timestamp_column and REQUEST_TIME in batch.columns and pd.api.types.is_datetime64_any_dtype(batch[REQUEST_TIME].dtype):
                # every row (unpacked or quarantined) carries its payload's request_time: the
                # batch's typed column, not one Timestamp object per payload
                each: Any = batch[REQUEST_TIME]
            else:
                each = [p.per_payload.get(name) for p in parsed]
            out[name] = _typed_column(each, column).take(repeat).reset_index(drop=True)
    return out


def _write_problem(rows: list[dict[str, Any]], columns: list[Column]) -> str | None:
    """Why these rows cannot be written (any conversion error), or None."""
    try:
        writable_frame(rows, columns)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return None


def writable_frame(rows: list[dict[str, Any]] | dict[str, list[Any]], columns: list[Column]) -> pd.DataFrame:
    """typed_frame, checked to convert to the Arrow schema the engines write with (so a value
    that would fail the write fails here, where it can be blamed on its payload). `rows`: a
    list of row dicts, or a dict of equally long column lists."""
    frame = typed_frame(rows, columns)
    to_arrow(frame, columns)
    return frame


_PANDAS_DTYPES = {"string": object, "double": "float64", "float": "float32", "bigint": "Int64", "int": "Int32", "boolean": "boolean"}


def typed_frame(rows: list[dict[str, Any]] | dict[str, list[Any]], columns: list[Column]) -> pd.DataFrame:
    """Rows (row dicts, or a dict of column lists) as a frame with exactly these columns and
    nullable dtypes (what mapInPandas and Arrow expect: integers stay integers even with nulls)."""
    names = [c.name for c in columns]
    if isinstance(rows, dict):
        # copy=False: the columns are new already; pandas would otherwise copy them into blocks
        return pd.DataFrame({c.name: _typed_column(rows[c.name], c) for c in columns}, columns=names, copy=False)
    frame = pd.DataFrame.from_records(rows, columns=names)
    for c in columns:
        if c.type == "timestamp":
            frame[c.name] = utc_micros(frame[c.name])
        elif c.type in _PANDAS_DTYPES:
            frame[c.name] = frame[c.name].astype(_PANDAS_DTYPES[c.type])
    return frame


def _typed_column(values: list[Any] | pd.Series, column: Column) -> pd.Series:
    """One column list as typed_frame types it, built straight in its dtype (no object column
    first: a million values per second matter here)."""
    if isinstance(values, pd.Series):
        series = values if isinstance(values.index, pd.RangeIndex) and values.index.start == 0 else values.reset_index(drop=True)
    elif column.type in ("double", "float"):
        series = pd.Series(np.asarray(values, dtype=np.float64))
    elif column.type in ("bigint", "int", "boolean"):
        series = pd.Series(pd.array(values, dtype=_PANDAS_DTYPES[column.type]))
    else:
        series = pd.Series(values, dtype=object)
    if column.type == "timestamp":
        return utc_micros(series)
    return series.astype(_PANDAS_DTYPES[column.type], copy=False) if column.type in _PANDAS_DTYPES else series


def utc_micros(values: pd.Series) -> pd.Series:
    """Timestamps as UTC microseconds, as Delta stores them (years 1-9999, where pandas'
    default nanoseconds end in 2262). Naive values are UTC: what DuckDB hands over; Spark's
    mapInPandas hands naive values in the session time zone, UTC by default on Databricks."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("us")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").dt.as_unit("us")
    return values.astype("datetime64[us, UTC]")  # objects: datetimes, aware or naive, and None
