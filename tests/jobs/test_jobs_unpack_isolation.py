"""unpack hardening against hostile payloads: poison pills are quarantined one by one, the watermark is the
payload table's commit version (not request_time), every row read is accounted for, and the raw
payload kept per quarantined request is bounded."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pandas as pd
import pytest
from deltalake import DeltaTable
from jobs_helpers import DEV_ENV, quiet
from unpack_helpers import REC, REC2, T0, log, payload, response, write_payloads

from lakemon_jobs.cli import main
from lakemon_jobs.payloads import RAW_KEEP_CHARS, parse_payloads
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.unpack import RowsLost, unpack_payloads

NOW = pd.Timestamp("2026-06-01", tz="UTC")
"""The runs' start in these tests: T0 (2026-01-01) request times are in the past."""


def quarantine(ctx) -> pd.DataFrame:
    return engine_for(ctx).read_table(ctx.tables.quarantine).set_index("databricks_request_id")


def runs(ctx) -> pd.DataFrame:
    return engine_for(ctx).read_table(ctx.tables.unpack_runs).sort_values("finished_at").reset_index(drop=True)


def good(i: int, minutes: int | None = None) -> dict:
    return payload(i, {"dataframe_records": [REC, REC2]}, response(0.9, 0.1), minutes=minutes)


DEEP = "[" * 100_000 + "]" * 100_000
POISON_PILLS = {
    # ten hostile inputs that once made every unpack run exit 1 with a traceback
    "lone surrogate": ('{"dataframe_records": [{"id": "\\ud800", "align": "Good Characters"}]}', response(0.5), "id: text is not valid Unicode"),
    "deeply nested request": ('{"dataframe_records": ' + DEEP + "}", response(0.5), "request is nested too deeply"),
    "deeply nested response": (json.dumps({"dataframe_records": [REC]}), '{"predictions": ' + DEEP + "}", "response is nested too deeply"),
    "deeply nested value": ('{"dataframe_records": [{"id": ' + DEEP + "}]}", response(0.5), "request is nested too deeply"),
    "split columns as lists": (json.dumps({"dataframe_split": {"columns": [["id"], ["align"]], "data": [["a", "b"]]}}),
                               response(0.5), "every entry of 'columns' must be a column name"),
    "split columns as dicts": (json.dumps({"dataframe_split": {"columns": [{"id": 1}], "data": [["a"]]}}),
                               response(0.5), "every entry of 'columns' must be a column name"),
    "400-digit integer feature": ('{"dataframe_records": [{"appearances": ' + "9" * 400 + "}]}", response(0.5),
                                  "appearances: an integer with 400 digits is out of range for a double"),
    "400-digit integer prediction": (json.dumps({"dataframe_records": [REC]}), '{"predictions": [' + "7" * 400 + "]}",
                                     "prediction: an integer with 400 digits is out of range for a bigint"),
    "prediction 1e30 as an integer": (json.dumps({"dataframe_records": [REC]}),
                                      '{"predictions": [{"prediction": 1e30, "prediction_proba": 0.5}]}',
                                      "prediction: 1e+30 is out of range for a bigint"),
    "infinite probability": (json.dumps({"dataframe_records": [REC]}),
                             '{"predictions": [{"prediction": 1, "prediction_proba": Infinity}]}',
                             "prediction_proba: inf is not a finite number"),
}


def test_each_poison_pill_is_quarantined_with_its_reason_and_the_run_finishes(uctx):
    pills = [payload(100 + i, req, resp) for i, (req, resp, _) in enumerate(POISON_PILLS.values())]
    write_payloads(uctx, [good(1), *pills, good(2)])
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (result.payload_rows, result.accounted_unpacked, result.accounted_quarantined, result.lost) == (12, 2, 10, 0)
    assert result.inserted == 4 and result.quarantined == 10
    reasons = quarantine(uctx)["reason"].to_dict()
    for i, (name, (_, _, expected)) in enumerate(POISON_PILLS.items()):
        assert expected in reasons[f"req-{100 + i}"], name
    assert not any(r.startswith("unexpected") for r in reasons.values())
    assert sorted(set(log(uctx)["databricks_request_id"])) == ["req-1", "req-2"]
    again = unpack_payloads(uctx, full=True, progress=quiet, now=NOW)
    assert (again.inserted, again.quarantined, again.payload_rows, again.lost) == (0, 0, 12, 0)


def test_params_list_is_not_a_model_version_and_does_not_stop_anything(uctx):
    """`params: [1]` with no served_entity_id: the row is unpacked without a model version."""
    write_payloads(uctx, [payload(1, {"dataframe_records": [REC], "params": [1]}, response(0.5), served=None)])
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert result.inserted == 1 and result.quarantined == 0
    assert log(uctx)["model_version"].isna().all()


