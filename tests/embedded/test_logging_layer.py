"""The logging layer in front of a scoring server: one payload row per request, exact schema.

The upstream here is a small loopback server that answers like MLflow's scoring server (200 with
predictions, or the status it is told to return), so these tests exercise the layer's own
behaviour in milliseconds; the real `mlflow models serve` is covered by the end-to-end test.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
import requests
from deltalake import DeltaTable
from fake_scoring import FakeScoring, fake_scoring_server
from ports import refused_port

from lakemon_jobs.embedded.logging_layer import (
    REQUEST_TIME_HEADER,
    LoggingLayer,
    Upstream,
    parse_request_time,
    strip_client_request_id,
)
from lakemon_jobs.embedded.payload_log import PayloadLog, PayloadLogError
from lakemon_jobs.embedded.processes import port_is_free
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA


@pytest.fixture
def upstream():
    with fake_scoring_server() as server:
        yield server


def read_payload(path):
    return DeltaTable(str(path)).to_pyarrow_table()


def test_rows_have_the_payload_schema_and_client_request_id_is_stripped(tmp_path, upstream):
    table = tmp_path / "payload"
    with LoggingLayer(
        Upstream(upstream.base_url, "alive-classifier-dev", "alive_classifier-3"), PayloadLog(table)
    ) as layer:
        body = {"client_request_id": "abc-1", "dataframe_records": [{"x": 1}, {"x": 2}]}
        resp = requests.post(
            layer.invocations_url, json=body, headers={REQUEST_TIME_HEADER: "2026-03-04T05:06:07"}
        )
        assert resp.status_code == 200
        assert resp.json()["predictions"][0] == {"prediction": 1, "prediction_proba": 0.9}
        request_id = resp.headers["x-request-id"]
    # The model never saw the client id; the table has exactly the AI-gateway schema.
    assert FakeScoring.received == [{"dataframe_records": [{"x": 1}, {"x": 2}]}]
    rows = read_payload(table)
    assert rows.schema.equals(PAYLOAD_SCHEMA)
    assert rows.num_rows == 1
    row = rows.to_pylist()[0]
    assert row["databricks_request_id"] == request_id and uuid.UUID(request_id)
    assert row["client_request_id"] == "abc-1"
    assert row["request_time"] == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert row["request_date"] == date(2026, 3, 4)
    assert row["status_code"] == 200
    assert row["sampling_fraction"] == 1.0
    assert row["execution_duration_ms"] >= 0
    assert json.loads(row["request"]) == {"dataframe_records": [{"x": 1}, {"x": 2}]}
    assert json.loads(row["response"])["predictions"][1]["prediction_proba"] == 0.9
    assert row["logging_error_codes"] == []
    assert row["served_entity_id"] == "alive_classifier-3"
    assert row["requester"]


def test_non_200_responses_are_logged_with_the_upstream_status(tmp_path, upstream):
    table = tmp_path / "payload"
    with LoggingLayer(Upstream(upstream.base_url, "ep", "m-1"), PayloadLog(table)) as layer:
        resp = requests.post(f"{layer.base_url}/invocations", json={"boom": 1})
        assert resp.status_code == 500
    rows = read_payload(table).to_pylist()
    assert [r["status_code"] for r in rows] == [500]
    assert json.loads(rows[0]["response"])["message"] == "boom"
    assert rows[0]["client_request_id"] is None


def test_unreachable_scoring_server_is_logged_as_503(tmp_path):
    table = tmp_path / "payload"
    with refused_port() as port, LoggingLayer(Upstream(f"http://127.0.0.1:{port}", "ep", "m-1", timeout_s=2),
                                              PayloadLog(table)) as layer:
        resp = requests.post(layer.invocations_url, json={"dataframe_records": [{"x": 1}]})
        assert resp.status_code == 503
    assert [r["status_code"] for r in read_payload(table).to_pylist()] == [503]


def test_unknown_route_and_bad_clock_header_are_refused_and_not_logged(tmp_path, upstream):
    table = tmp_path / "payload"
    with LoggingLayer(Upstream(upstream.base_url, "ep", "m-1"), PayloadLog(table)) as layer:
        assert (
            requests.post(f"{layer.base_url}/serving-endpoints/other/invocations", json={}).status_code == 404
        )
        bad = requests.post(
            layer.invocations_url, json={"dataframe_records": []}, headers={REQUEST_TIME_HEADER: "yesterday"}
        )
        assert bad.status_code == 400 and REQUEST_TIME_HEADER in bad.json()["message"]
    assert not table.exists()
    assert FakeScoring.received == []


def test_rows_are_buffered_and_flushed_in_batches_and_on_stop(tmp_path, upstream):
    table = tmp_path / "payload"
    log = PayloadLog(table, batch_rows=4)
    with LoggingLayer(Upstream(upstream.base_url, "ep", "m-1"), log) as layer:

        def send(i: int) -> None:
            requests.post(
                layer.invocations_url, json={"client_request_id": f"c{i}", "dataframe_records": [{"x": i}]}
            )

        for i in range(10):
            send(i)
        assert log.rows_written == 8  # two full batches; the last 2 rows wait in the buffer
        assert DeltaTable(str(table)).version() == 1  # two commits: versions 0 and 1
        threads = [threading.Thread(target=send, args=(i,)) for i in range(10, 30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rows = read_payload(table).to_pylist()  # stop flushed the rest; concurrent requests lost nothing
    assert sorted(r["client_request_id"] for r in rows) == sorted(f"c{i}" for i in range(30))
    assert len({r["databricks_request_id"] for r in rows}) == 30


def test_port_is_released_when_the_layer_stops(tmp_path, upstream):
    with LoggingLayer(Upstream(upstream.base_url, "ep", "m-1"), PayloadLog(tmp_path / "p")) as layer:
        port = layer.port
        assert not port_is_free(port)
    assert port_is_free(port)


def test_payload_log_keeps_rows_when_a_write_fails(tmp_path, monkeypatch):
    log = PayloadLog(tmp_path / "p")
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, TypeError)):  # a bad row fails alone, at append
        log.append({"databricks_request_id": "r0", "status_code": "not an int"})
    log.append({"databricks_request_id": "r1", "status_code": 200})

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lakemon_jobs.embedded.payload_log.write_deltalake", disk_full)
    with pytest.raises(PayloadLogError, match="disk full"):
        log.flush()
    assert [r["databricks_request_id"] for r in log._buffer] == ["r1"]


def test_strip_client_request_id_only_touches_top_level_json_objects():
    assert strip_client_request_id(b'{"client_request_id": 7, "inputs": [1]}') == ("7", b'{"inputs": [1]}')
    assert strip_client_request_id(b'{"inputs": [{"client_request_id": 1}]}') == (
        None,
        b'{"inputs": [{"client_request_id": 1}]}',
    )
    assert strip_client_request_id(b"not json") == (None, b"not json")
    assert strip_client_request_id(b"[1, 2]") == (None, b"[1, 2]")


def test_request_time_header_parsing():
    assert parse_request_time("2026-01-02T03:04:05+02:00") == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert parse_request_time("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    before = datetime.now(UTC)
    assert before <= parse_request_time(None) <= datetime.now(UTC)


@pytest.mark.parametrize(("length", "status"), [("abc", b"400"), ("-5", b"400"), (str(200 * 1024 * 1024), b"413")])
def test_bad_or_huge_content_length_is_answered_and_not_logged(tmp_path, upstream, length, status):
    import socket
    from urllib.parse import urlsplit

    table = tmp_path / "payload"
    with LoggingLayer(Upstream(upstream.base_url, "ep", "m-1"), PayloadLog(table)) as layer:
        path = urlsplit(layer.invocations_url).path
        with socket.create_connection(("127.0.0.1", layer.port), timeout=5) as conn:
            conn.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
            answer = conn.recv(4096)
        assert answer.split(b" ")[1] == status, answer
        ok = requests.post(layer.invocations_url, json={"dataframe_records": [{"x": 1}]})
        assert ok.status_code == 200  # the layer still serves
    assert len(FakeScoring.received) == 1
