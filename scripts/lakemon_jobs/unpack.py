"""`lakemon unpack`: AI-gateway payloads -> one inference-log row per prediction; late labels.

Steps (SQL is Databricks SQL; the local engine transpiles it to DuckDB with SQLGlot):
1. Check every table involved has the columns we need; stop with a clear message otherwise,
   before anything is written.
2. Choose the payload rows to read by the payload table's commit version, never by the
   client-supplied request_time: the rows inserted since the version the last finished run read
   up to (change data feed, `table_changes`), or the whole table as of the current version on
   the first run, with `--full`, or when the feed cannot be read (see `choose_source`).
3. Of those, the payloads not unpacked or quarantined yet (by databricks_request_id) are parsed
   with the pure function `payloads.parse_payloads` (mapInPandas on Spark). A payload that
   cannot be parsed or written - for whatever reason, including a null or future request_time -
   becomes one quarantine row with its reason; it never stops the run.
4. MERGE the good rows into the inference log on (databricks_request_id, row_index), and the
   unusable payloads into the quarantine table on (databricks_request_id, request_time): a
   rerun inserts nothing.
5. Account: every payload row read must now be in the inference log or the quarantine
   (rows in = unpacked + quarantined, printed). Only then is the run recorded in the
   unpack-runs table, so a run that lost anything is read again by the next one.
6. Join late labels: the newest label per (client_request_id, row_index) fills rows whose label
   is still null. Labels never overwrite a label already set.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from lakemon.config.model import Column, Model
from lakemon.contract.payload import (
    FINISHED_AT,
    INFERENCE_ROWS_WRITTEN,
    PAYLOAD_NAMES,
    PAYLOAD_ROWS,
    PAYLOAD_TABLE,
    PAYLOAD_TABLE_ID,
    PAYLOAD_TYPED,
    PAYLOAD_VERSION,
    QUARANTINE_COLUMNS,
    QUARANTINE_KEYS,
    QUARANTINED,
    QUARANTINED_AT,
    READ_MODE,
    REASON,
    REQUEST,
    REQUEST_TIME,
    RESPONSE,
    SERVED_ENTITY_ID,
    STARTED_AT,
    STATUS_CODE,
    UNPACK_RUN_COLUMNS,
    UNPACK_RUN_KEYS,
    UNPACKED,
)
from lakemon.contract.tables import (
    CLIENT_REQUEST_ID,
    INFERENCE_LOG_KEYS,
    LABEL_KEYS,
    LABEL_TIME,
    REQUEST_ID,
    ROW_INDEX,
    ModelTables,
    inference_log_columns,
    labels_columns,
)

from . import arguments
from .context import JobContext, run_job
from .errors import JobError
from .payloads import OUT_OF_RANGE_TIME, parse_payloads, unpacked_columns
from .progress import EVERY_S, Ticker
from .retention import enforce_retention
from .run_lock import RunInProgress
from .table_engines import TableEngine, TableError, engine_for
from .table_engines.conflicts import CommitConflict
from .table_engines.engine import ChangesUnavailable, TableVersion, check_types, timestamp_sql
from .table_engines.integrity import TableDamaged

SOURCE_VIEW = "lakemon_payload_source"
"""The payload rows this run reads (change feed or snapshot, see choose_source)."""
UNPACKED_VIEW = "lakemon_unpacked"
PROGRESS_EVERY_S = EVERY_S
"""Seconds between two parsing progress lines (tests set it to 0 to see every batch)."""

PAYLOAD_NAMED = [Column(name=name, type="string") for name in PAYLOAD_NAMES]  # names only are checked


@dataclass
class UnpackResult:
    read_mode: str = ""
    """"changes" (rows inserted since the last run), "snapshot" (the whole table) or "none"."""
    payload_version: int | None = None
    """Payload-table version read up to (recorded for the next run)."""
    payload_rows: int = 0
    """Distinct payload rows read in this run (rows in)."""
    new_payloads: int = 0
    """Of those, payloads not unpacked or quarantined before this run."""
    inserted: int = 0
    """Inference-log rows written."""
    quarantined: int = 0
    """Payload rows set aside in this run (quarantine rows written)."""
    reasons: dict[str, int] = field(default_factory=dict)
    accounted_unpacked: int = 0
    """Rows in that are (now) in the inference log."""
    accounted_quarantined: int = 0
    """Rows in that are (now) in the quarantine table and not in the inference log."""
    lost: int = 0
    """Rows in that are in neither: always 0 unless something is broken (the run then fails)."""
    labels_joined: int = 0
    older_than_retention: int = 0
    """Payload rows read whose request_time is older than inference.retention_days before the
    run: retention deletes their rows in this same run, so they are counted and said."""


class RowsLost(JobError):
    """The accounting found payload rows that are neither unpacked nor quarantined."""


def payload_key(id_column: str, time_column: str) -> str:
    """The identity of a payload row: its databricks_request_id; a row without one (never
    written by Databricks, but possible in a hand-made table) is identified by its request_time."""
    return (
        f"COALESCE({id_column}, CONCAT('<no {REQUEST_ID}> ', "
        f"COALESCE(CAST({time_column} AS STRING), '<no {REQUEST_TIME}>')))"
    )


PANDAS_TIME_RANGE = ("1678-01-01 00:00:00+00:00", "2262-01-01 00:00:00+00:00")
"""request_time values pandas can hold (nanoseconds): Spark's mapInPandas fails the whole batch
on a time outside them (measured on Spark 4.3), so such a time reaches the parser as text."""


def new_payloads_sql(tables: ModelTables) -> str:
    """The rows of SOURCE_VIEW not unpacked or quarantined yet, one per payload identity
    (a payload logged twice is read once: a status-200 copy first, then the earliest). A
    request_time outside PANDAS_TIME_RANGE is passed as text in OUT_OF_RANGE_TIME instead.

    Why two passes: the choice among copies of a payload is made on the small columns only
    (`chosen`), and the request/response texts are then read by a join on that choice, so no
    window, sort or CTE ever holds the texts of the whole table (DuckDB materialised all of them
    for a window over the full rows: 5+ GB for 10M unpacked rows). Copies that tie on the choice
    (the same status class and request_time: a row logged twice as it was) are rare; only those
    go through the window over full rows."""
    log, quarantine = tables.inference_log, tables.quarantine
    names = ", ".join(f"s.`{c}`" for c in PAYLOAD_NAMES if c != REQUEST_TIME)
    in_range = f"s.{REQUEST_TIME} BETWEEN TIMESTAMP '{PANDAS_TIME_RANGE[0]}' AND TIMESTAMP '{PANDAS_TIME_RANGE[1]}'"
    key = payload_key(f"p.{REQUEST_ID}", f"p.{REQUEST_TIME}")
    preference = f"CASE WHEN p.{STATUS_CODE} = 200 THEN 0 ELSE 1 END"
    order = f"preference, {REQUEST_TIME} NULLS LAST"
    return f"""
