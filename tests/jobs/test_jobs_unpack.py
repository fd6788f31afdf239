"""unpack on the embedded default: request formats, idempotency, quarantine, late labels, bad tables."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from jobs_helpers import DEV_ENV, quiet, write_env
from unpack_helpers import REC, REC2, T0, log, payload, response, version, write_labels, write_payloads

from lakemon.contract.tables import inference_log_columns
from lakemon_jobs.cli import main
from lakemon_jobs.context import JobContext
from lakemon_jobs.payloads import parse_payloads
from lakemon_jobs.table_engines import TableError, engine_for
from lakemon_jobs.unpack import unpack_payloads

ALL_FORMATS = [
    payload(1, {"dataframe_records": [REC, REC2]}, response(0.9, 0.2)),
    payload(2, {"dataframe_split": {"columns": list(REC), "data": [list(REC.values())]}}, response(0.7)),
    payload(3, {"instances": [REC2]}, json.dumps({"predictions": [0]})),  # list of scalars
    payload(4, {"inputs": {k: [REC[k], REC2[k]] for k in REC}}, response(0.6, 0.4)),  # columnar
    payload(5, {"instances": [list(REC.values())]}, response(0.55)),  # positional rows
    payload(6, {"dataframe_records": [REC], "model_version": "7"}, response(0.8), served=None),
]


def test_every_request_format_unpacks_to_one_row_per_prediction(uctx):
    write_payloads(uctx, ALL_FORMATS)
    result = unpack_payloads(uctx, progress=quiet)
    assert result.payload_rows == 6 and result.inserted == 8 and result.quarantined == 0 and result.reasons == {}
    frame = log(uctx)
    assert list(frame.columns) == [c.name for c in inference_log_columns(uctx.model)]
    keys = list(zip(frame["databricks_request_id"], frame["row_index"], strict=True))
    assert keys == [("req-1", 0), ("req-1", 1), ("req-2", 0), ("req-3", 0), ("req-4", 0), ("req-4", 1), ("req-5", 0), ("req-6", 0)]
    first = frame.iloc[0]
    assert (first["align"], first["eye"], first["appearances"], first["year"]) == ("Good Characters", None, 10.0, 1990.0)
    assert (first["prediction"], first["prediction_proba"]) == (1, 0.9)
    assert frame.iloc[1]["align"] == "Bad Characters" and pd.isna(frame.iloc[1]["year"])
    assert frame.iloc[3]["prediction"] == 0 and pd.isna(frame.iloc[3]["prediction_proba"])  # scalar response
    assert list(frame.loc[frame["databricks_request_id"] == "req-4", "align"]) == ["Good Characters", "Bad Characters"]
    assert frame.iloc[6]["hair"] == "Brown Hair"  # positional instance mapped in feature order
    assert frame["alive"].isna().all()
    assert list(frame["model_version"]) == ["alive_classifier-3"] * 7 + ["7"]  # served_entity_id, else request field
    assert frame.iloc[0]["timestamp"] == pd.Timestamp(T0 + dt.timedelta(minutes=1))
    assert frame.iloc[0]["client_request_id"] == "client-1"


def test_rerun_and_duplicate_payload_rows_add_nothing(uctx):
    write_payloads(uctx, ALL_FORMATS[:2] + [ALL_FORMATS[0]])  # req-1 logged twice
    first = unpack_payloads(uctx, progress=quiet)
    assert first.inserted == 3
    log_version = version(uctx, uctx.tables.inference_log)
    again = unpack_payloads(uctx, progress=quiet)
    assert (again.payload_rows, again.inserted, again.quarantined) == (0, 0, 0)
    full = unpack_payloads(uctx, full=True, progress=quiet)  # rescan everything: still nothing new
    assert full.inserted == 0
    assert len(log(uctx)) == 3
    assert version(uctx, uctx.tables.inference_log) == log_version  # no empty commits either


def test_incremental_runs_pick_up_new_and_late_arriving_payloads(uctx):
    write_payloads(uctx, [ALL_FORMATS[0]])
    unpack_payloads(uctx, progress=quiet)
    late = payload(9, {"dataframe_records": [REC]}, response(0.9), minutes=0)  # logged late, earlier time
    new = payload(10, {"dataframe_records": [REC]}, response(0.9), minutes=30)
    write_payloads(uctx, [late, new])
    result = unpack_payloads(uctx, progress=quiet)
    assert result.payload_rows == 2 and result.inserted == 2
    assert sorted(set(log(uctx)["databricks_request_id"])) == ["req-1", "req-10", "req-9"]


def test_malformed_and_non_200_rows_are_quarantined_and_good_rows_kept(uctx):
    bad = [
        payload(20, "{not json", response(0.5)),
        payload(21, {"dataframe_records": [REC]}, None, status=500),
        payload(22, {"dataframe_records": [REC, REC]}, response(0.5)),  # 2 inputs, 1 prediction
        payload(23, {"records": [REC]}, response(0.5)),  # unknown format
        payload(24, {"dataframe_records": [{**REC, "appearances": "many"}]}, response(0.5)),  # bad value
        payload(25, {"dataframe_records": [REC]}, json.dumps({"predictions": [{"score": 1}]})),  # no prediction key
        payload(26, {"dataframe_records": []}, json.dumps({"predictions": []})),  # empty request
    ]
    write_payloads(uctx, [ALL_FORMATS[0], *bad, ALL_FORMATS[1]])
    result = unpack_payloads(uctx, progress=quiet)
    assert result.payload_rows == 9 and result.inserted == 3 and result.quarantined == 7
    assert sum(result.reasons.values()) == 7
    quarantine = engine_for(uctx).read_table(uctx.tables.quarantine).set_index("databricks_request_id")
    reasons = quarantine["reason"].to_dict()
    assert reasons["req-20"].startswith("request is not valid JSON")
    assert reasons["req-21"] == "status_code 500"
    assert reasons["req-22"] == "request has 2 rows but response has 1 predictions"
    assert "exactly one of" in reasons["req-23"]
    assert "appearances" in reasons["req-24"] and "expected a number" in reasons["req-24"]
    assert "no 'prediction' key" in reasons["req-25"]
    assert reasons["req-26"] == "request has no rows"
    assert quarantine.loc["req-20", "request"] == "{not json"  # raw payload kept for inspection
    assert quarantine.loc["req-21", "status_code"] == 500
    assert sorted(set(log(uctx)["databricks_request_id"])) == ["req-1", "req-2"]
    again = unpack_payloads(uctx, full=True, progress=quiet)
    assert again.quarantined == 0 and len(engine_for(uctx).read_table(uctx.tables.quarantine)) == 7


def test_late_labels_fill_null_labels_newest_wins_and_set_labels_stay(uctx):
    write_payloads(uctx, ALL_FORMATS[:2])
    assert unpack_payloads(uctx, progress=quiet).labels_joined == 0  # no labels table yet
    write_labels(uctx, [("client-1", 0, 0, 100), ("client-1", 0, 1, 200), ("client-1", 1, None, 100), ("nobody", 0, 1, 100)])
    result = unpack_payloads(uctx, progress=quiet)
    assert result.labels_joined == 1
    frame = log(uctx).set_index(["databricks_request_id", "row_index"])
    assert frame.loc[("req-1", 0), "alive"] == 1  # the newest of two labels
    assert pd.isna(frame.loc[("req-1", 1), "alive"]) and pd.isna(frame.loc[("req-2", 0), "alive"])
    write_labels(uctx, [("client-1", 0, 0, 300), ("client-2", 0, 0, 300)])  # a newer, conflicting label
    assert unpack_payloads(uctx, progress=quiet).labels_joined == 1
    frame = log(uctx).set_index(["databricks_request_id", "row_index"])
    assert frame.loc[("req-1", 0), "alive"] == 1  # never overwritten once set
    assert frame.loc[("req-2", 0), "alive"] == 0
    assert unpack_payloads(uctx, progress=quiet).labels_joined == 0


def test_missing_payload_table_fails_clearly_and_creates_nothing(uctx):
    with pytest.raises(TableError, match="alive_classifier_payload does not exist"):
        unpack_payloads(uctx, progress=quiet)
    assert not engine_for(uctx).exists(uctx.tables.inference_log)


def test_wrong_inference_log_schema_fails_before_any_write(uctx):
    write_payloads(uctx, ALL_FORMATS[:1])
    path = str(uctx.runtime.table_path(uctx.tables.inference_log))
    write_deltalake(path, pa.table({"databricks_request_id": ["x"], "row_index": [0]}))
    with pytest.raises(TableError, match="lacks column"):
        unpack_payloads(uctx, progress=quiet)
    assert version(uctx, uctx.tables.inference_log) == 0
    assert not engine_for(uctx).exists(uctx.tables.quarantine)


def test_wrong_labels_schema_fails_before_any_write(uctx):
    write_payloads(uctx, ALL_FORMATS[:1])
    write_deltalake(str(uctx.runtime.table_path(uctx.tables.labels)), pa.table({"client_request_id": ["c"]}))
    with pytest.raises(TableError, match="alive_classifier_labels lacks column"):
        unpack_payloads(uctx, progress=quiet)
    assert not engine_for(uctx).exists(uctx.tables.inference_log)


def test_names_come_from_the_env_file(tmp_path):
    path = write_env(tmp_path / "envs", name="hero_model", catalog="other_cat", schema="other_schema")
    ctx = JobContext.load(path, home=tmp_path / "home")
    write_payloads(ctx, ALL_FORMATS[:1])
    unpack_payloads(ctx, progress=quiet)
    tables = ctx.runtime.root / "tables" / "other_cat" / "other_schema"
    assert sorted(p.name for p in tables.iterdir()) == [
        "hero_model_inference_log", "hero_model_payload", "hero_model_payload_quarantine", "hero_model_unpack_runs"
    ]


def test_parse_payloads_is_a_pure_function_of_the_batch(uctx):
    batch = pd.DataFrame(ALL_FORMATS[:2])
    out = parse_payloads(batch.copy(), uctx.model)
    pd.testing.assert_frame_equal(out, parse_payloads(batch.copy(), uctx.model))
    assert out["reason"].isna().all() and len(out) == 3
    assert str(out["prediction"].dtype) == "Int64" and str(out["row_index"].dtype) == "Int64"


def test_cli_exit_codes(uctx, tmp_path, capsys):
    """`lakemon unpack` in-process: 2 + a clear message on a bad table, 0 on success, a config
    error ends the job with the config's message (no traceback)."""
    args = ["unpack", "--env-file", str(DEV_ENV), "--home", str(uctx.runtime.root)]
    assert main(args) == 2
    err = capsys.readouterr().err  # a usage error: stderr, as the config errors
    assert "does not exist" in err and "(nothing was written)" in err
    write_payloads(uctx, ALL_FORMATS[:1])
    assert main(args) == 0
    assert "2 inference-log rows written" in capsys.readouterr().out
    bad_env = tmp_path / "dev.yml"
    bad_env.write_text(DEV_ENV.read_text().replace("catalog: mlops_dev", "catalog: mlops-dev"))
    with pytest.raises(SystemExit) as exit_info:
        main(["unpack", "--env-file", str(bad_env), "--home", str(uctx.runtime.root)])
    assert exit_info.value.code == 2  # docs/jobs.md: bad configuration
    err = capsys.readouterr().err
    assert "configuration error" in err and "catalog" in err


