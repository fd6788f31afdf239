"""End to end: a reduced `lakemon run-local` (fewer rows, still 1-day windows), as a user runs it.

It runs the real CLI in a subprocess: the stacks are synthesized, a model is trained, served by
`mlflow models serve` behind the logging layer, fed real HTTP traffic, unpacked, monitored and
judged; alerts go to the local webhook receiver. The test then reads what the run left behind:
the tables' schemas and row counts, the alerts received (DC windows only), and that no process
it started is alive and no port it used is still bound.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from acceptance import rehearsal_deviations
from deltalake import DeltaTable

from lakemon.config import load_environment
from lakemon.contract.tables import (
    ModelTables,
    baseline_columns,
    inference_log_columns,
    labels_columns,
)
from lakemon.contract.verdicts import verdicts_columns
from lakemon_jobs.drift.alerts import evaluate_alert, local_alert_specs
from lakemon_jobs.embedded.processes import free_port, port_is_free
from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.monitor_engine.schema import DRIFT_METRICS_SCHEMA, PROFILE_METRICS_SCHEMA
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.table_engines.local import LocalEngine

REPO = Path(__file__).resolve().parents[2]
ROWS_PER_DAY, MARVEL_DAYS, DC_DAYS, BATCH = 250, 2, 2, 25
AFTER_DAYS = 2
"""DC days sent after the retrain (run-local's default --after-days)."""
RUN_TIMEOUT_S = 540


def processes_with_marker(marker: str) -> list[str]:
    """Live processes whose environment carries the marker (inherited by every descendant)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                stat = (proc / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")[:200]
                    found.append(f"{proc.name}: {cmdline!r}")
        except OSError:
            continue
    return found


def dev_env_file(tmp_path: Path) -> tuple[Path, int]:
    """The dev env file with the local alert destination on a free port (a developer's own
    run-local may hold 8765 while the tests run): (its path, the webhook port)."""
    webhook_port = free_port()
    env_data = yaml.safe_load((REPO / "envs" / "dev.yml").read_text())
    for dest in env_data["alerts"]["destinations"]:
        if dest.get("local_url"):
            dest["local_url"] = f"http://127.0.0.1:{webhook_port}/alerts"
    env_file = tmp_path / "envs" / "dev.yml"
    env_file.parent.mkdir()
    env_file.write_text(yaml.safe_dump(env_data))
    return env_file, webhook_port


def latest_run(home: Path, env_file: Path, model_name: str | None = None):
    """The env, the model (the env's first unless named), its table names, the runtime of the newest
    completed run-local run under `home`, and a reader of that run's Delta tables."""
    envc = load_environment(env_file)
    model = envc.model(model_name)
    runtime = LocalRuntime((home / "runs" / "latest").resolve())

    def read(name: str) -> pa.Table:
        return DeltaTable(str(runtime.table_path(name))).to_pyarrow_table()

    return envc, model, ModelTables(envc, model), runtime, read


def test_reduced_run_local_end_to_end(tmp_path):
    env_file, webhook_port = dev_env_file(tmp_path)
    home = tmp_path / "home"
    marker = f"LAKEMON_E2E_{uuid.uuid4().hex}"

    cmd = [
        str(Path(sys.executable).parent / "lakemon"), "run-local", "--env-file", str(env_file), "--home", str(home),
        "--rows-per-day", str(ROWS_PER_DAY), "--marvel-days", str(MARVEL_DAYS), "--dc-days", str(DC_DAYS),
        "--batch-size", str(BATCH),
    ]  # fmt: skip
    # No jsii silence variable from outside: lakemon must quiet Node itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")} | {marker: "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    (tmp_path / "run-local.out").write_text(output)
    assert proc.returncode == 0, output[-6000:]

    # --- nothing left behind ------------------------------------------------------------------------
    assert processes_with_marker(marker) == []
    ports = {int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", output)}
    assert webhook_port in ports and len(ports) >= 3  # scoring server, logging layer, webhook
    assert [p for p in ports if not port_is_free(p)] == []

    # --- the run's output names each step, the drifted features and windows ----------------------------
    for step in range(1, 11):  # alive_classifier opts in to retraining: 10 steps
        assert f"[{step}/10]" in proc.stdout
    assert re.search(r"drifted features: \w+", proc.stdout)
    assert "lakemon run-local: OK" in proc.stdout

    # --- the rehearsal's acceptance, judged here on what the run recorded ---------------------------
    outcome = json.loads((home / "runs" / "latest" / "outcome.json").read_text())
    assert rehearsal_deviations(outcome, expect_retrain=True) == []
    assert outcome["failed_checks"] == [] and outcome["failure"] is None
    assert [s["name"] for s in outcome["steps"]] == [
        "synth", "train", "serve", "traffic", "unpack", "refresh", "analyze", "retrain", "after-retrain", "summary",
    ]  # fmt: skip
    assert outcome["rows_sent"] == ROWS_PER_DAY * (MARVEL_DAYS + DC_DAYS + AFTER_DAYS)
    # --- quiet tooling: no red Node end-of-life box, no telemetry errors, in the output or the logs ---
    assert (home / "runs" / "latest" / "logs" / "synth.log").is_file()
    logs = "".join(p.read_text(errors="replace") for p in (home / "runs" / "latest" / "logs").glob("*.log"))
    for noise in ("!!!!!!!!", "end-of-life", "getaddrinfo"):
        assert noise not in output and noise not in logs, noise

    # --- tables: schemas and row counts ------------------------------------------------------------
    envc, model, tables, runtime, read = latest_run(home, env_file)
    run_root = runtime.root

    rows_sent = ROWS_PER_DAY * (MARVEL_DAYS + DC_DAYS + AFTER_DAYS)
    payload = read(tables.payload)
    assert payload.schema.equals(PAYLOAD_SCHEMA)
    assert payload.num_rows == rows_sent // BATCH
    assert set(payload["status_code"].to_pylist()) == {200}

    log = read(tables.inference_log)
    assert log.schema.names == [c.name for c in inference_log_columns(model)]
    assert log.num_rows == rows_sent
    assert log[model.label.name].null_count == 0  # every label joined
    labels = read(tables.labels)
    assert labels.schema.names == [c.name for c in labels_columns(model)] and labels.num_rows == rows_sent
    baseline = read(tables.baseline)
    assert baseline.schema.names == [c.name for c in baseline_columns(model)] and baseline.num_rows > 0

    profile, drift = read(tables.profile_metrics), read(tables.drift_metrics)
    assert profile.schema.names == PROFILE_METRICS_SCHEMA.names and profile.num_rows > 0
    assert drift.schema.names == DRIFT_METRICS_SCHEMA.names and drift.num_rows > 0
    days = {w["start"].date() for w in drift.column("window").to_pylist() if w}
    assert len(days) == MARVEL_DAYS + DC_DAYS + AFTER_DAYS  # one 1-day window per simulated day

    # --- verdicts and alerts ----------------------------------------------------------------------
    by_source: dict[str, set] = {"marvel": set(), "dc": set()}
    for cid, day in zip(
        payload["client_request_id"].to_pylist(), payload["request_date"].to_pylist(), strict=True
    ):
        by_source[cid.split("-", 1)[0]].add(day)
    assert len(by_source["marvel"]) == MARVEL_DAYS and len(by_source["dc"]) == DC_DAYS + AFTER_DAYS
    before_retrain = sorted(by_source["dc"])[:DC_DAYS]
    verdicts = read(tables.drift_verdicts)
    assert verdicts.schema.names == [c.name for c in verdicts_columns()]
    daily = [r for r in verdicts.to_pylist() if r["subject"] == "drift" and r["granularity"] == "1 day"]
    judged_drift = {r["window_start"].date() for r in daily if r["verdict"] == "drift"}
    assert judged_drift == by_source["dc"]  # analyze-drift: DC windows drift, Marvel windows do not

    # The alert query the stack deploys, replayed on run-local's own verdicts table right after each
    # window was judged: it fires exactly for the windows analyze-drift judged drift.
    synthesized = run_root / "cdktf.out" / "stacks" / envc.name / "cdk.tf.json"
    drift_spec, _quality_spec = local_alert_specs(envc, model, synthesized)
    engine = LocalEngine(runtime)
    windows = sorted({r["window_start"] for r in daily})
    fired = {w.date() for w in windows if evaluate_alert(engine, drift_spec, as_of_window=w).fired}
    assert fired == judged_drift

    # The run itself evaluated the alert once, in step 7 (before the retrain): the newest window
    # then was the last DC day before the retrain.
    received = [
        json.loads(line) for line in (run_root / "alerts" / "received.jsonl").read_text().splitlines()
    ]
    drift_alerts = [a["body"] for a in received if a["body"]["alert"].endswith("feature drift")]
    assert len(drift_alerts) == 1, "the drift alert did not reach the webhook receiver exactly once"
    [body] = drift_alerts
    assert [datetime.fromisoformat(w).date() for w in body["windows"]] == [max(before_retrain)]
    assert body["model"] == model.name and body["features"]
    newest = {r["feature"] for r in daily if r["window_start"].date() == max(before_retrain) and r["verdict"] == "drift"}
    assert set(body["features"]) == newest

    # --- the retrain: the gate on held-out recent rows promoted v2, which serves the days after ---
    gate = re.search(
        r"gate on (\d+) held-out recent rows, roc_auc: challenger ([\d.]+) vs champion v1 ([\d.]+) .*: challenger PROMOTED",
        proc.stdout,
    )
    assert gate, proc.stdout[-4000:]
    challenger, champion = float(gate.group(2)), float(gate.group(3))
    assert challenger > champion + model.promotion.min_improvement
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=runtime.tracking_uri, registry_uri=runtime.tracking_uri)
    assert str(client.get_model_version_by_alias(tables.registered_model, "champion").version) == "2"
    [retrain_run] = [r for r in client.search_runs([client.get_experiment_by_name(f"/Shared/lakemon/dev/{model.name}").experiment_id])
                     if "lakemon.retrain.reason" in r.data.tags]  # fmt: skip
    assert retrain_run.data.tags["lakemon.retrain.decision"] == "promoted"
    assert retrain_run.data.metrics["gate_challenger_roc_auc"] == pytest.approx(challenger, abs=1e-4)
    reasons = retrain_run.data.tags["lakemon.retrain.reason"].split(",")
    # verdict ids <run>:<granularity>:<window start>:<feature>:<statistic>, of the DC days drifted
    reason_days = {datetime.fromisoformat(r.split(":1 day:")[1][:10]).date() for r in reasons}
    assert reason_days == set(before_retrain)
    log_rows = log.to_pylist()
    after = set(sorted(by_source["dc"])[DC_DAYS:])
    assert {r["model_version"] for r in log_rows if r["timestamp"].date() in after} == {f"{model.name}-2"}
    assert {r["model_version"] for r in log_rows if r["timestamp"].date() not in after} == {f"{model.name}-1"}
    assert set(baseline["model_version"].to_pylist()) == {f"{model.name}-2"}  # the new baseline
    assert "| day | traffic | served by |" in proc.stdout and "after retrain" in proc.stdout

    # --- each report says what it judged against; the summary points to the newest ------------------
    first, second = outcome["reports"]
    assert (first["step"], second["step"]) == ("analyze", "after-retrain")
    assert (first["champion"], second["champion"]) == (f"{model.name}-1", f"{model.name}-2")
    assert second["baseline_version"] > first["baseline_version"]
    assert outcome["report_html"] == second["html"] == str(sorted((run_root / "reports").glob("drift_*.html"))[-1])
    assert second["last_window"] == str(max(by_source["dc"])) and first["last_window"] == str(max(before_retrain))
    summary_step = proc.stdout[proc.stdout.index("Where everything is"):]
    assert summary_step.index(second["html"]) < summary_step.index(first["html"])
    assert f"newest; windows {second['first_window']} to {second['last_window']}, judged against the baseline of {model.name}-2" in summary_step
    run_ids = set(verdicts["run_id"].to_pylist())  # the second analysis rewrote every window's verdicts
    for entry in (first, second):
        judged = json.loads(Path(entry["json"]).read_text())["judged_against"]
        assert judged["baseline_table"] == tables.baseline
        assert (judged["analysis_run"] in run_ids) == (entry is second)
        assert judged["home"] == str(run_root)
        assert "Judged against: baseline" in Path(entry["html"]).read_text()
    # the closing line names the windows the alert's SQL named, from the alert's own evaluation
    assert outcome["alerted_windows"] == [str(max(before_retrain))]
    assert f"windows the drift alert's SQL named: {max(before_retrain)}" in proc.stdout

    # --- the run's drift report, in headless Chromium at 1000x800 ------------------------------------
    sys.path.insert(0, str(REPO / "tests" / "drift"))
    from browser_check import SCREENSHOTS, assert_report_reads_well, chromium_or_skip

    [report_html] = sorted((run_root / "reports").glob("drift_*.html"))[-1:]
    assert report_html.stat().st_size < 1_000_000  # one self-contained file under 1 MB
    chromium_or_skip()
    assert_report_reads_well(report_html, SCREENSHOTS / "drift-report-run-local-1000x800.png")


def test_the_leftover_process_check_sees_a_live_descendant():
    """Keeps the end-to-end test's 'no process left' assertion honest: it does find one."""
    marker = f"LAKEMON_E2E_{uuid.uuid4().hex}"
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], env={**os.environ, marker: "1"}
    )
    try:
        # the child's /proc environ can lag its start on a loaded machine: look for up to 10 s
        deadline = time.monotonic() + 10
        while not processes_with_marker(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(processes_with_marker(marker)) == 1
    finally:
        child.kill()
        child.wait()
    assert processes_with_marker(marker) == []


def test_reduced_run_local_of_the_regression_model(tmp_path):
    """The regression template end to end: `run-local --model appearances_regressor` trains,
    serves and monitors log appearances; the monitor computes the regression quality metrics and
    the DC windows (and only they) drift."""
    env_file, _ = dev_env_file(tmp_path)
    home = tmp_path / "home"
    cmd = [
        str(Path(sys.executable).parent / "lakemon"), "run-local", "--env-file", str(env_file), "--home", str(home),
        "--model", "appearances_regressor", "--skip-synth", "--rows-per-day", str(ROWS_PER_DAY),
        "--marvel-days", str(MARVEL_DAYS), "--dc-days", str(DC_DAYS), "--batch-size", str(BATCH),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "train: mean_absolute_error=" in proc.stdout and "r2_score=" in proc.stdout
    for step in range(1, 8):  # no synthesis (--skip-synth), no retrain (the model does not opt in)
        assert f"[{step}/7]" in proc.stdout
    assert "(left out: step synth, --skip-synth)" in proc.stdout
    outcome = json.loads((home / "runs" / "latest" / "outcome.json").read_text())
    assert rehearsal_deviations(outcome, expect_retrain=False) == []

    envc, model, tables, runtime, read = latest_run(home, env_file, "appearances_regressor")

    log = read(tables.inference_log)
    assert log.num_rows == ROWS_PER_DAY * (MARVEL_DAYS + DC_DAYS)
    assert log["log_appearances"].null_count == 0 and log["prediction"].type == pa.float64()
    profile = read(tables.profile_metrics).to_pylist()
    quality = [r for r in profile if r["column_name"] == ":table" and r["slice_key"] is None and r["num_labeled"]]
    assert quality and all(r["root_mean_squared_error"] > 0 and r["r2_score"] is not None for r in quality)
    assert all(r["accuracy_score"] is None for r in quality)
    verdicts = read(tables.drift_verdicts).to_pylist()
    daily = [r for r in verdicts if r["subject"] == "drift" and r["granularity"] == "1 day"]
    days = sorted({r["window_start"].date() for r in daily})
    drifted = sorted({r["window_start"].date() for r in daily if r["verdict"] == "drift"})
    assert drifted == days[MARVEL_DAYS:]  # the DC days, not the Marvel ones
    judged = [r for r in verdicts if r["subject"] == "quality"]
    assert judged and {r["statistic"] for r in judged} == {"r2_score"}

    # --- bare follow-ups in the folder of that run: the run is of another model than the env's first --
    (tmp_path / ".lakemon").symlink_to(home)
    lakemon = str(Path(sys.executable).parent / "lakemon")
    plain_env = {k: v for k, v in os.environ.items() if k != "LAKEMON_HOME"}
    for sub in ("unpack", "refresh", "analyze-drift"):
        bare = subprocess.run([lakemon, sub, "--env-file", str(env_file)], cwd=tmp_path, env=plain_env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert bare.returncode == 2 and "Traceback" not in bare.stdout + bare.stderr, bare.stderr[-2000:]
        assert f"lakemon {sub}: the latest run-local run {runtime.root} is of model appearances_regressor, " \
               "not alive_classifier" in bare.stderr  # fmt: skip
        assert "pass --model appearances_regressor" in bare.stderr
    named = subprocess.run(
        [lakemon, "analyze-drift", "--env-file", str(env_file), "--model", "appearances_regressor", "--no-alerts",
         "--drift-exit-code", "0"], cwd=tmp_path, env=plain_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr[-2000:]
    assert f"lakemon analyze-drift works on model appearances_regressor of env dev ({env_file}), run-local run {runtime.root}" in named.stderr


FORECAST_ROWS_PER_DAY, BACKTEST_DAYS, REGIME_DAYS = 600, 3, 2


def test_reduced_run_local_of_the_forecaster(tmp_path):
    """The forecasting template end to end: `run-local --model co2_forecaster` replays the
    backtest period, then days after a regime change. The custom metrics in the profile table
    equal a pandas computation over the inference log per day and horizon; the regime days (and
    only they) drift and are judged `degraded` by mape_ratio, for the table and every horizon;
    the quality alert's own SQL names a regime window and stays quiet after a backtest day."""
    env_file, _ = dev_env_file(tmp_path)
    home = tmp_path / "home"
    cmd = [
        str(Path(sys.executable).parent / "lakemon"), "run-local", "--env-file", str(env_file), "--home", str(home),
        "--model", "co2_forecaster", "--skip-synth", "--rows-per-day", str(FORECAST_ROWS_PER_DAY),
        "--marvel-days", str(BACKTEST_DAYS), "--dc-days", str(REGIME_DAYS), "--batch-size", "40",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    outcome = json.loads((home / "runs" / "latest" / "outcome.json").read_text())
    sources = {datetime.fromisoformat(d).date(): s for d, s in outcome["day_sources"].items()}
    regime = {d for d, s in sources.items() if s == "regime"}
    backtest = {d for d, s in sources.items() if s == "co2"}
    assert len(regime) == REGIME_DAYS and len(backtest) == BACKTEST_DAYS
    assert {datetime.fromisoformat(d).date() for d in outcome["drifted"]} == regime
    assert {datetime.fromisoformat(d).date() for d in outcome["alerted_windows"]} == {max(regime)}

    envc, model, tables, runtime, read = latest_run(home, env_file, "co2_forecaster")

    log = read(tables.inference_log).to_pandas()
    assert len(log) == FORECAST_ROWS_PER_DAY * (BACKTEST_DAYS + REGIME_DAYS) and log["co2_ppm"].notna().all()
    log["day"] = log["timestamp"].dt.date
    profile = read(tables.profile_metrics).to_pylist()
    rows = {(r["window"]["start"].date(), r["slice_value"]): r for r in profile
            if r["log_type"] == "INPUT" and r["column_name"] == ":table" and r["model_version"] == "*"}
    groups = [((day, str(h)), part) for (day, h), part in log.groupby(["day", "horizon"])]
    groups += [((day, None), part) for day, part in log.groupby("day")]  # the whole table
    assert len(groups) == (BACKTEST_DAYS + REGIME_DAYS) * 5
    for key, part in groups:
        err = part["prediction"] - part["co2_ppm"]
        assert rows[key]["mape"] == pytest.approx((err.abs() / part["co2_ppm"].abs()).mean(), rel=1e-9)
        assert rows[key]["bias"] == pytest.approx(err.mean(), rel=1e-9, abs=1e-12)
        smape = (2 * err.abs() / (part["prediction"].abs() + part["co2_ppm"].abs())).mean()
        assert rows[key]["smape"] == pytest.approx(smape, rel=1e-9)

    verdicts = [r for r in read(tables.drift_verdicts).to_pylist() if r["statistic"] == "mape_ratio"]
    assert {r["feature"] for r in verdicts} == {":table", *(f":table [horizon={h}]" for h in (1, 2, 3, 4))}
    degraded = {r["window_start"].date() for r in verdicts if r["verdict"] == "degraded"}
    assert degraded == regime
    assert all(r["verdict"] == "ok" for r in verdicts if r["window_start"].date() in backtest)

    _drift_spec, quality_spec = local_alert_specs(envc, model)
    engine = LocalEngine(runtime)
    after_regime = evaluate_alert(engine, quality_spec)
    assert after_regime.fired
    named = {datetime.fromisoformat(r["window_start"]).date() for r in after_regime.rows}
    assert named == {max(regime)} and "mape_ratio" in {r["metric"] for r in after_regime.rows}
    last_backtest = datetime.combine(max(backtest), datetime.min.time()).replace(tzinfo=UTC)
    assert not evaluate_alert(engine, quality_spec, as_of_window=last_backtest).fired
