"""The Spark table engine on real Apache Spark (local[2], session time zone America/New_York).

Every SQL statement of unpack, retention, register (the baseline overwrite) and analyze-drift
runs here. Results are compared with the embedded default's engine on the same rows, and the
mapInPandas parsing with a direct call of the same pure function. MERGE and DELETE need Delta
(not available here): they must fail only with UNSUPPORTED_FEATURE.TABLE_OPERATION, i.e. after
parsing and column resolution succeeded.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakemon.config import load_environment
from lakemon.contract.payload import QUARANTINE_COLUMNS, UNPACK_RUN_COLUMNS
from lakemon.contract.tables import ModelTables, baseline_columns, inference_log_columns, labels_columns
from lakemon_jobs.context import JobContext
from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.payloads import parse_payloads, unpacked_columns
from lakemon_jobs.retention import enforce_retention
from lakemon_jobs.table_engines.local import LocalEngine
from lakemon_jobs.table_engines.spark import SparkEngine, timestamp_sql
from lakemon_jobs.unpack import (
    UNPACKED_VIEW,
    UnpackResult,
    accounting_sql,
    good_rows_sql,
    last_run_sql,
    new_payloads_sql,
    quarantine_rows_sql,
    reasons_sql,
    record_run_sql,
    unpack_payloads,
)

UTC = dt.UTC
# Around the New York daylight-saving switch (2026-03-08 02:00 local = 07:00 UTC): a time-zone
# slip of the session's offset (5 h before, 4 h after) shows in every timestamp.
T0 = dt.datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
NOW = pd.Timestamp("2026-06-01", tz="UTC")
"""The runs' start on both engines (request times after it are quarantined, with it in the reason)."""
REC = {"id": "Secret Identity", "align": "Good Characters", "eye": None, "hair": "Brown Hair",
       "sex": "Male Characters", "gsm": None, "appearances": 10, "year": 1990.0}
REC2 = {**REC, "align": "Bad Characters", "appearances": 3.0, "year": None}


def quiet(_message: str) -> None: ...


def response(*probas: float) -> str:
    return json.dumps({"predictions": [{"prediction": int(p >= 0.5), "prediction_proba": p} for p in probas]})


def payload(i: int, request, response_text: str | None, status: int = 200, served: str | None = "alive_classifier-3") -> dict:
    return {
        "databricks_request_id": f"req-{i}", "client_request_id": f"client-{i}",
        "request_date": (T0 + dt.timedelta(hours=i)).date(), "request_time": T0 + dt.timedelta(hours=i, minutes=i),
        "status_code": status, "sampling_fraction": 1.0, "execution_duration_ms": 5,
        "request": request if isinstance(request, str) else json.dumps(request), "response": response_text,
        "logging_error_codes": [], "served_entity_id": served, "requester": "tester",
    }


PAYLOADS = [
    payload(1, {"dataframe_records": [REC, REC2]}, response(0.9, 0.2)),
    payload(2, {"dataframe_split": {"columns": list(REC), "data": [list(REC.values())]}}, response(0.7)),
    payload(3, {"instances": [REC2]}, json.dumps({"predictions": [0]})),
    payload(4, {"inputs": {k: [REC[k], REC2[k]] for k in REC}}, response(0.6, 0.4)),
    payload(5, {"instances": [list(REC.values())]}, response(0.55)),
    payload(6, {"dataframe_records": [REC], "model_version": "7"}, response(0.8), served=None),
    payload(7, {"dataframe_records": [REC]}, None, status=500),
    payload(8, "{not json", response(0.5)),
    payload(9, {"dataframe_records": [REC, REC2]}, response(0.5)),  # row-count mismatch
    {**payload(10, {"dataframe_records": [REC]}, response(0.5)),  # a client clock: quarantined, no crash
     "request_time": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)},
]
PAYLOAD_DDL = (
    "databricks_request_id STRING, client_request_id STRING, request_date DATE, request_time TIMESTAMP, "
    "status_code INT, sampling_fraction DOUBLE, execution_duration_ms BIGINT, request STRING, response STRING, "
    "logging_error_codes ARRAY<STRING>, served_entity_id STRING, requester STRING"
)
LABELS = [("client-1", 0, 1, 60), ("client-1", 0, 0, 30), ("client-2", 0, 0, 10), ("client-9", 0, 1, 10)]


