"""The regression template end to end on the embedded default: train, register, deploy the
dev env's appearances_regressor (log appearances from the other Marvel columns), and the served
model answering every request format alike."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from jobs_helpers import DEV_ENV, quiet
from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, r2_score

from lakemon.contract.tables import baseline_columns
from lakemon_jobs.context import JobContext
from lakemon_jobs.datasets import load_comic, split_train_test
from lakemon_jobs.deploy import Deployment, deploy_champion
from lakemon_jobs.register import register_model
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.tracking import configure_mlflow
from lakemon_jobs.train import train_model

DATABRICKS_REGRESSION_METRICS = {
    "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
    "mean_absolute_percentage_error", "r2_score",
}  # fmt: skip


@pytest.fixture(scope="module")
def rctx(tmp_path_factory) -> JobContext:
    return JobContext.load(DEV_ENV, "appearances_regressor", tmp_path_factory.mktemp("regression_home"))


@pytest.fixture(scope="module")
def rtrained(rctx):
    return train_model(rctx, progress=quiet)


def _test_rows(rctx) -> pd.DataFrame:
    labelled = load_comic("marvel").dropna(subset=["log_appearances"]).reset_index(drop=True)
    return split_train_test(labelled, rctx.model.training.test_fraction, rctx.model.training.seed)


def test_regression_run_logs_the_databricks_regression_metrics_checked_by_sklearn(rctx, rtrained):
    run = configure_mlflow(rctx).get_run(rtrained.run_id)
    assert run.data.params["estimator"] == "HistGradientBoostingRegressor"
    assert set(rtrained.metrics) == DATABRICKS_REGRESSION_METRICS == set(run.data.metrics)
    _, test = _test_rows(rctx)
    assert int(run.data.params["test_rows"]) == len(test)
    out = mlflow.pyfunc.load_model(rtrained.model_uri).predict(test[rctx.model.feature_names()])
    assert list(out.columns) == ["prediction"] and out["prediction"].dtype == np.float64
    y, p = test["log_appearances"], out["prediction"]
    assert rtrained.metrics["r2_score"] == pytest.approx(r2_score(y, p), abs=1e-9)
    assert rtrained.metrics["root_mean_squared_error"] == pytest.approx(mean_squared_error(y, p) ** 0.5, abs=1e-9)
    assert rtrained.metrics["mean_absolute_error"] == pytest.approx(mean_absolute_error(y, p), abs=1e-9)
    assert rtrained.metrics["mean_absolute_percentage_error"] == pytest.approx(mean_absolute_percentage_error(y, p), abs=1e-9)
    assert rtrained.metrics["r2_score"] > 0.2  # far better than predicting the mean
    artifacts = {a.path for a in configure_mlflow(rctx).list_artifacts(rtrained.run_id)}
    assert {"predicted_vs_actual.png", "feature_importance.csv", "feature_importance.png"} <= artifacts


def test_regression_register_promotes_writes_the_baseline_and_deploy_serves_it(rctx, rtrained):
    result = register_model(rctx, rtrained.run_id, progress=quiet)
    assert result.promoted and result.metric == "rmse"
    assert result.challenger_score == pytest.approx(rtrained.metrics["root_mean_squared_error"], abs=1e-9)
    baseline = engine_for(rctx).read_table(rctx.tables.baseline)
    assert list(baseline.columns) == [c.name for c in baseline_columns(rctx.model)]
    train, _ = _test_rows(rctx)
    assert len(baseline) == len(train) and baseline["prediction"].notna().all()
    deployment = deploy_champion(rctx, progress=quiet)
    assert deployment.version == result.version
    recorded = Deployment.read(rctx.runtime.deployment_path(rctx.model.endpoint("dev")))
    assert recorded.model_uri == f"models:/{rctx.tables.registered_model}/{result.version}"


def test_every_request_format_scores_a_missing_category_alike(rctx, rtrained):
    """MLflow's scoring server turns a JSON null of the TF-serving formats (`instances`,
    `inputs`) into the text 'None'; the served model must still read it as missing."""
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    model = mlflow.pyfunc.load_model(rtrained.model_uri)
    _, test = _test_rows(rctx)
    rows = test[rctx.model.feature_names()].head(25)
    records = [{k: None if pd.isna(v) else v for k, v in r.items()} for r in rows.to_dict(orient="records")]
    assert any(r["gsm"] is None for r in records)  # the case that matters is in the sample
    expected = model.predict(pd.DataFrame(records))["prediction"].to_numpy()
    schema = model.metadata.get_input_schema()
    for body in ({"instances": records}, {"inputs": {k: [r[k] for r in records] for k in records[0]}}):
        parsed = infer_and_parse_data(json.loads(json.dumps(body)), schema)
        got = model.predict(parsed if isinstance(parsed, pd.DataFrame) else pd.DataFrame(parsed))["prediction"]
        np.testing.assert_allclose(got.to_numpy(), expected)
