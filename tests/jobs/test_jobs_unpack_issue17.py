"""Issue 17 items 1 and 4 re-run as written: hostile requests sent through the embedded logging
layer (the scoring server answers 200), then `lakemon unpack` from the command line."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from jobs_helpers import DEV_ENV
from unpack_helpers import REC

from lakemon_jobs.cli import main
from lakemon_jobs.embedded.logging_layer import REQUEST_TIME_HEADER, LoggingLayer, Upstream
from lakemon_jobs.embedded.loopback import LoopbackServer
from lakemon_jobs.embedded.payload_log import PayloadLog
from lakemon_jobs.tables import engine_for


class AnswersEverything(BaseHTTPRequestHandler):
    """A scoring server that answers 200 with one prediction per dataframe_records row, whatever
    the values (as the issue saw: the server answered 200 to the poison pill); 400 otherwise."""

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            rows = json.loads(raw)["dataframe_records"]
            status, out = 200, {"predictions": [{"prediction": 1, "prediction_proba": 0.75}] * len(rows)}
        except (ValueError, KeyError, TypeError, RecursionError):
            status, out = 400, {"error_code": "BAD_REQUEST", "message": "not dataframe_records"}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scoring():
    with LoopbackServer(AnswersEverything, name="scoring") as server:
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
    assert len(log) == 5 and log["prediction_proba"].eq(0.75).all()


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