def test_retention_deletes_only_rows_older_than_the_configured_days(uctx):
    """inference.retention_days (90 in envs/dev.yml): older inference-log and quarantine rows go,
    newer rows stay, in one commit per table; a second pass deletes nothing more."""
    from lakemon_jobs.retention import enforce_retention

    assert uctx.env.inference.retention_days == 90
    write_payloads(uctx, [
        payload(1, {"dataframe_records": [REC]}, response(0.9), minutes=0),
        payload(2, {"dataframe_records": [REC, REC2]}, response(0.9, 0.1), minutes=60 * 24 * 100),
        payload(3, "{not json", None, status=500, minutes=0),
        payload(4, "{not json", None, status=500, minutes=60 * 24 * 100),
    ])
    unpack_payloads(uctx, progress=quiet)
    now = T0 + dt.timedelta(days=100)  # cutoff T0 + 10 days: request 1 and 3 are older
    before = version(uctx, uctx.tables.inference_log)
    result = enforce_retention(uctx, now=now, progress=quiet)
    assert result.cutoff == T0 + dt.timedelta(days=10)
    assert result.deleted == {uctx.tables.inference_log: 1, uctx.tables.quarantine: 1}
    assert list(log(uctx)["databricks_request_id"]) == ["req-2", "req-2"]
    assert version(uctx, uctx.tables.inference_log) == before + 1
    quarantined = engine_for(uctx).read_table(uctx.tables.quarantine)
    assert list(quarantined["databricks_request_id"]) == ["req-4"]
    again = enforce_retention(uctx, now=now, progress=quiet)
    assert again.deleted == {uctx.tables.inference_log: 0, uctx.tables.quarantine: 0}