def is_unsupported_table_operation(exc: BaseException) -> bool:
    condition = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    return bool(condition) and str(condition()).startswith("UNSUPPORTED_FEATURE.TABLE_OPERATION")


@pytest.fixture(scope="module")
def env(spark_env_file):
    return load_environment(spark_env_file)


@pytest.fixture(scope="module")
def spark_ctx(env) -> JobContext:
    model = env.model()
    return JobContext(env=env, model=model, tables=ModelTables(env, model), runtime=None)


@pytest.fixture(scope="module")
def engine(spark) -> SparkEngine:
    return SparkEngine(spark)


@pytest.fixture(scope="module")
def local_ctx(env, tmp_path_factory) -> JobContext:
    model = env.model()
    runtime = LocalRuntime.from_env(tmp_path_factory.mktemp("local-home"))
    return JobContext(env=env, model=model, tables=ModelTables(env, model), runtime=runtime)


@pytest.fixture(scope="module")
def tables_with_payloads(spark, spark_ctx, local_ctx):
    """The same payload rows (and labels) in a Spark parquet table and a local Delta table."""
    tables, model = spark_ctx.tables, spark_ctx.model
    frame = pd.DataFrame(PAYLOADS)
    spark.createDataFrame(frame, schema=PAYLOAD_DDL).write.mode("overwrite").saveAsTable(tables.payload)
    labels = pd.DataFrame(
        [{"client_request_id": c, "row_index": r, "alive": y, "label_time": T0 + dt.timedelta(minutes=m)} for c, r, y, m in LABELS]
    )
    label_ddl = ", ".join(f"`{c.name}` {c.type.upper()}" for c in labels_columns(model))
    spark.createDataFrame(labels, schema=label_ddl).write.mode("overwrite").saveAsTable(tables.labels)
    runtime = local_ctx.runtime
    write_deltalake(str(runtime.table_path(tables.payload)), pa.Table.from_pylist(PAYLOADS, schema=PAYLOAD_SCHEMA))
    from lakemon_jobs.table_engines import arrow_schema

    write_deltalake(str(runtime.table_path(tables.labels)), pa.Table.from_pandas(labels, schema=arrow_schema(labels_columns(model))))
    return tables


def test_payload_rows_landed_at_their_exact_instants(spark, tables_with_payloads):
    """Setup check: a tz-aware pandas timestamp becomes the same instant in a New York session."""
    rows = spark.sql(f"SELECT databricks_request_id, unix_micros(request_time) AS us FROM {tables_with_payloads.payload}").collect()
    got = {r.databricks_request_id: r.us for r in rows}
    assert got == {p["databricks_request_id"]: int(p["request_time"].timestamp() * 1_000_000) for p in PAYLOADS}


@pytest.fixture(scope="module")
def local_unpacked(local_ctx, tables_with_payloads):
    result = unpack_payloads(local_ctx, full=True, progress=quiet, now=NOW)
    engine = LocalEngine(local_ctx.runtime)
    return result, engine.read_table(local_ctx.tables.inference_log), engine.read_table(local_ctx.tables.quarantine)


@pytest.fixture(scope="module")
def spark_unpack_error(engine, spark_ctx, tables_with_payloads):
    """Run the real unpack on Spark: every statement before the first MERGE must succeed; the
    MERGE must fail only because parquet tables cannot MERGE."""
    with pytest.raises(Exception) as info:
        unpack_payloads(spark_ctx, full=True, progress=quiet, engine=engine, now=NOW)
    return info.value


