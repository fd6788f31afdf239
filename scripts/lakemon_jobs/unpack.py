"""`lakemon unpack`: AI-gateway payloads -> one inference-log row per prediction; late labels.

Steps (SQL is Databricks SQL; the local engine transpiles it to DuckDB with SQLGlot):
1. Check every table involved has the columns we need; stop with a clear message otherwise,
   before anything is written.
2. Select the payload rows not unpacked yet: request_time at or after the watermark (newest
   request already unpacked or quarantined, minus a lookback for late-arriving logs) and whose
   (databricks_request_id, request_time) is in neither the inference log nor the quarantine.
3. Parse them with the pure function `payloads.parse_payloads` (mapInPandas on Spark).
4. MERGE the good rows into the inference log on (databricks_request_id, row_index), and the
   unusable payloads into the quarantine table on (databricks_request_id, request_time): a
   rerun inserts nothing.
5. Join late labels: the newest label per (client_request_id, row_index) fills rows whose label
   is still null. Labels never overwrite a label already set.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from lakemon.config.model import Column, Model
from lakemon.tables import ModelTables, inference_log_columns, labels_columns

from .context import JobContext, add_context_arguments
from .payload_table import PAYLOAD_SCHEMA
from .payloads import parse_payloads, unpacked_columns
from .retention import enforce_retention
from .tables import TableEngine, TableError, engine_for

UNPACKED_VIEW = "lakemon_unpacked"
DEFAULT_LOOKBACK_HOURS = 24
"""Payload rows can land up to about an hour late; a day of overlap is cheap (key dedupe)."""

QUARANTINE_COLUMNS = [
    Column(name="databricks_request_id", type="string"),
    Column(name="client_request_id", type="string"),
    Column(name="request_time", type="timestamp"),
    Column(name="status_code", type="int"),
    Column(name="request", type="string"),
    Column(name="response", type="string"),
    Column(name="served_entity_id", type="string"),
    Column(name="reason", type="string"),
    Column(name="quarantined_at", type="timestamp"),
]
"""Columns of ModelTables.quarantine: the raw payload row, why it was set aside, and when."""
PAYLOAD_COLUMNS = [Column(name=f.name, type="string") for f in PAYLOAD_SCHEMA]  # names only are checked


@dataclass
class UnpackResult:
    payload_rows: int = 0
    """New payload rows read in this run."""
    inserted: int = 0
    """Inference-log rows written."""
    quarantined: int = 0
    """Payload rows set aside in this run (quarantine rows written)."""
    reasons: dict[str, int] = field(default_factory=dict)
    labels_joined: int = 0


def new_payloads_sql(tables: ModelTables, model: Model, lookback_hours: int | None) -> str:
    log, quarantine, ts = tables.inference_log, tables.quarantine, model.timestamp_column
    since = (
        "MIN(TIMESTAMP '1970-01-01 00:00:00')"  # an aggregate, so `watermark` has exactly one row
        if lookback_hours is None
        else f"COALESCE(MAX(w) - INTERVAL {int(lookback_hours)} HOURS, TIMESTAMP '1970-01-01 00:00:00')"
    )
    return f"""
WITH watermark AS (
  SELECT {since} AS since
  FROM (SELECT MAX(`{ts}`) AS w FROM {log} UNION ALL SELECT MAX(request_time) AS w FROM {quarantine}) AS m
),
processed AS (
  SELECT databricks_request_id, `{ts}` AS request_time FROM {log}
  WHERE `{ts}` >= (SELECT since FROM watermark)
  UNION ALL
  SELECT databricks_request_id, request_time FROM {quarantine}
  WHERE request_time >= (SELECT since FROM watermark)
)
SELECT p.*
FROM {tables.payload} AS p
LEFT ANTI JOIN processed AS d
  ON p.databricks_request_id <=> d.databricks_request_id AND p.request_time <=> d.request_time
WHERE p.request_time >= (SELECT since FROM watermark)
QUALIFY ROW_NUMBER() OVER (PARTITION BY p.databricks_request_id, p.request_time ORDER BY p.status_code) = 1
"""


def good_rows_sql(model: Model) -> str:
    names = ", ".join(f"`{c.name}`" for c in inference_log_columns(model))
    return f"SELECT {names} FROM {UNPACKED_VIEW} WHERE reason IS NULL"


def quarantine_rows_sql(model: Model) -> str:
    return f"""
SELECT databricks_request_id, client_request_id, `{model.timestamp_column}` AS request_time, status_code,
       request, response, `{model.model_id_column}` AS served_entity_id, reason,
       current_timestamp() AS quarantined_at
FROM {UNPACKED_VIEW} WHERE reason IS NOT NULL
"""


def reasons_sql() -> str:
    return f"SELECT reason, COUNT(*) AS n FROM {UNPACKED_VIEW} WHERE reason IS NOT NULL GROUP BY reason ORDER BY n DESC"


def late_labels_sql(tables: ModelTables, model: Model) -> str:
    label = model.label.name
    return f"""
