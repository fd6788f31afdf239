"""`lakemon analyze-drift` end to end on local Delta tables: exit codes, files, alerts."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from deltalake import write_deltalake
from drift_fixtures import DEV_ENV, FEATURES, START, dc, marvel_split
from scipy_drift_metrics import build_tables
from test_drift_alerts import Recorder

from lakemon.config import load_environment
from lakemon.contract.tables import ModelTables
from lakemon_jobs.cli import main
from lakemon_jobs.local.runtime import LocalRuntime

AS_OF = (START + timedelta(days=2)).isoformat()


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.bodies, srv.statuses = [], []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def env_file(tmp_path, url: str, extra: str = "") -> str:
    text = DEV_ENV.read_text().replace("http://127.0.0.1:8765/alerts", url)
    if extra:
        text = text.replace("    threshold: 0.1\n", f"    threshold: 0.1\n{extra}")
    path = tmp_path / "dev.yml"
    path.write_text(text)
    return str(path)


def write_tables(home, windows):
    env = load_environment(DEV_ENV)
    tables = ModelTables(env, env.model())
    train, _ = marvel_split()
    drift, profile = build_tables(train, windows, FEATURES, START)
    runtime = LocalRuntime(home)
    write_deltalake(str(runtime.table_path(tables.drift_metrics)), drift)
    write_deltalake(str(runtime.table_path(tables.profile_metrics)), profile)


def run_cli(*args: str) -> int:
    return main(["analyze-drift", *args])


def test_no_drift_exits_0_and_writes_the_report(tmp_path, server, capsys):
    _, held_out = marvel_split()
    write_tables(tmp_path / "home", [held_out.sample(500, random_state=i) for i in range(2)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"), "--as-of", AS_OF)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "status: " in out and "drift" not in out.split("status: ")[1].split(";")[0]
    reports = tmp_path / "home" / "reports"
    assert len(list(reports.glob("*.html"))) == 1 and len(list(reports.glob("*.json"))) == 1
    assert server.bodies == []


def test_drift_exits_3_and_alerts_the_webhook_and_outbox(tmp_path, server, capsys):
    _, held_out = marvel_split()
    write_tables(tmp_path / "home", [held_out.sample(500, random_state=1), dc().sample(500, random_state=2)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    out_dir = tmp_path / "out"
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"), "--as-of", AS_OF,
                   "--output-dir", str(out_dir))
    out = capsys.readouterr().out
    assert code == 3, out
    assert "drifted features:" in out and "alert drift-webhook-dev (webhook): sent" in out
    [message] = server.bodies
    assert message["env"] == "dev" and "align" in message["features"]
    assert message["report"].endswith(".html") and message["report"].startswith(str(out_dir))
    summary = json.loads(next(out_dir.glob("*.json")).read_text())
    assert summary["status"] == "drift"
    assert len(list((out_dir / "outbox").glob("*.eml"))) == 1  # the email destination of dev.yml


def test_no_alerts_flag(tmp_path, server, capsys):
    write_tables(tmp_path / "home", [dc().sample(500, random_state=2)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"),
                   "--as-of", AS_OF, "--no-alerts")
    assert code == 3 and server.bodies == []


def test_missing_tables_exit_1_with_a_clear_message(tmp_path, capsys):
    code = run_cli("--env-file", str(DEV_ENV), "--home", str(tmp_path / "empty"))
    err = capsys.readouterr().err
    assert code == 1
    assert "does not exist" in err and "lakemon refresh" in err and "Traceback" not in err


def test_config_errors_exit_2(tmp_path, capsys):
    assert run_cli("--env-file", str(tmp_path / "nope.yml"), "--home", str(tmp_path)) == 2
    bad = env_file(tmp_path, "http://127.0.0.1:1/x", extra="    features:\n      year: {statistic: js_distance}\n")
    write_tables(tmp_path / "home", [dc().sample(200, random_state=2)])
    assert run_cli("--env-file", bad, "--home", str(tmp_path / "home")) == 2
    assert "js_distance is a categorical statistic but year is numeric" in capsys.readouterr().err  # now at load time


def test_usage_error_exits_2_and_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        run_cli("--as-of", "yesterday")
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        run_cli("--help")
    help_text = capsys.readouterr().out
    assert "3  drift found" in help_text and "1  error" in help_text and "0  no drift" in help_text


def test_drift_exit_code_is_configurable_for_the_databricks_job(tmp_path, server, capsys):
    """The monitoring job passes --drift-exit-code 0: drift is reported, the run still succeeds."""
    write_tables(tmp_path / "home", [dc().sample(500, random_state=2)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"),
                   "--as-of", AS_OF, "--no-alerts", "--drift-exit-code", "0")
    out = capsys.readouterr().out
    assert code == 0 and "drifted features:" in out


def test_windows_older_than_the_lookback_are_counted_and_said(tmp_path, server, capsys):
    _, held_out = marvel_split()
    write_tables(tmp_path / "home", [held_out.sample(500, random_state=i) for i in range(3)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    late = (START + timedelta(days=32)).isoformat()  # lookback 30 days: the first two windows are older
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"), "--as-of", late, "--no-alerts")
    err = capsys.readouterr().err
    assert code == 0, err
    (line,) = [x for x in err.splitlines() if "before the lookback period" in x]
    assert "2 window(s) of 1 day with 1000 rows" in line and "not judged" in line
def test_json_output_names_what_was_judged_against_and_what_the_alerts_did(tmp_path, server, capsys):
    _, held_out = marvel_split()
    write_tables(tmp_path / "home", [held_out.sample(500, random_state=1), dc().sample(500, random_state=2)])
    url = f"http://127.0.0.1:{server.server_port}/alerts"
    code = run_cli("--env-file", env_file(tmp_path, url), "--home", str(tmp_path / "home"), "--as-of", AS_OF, "--json")
    captured = capsys.readouterr()
    assert code == 3, captured.err
    document = json.loads(captured.out)  # stdout is the one JSON document; the human lines went to stderr
    assert "status: drift" in captured.err and "report: " in captured.err
    assert document["status"] == "drift" and document["exit_code"] == 3 and "align" in document["drifted_features"]
    env = load_environment(DEV_ENV)
    tables = ModelTables(env, env.model())
    basis = document["judged_against"]
    assert basis["baseline_table"] == tables.baseline and basis["home"] == str((tmp_path / "home").resolve())
    assert basis["baseline_exists"] is False and basis["champion"] is None  # no baseline table in this home
    assert document["verdicts_table"] == tables.drift_verdicts and document["analysis_run"] == basis["analysis_run"]
    [drift_alert] = [a for a in document["alerts"] if a["alert"].endswith("feature drift")]
    assert drift_alert["fired"] and drift_alert["windows"] == [server.bodies[0]["windows"][0]]
    assert {(d["type"], d["delivered"]) for d in drift_alert["deliveries"]} == {("email", True), ("webhook", True)}
    summary = json.loads(open(document["report_json"], encoding="utf-8").read())
    assert summary["judged_against"] == basis and summary["alerts"] == document["alerts"]
    html = open(document["report_html"], encoding="utf-8").read()
    assert f"Judged against: baseline\n<code>{tables.baseline}</code> (not found)" in html
    assert f"Analysis run {basis['analysis_run']}" in html


def test_the_report_names_the_baseline_version_and_champion_it_judged_against(tmp_path, capsys):
    import pandas as pd

    from lakemon.contract.tables import baseline_columns
    from lakemon_jobs.context import JobContext
    from lakemon_jobs.table_engines import engine_for

    _, held_out = marvel_split()
    home = tmp_path / "home"
    write_tables(home, [held_out.sample(500, random_state=1)])
    ctx = JobContext.load(DEV_ENV, None, home)
    columns = baseline_columns(ctx.model)
    frame = pd.DataFrame({c.name: [None, None] for c in columns})
    frame[ctx.model.model_id_column] = ["alive_classifier-7", "alive_classifier-7"]
    engine = engine_for(ctx)
    engine.overwrite(ctx.tables.baseline, frame, columns)
    engine.overwrite(ctx.tables.baseline, frame, columns)  # a second commit: Delta version 1
    code = run_cli("--env-file", str(DEV_ENV), "--home", str(home), "--as-of", AS_OF, "--no-alerts", "--json")
    assert code == 0, capsys.readouterr().err
    basis = json.loads(capsys.readouterr().out)["judged_against"]
    assert (basis["baseline_version"], basis["champion"], basis["baseline_exists"]) == (1, "alive_classifier-7", True)
