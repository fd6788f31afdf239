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