WITH latest AS (
  SELECT client_request_id, row_index, `{label}`
  FROM {tables.labels}
  WHERE client_request_id IS NOT NULL AND row_index IS NOT NULL AND `{label}` IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (PARTITION BY client_request_id, row_index ORDER BY label_time DESC) = 1
)
SELECT l.client_request_id, l.row_index, l.`{label}`
FROM latest AS l
LEFT SEMI JOIN {tables.inference_log} AS t
  ON t.client_request_id = l.client_request_id AND t.row_index = l.row_index AND t.`{label}` IS NULL
"""


def check_tables(engine: TableEngine, tables: ModelTables, model: Model) -> None:
    """Step 1: fail before any write if a table is missing or lacks columns."""
    engine.require_columns(tables.payload, PAYLOAD_COLUMNS)
    for name, columns in ((tables.inference_log, inference_log_columns(model)), (tables.quarantine, QUARANTINE_COLUMNS)):
        if engine.exists(name):
            engine.require_columns(name, columns)
    if engine.exists(tables.labels):
        engine.require_columns(tables.labels, labels_columns(model))


def unpack_payloads(
    ctx: JobContext,
    lookback_hours: int | None = DEFAULT_LOOKBACK_HOURS,
    progress: Callable[[str], None] = print,
    engine: TableEngine | None = None,
) -> UnpackResult:
    """Unpack new payloads and join late labels. `lookback_hours=None` rescans every payload
    row (still idempotent). Raises TableError (nothing written) if a table is unusable."""
    engine = engine or engine_for(ctx)
    tables, model = ctx.tables, ctx.model
    check_tables(engine, tables, model)
    engine.create_if_missing(tables.inference_log, inference_log_columns(model))
    engine.create_if_missing(tables.quarantine, QUARANTINE_COLUMNS)

    result = UnpackResult()
    progress(f"unpack: reading new rows of {tables.payload}")
    parse = functools.partial(parse_payloads, model=model)
    engine.map_rows(new_payloads_sql(tables, model, lookback_hours), parse, unpacked_columns(model), UNPACKED_VIEW)
    # Counts first: on Spark the view is recomputed by each statement, and the writes below
    # change what "not unpacked yet" means (harmless for the MERGEs, which are keyed).
    counts = engine.query(
        f"SELECT COUNT(*) AS payloads FROM (SELECT DISTINCT databricks_request_id, `{model.timestamp_column}` "
        f"FROM {UNPACKED_VIEW}) AS p"
    )
    result.payload_rows = int(counts["payloads"].iloc[0])
    result.reasons = {str(r.reason): int(r.n) for r in engine.query(reasons_sql()).itertuples()}
    progress(f"unpack: {result.payload_rows} new payload rows, {sum(result.reasons.values())} unusable")

    result.inserted = engine.insert_new(
        tables.inference_log, good_rows_sql(model), ["databricks_request_id", "row_index"], inference_log_columns(model)
    )
    result.quarantined = engine.insert_new(
        tables.quarantine, quarantine_rows_sql(model), ["databricks_request_id", "request_time"], QUARANTINE_COLUMNS
    )
    progress(f"unpack: {result.inserted} inference-log rows written, {result.quarantined} payloads quarantined")
    for reason, n in result.reasons.items():
        progress(f"unpack:   quarantined x{n}: {reason}")

    if engine.exists(tables.labels):
        label = model.label.name
        result.labels_joined = engine.update_from(
            tables.inference_log,
            late_labels_sql(tables, model),
            ["client_request_id", "row_index"],
            {label: f"s.{label}"},
            f"t.{label} IS NULL",
        )
        progress(f"unpack: {result.labels_joined} late labels joined from {tables.labels}")
    else:
        progress(f"unpack: no labels table {tables.labels} yet; labels stay null")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_context_arguments(parser, reads_a_run=True)
    parser.add_argument(
        "--lookback-hours",
        type=int,
        default=DEFAULT_LOOKBACK_HOURS,
        help=f"re-read payloads this long before the newest unpacked request (default {DEFAULT_LOOKBACK_HOURS})",
    )
    parser.add_argument("--full", action="store_true", help="re-read the whole payload table (still idempotent)")
    parser.add_argument(
        "--no-retention",
        action="store_true",
        help="skip deleting inference-log rows older than inference.retention_days (done by default)",
    )


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)
    try:
        engine = engine_for(ctx)
        unpack_payloads(ctx, lookback_hours=None if args.full else args.lookback_hours, engine=engine)
        if not args.no_retention:
            enforce_retention(ctx, engine=engine)
    except TableError as exc:
        print(f"lakemon unpack: {exc} (nothing was written)")
        return 2
    return 0
