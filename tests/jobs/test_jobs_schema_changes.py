"""Schemas that changed between runs: one line naming the column and the expected type, before
anything is written; rows older than the retention period are counted and said."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from jobs_helpers import DEV_ENV
from unpack_helpers import REC, payload, response, write_payloads

from lakemon_jobs.cli import main
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.unpack import unpack_payloads


def _unpack(ctx, env_file, capsys) -> tuple[int, str]:
    code = main(["unpack", "--env-file", str(env_file), "--home", str(ctx.runtime.root)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_label_that_arrives_as_text_is_one_line(uctx, capsys):
    write_payloads(uctx, [payload(1, {"dataframe_records": [REC]}, response(0.7))])
    labels = pa.table({"client_request_id": ["client-1"], "row_index": pa.array([0], pa.int64()),
                       "alive": ["0"], "label_time": pa.array([dt.datetime(2026, 1, 2, tzinfo=dt.UTC)])})
    write_deltalake(str(uctx.runtime.table_path(uctx.tables.labels)), labels)
    code, out = _unpack(uctx, DEV_ENV, capsys)
    assert code == 2 and "Traceback" not in out
    (line,) = [x for x in out.splitlines() if "lakemon unpack:" in x]
    assert "column alive of" in line and "_labels is string, but lakemon expects bigint" in line
    assert not engine_for(uctx).exists(uctx.tables.quarantine) or engine_for(uctx).read_table(uctx.tables.quarantine).empty


def test_a_feature_whose_type_changed_between_runs_is_one_line(uctx, tmp_path, capsys):
    write_payloads(uctx, [payload(1, {"dataframe_records": [REC]}, response(0.7))])
    assert _unpack(uctx, DEV_ENV, capsys)[0] == 0
    import yaml

    data = yaml.safe_load(DEV_ENV.read_text())
    for feature in data["models"][0]["features"]:
        if feature["name"] == "year":
            feature["type"] = "string"
    changed = tmp_path / "changed" / "dev.yml"
    changed.parent.mkdir()
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    write_payloads(uctx, [payload(2, {"dataframe_records": [REC]}, response(0.7))])
    before = engine_for(uctx).read_table(uctx.tables.inference_log)
    code, out = _unpack(uctx, changed, capsys)
    assert code == 2 and "Traceback" not in out
    assert "column year of" in out and "is double, but lakemon expects string" in out and "rename the table" in out
    assert len(engine_for(uctx).read_table(uctx.tables.inference_log)) == len(before)


@pytest.mark.parametrize(("column", "arrow_type", "value"), [("request_time", pa.string(), "2026-01-01T00:00:00"),
                                                            ("status_code", pa.string(), "200")])
def test_a_payload_column_of_another_type_is_one_line(uctx, capsys, column, arrow_type, value):
    schema = pa.schema([pa.field(f.name, arrow_type) if f.name == column else f for f in PAYLOAD_SCHEMA])
    row = payload(1, {"dataframe_records": [REC]}, response(0.7))
    row[column] = value
    write_deltalake(str(uctx.runtime.table_path(uctx.tables.payload)), pa.Table.from_pylist([row], schema=schema))
    code, out = _unpack(uctx, DEV_ENV, capsys)
    assert code == 2 and "Traceback" not in out
    assert f"column {column} of" in out and "is string, but lakemon expects" in out


def test_rows_older_than_the_retention_period_are_counted_and_said(uctx):
    old = [payload(i, {"dataframe_records": [REC]}, response(0.7)) for i in (1, 2)]
    old[0]["request_time"] = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    old[1]["request_time"] = dt.datetime(1990, 6, 1, tzinfo=dt.UTC)
    recent = payload(3, {"dataframe_records": [REC]}, response(0.7))
    write_payloads(uctx, [*old, recent])
    lines: list[str] = []
    result = unpack_payloads(uctx, progress=lines.append, now=pd.Timestamp("2026-01-02", tz="UTC"))
    assert result.older_than_retention == 2
    assert any("2 of the payload rows read have a request_time before" in line for line in lines)
