"""The verdicts table: written by analyze-drift through the TableEngine (one commit per run, no
duplicates on a rerun, refused when its schema is wrong), and the production alert SQL on it
fires exactly for the windows the rule judged `drift`."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from drift_fixtures import DEV_ENV, FEATURES, START, dc, dev_env, marvel_split
from scipy_drift_metrics import build_tables

from lakemon.alerting import drift_alert_spec, quality_alert_spec
from lakemon.config.model import FeatureDrift
from lakemon.contract.tables import ModelTables
from lakemon.contract.verdicts import verdicts_columns
from lakemon_jobs.cli import main
from lakemon_jobs.drift import Verdict, analyze, write_verdicts
from lakemon_jobs.drift.alerts import evaluate_alert
from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.table_engines import TableError
from lakemon_jobs.table_engines.local import LocalEngine


def mixed_windows(n: int = 300):
    """Held-out Marvel (no drift) and DC (drift) windows, interleaved, one per day."""
    _, held_out = marvel_split()
    sources = ["marvel", "dc", "marvel", "marvel", "dc", "dc", "marvel"]
    frames = [
        (held_out if s == "marvel" else dc()).sample(n, random_state=100 + i) for i, s in enumerate(sources)
    ]
    return sources, frames


def report_for(env, frames, quality=None):
    train, _ = marvel_split()
    drift, profile = build_tables(train, frames, FEATURES, START, quality)
    return analyze(env, env.model(), drift, profile, now=START + timedelta(days=len(frames)))


def version(engine: LocalEngine, name: str) -> int:
    return DeltaTable(engine._path(name)).version()


def test_a_rerun_adds_no_duplicates_and_each_run_is_one_commit(tmp_path):
    env = dev_env()
    tables = ModelTables(env, env.model())
    engine = LocalEngine(LocalRuntime(tmp_path))
    report = report_for(env, mixed_windows()[1][:3])
    rows = write_verdicts(engine, tables, report, "run-1")
    assert rows == 3 * 8 + 3  # 3 windows x 8 features, and a quality row per window (too_few_rows: no labels)
    v1 = version(engine, tables.drift_verdicts)
    first = engine.read_table(tables.drift_verdicts)
    write_verdicts(engine, tables, report, "run-2")
    again = engine.read_table(tables.drift_verdicts)
    assert version(engine, tables.drift_verdicts) == v1 + 1  # one MERGE commit per run
    assert len(again) == len(first) == rows
    assert set(again["run_id"]) == {"run-2"}
    assert not again.duplicated(["subject", "granularity", "window_start", "feature", "statistic"]).any()
    cols = ["window_start", "feature", "statistic", "verdict", "value"]
    pd.testing.assert_frame_equal(
        again.sort_values(cols)[cols].reset_index(drop=True), first.sort_values(cols)[cols].reset_index(drop=True)
    )


def test_a_verdict_row_that_misses_a_table_column_stops_before_writing(monkeypatch):
    """A key the rows do not fill would be an all-null column of the verdicts table."""
    from lakemon.config.model import Column
    from lakemon_jobs.drift import store

    env = dev_env()
    report = report_for(env, mixed_windows()[1][:1])
    assert set(store.verdict_frame(report, "run").columns) == {c.name for c in verdicts_columns()}
    monkeypatch.setattr(store, "verdicts_columns", lambda: [*verdicts_columns(), Column(name="new_col", type="string")])
    with pytest.raises(AssertionError, match="new_col"):
        store.verdict_frame(report, "run")


def test_rows_outside_the_judged_period_are_kept_and_stale_rows_inside_it_go(tmp_path):
    env = dev_env()
    tables = ModelTables(env, env.model())
    engine = LocalEngine(LocalRuntime(tmp_path))
    _, frames = mixed_windows()
    write_verdicts(engine, tables, report_for(env, frames[:3]), "old")
    # a later run judges only days 2.. (lookback 2 days) with another statistic for align
    later = dev_env(lookback_days=2, features={"align": FeatureDrift(statistic="tv_distance")})
    report = report_for(later, frames[:4])
    assert {j.window_start for j in report.judgements} == {START + timedelta(days=d) for d in (2, 3)}
    write_verdicts(engine, tables, report, "new")
    rows = engine.read_table(tables.drift_verdicts)
    by_day = {d: rows[rows["window_start"].dt.day == 1 + d] for d in range(4)}
    assert set(by_day[0]["run_id"]) == {"old"} and set(by_day[1]["run_id"]) == {"old"}  # outside: kept
    assert set(by_day[2]["run_id"]) == {"new"} and len(by_day[2]) == 9  # 8 features + quality; the old js_distance row of align is gone
    assert set(by_day[2].loc[by_day[2]["feature"] == "align", "statistic"]) == {"tv_distance"}


def test_a_verdicts_table_with_the_wrong_schema_is_refused_and_left_as_it_was(tmp_path, capsys):
    env = dev_env()
    tables = ModelTables(env, env.model())
    runtime = LocalRuntime(tmp_path / "home")
    engine = LocalEngine(runtime)
    wrong = pa.table({c.name: pa.array(["x"], pa.string()) for c in verdicts_columns()})  # every column a string
    write_deltalake(engine._path(tables.drift_verdicts), wrong)
    with pytest.raises(TableError, match="wrong column type.*window_start is string, expected timestamp"):
        write_verdicts(engine, tables, report_for(env, mixed_windows()[1][:2]), "run")
    assert version(engine, tables.drift_verdicts) == 0

    # the CLI: one clear line, exit 2 (a table without the columns lakemon needs: TableError, a usage
    # error as in every job), no traceback, table untouched
    train, _ = marvel_split()
    drift, profile = build_tables(train, mixed_windows()[1][:2], FEATURES, START)
    write_deltalake(str(runtime.table_path(tables.drift_metrics)), drift)
    write_deltalake(str(runtime.table_path(tables.profile_metrics)), profile)
    code = main(["analyze-drift", "--env-file", str(DEV_ENV), "--home", str(tmp_path / "home"),
                 "--as-of", (START + timedelta(days=2)).isoformat(), "--no-alerts"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"cannot write the verdicts to {tables.drift_verdicts}" in err and "expected timestamp" in err
    assert version(engine, tables.drift_verdicts) == 0


def test_an_unknown_statistic_in_the_config_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "dev.yml"
    bad.write_text(DEV_ENV.read_text().replace("    threshold: 0.1\n", "    threshold: 0.1\n    numeric_statistic: psi\n"))
    code = main(["analyze-drift", "--env-file", str(bad), "--home", str(tmp_path / "home")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "monitoring.drift.numeric_statistic" in err and "population_stability_index" in err


def test_the_alert_sql_fires_exactly_for_the_windows_judged_drift(tmp_path):
    """Replay the alert's schedule: right after each window is judged, the DriftAlert query
    (the text the stack deploys) runs on the verdicts table; it must fire exactly when that
    window has a drift verdict, and name exactly its drifted features."""
    env = dev_env()
    tables = ModelTables(env, env.model())
    engine = LocalEngine(LocalRuntime(tmp_path))
    sources, frames = mixed_windows()
    report = report_for(env, frames)
    write_verdicts(engine, tables, report, "run")
    spec = drift_alert_spec(env, env.model())
    drifted = {}
    for j in report.judgements:
        drifted.setdefault(j.window_start, set())
        if j.verdict is Verdict.DRIFT:
            drifted[j.window_start].add(j.feature)
    assert [bool(drifted[START + timedelta(days=i)]) for i in range(len(sources))] == [s == "dc" for s in sources]
    for start, features in sorted(drifted.items()):
        outcome = evaluate_alert(engine, spec, as_of_window=start)
        assert outcome.fired == bool(features), start
        assert {r["feature"] for r in outcome.rows} == features
        assert {r["window_start"] for r in outcome.rows} <= {start.isoformat()}


def test_quality_verdicts_and_the_quality_alert(tmp_path):
    env = dev_env()  # quality_threshold 0.7, min_rows 100
    tables = ModelTables(env, env.model())
    engine = LocalEngine(LocalRuntime(tmp_path))
    _, frames = mixed_windows()
    quality = [
        {"accuracy_score": 0.9, "num_labeled": 300},
        {"accuracy_score": 0.5, "num_labeled": 300},  # degraded
        {"accuracy_score": 0.2, "num_labeled": 40},  # too few labelled rows to judge
    ]
    report = report_for(env, frames[:3], quality)
    assert [(q.window_start.day, q.verdict) for q in report.quality_judgements] == [
        (1, Verdict.OK), (2, Verdict.DEGRADED), (3, Verdict.TOO_FEW_ROWS)]
    write_verdicts(engine, tables, report, "run")
    rows = engine.read_table(tables.drift_verdicts)
    q = rows[rows["subject"] == "quality"].sort_values("window_start")
    assert q[["feature", "statistic", "value", "threshold", "row_count", "min_rows", "verdict"]].to_numpy().tolist() == [
        [":table", "accuracy_score", 0.9, 0.7, 300, 100, "ok"],
        [":table", "accuracy_score", 0.5, 0.7, 300, 100, "degraded"],
        [":table", "accuracy_score", 0.2, 0.7, 40, 100, "too_few_rows"],
    ]
    spec = quality_alert_spec(env, env.model())
    # now: the newest judged quality window is day 2 (day 3 had too few labels): degraded, fires
    outcome = evaluate_alert(engine, spec)
    assert outcome.fired and [r["metric"] for r in outcome.rows] == ["accuracy_score"]
    assert not evaluate_alert(engine, spec, as_of_window=START).fired  # right after day 1: ok


def test_the_spark_engine_writes_the_verdicts_with_one_merge():
    """On Databricks the same write is one Delta MERGE (no Spark here: a recording session
    checks the statement, which must parse as Databricks SQL and carry the three clauses)."""
    import sqlglot

    from lakemon.contract.verdicts import VERDICT_KEYS
    from lakemon_jobs.drift.store import verdict_frame
    from lakemon_jobs.table_engines.engine import Bound
    from lakemon_jobs.table_engines.spark import SparkEngine

    class Recorder:
        def __init__(self):
            self.statements, self.frames = [], []

        def createDataFrame(self, frame, schema):  # noqa: N802
            self.frames.append((frame, schema))
            return type("DF", (), {"createOrReplaceTempView": lambda _self, name: None})()

        def sql(self, text):
            self.statements.append(text)
            return type("R", (), {"collect": lambda _self: []})()

    env = dev_env()
    report = report_for(env, mixed_windows()[1][:2])
    frame = verdict_frame(report, "run")
    spark = Recorder()
    SparkEngine(spark).replace_rows(
        "c.s.m_drift_verdicts", frame, verdicts_columns(), VERDICT_KEYS,
        [Bound("window_end", ">", report.since), Bound("window_start", "<=", report.as_of)],
    )
    [statement] = spark.statements
    tree = sqlglot.parse_one(statement, read="databricks")
    assert isinstance(tree, sqlglot.exp.Merge)
    assert "WHEN MATCHED THEN UPDATE SET" in statement and "WHEN NOT MATCHED THEN INSERT" in statement
    since_us = int(report.since.timestamp() * 1_000_000)
    assert f"WHEN NOT MATCHED BY SOURCE AND t.`window_end` > timestamp_micros({since_us})" in statement
    assert statement.rstrip().endswith("THEN DELETE")
    [(sent, schema)] = spark.frames
    assert "`window_start` TIMESTAMP" in schema and len(sent) == len(frame)
    assert sent["pvalue"].isna().sum() == sent["pvalue"].map(lambda v: v is None).sum() > 0  # NaN sent as None


def test_a_models_own_quality_threshold_replaces_the_environments():
    """models[].quality_threshold judges that model; the env-wide 0.7 judges the others."""
    env = dev_env()
    own = env.model().model_copy(update={"quality_threshold": 0.4})
    env_own = env.model_copy(update={"models": (own, *env.models[1:])})
    _, frames = mixed_windows()
    quality = [{"accuracy_score": 0.5, "num_labeled": 300}]
    judged = report_for(env_own, frames[:1], quality).quality_judgements
    assert [(q.threshold, q.verdict) for q in judged] == [(0.4, Verdict.OK)]
    judged = report_for(env, frames[:1], quality).quality_judgements
    assert [(q.threshold, q.verdict) for q in judged] == [(0.7, Verdict.DEGRADED)]
