"""analyze-drift's reads through the TableEngine, on the embedded default's engine (DuckDB over
local Delta tables, the SQL transpiled by SQLGlot). tests/spark runs the same read on Spark and
compares it with this engine's result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from drift_fixtures import KEY, dev_env

from lakemon.contract.tables import ModelTables
from lakemon_jobs.drift import sources
from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.monitor_engine.schema import DRIFT_METRICS_SCHEMA, PROFILE_METRICS_SCHEMA
from lakemon_jobs.table_engines.engine import TableError
from lakemon_jobs.table_engines.local import LocalEngine

SINCE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def ending(end: datetime) -> dict:
    return {"start": end - timedelta(days=1), "end": end}


@pytest.fixture
def local(tmp_path):
    env = dev_env()
    tables = ModelTables(env, env.model())
    runtime = LocalRuntime.from_env(tmp_path)
    return LocalEngine(runtime), tables, runtime


def write(runtime: LocalRuntime, name: str, rows: list[dict], schema: pa.Schema) -> None:
    write_deltalake(str(runtime.table_path(name)), pa.Table.from_pylist(rows, schema=schema))


def test_queries_select_only_the_judged_rows():
    env = dev_env()
    tables = ModelTables(env, env.model())
    drift_sql, profile_sql = sources.metrics_queries(tables, SINCE)
    assert drift_sql.startswith(f"SELECT * FROM {tables.drift_metrics} WHERE drift_type = 'BASELINE'")
    assert "`model_version` = '*'" in drift_sql and "`window`.`end` > timestamp_micros(1767323045000000)" in drift_sql
    assert "log_type = 'BASELINE' OR `window`.`end`" in profile_sql and tables.profile_metrics in profile_sql


def test_local_read_keeps_the_judged_rows_from_the_exact_instant_on(local):
    """A window ending exactly at `since` is out, one ending a microsecond later is in: the
    cutoff is the instant itself (timestamp_micros, rewritten for DuckDB)."""
    engine, tables, runtime = local
    base = {**KEY, "column_name": "appearances", "drift_type": "BASELINE"}
    write(runtime, tables.drift_metrics, [
        {**base, "window": ending(SINCE + TICK), "population_stability_index": 0.3},
        {**base, "window": ending(SINCE), "population_stability_index": 0.1},
        {**base, "window": ending(SINCE + TICK), "drift_type": "CONSECUTIVE"},
        {**base, "window": ending(SINCE + TICK), "slice_key": "sex", "slice_value": "Male Characters"},
        {**base, "window": ending(SINCE + TICK), "model_version": "alive_classifier-3"},
    ], DRIFT_METRICS_SCHEMA)
    profile = {**KEY, "column_name": "eye"}
    write(runtime, tables.profile_metrics, [
        {**profile, "window": ending(SINCE + TICK), "log_type": "INPUT", "count": 5,
         "frequent_items": [{"item": "Blue Eyes", "count": 4}]},
        {**profile, "window": ending(SINCE), "log_type": "INPUT", "count": 6},
        {**profile, "window": None, "log_type": "BASELINE", "count": 7, "quantiles": [1.0, 2.0]},
        {**profile, "window": ending(SINCE + TICK), "log_type": "INPUT", "slice_key": "sex", "count": 8},
    ], PROFILE_METRICS_SCHEMA)

    drift, profile_rows = sources.read_tables(engine, tables, SINCE)

    assert drift.column("population_stability_index").to_pylist() == [0.3]
    assert drift.to_pylist()[0]["window"] == ending(SINCE + TICK)  # a struct of UTC instants
    assert sorted(profile_rows.column("count").to_pylist()) == [5, 7]
    by_count = {r["count"]: r for r in profile_rows.to_pylist()}
    assert by_count[5]["frequent_items"] == [{"item": "Blue Eyes", "count": 4}] and by_count[7]["quantiles"] == [1.0, 2.0]
    # the tables' own types: what analyze and the report read (nested timestamps labelled UTC)
    for got, schema in ((drift, DRIFT_METRICS_SCHEMA), (profile_rows, PROFILE_METRICS_SCHEMA)):
        assert got.schema.names == schema.names
        assert [f.type for f in got.schema] == [f.type for f in schema]


def test_a_missing_table_is_tables_missing_before_anything_is_read(local):
    engine, tables, runtime = local
    write(runtime, tables.drift_metrics, [], DRIFT_METRICS_SCHEMA)
    with pytest.raises(sources.TablesMissing, match=f"{tables.profile_metrics} does not exist yet.*lakemon refresh"):
        sources.read_tables(engine, tables, SINCE)


def test_a_table_without_the_queried_columns_is_one_clear_table_error(local):
    engine, tables, runtime = local
    for name in (tables.drift_metrics, tables.profile_metrics):
        write_deltalake(str(runtime.table_path(name)), pa.table({"column_name": ["eye"]}))
    with pytest.raises(TableError, match="query failed: .*drift_type"):
        sources.read_tables(engine, tables, SINCE)


def test_utc_timestamps_relabels_nested_zones_without_moving_an_instant():
    """What a Spark client may hand back: timestamps labelled with the session time zone."""
    from lakemon_jobs.table_engines.schemas import utc_timestamps

    new_york = pa.timestamp("us", tz="America/New_York")
    kind = pa.struct([("start", new_york), ("ends", pa.list_(new_york))])
    table = pa.table({"window": pa.array([{"start": SINCE, "ends": [SINCE, None]}], type=kind), "n": [1]})
    got = utc_timestamps(table)
    assert got.schema.field("window").type == pa.struct(
        [("start", pa.timestamp("us", tz="UTC")), ("ends", pa.list_(pa.timestamp("us", tz="UTC")))]
    )
    row = got.to_pylist()[0]["window"]
    assert row["start"] == SINCE and row["start"].utcoffset() == timedelta(0) and row["ends"] == [SINCE, None]
    assert utc_timestamps(got) is got  # nothing to relabel: the same table


def test_judging_the_read_rows_gives_the_report_of_the_whole_tables(local):
    """Selecting in SQL changes no verdict: `analyze` on what read_tables returns equals
    `analyze` on the whole tables (which it filters the same way itself), with windows both
    inside and outside a 3-day lookback."""
    from drift_fixtures import FEATURES, START, dc, marvel_split
    from scipy_drift_metrics import build_tables

    from lakemon_jobs.drift.verdicts import analyze

    engine, tables, runtime = local
    env = dev_env(lookback_days=3)
    train, held_out = marvel_split()
    windows = [held_out.sample(300, random_state=i) for i in range(3)] + [dc().sample(300, random_state=i) for i in range(3)]
    drift, profile = build_tables(train, windows, FEATURES, START)
    write_deltalake(str(runtime.table_path(tables.drift_metrics)), drift)
    write_deltalake(str(runtime.table_path(tables.profile_metrics)), profile)
    now = START + timedelta(days=len(windows))

    read = analyze(env, env.model(), *sources.read_tables(engine, tables, now - timedelta(days=3)), now=now)
    whole = analyze(env, env.model(), drift, profile, now=now)
    assert len(read.windows()) == 3 and read.drifted  # only the lookback's windows, the DC ones drift
    assert read.judgements == whole.judgements
    assert read.quality == whole.quality and read.quality_judgements == whole.quality_judgements