WITH processed AS (
  SELECT DISTINCT {REQUEST_ID} AS k FROM {log} WHERE {REQUEST_ID} IS NOT NULL
  UNION
  SELECT DISTINCT {payload_key(REQUEST_ID, REQUEST_TIME)} AS k FROM {quarantine}
),
candidates AS (
  SELECT {key} AS payload_key, {preference} AS preference, p.{REQUEST_TIME}
  FROM {SOURCE_VIEW} AS p
),
chosen AS (
  SELECT c.payload_key, c.preference, c.{REQUEST_TIME},
         COUNT(*) OVER (PARTITION BY c.payload_key, c.preference, c.{REQUEST_TIME}) AS copies
  FROM candidates AS c
  LEFT ANTI JOIN processed AS d ON c.payload_key = d.k
  QUALIFY ROW_NUMBER() OVER (PARTITION BY c.payload_key ORDER BY {order}) = 1
),
single AS (
  SELECT p.* FROM {SOURCE_VIEW} AS p
  LEFT SEMI JOIN chosen AS c
    ON {key} = c.payload_key AND {preference} = c.preference AND p.{REQUEST_TIME} <=> c.{REQUEST_TIME} AND c.copies = 1
),
tied AS (
  SELECT p.*, {preference} AS preference FROM {SOURCE_VIEW} AS p
  LEFT SEMI JOIN chosen AS c ON {key} = c.payload_key AND c.copies > 1
  QUALIFY ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY {order}) = 1
),
s AS (
  SELECT {", ".join(f"`{c}`" for c in PAYLOAD_NAMES)} FROM single
  UNION ALL
  SELECT {", ".join(f"`{c}`" for c in PAYLOAD_NAMES)} FROM tied
)
SELECT {names},
  CASE WHEN {in_range} THEN s.{REQUEST_TIME} END AS {REQUEST_TIME},
  CASE WHEN NOT ({in_range}) THEN CAST(s.{REQUEST_TIME} AS STRING) END AS {OUT_OF_RANGE_TIME}
