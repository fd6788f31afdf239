"""Hostile-input reports re-run as written: hostile requests sent through the embedded logging
layer (the scoring server answers 200), then `lakemon unpack` from the command line."""

from __future__ import annotations

import json

import pytest
import requests
from fake_scoring import PREDICTION, fake_scoring_server
from jobs_helpers import DEV_ENV
from unpack_helpers import REC

from lakemon_jobs.cli import main
from lakemon_jobs.embedded.logging_layer import REQUEST_TIME_HEADER, LoggingLayer, Upstream
from lakemon_jobs.embedded.payload_log import PayloadLog
from lakemon_jobs.table_engines import engine_for


@pytest.fixture
def scoring():
    with fake_scoring_server() as server:
        yield server


def send(layer: LoggingLayer, body: str, when: str) -> requests.Response:
    return requests.post(layer.invocations_url, data=body.encode(), timeout=10,
                         headers={"Content-Type": "application/json", REQUEST_TIME_HEADER: when})


def test_poison_pill_and_future_time_through_the_layer_then_unpack(uctx, scoring, capsys):
    path = uctx.runtime.table_path(uctx.tables.payload)
    args = ["unpack", "--env-file", str(DEV_ENV), "--home", str(uctx.runtime.root), "--no-retention"]
    good = json.dumps({"dataframe_records": [REC, REC]})
    with LoggingLayer(Upstream(scoring.base_url, "alive-classifier-dev", "alive_classifier-3"), PayloadLog(path)) as layer:
        assert send(layer, good, "2026-01-01T00:00:00Z").status_code == 200
        pill = send(layer, '{"client_request_id": "c-pill", "dataframe_records": [{"id": "\\ud800"}]}', "2026-01-01T00:01:00Z")
        assert pill.status_code == 200  # the scoring server answered 200, as in the issue
        assert send(layer, good, "2100-01-01T00:00:00Z").status_code == 200
        # two more that used to stop the layer itself: a lone surrogate as client id, deep nesting
        odd_client = '{"client_request_id": "\\ud800", "dataframe_records": [{"id": "x"}]}'
        assert send(layer, odd_client, "2026-01-01T00:02:00Z").status_code == 200
        deep = '{"dataframe_records": ' + "[" * 100_000 + "]" * 100_000 + "}"
        assert send(layer, deep, "2026-01-01T00:03:00Z").status_code == 400  # answered and logged
    for _ in range(2):  # item 1: "on every rerun"
        assert main(args) == 0
    first = capsys.readouterr().out
    assert "check: 5 payload rows in = 2 unpacked + 3 quarantined" in first
    assert "Traceback" not in first
    reasons = sorted(engine_for(uctx).read_table(uctx.tables.quarantine)["reason"])
    assert reasons[0] == "column id: text is not valid Unicode (lone surrogate '\\ud800')"
    assert "request_time 2100-01-01T00:00:00+00:00 is in the future" in reasons[1]
    assert reasons[2] == "status_code 400"
    log = engine_for(uctx).read_table(uctx.tables.inference_log)
    assert "\\ud800" in set(log["client_request_id"])  # kept as its escape, not lost

    # item 4: later rows, good and malformed, with times before 2100, are read by the next run
    with LoggingLayer(Upstream(scoring.base_url, "alive-classifier-dev", "alive_classifier-3"), PayloadLog(path)) as layer:
        assert send(layer, good, "2026-01-02T00:00:00Z").status_code == 200
        assert send(layer, '{"records": [1]}', "2026-01-02T00:01:00Z").status_code == 400
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "check: 2 payload rows in = 1 unpacked + 1 quarantined" in second
    log = engine_for(uctx).read_table(uctx.tables.inference_log)
    assert len(log) == 5 and log["prediction_proba"].eq(PREDICTION["prediction_proba"]).all()


def test_payload_log_refuses_a_bad_row_alone(tmp_path):
    """A row that does not fit the schema fails its own append; the buffer stays writable."""
    from deltalake import DeltaTable
    from unpack_helpers import payload

    writer = PayloadLog(tmp_path / "payload")
    with pytest.raises(UnicodeEncodeError):
        writer.append({**payload(1, "{}", None), "client_request_id": "\ud800"})
    writer.append(payload(2, "{}", None))
    writer.close()
    assert DeltaTable(str(tmp_path / "payload")).to_pyarrow_table().column("databricks_request_id").to_pylist() == ["req-2"]
