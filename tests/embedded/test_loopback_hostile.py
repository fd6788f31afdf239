"""Hostile clients of the loopback servers (logging layer, webhook receiver): half-sent
requests become no row and no alert, idle connections are closed, every request gets an answer
or a closed connection, and what the servers keep is bounded."""

from __future__ import annotations

import socket

import pytest
import requests
from deltalake import DeltaTable
from fake_scoring import fake_scoring_server

from lakemon_jobs.embedded import loopback, payload_log, webhook
from lakemon_jobs.embedded.logging_layer import REQUEST_TIME_HEADER, LoggingLayer, Upstream
from lakemon_jobs.embedded.payload_log import PayloadLog, PayloadLogError
from lakemon_jobs.embedded.processes import free_port

BODY = b'{"dataframe_records": [{"x": 1}]}'
HALF_SENT = [
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Len",  # cut inside the headers
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n",  # no blank line
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n" + BODY[:10],  # short body
    b"POST /invocations HTTP/1.1\r\nHost: x\r\n",  # no length, no end of headers
    b"POST /invoc",  # cut inside the request line
]


def _send_and_hang_up(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture
def upstream():
    with fake_scoring_server() as server:
        yield server


def test_half_sent_requests_become_no_payload_rows(tmp_path, upstream, capfd):
    table = tmp_path / "payload"
    with LoggingLayer(Upstream(upstream.base_url, "e", "m-1"), PayloadLog(table, batch_rows=1)) as layer:
        for _ in range(20):
            for data in HALF_SENT:
                _send_and_hang_up(layer.port, data)
        ok = requests.post(layer.invocations_url, data=BODY, headers={"Content-Type": "application/json"}, timeout=10)
        assert ok.status_code == 200
    assert DeltaTable(str(table)).to_pyarrow_table().num_rows == 1  # only the whole request
    assert "Traceback" not in capfd.readouterr().err


def test_half_sent_alerts_are_not_kept(capfd):
    port = free_port()
    with webhook.WebhookReceiver(f"http://127.0.0.1:{port}/invocations") as receiver:
        for _ in range(10):
            for data in HALF_SENT:
                _send_and_hang_up(port, data)
        assert receiver.alerts == []
        assert requests.post(receiver.url, json={"a": 1}, timeout=10).status_code == 200
    assert len(receiver.alerts) == 1
    assert "Traceback" not in capfd.readouterr().err


def test_a_post_without_content_length_is_answered_411(upstream, tmp_path):
    with LoggingLayer(Upstream(upstream.base_url, "e", "m-1"), PayloadLog(tmp_path / "p")) as layer:
        answer = _send_and_hang_up(layer.port, b"POST /invocations HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.split(b" ")[1] == b"411", answer


def test_idle_connections_are_closed(monkeypatch, upstream, tmp_path):
    monkeypatch.setattr(loopback.LoopbackHandler, "timeout", 0.5)
    with LoggingLayer(Upstream(upstream.base_url, "e", "m-1"), PayloadLog(tmp_path / "p")) as layer:
        # The server closes them (recv returns b""); had it not, our own 10 s timeout would raise.
        conns = [socket.create_connection(("127.0.0.1", layer.port), timeout=10) for _ in range(20)]
        try:
            for conn in conns:
                assert conn.recv(1) == b""  # closed by the server, not by our own timeout
        finally:
            for conn in conns:
                conn.close()
        assert requests.post(layer.invocations_url, data=BODY, timeout=10).status_code == 200


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "x" * 5000])
def test_an_unrepresentable_request_time_is_answered_400(value, upstream, tmp_path):
    with LoggingLayer(Upstream(upstream.base_url, "e", "m-1"), PayloadLog(tmp_path / "p")) as layer:
        answer = requests.post(layer.invocations_url, data=BODY, headers={REQUEST_TIME_HEADER: value}, timeout=10)
    assert answer.status_code == 400 and REQUEST_TIME_HEADER in answer.json()["message"]
    assert len(answer.json()["message"]) < 300


def test_the_receiver_keeps_at_most_its_cap_and_nothing_after_it_stopped(monkeypatch):
    monkeypatch.setattr(webhook, "MAX_KEPT_ALERTS", 5)
    port = free_port()
    with webhook.WebhookReceiver(f"http://127.0.0.1:{port}/a") as receiver:
        codes = [requests.post(receiver.url, json={"i": i}, timeout=10).status_code for i in range(8)]
    assert codes == [200] * 5 + [503] * 3 and len(receiver.alerts) == 5 and receiver.refused == 3
    assert not receiver._record(webhook.ReceivedAlert("/a", "now", {"late": 1}))
    assert len(receiver.alerts) == 5


def test_a_payload_table_that_cannot_be_written_is_one_line_not_a_trace_per_request(monkeypatch, tmp_path, capfd):
    def read_only(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(payload_log, "write_deltalake", read_only)
    log = PayloadLog(tmp_path / "p", batch_rows=1)
    row = {"databricks_request_id": "r", "request": "x", "response": "y", "logging_error_codes": []}
    for _ in range(50):
        log.append(row)  # never raises into the request handler
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err and "Traceback" not in err
    with pytest.raises(PayloadLogError) as caught:
        log.flush()
    assert "50 row(s)" in str(caught.value) and "\n" not in str(caught.value)


def test_batches_are_written_by_size_too(tmp_path):
    log = PayloadLog(tmp_path / "p", batch_rows=1000, batch_bytes=3000)
    big = {"databricks_request_id": "r", "request": "x" * 1000, "response": "y" * 600, "logging_error_codes": []}
    log.append(big)
    assert log.rows_written == 0
    log.append({**big, "databricks_request_id": "s"})
    assert log.rows_written == 2  # 3,200 bytes of text buffered: written at once


def test_an_unwritable_payload_table_bounds_the_buffer_and_answers_503(monkeypatch, upstream, tmp_path):
    def read_only(*_args, **_kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(payload_log, "write_deltalake", read_only)
    monkeypatch.setattr(payload_log, "MAX_BUFFER_BYTES", 2000)
    log = PayloadLog(tmp_path / "p", batch_rows=1)
    with LoggingLayer(Upstream(upstream.base_url, "e", "m-1"), log) as layer:
        body = b'{"dataframe_records": [{"x": "' + b"y" * 600 + b'"}]}'
        codes = [requests.post(layer.invocations_url, data=body, timeout=10).status_code for _ in range(10)]
        buffered = log._buffered_bytes
    assert codes[0] == 200 and codes[-1] == 503, codes
    assert buffered < 2000 + 2 * 1000  # stops growing once over the cap (one request's text past it at most)
    assert codes.count(200) == len(log._buffer)  # every answered request is still buffered: nothing dropped