FROM s
"""


def accounting_sql(tables: ModelTables) -> str:
    """Every payload identity of SOURCE_VIEW: in the inference log, else in the quarantine, else lost."""
    log, quarantine = tables.inference_log, tables.quarantine
    return f"""
WITH rows_in AS (
  SELECT DISTINCT {payload_key(REQUEST_ID, REQUEST_TIME)} AS k FROM {SOURCE_VIEW}
),
unpacked AS (SELECT DISTINCT {REQUEST_ID} AS k FROM {log} WHERE {REQUEST_ID} IS NOT NULL),
quarantined AS (SELECT DISTINCT {payload_key(REQUEST_ID, REQUEST_TIME)} AS k FROM {quarantine})
SELECT
  COUNT(*) AS rows_in,
  COUNT(u.k) AS unpacked,
  COUNT(CASE WHEN u.k IS NULL THEN q.k END) AS quarantined,
  COUNT(CASE WHEN u.k IS NULL AND q.k IS NULL THEN 1 END) AS lost
FROM rows_in AS i
LEFT JOIN unpacked AS u ON i.k = u.k
LEFT JOIN quarantined AS q ON i.k = q.k
"""


def last_run_sql(tables: ModelTables) -> str:
    return f"""
SELECT {PAYLOAD_TABLE_ID}, {PAYLOAD_VERSION} FROM {tables.unpack_runs}
WHERE {PAYLOAD_TABLE} = '{tables.payload}' AND {PAYLOAD_VERSION} IS NOT NULL
ORDER BY {PAYLOAD_VERSION} DESC, {FINISHED_AT} DESC LIMIT 1
"""


def good_rows_sql(model: Model) -> str:
    names = ", ".join(f"`{c.name}`" for c in inference_log_columns(model))
    return f"SELECT {names} FROM {UNPACKED_VIEW} WHERE {REASON} IS NULL"


def quarantine_rows_sql(model: Model) -> str:
    return f"""
SELECT {REQUEST_ID}, {CLIENT_REQUEST_ID}, `{model.timestamp_column}` AS {REQUEST_TIME}, {STATUS_CODE},
       {REQUEST}, {RESPONSE}, `{model.model_id_column}` AS {SERVED_ENTITY_ID}, {REASON},
       current_timestamp() AS {QUARANTINED_AT}
FROM {UNPACKED_VIEW} WHERE {REASON} IS NOT NULL
"""


def reasons_sql() -> str:
    return f"SELECT {REASON}, COUNT(*) AS n FROM {UNPACKED_VIEW} WHERE {REASON} IS NOT NULL GROUP BY {REASON} ORDER BY n DESC"


def late_labels_sql(tables: ModelTables, model: Model) -> str:
    label = model.label.name
    return f"""
