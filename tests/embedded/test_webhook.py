"""The local alert destination records every POST and refuses to start on a busy port."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from lakemon_jobs.embedded.processes import free_port, port_is_free
from lakemon_jobs.embedded.webhook import WebhookReceiver


def test_records_every_post_in_memory_and_in_the_file(tmp_path):
    port = free_port()
    record = tmp_path / "alerts.jsonl"
    with WebhookReceiver(f"http://127.0.0.1:{port}/alerts", record_file=record) as receiver:
        for i in range(3):
            resp = requests.post(receiver.url, json={"model": "m", "window": i}, timeout=5)
            assert resp.status_code == 200
        assert requests.post(f"http://127.0.0.1:{port}/elsewhere", json={}, timeout=5).status_code == 404
        requests.post(receiver.url, data="plain text", timeout=5)
    assert [a.body for a in receiver.alerts] == [
        {"model": "m", "window": 0},
        {"model": "m", "window": 1},
        {"model": "m", "window": 2},
        "plain text",
    ]
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [line["body"] for line in lines] == [a.body for a in receiver.alerts]
    assert port_is_free(port)


def test_busy_port_fails_with_a_clear_message():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"port {port} is in use.*local_url"):
            with WebhookReceiver(f"http://127.0.0.1:{port}/alerts"):
                pass


def test_refuses_non_loopback_urls():
    with pytest.raises(ValueError, match="loopback"):
        WebhookReceiver("http://example.com/alerts")


def _raw_request(port: int, head: str, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head.encode() + b"\r\n\r\n" + body)
        return conn.recv(4096)


@pytest.mark.parametrize(("length", "status"), [("abc", b"400"), ("-5", b"400"), ("200000000", b"413")])
def test_bad_or_huge_content_length_is_answered_not_hung(length, status):
    port = free_port()
    with WebhookReceiver(f"http://127.0.0.1:{port}/alerts") as receiver:
        answer = _raw_request(port, f"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: {length}")
        assert answer.split(b" ")[1] == status, answer
        assert receiver.alerts == []  # nothing recorded, and the receiver still answers
        assert requests.post(receiver.url, json={"ok": 1}, timeout=5).status_code == 200


def test_malformed_alert_bodies_are_ignored_by_the_run():
    from datetime import date

    from lakemon_jobs.embedded.steps_monitor import lakemon_alert

    day = "2026-11-23T00:00:00+00:00"
    assert lakemon_alert({"alert": "m: feature drift", "windows": [day]}) == ("feature drift", {date(2026, 11, 23)})
    assert lakemon_alert({"alert": "m: model quality", "windows": [day]}) == ("model quality", {date(2026, 11, 23)})
    for body in ["text", [], {"alert": 5}, {"alert": "x feature drift", "windows": "2026"},
                 {"alert": "x something else", "windows": [day]},
                 {"alert": "x feature drift", "windows": ["not a date"]}, {"alert": "x feature drift", "windows": [None]}]:
        assert lakemon_alert(body) is None, body
