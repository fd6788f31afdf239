"""Local alerting: the production alert SQL evaluated on a local verdicts table, and delivery
against a real loopback HTTP server (retry after a 500, a destination that is down, the outbox)."""

from __future__ import annotations

import email
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from drift_fixtures import START, count_row, dev_env, drift_row, tables, with_destinations
from ports import refused_port

from lakemon.alerting import drift_alert_spec
from lakemon.config.model import EmailDestination, SecretDestination
from lakemon.contract.tables import ModelTables
from lakemon_jobs.drift import analyze, write_verdicts
from lakemon_jobs.drift.alerts import alert_message, deliver, evaluate_alert, fire_local_alerts
from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.table_engines.local import LocalEngine


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


@pytest.fixture
def down_port():
    """Refuses connections for the whole test (tests/shared/ports.py)."""
    with refused_port() as port:
        yield port


def drift_report(env):
    stats = {"js_distance": 0.3, "chi_squared_test": {"statistic": 50.0, "pvalue": 1e-9}}
    drift, profile = tables([drift_row(0, "align", **stats), drift_row(1, "id", **stats)],
                            [count_row(0, "align", 500), count_row(1, "id", 400)])
    return analyze(env, env.model(), drift, profile, now=START + timedelta(days=2))


def webhook(name: str, url: str) -> SecretDestination:
    return SecretDestination(type="webhook", name=name, secret_variable=f"{name.replace('-', '_')}_url", local_url=url)


def fired_message(env, tmp_path):
    """The drift alert of a report whose two windows both drifted, as the alert SQL sees it."""
    engine = LocalEngine(LocalRuntime(tmp_path / "home"))
    write_verdicts(engine, ModelTables(env, env.model()), drift_report(env), "run-1")
    outcome = evaluate_alert(engine, drift_alert_spec(env, env.model()))
    assert outcome.fired
    return alert_message(outcome, env, env.model(), "report.html")


def test_webhook_gets_the_message_and_a_500_is_retried(server, tmp_path):
    server.statuses = [500]
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    env = with_destinations(dev_env(), [webhook("hook", url)])
    results = deliver(fired_message(env, tmp_path), env, outbox_dir=tmp_path, backoff=0.01)
    assert [(r.destination, r.delivered) for r in results] == [("hook", True)]
    assert len(server.bodies) == 2  # the 500, then the retry
    message = server.bodies[-1]
    assert message["model"] == "alive_classifier" and message["env"] == "dev"
    assert message["alert"] == "lakemon dev alive_classifier: feature drift"
    # the alert looks at the newest judged window only: day 1, where id drifted
    assert message["features"] == ["id"]
    assert message["windows"] == [(START + timedelta(days=1)).isoformat()]
    assert [(r["feature"], r["statistic"], r["value"], r["row_count"]) for r in message["rows"]] == [
        ("id", "js_distance", 0.3, 400)]
    assert "id" in message["text"] and "js_distance 0.3" in message["text"]


def test_a_down_destination_is_reported_and_the_others_still_get_theirs(server, down_port, tmp_path):
    down = f"http://127.0.0.1:{down_port}/alerts"
    env = with_destinations(dev_env(), [
        webhook("down", down),
        webhook("up", f"http://127.0.0.1:{server.server_port}/alerts"),
        SecretDestination(type="slack", name="no-local", secret_variable="slack_url"),
        EmailDestination(type="email", name="team", addresses=("team@example.com",)),
    ])
    results = {r.destination: r for r in deliver(fired_message(env, tmp_path), env, outbox_dir=tmp_path, retries=2,
                                                  backoff=0.01, timeout=1)}
    assert not results["down"].delivered and "ConnectionError" in results["down"].detail
    assert results["up"].delivered and len(server.bodies) == 1
    assert not results["no-local"].delivered and "skipped" in results["no-local"].detail
    assert results["team"].delivered
    [eml] = list(tmp_path.glob("*_team.eml"))
    mail = email.message_from_bytes(eml.read_bytes())
    assert mail["To"] == "team@example.com" and "alive_classifier" in mail["Subject"] and "id" in mail["Subject"]


def test_a_server_that_keeps_failing_is_reported_after_the_retries(server, tmp_path):
    server.statuses = [503] * 10
    env = with_destinations(dev_env(), [webhook("hook", f"http://127.0.0.1:{server.server_port}/x")])
    [result] = deliver(fired_message(env, tmp_path), env, outbox_dir=tmp_path, retries=2, backoff=0.01)
    assert not result.delivered and "503" in result.detail
    assert len(server.bodies) == 3  # first try + 2 retries


def test_no_drift_no_alert(server, tmp_path):
    env = with_destinations(dev_env(), [webhook("hook", f"http://127.0.0.1:{server.server_port}/x")])
    stats = {"js_distance": 0.01, "chi_squared_test": {"statistic": 1.0, "pvalue": 0.9}}
    drift, profile = tables([drift_row(0, "align", **stats)], [count_row(0, "align", 500)])
    report = analyze(env, env.model(), drift, profile, now=START + timedelta(days=1))
    engine = LocalEngine(LocalRuntime(tmp_path / "home"))
    write_verdicts(engine, ModelTables(env, env.model()), report, "run-1")
    fired = fire_local_alerts(engine, env, env.model(), outbox_dir=tmp_path)
    assert [(o.spec.display_name, o.fired, d) for o, d in fired] == [
        ("lakemon dev alive_classifier: feature drift", False, []),
        ("lakemon dev alive_classifier: model quality", False, []),
    ]
    assert server.bodies == []


def test_a_destination_name_with_a_slash_is_a_safe_file_name_and_the_webhook_still_gets_its_alert(server, tmp_path):
    env = with_destinations(dev_env(), [
        EmailDestination(type="email", name="ml/platform", addresses=("team@example.com",)),
        webhook("hook", f"http://127.0.0.1:{server.server_port}/alerts"),
    ])
    outbox = tmp_path / "outbox"
    results = {r.destination: r for r in deliver(fired_message(env, tmp_path), env, outbox_dir=outbox, backoff=0.01)}
    assert results["ml/platform"].delivered and results["hook"].delivered and len(server.bodies) == 1
    [eml] = list(outbox.iterdir())  # in the outbox itself, not in a sub-folder 'ml'
    assert eml.name.endswith("_ml_platform.eml")


def test_an_unwritable_outbox_is_reported_and_the_webhook_still_gets_its_alert(server, tmp_path):
    env = with_destinations(dev_env(), [
        EmailDestination(type="email", name="team", addresses=("team@example.com",)),
        webhook("hook", f"http://127.0.0.1:{server.server_port}/alerts"),
    ])
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the outbox folder should be")
    results = {r.destination: r for r in deliver(fired_message(env, tmp_path), env, outbox_dir=blocker, backoff=0.01)}
    assert not results["team"].delivered and "outbox" in results["team"].detail
    assert results["hook"].delivered and len(server.bodies) == 1
