"""refresh on the embedded default: the jobs' tables feed the local monitor engine."""

from __future__ import annotations

import datetime as dt
import json

import mlflow
import pyarrow as pa
from deltalake import write_deltalake
from jobs_helpers import quiet

from lakemon_jobs.datasets import load_comic, split_train_test
from lakemon_jobs.model_steps import CHAMPION
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.refresh import refresh_monitor
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.tracking import configure_mlflow
from lakemon_jobs.unpack import unpack_payloads

DAY0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def test_refresh_profiles_what_unpack_wrote_against_the_baseline_register_wrote(ctx, registered):
    """Score 120 held-out Marvel rows with the champion over two days, log them as payloads,
    unpack, refresh: the profile table counts exactly those rows per day."""
    configure_mlflow(ctx)
    champion = mlflow.pyfunc.load_model(f"models:/{ctx.tables.registered_model}@{CHAMPION}")
    test = split_train_test(load_comic("marvel"), 0.2, 42)[1].head(120)
    features = test[ctx.model.feature_names()].astype(object).where(test[ctx.model.feature_names()].notna(), None)
    rows = []
    for i in range(12):  # 12 requests of 10 rows; 6 on each day
        chunk = features.iloc[i * 10 : (i + 1) * 10]
        out = champion.predict(test[ctx.model.feature_names()].iloc[i * 10 : (i + 1) * 10])
        when = DAY0 + dt.timedelta(days=i // 6, minutes=i)
        rows.append({
            "databricks_request_id": f"refresh-{i}", "client_request_id": f"c-{i}", "request_date": when.date(),
            "request_time": when, "status_code": 200, "sampling_fraction": 1.0, "execution_duration_ms": 3,
            "request": json.dumps({"dataframe_records": chunk.to_dict("records")}),
            "response": json.dumps({"predictions": out.to_dict("records")}),
            "logging_error_codes": [], "served_entity_id": f"alive_classifier-{registered.version}", "requester": "t",
        })
    write_deltalake(str(ctx.runtime.table_path(ctx.tables.payload)), pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA), mode="append")
    assert unpack_payloads(ctx, progress=quiet).inserted == 120

    messages: list[str] = []
    result = refresh_monitor(ctx, progress=messages.append)
    assert result.profile_rows > 0 and result.drift_rows > 0
    profile = engine_for(ctx).read_table(ctx.tables.profile_metrics)
    whole = profile[
        (profile["column_name"] == ":table") & (profile["model_version"] == "*") & profile["slice_key"].isna()
        & (profile["granularity"] == "1 day")
    ]
    inputs = whole[whole["log_type"] == "INPUT"]
    assert sorted(inputs["count"].tolist()) == [60, 60]
    assert whole.loc[whole["log_type"] == "BASELINE", "count"].tolist() == [len(engine_for(ctx).read_table(ctx.tables.baseline))]


def _refresh_a_bad_inference_log(tmp_path, capsys, change) -> tuple[int, str, str, bool]:
    """Write 20 rows of inference log and their baseline, with `change(model, log, stamps)` applied
    to the log, and run `lakemon refresh`: (exit code, stdout, stderr, whether no metrics table exists)."""
    from pathlib import Path

    import pandas as pd

    from lakemon.config import load_environment
    from lakemon.contract.tables import ModelTables, baseline_columns, inference_log_columns
    from lakemon_jobs.cli import main
    from lakemon_jobs.local.runtime import LocalRuntime
    from lakemon_jobs.table_engines.schemas import to_arrow

    env_file = Path(__file__).resolve().parents[2] / "envs" / "dev.yml"
    env = load_environment(env_file)
    model, tables, runtime = env.model(), ModelTables(env, env.model()), LocalRuntime(tmp_path)
    stamps = [DAY0 + dt.timedelta(hours=i) for i in range(20)]
    frame = pd.DataFrame({"sex": ["Male"] * 20, "year": [1990.0] * 20, model.model_id_column: ["1"] * 20,
                          model.timestamp_column: stamps, model.label.name: [1] * 20})
    log = change(model, to_arrow(frame, inference_log_columns(model)), stamps)
    write_deltalake(str(runtime.table_path(tables.inference_log)), log)
    write_deltalake(str(runtime.table_path(tables.baseline)), to_arrow(frame, baseline_columns(model)))
    code = main(["refresh", "--env-file", str(env_file), "--home", str(tmp_path)])
    out = capsys.readouterr()
    untouched = not runtime.table_path(tables.profile_metrics).exists() and not runtime.table_path(tables.drift_metrics).exists()
    return code, out.out, out.err, untouched


def test_refresh_refuses_timestamps_whose_windows_cannot_be_written(tmp_path, capsys):
    """One clear line naming the column and the row count, exit 1, no metrics table written."""

    def far_stamps(model, log, stamps):
        far = pa.array([int(s.timestamp() * 1e6) for s in stamps[:18]] + [600_000_000_000 * 10**6] * 2, pa.int64())
        return log.set_column(log.schema.get_field_index(model.timestamp_column), model.timestamp_column,
                              far.cast(pa.timestamp("us", tz="UTC")))

    code, out, err, untouched = _refresh_a_bad_inference_log(tmp_path, capsys, far_stamps)
    assert code == 1 and "Traceback" not in out + err
    assert "timestamp column 'timestamp': 2 row(s) lie outside 0001-02-01..9998-12-31 UTC" in out
    assert untouched


def test_refresh_stops_on_settings_that_do_not_fit_the_data_with_exit_2(tmp_path, capsys):
    """A column the env file calls numeric holds text in the inference log: the settings do not
    fit the data (SettingsMismatch, a usage error), one line on stderr, exit 2, nothing written."""

    def text_year(model, log, stamps):
        return log.set_column(log.schema.get_field_index("year"), "year", pa.array(["nineteen ninety"] * 20))

    code, out, err, untouched = _refresh_a_bad_inference_log(tmp_path, capsys, text_year)
    assert code == 2 and "Traceback" not in out + err
    assert "lakemon refresh: column 'year' is configured numeric but has type string" in err
    assert untouched