WITH latest AS (
  SELECT {CLIENT_REQUEST_ID}, {ROW_INDEX}, `{label}`
  FROM {tables.labels}
  WHERE {CLIENT_REQUEST_ID} IS NOT NULL AND {ROW_INDEX} IS NOT NULL AND `{label}` IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (PARTITION BY {CLIENT_REQUEST_ID}, {ROW_INDEX} ORDER BY {LABEL_TIME} DESC) = 1
)
SELECT l.{CLIENT_REQUEST_ID}, l.{ROW_INDEX}, l.`{label}`
FROM latest AS l
LEFT SEMI JOIN {tables.inference_log} AS t
  ON t.{CLIENT_REQUEST_ID} = l.{CLIENT_REQUEST_ID} AND t.{ROW_INDEX} = l.{ROW_INDEX} AND t.`{label}` IS NULL
"""


def check_tables(engine: TableEngine, tables: ModelTables, model: Model) -> None:
    """Step 1: fail before any write if a table is missing, lacks columns, or stores a column
    with a type of another kind than the config says (a schema that changed between runs)."""
    engine.require_columns(tables.payload, PAYLOAD_NAMED)
    check_types(tables.payload, engine.column_types(tables.payload), PAYLOAD_TYPED,
                "the AI gateway's payload table has another schema; point the model at the gateway's table")
    owned = (
        (tables.inference_log, inference_log_columns(model)),
        (tables.quarantine, QUARANTINE_COLUMNS),
        (tables.unpack_runs, UNPACK_RUN_COLUMNS),
    )
    for name, columns in owned:
        if engine.exists(name):
            engine.require_columns(name, columns)
            check_types(name, engine.column_types(name), columns,
                        "the model's columns changed since the table was created; put the old type back in the env file, "
                        "or rename the table so unpack creates one with the new columns (the old rows stay in it)")
    if engine.exists(tables.labels):
        engine.require_columns(tables.labels, labels_columns(model))
        check_types(tables.labels, engine.column_types(tables.labels), labels_columns(model),
                    "write the labels with the model's label type")


def choose_source(
    engine: TableEngine, tables: ModelTables, full: bool, progress: Callable[[str], None]
) -> tuple[str, TableVersion, int]:
    """Step 2: register SOURCE_VIEW; return (read mode, payload-table version read, rows).

    The starting point is the payload-table version the last finished run read up to (table
    unpack_runs), never a time found in the data. "changes": rows inserted by the later commits
    (Delta change data feed). "snapshot": the whole table as of its current version, on the
    first run, with --full, after the table was re-created (new Delta id) or restored to an
    older version, or when the feed cannot be read; the anti-join on processed payloads keeps
    it idempotent, it only costs a longer read. "none": no commit since the last run."""
    current = engine.table_version(tables.payload)
    last = engine.query(last_run_sql(tables)) if engine.exists(tables.unpack_runs) else None
    reason = "--full"
    if not full:
        if current.version is None:
            reason = "the payload table has no Delta version"
        elif last is None or last.empty:
            reason = "first run"
        elif str(last[PAYLOAD_TABLE_ID].iloc[0]) != str(current.table_id):
            reason = "the payload table was re-created"
        elif int(last[PAYLOAD_VERSION].iloc[0]) > current.version:
            reason = f"the payload table went back to version {current.version}"
        else:
            since = int(last[PAYLOAD_VERSION].iloc[0])
            if since == current.version:
                return "none", current, 0
            try:
                rows = engine.register_changes(tables.payload, PAYLOAD_NAMES, since + 1, current.version, SOURCE_VIEW)
                progress(f"unpack: reading rows inserted into {tables.payload} in versions {since + 1}-{current.version}")
                return "changes", current, rows
            except ChangesUnavailable as exc:
                reason = str(exc)
    rows = engine.register_snapshot(tables.payload, PAYLOAD_NAMES, current.version, SOURCE_VIEW)
    at = f" as of version {current.version}" if current.version is not None else ""
    progress(f"unpack: reading all of {tables.payload}{at} ({reason})")
    return "snapshot", current, rows


def record_run_sql(tables: ModelTables, result: UnpackResult, current: TableVersion, started: pd.Timestamp) -> str:
    def lit(value) -> str:
        if value is None:
            return "NULL"
        return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"

    return f"""