def test_big_integer_in_a_text_column_is_kept_as_its_digits(uctx):
    write_payloads(uctx, [payload(1, '{"dataframe_records": [{"id": ' + "9" * 400 + "}]}", response(0.5))])
    unpack_payloads(uctx, progress=quiet, now=NOW)
    assert log(uctx)["id"].iloc[0] == "9" * 400


def test_a_future_request_time_is_quarantined_and_hides_no_later_rows(uctx):
    """A client-set request time of 2100-01-01 used to move the watermark."""
    future = payload(1, {"dataframe_records": [REC]}, response(0.9))
    future["request_time"] = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    write_payloads(uctx, [future, good(2)])
    first = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (first.inserted, first.quarantined) == (2, 1)
    assert "request_time 2100-01-01T00:00:00+00:00 is in the future" in quarantine(uctx).loc["req-1", "reason"]
    # later commits, with request times before the future one and before each other: all read
    write_payloads(uctx, [good(3, minutes=5), payload(4, "{not json", response(0.5), minutes=6)])
    write_payloads(uctx, [good(5, minutes=-60 * 24 * 30)])  # a month older than anything seen
    second = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (second.read_mode, second.payload_rows, second.inserted, second.quarantined) == ("changes", 3, 4, 1)
    assert sorted(set(log(uctx)["databricks_request_id"])) == ["req-2", "req-3", "req-5"]
    assert list(runs(uctx)["payload_version"]) == [0, 2]


def test_a_null_request_time_is_quarantined_not_skipped(uctx):
    no_time = payload(1, {"dataframe_records": [REC]}, response(0.9))
    no_time["request_time"] = None
    write_payloads(uctx, [no_time, good(2)])
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (result.payload_rows, result.accounted_unpacked, result.accounted_quarantined) == (2, 1, 1)
    row = quarantine(uctx).loc["req-1"]
    assert row["reason"] == "request_time is null" and pd.isna(row["request_time"])
    assert unpack_payloads(uctx, full=True, progress=quiet, now=NOW).quarantined == 0  # keyed: not twice


def test_a_row_without_request_id_is_quarantined_and_accounted(uctx):
    anonymous = good(1)
    anonymous["databricks_request_id"] = None
    write_payloads(uctx, [anonymous, good(2)])
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (result.payload_rows, result.accounted_unpacked, result.accounted_quarantined, result.lost) == (2, 1, 1, 0)
    assert "databricks_request_id is null" in engine_for(uctx).read_table(uctx.tables.quarantine)["reason"].iloc[0]


def test_incremental_runs_read_only_new_commits_and_record_the_version(uctx):
    write_payloads(uctx, [good(1)])
    first = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (first.read_mode, first.payload_version, first.payload_rows) == ("snapshot", 0, 1)
    nothing = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (nothing.read_mode, nothing.payload_rows, nothing.inserted) == ("none", 0, 0)
    write_payloads(uctx, [good(2), good(1)])  # req-1 logged again in a later commit: a duplicate
    second = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (second.read_mode, second.payload_rows, second.new_payloads, second.inserted) == ("changes", 2, 1, 2)
    recorded = runs(uctx)
    assert list(recorded["payload_version"]) == [0, 1] and list(recorded["read_mode"]) == ["snapshot", "changes"]
    assert list(recorded["payload_rows"]) == [1, 2] and list(recorded["quarantined"]) == [0, 0]
    assert len(log(uctx)) == 4


def test_without_change_data_feed_every_run_reads_the_whole_table_and_stays_idempotent(uctx):
    write_payloads(uctx, [good(1)], change_data_feed=False)
    unpack_payloads(uctx, progress=quiet, now=NOW)
    write_payloads(uctx, [good(2)], change_data_feed=False)
    messages: list[str] = []
    result = unpack_payloads(uctx, progress=messages.append, now=NOW)
    assert result.read_mode == "snapshot" and result.payload_rows == 2 and result.inserted == 2
    assert any("change data feed is not enabled" in m for m in messages)
    assert len(log(uctx)) == 4


def test_a_recreated_payload_table_is_read_whole(uctx):
    write_payloads(uctx, [good(1), good(2)])
    write_payloads(uctx, [good(3)])
    unpack_payloads(uctx, progress=quiet, now=NOW)
    path = uctx.runtime.table_path(uctx.tables.payload)
    import shutil

    shutil.rmtree(path)
    for i in (4, 5, 6):  # three commits: version 2 > the recorded version 1
        write_payloads(uctx, [good(i)])
    messages: list[str] = []
    result = unpack_payloads(uctx, progress=messages.append, now=NOW)
    assert result.read_mode == "snapshot" and result.payload_rows == 3
    assert any("re-created" in m for m in messages)
    assert sorted(set(log(uctx)["databricks_request_id"])) == [f"req-{i}" for i in range(1, 7)]