def materialized(spark, engine, select_sql: str) -> pd.DataFrame:
    """Rows of `select_sql` as a write under the New York session evaluates them (a MERGE on
    Databricks runs the mapInPandas view the same way), read back as exact instants."""
    name = "spark_catalog.lakemon_spark.check_rows"
    spark.raw.sql(f"DROP TABLE IF EXISTS {name}")
    spark.raw.sql(f"CREATE TABLE {name} AS {select_sql}")
    return engine.read_table(name)


def _timeless(reason: str) -> str:
    return re.sub(r"^request_time 9999-12-31 \d\d:59:59(\+00)? is outside", "request_time <9999-12-31> is outside", reason)


def _sorted(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    return frame[columns].sort_values(keys).reset_index(drop=True)


def test_unpack_runs_on_spark_up_to_the_merge(spark_unpack_error, engine, spark_ctx):
    assert is_unsupported_table_operation(spark_unpack_error), repr(spark_unpack_error)
    assert "MERGE" in str(spark_unpack_error).upper()
    # create_if_missing made the two tables with the declared columns
    assert engine.columns(spark_ctx.tables.inference_log) == [c.name for c in inference_log_columns(spark_ctx.model)]
    assert engine.columns(spark_ctx.tables.quarantine) == [c.name for c in QUARANTINE_COLUMNS]
    assert engine.columns(spark_ctx.tables.unpack_runs) == [c.name for c in UNPACK_RUN_COLUMNS]
    assert engine.query(last_run_sql(spark_ctx.tables)).empty  # first run: read the whole table


def test_unpack_selects_give_what_the_local_engine_wrote(spark, spark_unpack_error, engine, spark_ctx, local_unpacked):
    result, local_log, local_quarantine = local_unpacked
    model = spark_ctx.model
    # the local run also joined late labels afterwards; the rows to insert have none yet
    names = [c.name for c in inference_log_columns(model) if c.name != model.label.name]
    keys = ["databricks_request_id", "row_index"]
    spark_rows = materialized(spark, engine, good_rows_sql(model))
    assert len(spark_rows) == result.inserted == 8 and spark_rows[model.label.name].isna().all()
    pd.testing.assert_frame_equal(_sorted(spark_rows, keys, names), _sorted(local_log, keys, names), check_dtype=False)
    # the exact instants, not shifted by New York's offset (any session time zone)
    stamps = dict(zip(spark_rows["databricks_request_id"], spark_rows[model.timestamp_column], strict=False))
    assert stamps["req-1"] == pd.Timestamp(PAYLOADS[0]["request_time"])
    assert stamps["req-3"] == pd.Timestamp(PAYLOADS[2]["request_time"])  # after the DST switch

    q_names = [c.name for c in QUARANTINE_COLUMNS if c.name != "quarantined_at"]
    spark_q = _sorted(materialized(spark, engine, quarantine_rows_sql(model)), ["databricks_request_id"], q_names)
    local_q = _sorted(local_quarantine, ["databricks_request_id"], q_names)
    # A request_time pandas cannot hold reaches the parser as text (unpack.new_payloads_sql:
    # CAST AS STRING), which Spark renders in the session zone: same instant, other wall clock.
    spark_q["reason"], local_q["reason"] = spark_q["reason"].map(_timeless), local_q["reason"].map(_timeless)
    pd.testing.assert_frame_equal(spark_q, local_q, check_dtype=False)
    reasons = {_timeless(str(r.reason)): int(r.n) for r in engine.query(reasons_sql()).itertuples()}
    assert reasons == {_timeless(k): v for k, v in result.reasons.items()}
    assert len(result.reasons) == 4 and any("outside the years" in r for r in result.reasons)


def test_map_in_pandas_parsing_equals_the_direct_call(spark, spark_unpack_error, engine, spark_ctx):
    model = spark_ctx.model
    # the same input rows mapInPandas gets (collected exactly, as UTC instants), parsed directly
    batch = engine.query(new_payloads_sql(spark_ctx.tables))
    assert len(batch) == len(PAYLOADS)
    direct = parse_payloads(batch, model, now=NOW)
    via_spark = materialized(spark, engine, f"SELECT * FROM {UNPACKED_VIEW}")
    names = [c.name for c in unpacked_columns(model)]
    keys = ["databricks_request_id", "row_index"]
    assert list(via_spark.columns) == names
    pd.testing.assert_frame_equal(_sorted(via_spark, keys, names), _sorted(direct, keys, names), check_dtype=False)
    collected = engine.query(f"SELECT * FROM {UNPACKED_VIEW}")  # collected directly: the same rows
    pd.testing.assert_frame_equal(_sorted(collected, keys, names), _sorted(via_spark, keys, names))


def test_rerun_reads_nothing_and_the_accounting_balances_on_spark(spark, engine, spark_ctx, local_unpacked, tables_with_payloads):
    """With the inference log and quarantine filled (by the engine's overwrite), the anti-join
    finds no payload left to read, the accounting statement balances, and the run record's
    SELECT resolves: the rest of unpack's statements, on Spark."""
    result, local_log, local_quarantine = local_unpacked
    model, tables = spark_ctx.model, spark_ctx.tables
    engine.overwrite(tables.inference_log, local_log, inference_log_columns(model))
    engine.overwrite(tables.quarantine, local_quarantine, QUARANTINE_COLUMNS)
    assert engine.query(new_payloads_sql(tables)).empty
    counts = engine.query(accounting_sql(tables)).iloc[0]
    assert (counts["rows_in"], counts["unpacked"], counts["quarantined"], counts["lost"]) == (
        result.payload_rows, result.accounted_unpacked, result.accounted_quarantined, 0)
    assert result.payload_rows == len(PAYLOADS)
    started = pd.Timestamp("2026-03-08 12:00", tz="UTC")
    run = UnpackResult(read_mode="snapshot", payload_rows=10, accounted_unpacked=6, accounted_quarantined=4, inserted=8)
    record = engine.query(record_run_sql(tables, run, engine.table_version(tables.payload), started))
    assert list(record.columns) == [c.name for c in UNPACK_RUN_COLUMNS]
    assert record["started_at"].iloc[0] == started and record["payload_version"].isna().all()  # parquet: no version


def test_late_labels_update_gets_past_resolution(engine, spark_ctx, local_ctx, local_unpacked):
    """The late-label MERGE: the source SELECT runs and matches the local engine; the MERGE itself
    fails only for want of Delta."""
    from lakemon_jobs.unpack import late_labels_sql

    model, tables = spark_ctx.model, spark_ctx.tables
    source = engine.query(late_labels_sql(tables, model))
    local = LocalEngine(local_ctx.runtime).query(late_labels_sql(tables, model))
    assert len(source) == 0 == len(local)  # the local unpack already joined them
    # against a log whose labels are still null, the source picks the newest label per key
    log = LocalEngine(local_ctx.runtime).read_table(tables.inference_log)
    log[model.label.name] = None
    engine.overwrite(tables.inference_log, log, inference_log_columns(model))
    source = engine.query(late_labels_sql(tables, model)).sort_values("client_request_id").reset_index(drop=True)
    assert list(zip(source["client_request_id"], source["alive"], strict=True)) == [("client-1", 1), ("client-2", 0)]
    with pytest.raises(Exception) as info:
        engine.update_from(tables.inference_log, late_labels_sql(tables, model), ["client_request_id", "row_index"],
                           {"alive": "s.alive"}, "t.alive IS NULL")
    assert is_unsupported_table_operation(info.value), repr(info.value)


def test_retention_cutoff_is_the_exact_instant_in_any_session_zone(spark, engine, spark_ctx, local_unpacked):
    """The DELETE needs Delta; its predicate is checked with the same SQL in a SELECT, in the
    New York session: rows strictly before the cutoff instant, to the microsecond."""
    model, tables = spark_ctx.model, spark_ctx.tables
    _result, local_log, _q = local_unpacked
    engine.overwrite(tables.inference_log, local_log, inference_log_columns(model))
    cutoff = PAYLOADS[2]["request_time"]  # req-3, after the DST switch
    older = engine.query(
        f"SELECT DISTINCT databricks_request_id FROM {tables.inference_log} WHERE `{model.timestamp_column}` < {timestamp_sql(cutoff)}"
    )
    assert sorted(older["databricks_request_id"]) == ["req-1", "req-2"]
    with pytest.raises(Exception) as info:
        enforce_retention(spark_ctx, now=cutoff + dt.timedelta(days=spark_ctx.env.inference.retention_days),
                          engine=engine, progress=quiet)
    assert is_unsupported_table_operation(info.value), repr(info.value)
    assert "DELETE" in str(info.value).upper()


def test_timestamp_sql_is_exact():
    assert timestamp_sql(dt.datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == "timestamp_micros(1000005)"
    new_york = dt.timezone(dt.timedelta(hours=-5))
    assert timestamp_sql(dt.datetime(2026, 1, 1, tzinfo=new_york)) == timestamp_sql(dt.datetime(2026, 1, 1, 5, tzinfo=UTC))
    assert timestamp_sql(dt.datetime(2026, 1, 1)) == timestamp_sql(dt.datetime(2026, 1, 1, tzinfo=UTC))


def test_register_baseline_overwrite_on_spark(engine, spark_ctx, monkeypatch):
    """register's write_baseline through the Spark engine: the table holds exactly the frame,
    and a second promotion replaces (not appends to) it."""
    import lakemon_jobs.table_engines as tables_module
    from lakemon_jobs.register import write_baseline

    monkeypatch.setattr(tables_module, "engine_for", lambda ctx: engine)
    model = spark_ctx.model
    train = pd.DataFrame([{**REC, "alive": 1}, {**REC2, "alive": 0}, {**REC, "year": 2001.0, "alive": 1}])
    outputs = pd.DataFrame({"prediction": [1, 0, 1], "prediction_proba": [0.9, 0.1, 0.7]})
    assert write_baseline(spark_ctx, train, outputs, "4") == 3
    assert write_baseline(spark_ctx, train.iloc[:2], outputs.iloc[:2], "5") == 2
    got = engine.read_table(spark_ctx.tables.baseline)
    assert list(got.columns) == [c.name for c in baseline_columns(model)]
    assert sorted(got[model.model_id_column]) == ["alive_classifier-5", "alive_classifier-5"]
    assert sorted(got["prediction_proba"]) == [0.1, 0.9]
    assert sorted(got["appearances"]) == [3.0, 10.0]


def test_insert_merge_gets_past_resolution_and_a_bad_column_does_not(engine, spark_ctx):
    """The error proves resolution succeeded: a misspelt column fails earlier, differently."""
    model, tables = spark_ctx.model, spark_ctx.tables
    with pytest.raises(Exception) as good:
        engine.insert_new(tables.inference_log, good_rows_sql(model), ["databricks_request_id", "row_index"],
                          inference_log_columns(model))
    assert is_unsupported_table_operation(good.value), repr(good.value)
    with pytest.raises(Exception) as bad:
        engine.insert_new(tables.inference_log, good_rows_sql(model), ["databricks_request_idx", "row_index"],
                          inference_log_columns(model))
    assert not is_unsupported_table_operation(bad.value)


def test_query_returns_utc_instants_in_a_new_york_session(spark, engine):
    frame = engine.query("SELECT timestamp_micros(0) AS t, TIMESTAMP '2026-07-01 12:00:00 UTC' AS u")
    assert frame["t"].iloc[0] == pd.Timestamp("1970-01-01", tz="UTC")
    assert frame["u"].iloc[0] == pd.Timestamp("2026-07-01 12:00", tz="UTC")
    assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"  # restored


def test_analyze_drift_reads_the_same_rows_on_spark_and_locally(spark, engine, spark_ctx, local_ctx):
    """analyze-drift's read (`read_tables` through the TableEngine) on Spark and on the local
    engine, over the same metric rows: the same rows and types come back. Windows ending one
    hour either side of `since` prove the cutoff is the exact instant in a New York session (a
    zone-less literal would be read 5 hours late and keep neither); the nested `window` comes
    back as UTC instants from both engines."""
    from lakemon_jobs.drift.sources import read_tables
    from lakemon_jobs.monitor_engine import schema as metric_schema

    tables = spark_ctx.tables
    since = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    before, after = since - dt.timedelta(hours=1), since + dt.timedelta(hours=1)

    model_id = spark_ctx.model.model_id_column  # metric tables name it after the monitor's model_id_col

    def rows(schema: pa.Schema, variants: list[dict]) -> pa.Table:
        blank = {f.name: None for f in schema}
        base = {**blank, "granularity": "1 day", "column_name": "appearances", model_id: "*", "data_type": "double"}
        return pa.Table.from_pylist([{**base, **v} for v in variants], schema=schema)

    def window(end: dt.datetime) -> dict:
        return {"start": end - dt.timedelta(days=1), "end": end}

    drift_schema = metric_schema.drift_metrics_schema(model_id)
    profile_schema = metric_schema.profile_metrics_schema(model_id)
    drift = rows(drift_schema, [
        {"window": window(after), "drift_type": "BASELINE", "population_stability_index": 0.3,
         "ks_test": {"statistic": 0.2, "pvalue": 0.01}},
        {"window": window(before), "drift_type": "BASELINE", "population_stability_index": 0.1},
        {"window": window(after), "drift_type": "CONSECUTIVE"},
        {"window": window(after), "drift_type": "BASELINE", "slice_key": "sex", "slice_value": "Male Characters"},
    ])
    profile = rows(profile_schema, [
        {"window": window(after), "log_type": "INPUT", "count": 5, "frequent_items": [{"item": "a", "count": 3}]},
        {"window": window(before), "log_type": "INPUT", "count": 6},
        {"window": None, "log_type": "BASELINE", "count": 7, "quantiles": [1.0, 2.5]},
        {"window": window(after), "log_type": "INPUT", model_id: "alive_classifier-3", "count": 8},
    ])
    for name, table in ((tables.drift_metrics, drift), (tables.profile_metrics, profile)):
        # from Arrow directly: pandas hands struct timestamps over in a form pyspark cannot convert
        spark.createDataFrame(table).write.mode("overwrite").saveAsTable(name)
        write_deltalake(str(local_ctx.runtime.table_path(name)), table)

    on_spark = read_tables(engine, tables, since)
    on_local = read_tables(LocalEngine(local_ctx.runtime), tables, since)
    got_drift, got_profile = on_spark
    assert got_drift.column("population_stability_index").to_pylist() == [0.3]
    assert got_drift.to_pylist()[0]["window"] == window(after)
    assert sorted(got_profile.column("count").to_pylist()) == [5, 7]
    for spark_table, local_table in zip(on_spark, on_local, strict=True):
        assert [(f.name, f.type) for f in spark_table.schema] == [(f.name, f.type) for f in local_table.schema]
        assert sorted(spark_table.to_pylist(), key=repr) == sorted(local_table.to_pylist(), key=repr)


def _spark_schema(arrow_schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)


def test_query_arrow_failure_is_one_table_error(engine, spark_ctx):
    from lakemon_jobs.table_engines.engine import TableError

    with pytest.raises(TableError, match="query failed: .*no_such_table"):
        engine.query_arrow(f"SELECT * FROM {spark_ctx.env.catalog}.{spark_ctx.env.schema_}.no_such_table")
