"""train and register on the embedded default: what lands in MLflow, the registry and the baseline."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from jobs_helpers import quiet
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from lakemon.contract.tables import baseline_columns
from lakemon_jobs.datasets import load_comic, split_train_test
from lakemon_jobs.register import CHALLENGER, CHAMPION, is_better, register_model
from lakemon_jobs.table_engines import engine_for
from lakemon_jobs.tracking import configure_mlflow

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def _client(ctx) -> MlflowClient:
    return configure_mlflow(ctx)


def _test_rows(ctx) -> pd.DataFrame:
    training = ctx.model.training
    return split_train_test(load_comic("marvel"), training.test_fraction, training.seed)[1]


def test_run_has_params_metrics_dataset_inputs_and_artifacts(ctx, trained):
    run = _client(ctx).get_run(trained.run_id)
    params = run.data.params
    assert params["source"] == "bundled:marvel" and params["seed"] == "42" and params["test_fraction"] == "0.2"
    assert params["estimator"] == "HistGradientBoostingClassifier" and "learning_rate" in params
    import lakemon

    assert run.data.tags["lakemon.version"] == lakemon.__version__  # which lakemon trained it
    assert int(params["train_rows"]) + int(params["test_rows"]) == 16373
    for name in METRICS:
        assert 0.0 <= run.data.metrics[name] <= 1.0, name
    assert run.data.metrics["roc_auc"] > 0.6  # far better than chance on this data
    contexts = {
        i.dataset.name: {t.value for t in i.tags if t.key == "mlflow.data.context"} for i in run.inputs.dataset_inputs
    }
    assert contexts == {"alive_classifier-train": {"training"}, "alive_classifier-test": {"testing"}}
    artifacts = {a.path for a in _client(ctx).list_artifacts(trained.run_id)}
    assert {"confusion_matrix.png", "feature_importance.csv", "feature_importance.png"} <= artifacts
    local = mlflow.artifacts.download_artifacts(run_id=trained.run_id, artifact_path="feature_importance.csv")
    importance = pd.read_csv(local)
    assert set(importance["feature"]) == set(ctx.model.feature_names())


def test_logged_metrics_are_what_the_logged_model_scores_on_the_test_split(ctx, trained):
    """Recompute ROC AUC with sklearn from the logged model: the metric is not decoration."""
    configure_mlflow(ctx)
    model = mlflow.pyfunc.load_model(trained.model_uri)
    test = _test_rows(ctx)
    out = model.predict(test[ctx.model.feature_names()])
    assert roc_auc_score(test["alive"], out["prediction_proba"]) == pytest.approx(trained.metrics["roc_auc"], abs=1e-9)
    assert ((out["prediction_proba"] >= 0.5).astype(int) == out["prediction"]).all()


def test_training_is_reproducible_for_the_same_seed(ctx, trained):
    from lakemon_jobs.model_code.served_model import prepare_features
    from lakemon_jobs.train import DEFAULT_PARAMS, build_pipeline, feature_kinds

    # Refit in-process with the same seed and compare with the logged model's probabilities.
    train, test = split_train_test(load_comic("marvel"), 0.2, 42)
    cat, num = feature_kinds(ctx.model)
    pipe = build_pipeline(ctx.model, DEFAULT_PARAMS, 42).fit(prepare_features(train, cat, num), train["alive"])
    configure_mlflow(ctx)
    logged = mlflow.pyfunc.load_model(trained.model_uri).predict(test[ctx.model.feature_names()])
    np.testing.assert_allclose(pipe.predict_proba(prepare_features(test, cat, num))[:, 1], logged["prediction_proba"])


def test_model_signature_and_output_carry_class_and_probability(ctx, trained):
    configure_mlflow(ctx)
    info = mlflow.models.get_model_info(trained.model_uri)
    assert info.signature.inputs.input_names() == ctx.model.feature_names()
    assert info.signature.outputs.input_names() == ["prediction", "prediction_proba"]
    model = mlflow.pyfunc.load_model(trained.model_uri)
    assert model.input_example is not None
    # JSON-like records: None for missing categories, a missing column, ints for doubles.
    records = [
        {"id": "Secret Identity", "align": "Good Characters", "eye": None, "hair": "Brown Hair",
         "sex": "Male Characters", "gsm": None, "appearances": 100, "year": 1990.0},
        {"id": None, "align": None, "eye": None, "hair": None, "sex": None, "gsm": None, "appearances": None, "year": None},
    ]
    out = model.predict(pd.DataFrame(records))
    assert list(out.columns) == ["prediction", "prediction_proba"]
    assert set(out["prediction"]) <= {0, 1} and out["prediction"].dtype == np.int64
    assert ((out["prediction_proba"] > 0) & (out["prediction_proba"] < 1)).all()


def test_first_registration_becomes_champion_with_both_aliases(ctx, registered):
    assert registered.promoted and registered.champion_version is None
    client = _client(ctx)
    name = ctx.tables.registered_model
    assert name == "mlops_dev.marvel_characters.alive_classifier"
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == registered.version
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == registered.version


def test_load_by_version_and_by_alias_give_the_same_model(ctx, registered):
    configure_mlflow(ctx)
    name = ctx.tables.registered_model
    rows = _test_rows(ctx).head(50)[ctx.model.feature_names()]
    by_version = mlflow.pyfunc.load_model(f"models:/{name}/{registered.version}").predict(rows)
    by_alias = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}").predict(rows)
    pd.testing.assert_frame_equal(by_version, by_alias)


def test_baseline_is_the_training_split_scored_by_the_champion(ctx, registered):
    baseline = engine_for(ctx).read_table(ctx.tables.baseline)
    assert list(baseline.columns) == [c.name for c in baseline_columns(ctx.model)]
    train = split_train_test(load_comic("marvel"), 0.2, 42)[0]
    assert len(baseline) == len(train)
    assert (baseline["model_version"] == f"alive_classifier-{registered.version}").all()
    pd.testing.assert_series_equal(baseline["alive"], train["alive"], check_names=False, check_dtype=False)
    assert baseline["gsm"].isna().sum() == train["gsm"].isna().sum()
    configure_mlflow(ctx)
    champion = mlflow.pyfunc.load_model(f"models:/{ctx.tables.registered_model}@{CHAMPION}")
    expected = champion.predict(train.head(200)[ctx.model.feature_names()])
    np.testing.assert_allclose(baseline["prediction_proba"].head(200), expected["prediction_proba"])
    assert (baseline["prediction"].head(200).to_numpy() == expected["prediction"].to_numpy()).all()


def test_registering_the_same_run_again_adds_no_version(ctx, trained, registered):
    again = register_model(ctx, trained.run_id, progress=quiet)
    assert again.version == registered.version and not again.promoted
    versions = _client(ctx).search_model_versions(f"name='{ctx.tables.registered_model}'")
    assert sum(v.run_id == trained.run_id for v in versions) == 1


def test_champion_gate_refuses_a_worse_model(ctx, registered, weak_trained):
    """A stump trained with WEAK_PARAMS, registered under the same name, stays challenger."""
    baseline_before = engine_for(ctx).read_table(ctx.tables.baseline)
    result = register_model(ctx, weak_trained.run_id, progress=quiet)
    assert not result.promoted
    assert result.champion_version == registered.version
    assert result.challenger_score < result.champion_score - ctx.model.promotion.min_improvement
    client = _client(ctx)
    name = ctx.tables.registered_model
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == result.version
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == registered.version
    pd.testing.assert_frame_equal(engine_for(ctx).read_table(ctx.tables.baseline), baseline_before)


def test_champion_gate_promotes_a_better_model(weak_ctx, weak_trained, trained):
    """In another registered model the weak run is champion first; the good run then wins."""
    first = register_model(weak_ctx, weak_trained.run_id, progress=quiet)
    assert first.promoted
    second = register_model(weak_ctx, trained.run_id, progress=quiet)
    assert second.promoted and second.champion_version == first.version
    assert second.challenger_score > second.champion_score + weak_ctx.model.promotion.min_improvement
    alias = _client(weak_ctx).get_model_version_by_alias(weak_ctx.tables.registered_model, CHAMPION)
    assert str(alias.version) == second.version
    baseline = engine_for(weak_ctx).read_table(weak_ctx.tables.baseline)
    assert (baseline["model_version"] == f"alive_classifier_weak-{second.version}").all()


@pytest.mark.parametrize(
    ("metric", "challenger", "champion", "margin", "better"),
    [
        ("roc_auc", 0.80, 0.79, 0.002, True),
        ("roc_auc", 0.791, 0.79, 0.002, False),  # wins, but not by more than the margin
        ("roc_auc", 0.75, 0.5, 0.25, False),  # exactly the margin is not "more than"
        ("f1", 0.5, 0.6, 0.0, False),
        ("rmse", 1.0, 1.5, 0.1, True),  # lower is better
        ("mae", 1.5, 1.0, 0.0, False),
        ("rmse", 1.0, 1.0, 0.0, False),  # a tie never promotes
    ],
)
def test_is_better_direction_and_margin(metric, challenger, champion, margin, better):
    assert is_better(metric, challenger, champion, margin) is better