def test_a_lost_row_fails_the_run_and_the_next_run_reads_it_again(uctx, monkeypatch):
    """The accounting check can fail: drop the quarantine write and see it caught."""
    write_payloads(uctx, [good(1), payload(2, "{not json", response(0.5))])
    engine = engine_for(uctx)
    real_insert = engine.insert_new
    monkeypatch.setattr(engine, "insert_new", lambda name, *a: 0 if name == uctx.tables.quarantine else real_insert(name, *a))
    with pytest.raises(RowsLost, match="1 of 2 payload rows read are neither"):
        unpack_payloads(uctx, progress=quiet, engine=engine, now=NOW)
    assert not engine.exists(uctx.tables.unpack_runs) or engine.read_table(uctx.tables.unpack_runs).empty
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (result.read_mode, result.quarantined, result.lost) == ("snapshot", 1, 0)


def test_cli_prints_the_accounting_and_exits_1_when_rows_are_lost(uctx, capsys, monkeypatch):
    write_payloads(uctx, [good(1), payload(2, "{not json", response(0.5))])
    args = ["unpack", "--env-file", str(DEV_ENV), "--home", str(uctx.runtime.root), "--no-retention"]
    assert main(args) == 0
    assert "check: 2 payload rows in = 1 unpacked + 1 quarantined" in capsys.readouterr().out
    write_payloads(uctx, [good(3)])
    monkeypatch.setattr("lakemon_jobs.table_engines.local.LocalEngine.insert_new", lambda self, name, *a: 0)
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "1 LOST" in out and "the next run reads them again" in out and "Traceback" not in out


def test_raw_payload_is_kept_once_per_request_and_bounded(uctx):
    """Unpacked rows carry no raw payload; a quarantined one keeps it, cut above RAW_KEEP_CHARS
    with the full text's length and SHA-256."""
    big_records = [REC] * 2000
    big = json.dumps({"dataframe_records": big_records})
    assert len(big) > RAW_KEEP_CHARS
    batch = pd.DataFrame([payload(1, big, response(*[0.5] * 2000)), payload(2, big, response(0.5))])
    out = parse_payloads(batch, uctx.model, now=NOW)
    unpacked = out[out["reason"].isna()]
    assert len(unpacked) == 2000 and unpacked["request"].isna().all() and unpacked["response"].isna().all()
    kept = out.loc[out["reason"].notna(), "request"].iloc[0]
    digest = hashlib.sha256(big.encode()).hexdigest()
    assert kept == big[:RAW_KEEP_CHARS] + f"… [truncated: {len(big)} characters, sha256 {digest}]"
    write_payloads(uctx, [payload(3, "x" * 10, None, status=500)])
    unpack_payloads(uctx, progress=quiet, now=NOW)
    assert quarantine(uctx).loc["req-3", "request"] == "x" * 10  # short texts are kept whole


def test_payload_table_written_by_the_logging_layer_has_change_data_feed(tmp_path):
    from lakemon_jobs.embedded.payload_log import PayloadLog

    path = tmp_path / "payload"
    writer = PayloadLog(path)
    writer.append({**good(1), "logging_error_codes": []})
    writer.close()
    assert DeltaTable(str(path)).metadata().configuration.get("delta.enableChangeDataFeed") == "true"


def test_a_request_time_beyond_2261_is_quarantined_with_its_text(uctx):
    """Spark's mapInPandas cannot hand such a time to Python (pandas nanoseconds): the shared SQL
    passes it as text, and the payload is quarantined naming it."""
    far = payload(1, {"dataframe_records": [REC]}, response(0.9))
    far["request_time"] = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    write_payloads(uctx, [far, good(2)])
    result = unpack_payloads(uctx, progress=quiet, now=NOW)
    assert (result.accounted_unpacked, result.accounted_quarantined, result.lost) == (1, 1, 0)
    row = quarantine(uctx).loc["req-1"]
    assert row["reason"].startswith("request_time 9999-12-31 00:00:00") and "outside the years 1678-2261" in row["reason"]


def test_parser_takes_naive_timestamps_as_mapinpandas_hands_them(uctx):
    """mapInPandas passes timestamps as naive datetime64[ns] (session time zone, UTC here): the
    rows must still convert (a Spark 4.3 run once quarantined every good payload as unwritable)."""
    batch = pd.DataFrame([good(1), good(2)])
    batch["request_time"] = pd.to_datetime(batch["request_time"], utc=True).dt.tz_localize(None)
    out = parse_payloads(batch, uctx.model, now=NOW)
    assert out["reason"].isna().all() and len(out) == 4
    assert out["timestamp"].iloc[0] == pd.Timestamp(T0 + dt.timedelta(minutes=1))
    assert str(out["timestamp"].dtype) == "datetime64[us, UTC]"
