"""Alerting against a real loopback HTTP server: delivery, retry after a 500, a destination
that is down, and the email outbox."""

from __future__ import annotations

import email
import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from drift_fixtures import START, count_row, dev_env, drift_row, tables, with_destinations

from lakemon.config.model import EmailDestination, SecretDestination
from lakemon_jobs.drift import analyze, send_alerts


class Recorder(BaseHTTPRequestHandler):
    """Answers each POST with the next status of `server.statuses` (then 200) and records bodies."""

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.bodies, srv.statuses = [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drift_report(env):
    stats = {"js_distance": 0.3, "chi_squared_test": {"statistic": 50.0, "pvalue": 1e-9}}
    drift, profile = tables([drift_row(0, "align", **stats), drift_row(1, "id", **stats)],
                            [count_row(0, "align", 500), count_row(1, "id", 400)])
    return analyze(env, env.model(), drift, profile, now=START + timedelta(days=2))


def webhook(name: str, url: str) -> SecretDestination:
    return SecretDestination(type="webhook", name=name, secret_variable=f"{name.replace('-', '_')}_url", local_url=url)


def test_webhook_gets_the_message_and_a_500_is_retried(server, tmp_path):
    server.statuses = [500]
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    env = with_destinations(dev_env(), [webhook("hook", url)])
    results = send_alerts(drift_report(env), env, outbox_dir=tmp_path, backoff=0.01)
    assert [(r.destination, r.delivered) for r in results] == [("hook", True)]
    assert len(server.bodies) == 2  # the 500, then the retry
    message = server.bodies[-1]
    assert message["model"] == "alive_classifier" and message["env"] == "dev"
    assert message["features"] == ["align", "id"]
    assert message["windows"] == [(START + timedelta(days=d)).isoformat() for d in (0, 1)]
    assert {(d["feature"], d["statistic"], d["value"], d["count"]) for d in message["drifts"]} == {
        ("align", "js_distance", 0.3, 500), ("id", "js_distance", 0.3, 400)}
    assert "align" in message["text"] and "js_distance 0.3" in message["text"]


def test_a_down_destination_is_reported_and_the_others_still_get_theirs(server, tmp_path):
    down = f"http://127.0.0.1:{free_port()}/alerts"
    env = with_destinations(dev_env(), [
        webhook("down", down),
        webhook("up", f"http://127.0.0.1:{server.server_port}/alerts"),
        SecretDestination(type="slack", name="no-local", secret_variable="slack_url"),
        EmailDestination(type="email", name="team", addresses=("team@example.com",)),
    ])
    results = {r.destination: r for r in send_alerts(drift_report(env), env, outbox_dir=tmp_path, retries=2,
                                                        backoff=0.01, timeout=1)}
    assert not results["down"].delivered and "ConnectionError" in results["down"].detail
    assert results["up"].delivered and len(server.bodies) == 1
    assert not results["no-local"].delivered and "skipped" in results["no-local"].detail
    assert results["team"].delivered
    [eml] = list(tmp_path.glob("*_team.eml"))
    mail = email.message_from_bytes(eml.read_bytes())
    assert mail["To"] == "team@example.com" and "alive_classifier" in mail["Subject"]


def test_a_server_that_keeps_failing_is_reported_after_the_retries(server, tmp_path):
    server.statuses = [503] * 10
    env = with_destinations(dev_env(), [webhook("hook", f"http://127.0.0.1:{server.server_port}/x")])
    [result] = send_alerts(drift_report(env), env, outbox_dir=tmp_path, retries=2, backoff=0.01)
    assert not result.delivered and "503" in result.detail
    assert len(server.bodies) == 3  # first try + 2 retries


def test_no_drift_no_alert(server, tmp_path):
    env = with_destinations(dev_env(), [webhook("hook", f"http://127.0.0.1:{server.server_port}/x")])
    stats = {"js_distance": 0.01, "chi_squared_test": {"statistic": 1.0, "pvalue": 0.9}}
    drift, profile = tables([drift_row(0, "align", **stats)], [count_row(0, "align", 500)])
    report = analyze(env, env.model(), drift, profile, now=START + timedelta(days=1))
    assert send_alerts(report, env, outbox_dir=tmp_path) == [] and server.bodies == []
