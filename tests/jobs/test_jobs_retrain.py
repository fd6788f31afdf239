"""`lakemon retrain` on the embedded default: evidence, recent rows, gate, redeploy, and bad input.

One module home: a champion trained and registered once (the dev env's alive_classifier, with
`retraining:`), then DC traffic written as the inference log (labelled) and a drift verdict
in the verdicts table, as unpack and analyze-drift would leave them. The failure tests run
before the success test (module order) and check that nothing the endpoint serves changed.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime, timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from jobs_helpers import DEV_ENV, WEAK_PARAMS, quiet

from lakemon.contract.tables import inference_log_columns
from lakemon.contract.verdicts import verdicts_columns
from lakemon_jobs.context import JobContext
from lakemon_jobs.datasets import load_comic, split_train_test
from lakemon_jobs.deploy import Deployment, deploy_champion
from lakemon_jobs.register import CHAMPION, register_model
from lakemon_jobs.retrain import (
    TAG_DECISION,
    TAG_REASON,
    RetrainError,
    retrain,
    verdict_id,
)
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.tracking import configure_mlflow
from lakemon_jobs.train import train_model

DAYS = 3
ROWS = 900
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


SETTINGS = {"on": "drift", "min_labelled_rows": 500, "window_days": DAYS}


def _env(folder, retraining: dict = SETTINGS, params: dict | None = None):
    """envs/dev.yml with alive_classifier's retraining settings / training params replaced
    (the file must be named after the env, so one folder per variant)."""
    data = yaml.safe_load(DEV_ENV.read_text())
    model = data["models"][0]
    model["retraining"] = retraining
    if params is not None:
        model["training"]["params"] = params
    path = folder / "dev.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("retrain_home")


@pytest.fixture(scope="module")
def envs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retrain_envs")
    return {"good": _env(folder / "good"), "strict": _env(folder / "strict", {**SETTINGS, "min_labelled_rows": 5000})}


def _ctx(path, home, name="alive_classifier") -> JobContext:
    return JobContext.load(path, name, home)


@pytest.fixture(scope="module")
def ctx(envs, home):
    return _ctx(envs["good"], home)


@pytest.fixture(scope="module")
def champion(ctx):
    """Version 1: trained on Marvel, registered, deployed (what serves before any retrain)."""
    trained = train_model(ctx, progress=quiet)
    registered = register_model(ctx, trained.run_id, progress=quiet)
    deploy_champion(ctx, progress=quiet)
    return registered.version


def _write_traffic(ctx, labels: np.ndarray | None = None) -> pd.DataFrame:
    """ROWS DC rows as labelled inference-log rows over the last DAYS days, and one drift
    verdict per day, as unpack and analyze-drift write them."""
    model = ctx.model
    dc = load_comic("dc").head(ROWS).reset_index(drop=True)
    frame = dc[[*model.feature_names()]].copy()
    frame["prediction"] = 1
    frame["prediction_proba"] = 0.5
    frame["alive"] = dc["alive"] if labels is None else labels
    frame["model_version"] = "alive_classifier-1"
    frame["timestamp"] = [TODAY - timedelta(days=DAYS) + timedelta(seconds=int(s)) for s in np.linspace(0, DAYS * 86_399, ROWS)]
    frame["databricks_request_id"] = [f"r{i}" for i in range(ROWS)]
    frame["client_request_id"] = [f"dc-{i // 20}" for i in range(ROWS)]
    frame["row_index"] = [i % 20 for i in range(ROWS)]
    engine = engine_for(ctx)
    engine.overwrite(ctx.tables.inference_log, frame, inference_log_columns(model))
    rows = []
    for d in range(DAYS, 0, -1):
        start = TODAY - timedelta(days=d)
        for feature, verdict in (("sex", "drift"), ("year", "ok")):
            rows.append({c.name: None for c in verdicts_columns()} | {
                "subject": "drift", "granularity": "1 day", "window_start": start,
                "window_end": start + timedelta(days=1), "feature": feature, "statistic": "js_distance",
                "verdict": verdict, "run_id": "analyze1", "judged_at": TODAY,
            })  # fmt: skip
    engine.overwrite(ctx.tables.drift_verdicts, pd.DataFrame(rows), verdicts_columns())
    return frame


def _serving_state(ctx):
    client = configure_mlflow(ctx)
    alias = str(client.get_model_version_by_alias(ctx.tables.registered_model, CHAMPION).version)
    deployed = Deployment.read(ctx.runtime.deployment_path(ctx.model.endpoint("dev"))).version
    baseline = engine_for(ctx).read_table(ctx.tables.baseline)
    return alias, deployed, len(baseline), set(baseline["model_version"])


def test_no_drift_verdict_means_nothing_to_retrain(ctx, champion):
    result = retrain(ctx, progress=quiet)
    assert result.status == "no_drift" and "nothing to retrain" in result.message


def test_too_few_labelled_rows_says_how_many_there_are_and_are_needed(envs, home, ctx, champion):
    _write_traffic(ctx)
    strict = _ctx(envs["strict"], home)
    before = _serving_state(ctx)
    with pytest.raises(RetrainError, match=rf"too few labelled rows to retrain: {ROWS} labelled .* needs 5000"):
        retrain(strict, progress=quiet)
    assert _serving_state(ctx) == before


def test_a_failing_retrain_leaves_the_champion_serving(tmp_path, home, ctx, champion):
    broken = _ctx(_env(tmp_path, params={"max_iter": -1}), home)
    before = _serving_state(ctx)
    versions = len(configure_mlflow(ctx).search_model_versions(f"name='{ctx.tables.registered_model}'"))
    with pytest.raises(RetrainError, match=r"training the challenger failed .* keeps serving"):
        retrain(broken, progress=quiet)
    assert _serving_state(ctx) == before
    assert len(configure_mlflow(ctx).search_model_versions(f"name='{ctx.tables.registered_model}'")) == versions


def test_a_gate_that_cannot_score_either_model_is_a_clear_error(tmp_path, home, ctx, champion):
    """All recent labels one class: ROC AUC is undefined for both models on the held-out rows."""
    weak = _ctx(_env(tmp_path, params=WEAK_PARAMS), home)
    _write_traffic(ctx, labels=np.ones(ROWS, dtype="int64"))
    before = _serving_state(ctx)
    with pytest.raises(RetrainError, match=r"the gate cannot score either model on \d+ held-out recent labelled rows with roc_auc"):
        retrain(weak, progress=quiet, force=True)
    assert _serving_state(ctx) == before


def test_a_failed_deploy_moves_the_champion_alias_back(ctx, champion, monkeypatch):
    import lakemon_jobs.deploy as deploy

    def refuse(*_args, **_kwargs):
        raise deploy.DeployError("endpoint update failed (simulated)")

    _write_traffic(ctx)
    before = _serving_state(ctx)
    monkeypatch.setattr(deploy, "deploy_champion", refuse)
    with pytest.raises(RetrainError, match=rf"deploying version \d+ failed .* back on version {champion}, which keeps serving"):
        retrain(ctx, progress=quiet, force=True)
    assert _serving_state(ctx) == before


def test_retrain_trains_on_recent_rows_gates_on_held_out_recent_rows_and_redeploys(ctx, champion):
    frame = _write_traffic(ctx)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = retrain(ctx, force=True)
    printed = out.getvalue()
    assert result.status == "promoted", printed
    assert result.recent_rows == ROWS and result.holdout_rows == round(ROWS * 0.3)
    # the gate: both scores recomputed with sklearn on the held-out recent rows
    from sklearn.metrics import roc_auc_score

    _, holdout = split_train_test(frame.sort_values(["timestamp", *ctx.model.feature_names()], kind="stable").reset_index(drop=True), 0.3, 42)
    name = ctx.tables.registered_model
    configure_mlflow(ctx)
    for version, got in ((result.version, result.challenger_score), (champion, result.champion_score)):
        proba = mlflow.pyfunc.load_model(f"models:/{name}/{version}").predict(holdout[ctx.model.feature_names()])["prediction_proba"]
        assert got == pytest.approx(roc_auc_score(holdout["alive"], proba), abs=1e-9)
    assert f"challenger {result.challenger_score:.4f} vs champion v{champion} {result.champion_score:.4f}" in printed
    assert result.challenger_score > result.champion_score + ctx.model.promotion.min_improvement
    # the new champion serves, and its baseline replaced the old one
    alias, deployed, baseline_rows, baseline_ids = _serving_state(ctx)
    train_split, _ = split_train_test(load_comic("marvel"), 0.2, 42)
    assert alias == deployed == result.version == result.deployed_version
    assert baseline_rows == len(train_split) + ROWS - round(ROWS * 0.3)
    assert baseline_ids == {f"alive_classifier-{result.version}"}
    # MLflow: the reason (drift verdict ids) on the run and the version, the gate's scores
    client = configure_mlflow(ctx)
    run = client.get_run(result.run_id)
    expected_ids = [
        verdict_id({"run_id": "analyze1", "granularity": "1 day", "window_start": TODAY - timedelta(days=d),
                    "feature": "sex", "statistic": "js_distance"})
        for d in range(DAYS, 0, -1)
    ]  # fmt: skip
    assert run.data.tags[TAG_REASON].split(",") == expected_ids
    assert run.data.tags[TAG_DECISION] == "promoted" and run.data.params["recent_rows"] == str(ROWS - round(ROWS * 0.3))
    assert run.data.metrics["gate_challenger_roc_auc"] == pytest.approx(result.challenger_score)
    assert run.data.metrics["gate_champion_roc_auc"] == pytest.approx(result.champion_score)
    version_tags = client.get_model_version(name, result.version).tags
    assert version_tags[TAG_REASON] == run.data.tags[TAG_REASON] and version_tags[TAG_DECISION] == "promoted"
    # the same drift is not acted on twice (a table-update trigger may fire again)
    again = retrain(ctx, progress=quiet)
    assert again.status == "already_done" and again.run_id == result.run_id


def test_cli_reports_a_retrain_error_in_one_line_with_exit_1(envs, home, ctx, champion, capsys):
    from lakemon_jobs.cli import main

    _write_traffic(ctx)

    code = main(["retrain", "--env-file", str(envs["strict"]), "--home", str(home), "--force"])
    out = capsys.readouterr()
    assert code == 1
    last = out.out.strip().splitlines()[-1]  # progress lines, then the error in one line
    assert last.startswith("lakemon retrain: too few labelled rows to retrain") and "keeps serving" in last
    assert "Traceback" not in out.out + out.err