SELECT {lit(tables.payload)} AS {PAYLOAD_TABLE}, {lit(current.table_id)} AS {PAYLOAD_TABLE_ID},
       CAST({lit(current.version)} AS BIGINT) AS {PAYLOAD_VERSION}, {lit(result.read_mode)} AS {READ_MODE},
       CAST({result.payload_rows} AS BIGINT) AS {PAYLOAD_ROWS}, CAST({result.accounted_unpacked} AS BIGINT) AS {UNPACKED},
       CAST({result.accounted_quarantined} AS BIGINT) AS {QUARANTINED},
       CAST({result.inserted} AS BIGINT) AS {INFERENCE_ROWS_WRITTEN},
       TIMESTAMP '{started.strftime("%Y-%m-%d %H:%M:%S.%f")}+00:00' AS {STARTED_AT}, current_timestamp() AS {FINISHED_AT}
"""


def unpack_payloads(
    ctx: JobContext,
    *,
    full: bool = False,
    progress: Callable[[str], None] = print,
    engine: TableEngine | None = None,
    now: pd.Timestamp | None = None,
) -> UnpackResult:
    """Unpack new payloads and join late labels. `full=True` reads the whole payload table
    (still idempotent). `now` (UTC, default: the clock) is the run's start: later request
    times are quarantined. Raises TableError (nothing written) if a table is unusable and
    RowsLost (run not recorded, so the next run reads the same rows again) if the accounting
    finds a payload row neither unpacked nor quarantined."""
    engine = engine or engine_for(ctx)
    tables, model = ctx.tables, ctx.model
    started = (now or pd.Timestamp.now(tz="UTC")).tz_convert("UTC")
    check_tables(engine, tables, model)
    engine.create_if_missing(tables.inference_log, inference_log_columns(model))
    engine.create_if_missing(tables.quarantine, QUARANTINE_COLUMNS)
    engine.create_if_missing(tables.unpack_runs, UNPACK_RUN_COLUMNS)

    result = UnpackResult()
    result.read_mode, current, rows_read = choose_source(engine, tables, full, progress)
    result.payload_version = current.version
    if result.read_mode == "none":
        progress(f"unpack: no new commits in {tables.payload} since the last run (version {current.version})")
        progress("unpack: check: 0 payload rows in = 0 unpacked + 0 quarantined")
    else:
        _unpack_new(engine, ctx, started, result, progress, rows_read)
        _account(engine, tables, result, progress)
        _count_older_than_retention(engine, ctx, started, result, progress)
        engine.insert_new(
            tables.unpack_runs,
            record_run_sql(tables, result, current, started),
            UNPACK_RUN_KEYS,
            UNPACK_RUN_COLUMNS,
        )

    if engine.exists(tables.labels):
        label = model.label.name
        result.labels_joined = engine.update_from(
            tables.inference_log,
            late_labels_sql(tables, model),
            LABEL_KEYS,
            {label: f"s.{label}"},
            f"t.{label} IS NULL",
        )
        progress(f"unpack: {result.labels_joined} late labels joined from {tables.labels}")
    else:
        progress(f"unpack: no labels table {tables.labels} yet; labels stay null")
    return result


def _account(engine: TableEngine, tables: ModelTables, result: UnpackResult, progress: Callable[[str], None]) -> None:
    """Step 5: rows in = unpacked + quarantined, or RowsLost (and the run is not recorded)."""
    counts = engine.query(accounting_sql(tables)).iloc[0]
    result.payload_rows = int(counts["rows_in"])
    result.accounted_unpacked = int(counts["unpacked"])
    result.accounted_quarantined = int(counts["quarantined"])
    result.lost = int(counts["lost"])
    progress(
        f"unpack: check: {result.payload_rows} payload rows in = {result.accounted_unpacked} unpacked "
        f"+ {result.accounted_quarantined} quarantined" + (f" + {result.lost} LOST" if result.lost else "")
    )
    if result.lost:
        raise RowsLost(
            f"{result.lost} of {result.payload_rows} payload rows read are neither in {tables.inference_log} nor in "
            f"{tables.quarantine}; the run is not recorded, so the next run reads them again"
        )


def _count_older_than_retention(
    engine: TableEngine, ctx: JobContext, started: pd.Timestamp, result: UnpackResult, progress: Callable[[str], None]
) -> None:
    """Rows read that retention deletes at once (a 1970 or 1990 request time): never without a line."""
    days = ctx.env.inference.retention_days
    cutoff = started.to_pydatetime() - pd.Timedelta(days=days).to_pytimedelta()
    counts = engine.query(
        f"SELECT COUNT(DISTINCT {payload_key(REQUEST_ID, REQUEST_TIME)}) AS n FROM {SOURCE_VIEW} "
        f"WHERE {REQUEST_TIME} < {timestamp_sql(cutoff)}"
    )
    result.older_than_retention = int(counts["n"].iloc[0])
    if result.older_than_retention:
        progress(
            f"unpack: {result.older_than_retention} of the payload rows read have a {REQUEST_TIME} before "
            f"{cutoff:%Y-%m-%d %H:%M} UTC, older than inference.retention_days = {days}: retention (unless "
            "--no-retention) deletes their rows from the inference log and the quarantine in this run; "
            f"they stay in {ctx.tables.payload}"
        )


def _unpack_new(
    engine: TableEngine,
    ctx: JobContext,
    started: pd.Timestamp,
    result: UnpackResult,
    progress: Callable[[str], None],
    rows_read: int,
) -> None:
    """Steps 3-4: parse the payloads not processed yet and write both kinds of rows."""
    tables, model = ctx.tables, ctx.model
    parse = functools.partial(parse_payloads, model=model, now=started)
    ticker = Ticker(
        progress, "unpack: parsed {done} new payloads of {total} read", total=rows_read, every_s=PROGRESS_EVERY_S
    )

    def parsed(batch: pd.DataFrame, rows: pd.DataFrame) -> None:
        bad = int(rows[REASON].notna().sum())
        ticker.add(len(batch), inference_rows=len(rows) - bad, quarantined=bad)

    engine.map_rows(new_payloads_sql(tables), parse, unpacked_columns(model), UNPACKED_VIEW, progress=parsed)
    ticker.finish()
    # Counts first: on Spark the view is recomputed by each statement, and the writes below
    # change what "not unpacked yet" means (harmless for the MERGEs, which are keyed).
    counts = engine.query(
        f"SELECT COUNT(DISTINCT {payload_key(REQUEST_ID, '`' + model.timestamp_column + '`')}) AS payloads "
        f"FROM {UNPACKED_VIEW}"
    )
    result.new_payloads = int(counts["payloads"].iloc[0])
    reasons = engine.query(reasons_sql())
    result.reasons = {str(reason): int(n) for reason, n in zip(reasons[REASON], reasons["n"], strict=True)}
    progress(f"unpack: {result.new_payloads} new payloads, {sum(result.reasons.values())} unusable")

    result.inserted = engine.insert_new(
        tables.inference_log, good_rows_sql(model), INFERENCE_LOG_KEYS, inference_log_columns(model)
    )
    result.quarantined = engine.insert_new(
        tables.quarantine, quarantine_rows_sql(model), QUARANTINE_KEYS, QUARANTINE_COLUMNS
    )
    progress(f"unpack: {result.inserted} inference-log rows written, {result.quarantined} payloads quarantined")
    for reason, n in result.reasons.items():
        progress(f"unpack:   quarantined x{n}: {reason}")


add_arguments = arguments.unpack
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)

    def work() -> None:
        try:
            with ctx.run_lock("unpack", args.wait_for_lock):
                engine = engine_for(ctx)
                unpack_payloads(ctx, full=args.full, engine=engine)
                if not args.no_retention:
                    enforce_retention(ctx, engine=engine)
        except (CommitConflict, TableDamaged) as exc:  # what the failure means for this job's rows
            exc.add_note("; this run is not recorded, so the next run reads its rows again")
            raise
        except (RunInProgress, TableError) as exc:
            exc.add_note(" (nothing was written)")
            raise

    return run_job("unpack", work)
