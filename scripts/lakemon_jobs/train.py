"""`lakemon train`: fit the model on the configured training data and log the run to MLflow.

What one run holds (the same on Databricks and on the embedded default):
- params: the estimator's hyper-parameters (defaults below, overridden by
  `model.training.params`) plus source, test_fraction, seed and row counts;
- metrics on the held-out test split: accuracy, precision, recall, f1, roc_auc (classification);
  mean_absolute_error, mean_squared_error, root_mean_squared_error,
  mean_absolute_percentage_error, r2_score (regression: the names and definitions of the
  Databricks monitor's regression metrics, computed by the same function the local monitor uses);
- the model (`model/`): a pyfunc returning prediction + prediction_proba, or the prediction
  alone for regression (see model_code/served_model.py), with an explicit signature built from
  the model config and an input example;
- dataset inputs: the training split (context "training") and the test split ("testing");
- artifacts: confusion_matrix.png (classification) or predicted_vs_actual.png (regression),
  feature_importance.csv and feature_importance.png (permutation importance on the test split:
  ROC AUC drop, or RMSE rise for regression).

The split is reproducible from the params alone, which is how `register` re-creates the same
test set to compare challenger and champion.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import sklearn
from mlflow.data.delta_dataset_source import DeltaDatasetSource
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema
from sklearn import ensemble
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import Ridge
from sklearn.metrics import ConfusionMatrixDisplay, PredictionErrorDisplay
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from lakemon._version import __version__
from lakemon.config.model import Column, Model, ProblemType
from lakemon.contract.statistics import is_numeric
from lakemon.contract.tables import output_columns

from . import arguments
from .context import JobConfigError, JobContext, run_job
from .model_steps import (
    MODEL_ARTIFACT,
    MODEL_URI_TAG,
    classification_metrics,
    load_training_data,
    model_key,
    regression_metrics,
    split_for,
)
from .tracking import configure_mlflow, use_experiment

MODEL_CODE = Path(__file__).parent / "model_code" / "served_model.py"
DEFAULT_PARAMS: dict[str, float | int | str | bool] = {
    "learning_rate": 0.1,
    "max_iter": 200,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
}
"""HistGradientBoosting{Classifier,Regressor} settings unless the env's model.training.params says otherwise."""
RIDGE_PARAMS: dict[str, float | int | str | bool] = {"alpha": 1.0}
"""Ridge's settings (training.estimator ridge: the forecasting template)."""
ONE_HOT_MIN_FREQUENCY = 10
"""Categories seen fewer times than this share one 'infrequent' column (long-tailed EYE/HAIR)."""

MLFLOW_TYPES = {
    "string": "string",
    "double": "double",
    "float": "float",
    "bigint": "long",
    "int": "integer",
    "boolean": "boolean",
    "date": "datetime",
    "timestamp": "datetime",
}


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    """models:/<logged model id>: what `register` registers (also the run's tag lakemon.model_uri)."""
    metrics: dict[str, float]


# --- data ----------------------------------------------------------------------------------------


BUNDLED_ORIGIN = "https://github.com/fivethirtyeight/data/tree/master/comic-characters"
BUNDLED_ORIGINS = {"bundled:co2": "https://www.statsmodels.org/stable/datasets/generated/co2.html"}
"""Public origin of each bundled data set other than the comic characters."""


def dataset_source(source: str):
    """MLflow dataset source: the public origin of bundled data, else the (Delta) table name."""
    if source.startswith("bundled:"):
        return HTTPDatasetSource(url=BUNDLED_ORIGINS.get(source, BUNDLED_ORIGIN))
    return DeltaDatasetSource(delta_table_name=source)


def feature_kinds(model: Model) -> tuple[list[str], list[str]]:
    """(categorical, numeric) feature names: every non-numeric column (string, boolean, date,
    timestamp) is encoded as a category."""
    categorical = [c.name for c in model.features if not is_numeric(c.type)]
    numeric = [c.name for c in model.features if is_numeric(c.type)]
    return categorical, numeric


def model_config(model: Model) -> dict[str, object]:
    """What the pyfunc wrapper needs at load time (it cannot import our wheel)."""
    categorical, numeric = feature_kinds(model)
    return {
        "problem_type": model.problem_type.value,
        "categorical": categorical,
        "numeric": numeric,
        "prediction": model.prediction.name,
        "prediction_proba": model.prediction_proba or "prediction_proba",
    }


def signature(model: Model):
    """Signature from the config, not inferred from data: every feature is optional (a missing
    value is a value), outputs are exactly the served columns."""
    def spec(column: Column, required: bool) -> ColSpec:
        return ColSpec(MLFLOW_TYPES[column.type], column.name, required=required)

    inputs = Schema([spec(c, required=False) for c in model.features])
    outputs = Schema([spec(c, required=True) for c in output_columns(model)])
    return ModelSignature(inputs=inputs, outputs=outputs)


# --- model ---------------------------------------------------------------------------------------


def is_regression(model: Model) -> bool:
    return model.problem_type is ProblemType.REGRESSION


def estimator_name(model: Model) -> str:
    """The scikit-learn class; the config checks `training.params` against the same name."""
    return model.estimator_class()


def default_params(model: Model) -> dict[str, float | int | str | bool]:
    return dict(RIDGE_PARAMS) if model.training.estimator == "ridge" else dict(DEFAULT_PARAMS)


def build_pipeline(model: Model, params: dict[str, object], seed: int):
    """Impute, one-hot encode (missing is its own category), gradient boosting (a classifier or
    a regressor by problem type). Only sklearn classes, so the pickled pipeline loads anywhere
    scikit-learn does."""
    categorical, numeric = feature_kinds(model)
    encode = Pipeline(
        [
            ("missing_as_category", SimpleImputer(strategy="constant", fill_value="(missing)")),
            (
                "one_hot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=ONE_HOT_MIN_FREQUENCY, sparse_output=False
                ),
            ),
        ]
    )
    columns = ColumnTransformer(
        [
            ("categorical", encode, categorical),
            ("numeric", SimpleImputer(strategy="median", add_indicator=True), numeric),
        ]
    )
    if model.training.estimator == "ridge":
        estimator = Ridge(random_state=seed, **params)
    else:
        estimator = getattr(ensemble, estimator_name(model))(random_state=seed, **params)
    return Pipeline([("features", columns), ("model", estimator)])


def fit_pipeline(pipeline, x, y, params: Mapping[str, object], where: str):
    """Fit `pipeline` on (x, y); a value of `params` (the env file's `training.params`, whose
    keys the config checked at load) that scikit-learn refuses is the user's config error: one
    line, `<where>: <scikit-learn's message>`, exit 2.

    Why it can tell: scikit-learn checks an estimator's parameters when `fit` is called, before it
    reads the data, and refuses a bad value with a ValueError or TypeError that quotes the
    parameter's name ("The 'max_iter' parameter of HistGradientBoostingClassifier must be an int
    in the range [1, inf). Got -1 instead."). So only such an error quoting a key the env file set
    becomes the config error; any other one (a data problem, a bug) keeps its traceback. No
    private import: the class scikit-learn raises lives in `sklearn.utils._param_validation`."""
    try:
        return pipeline.fit(x, y)
    except (ValueError, TypeError) as exc:
        if not any(repr(key) in str(exc) for key in params):
            raise
        raise JobConfigError([f"{where}: {exc}"]) from None


def evaluate(model: Model, pipeline, x, y) -> tuple[dict[str, float], object]:
    """(metrics, predictions) of a fitted pipeline on (x, y), by problem type."""
    if is_regression(model):
        predicted = pipeline.predict(x)
        return regression_metrics(y, predicted), predicted
    proba = pipeline.predict_proba(x)[:, 1]
    predicted = (proba >= 0.5).astype("int64")
    return classification_metrics(y, predicted, proba), predicted


def _plots(model: Model, pipeline, x_test, y_test, predicted, seed: int, out: Path) -> list[Path]:
    import matplotlib  # lazy: choosing the Agg backend is process-wide; only the run's plots need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: after the backend is chosen (above)

    if is_regression(model):
        display = PredictionErrorDisplay.from_predictions(y_test, predicted, kind="actual_vs_predicted")
        display.ax_.set_title("Predicted vs actual (test split)")
        first_path = out / "predicted_vs_actual.png"
        scoring, drop = "neg_root_mean_squared_error", "rise in RMSE"
    else:
        display = ConfusionMatrixDisplay.from_predictions(y_test, predicted, cmap="Blues")
        display.ax_.set_title("Confusion matrix (test split)")
        first_path = out / "confusion_matrix.png"
        scoring, drop = "roc_auc", "drop in ROC AUC"
    display.figure_.savefig(first_path, dpi=100, bbox_inches="tight")
    plt.close(display.figure_)

    # Many small predict calls: OpenMP threads cost more than they give (20x slower on a busy
    # 2-core machine, measured), so score them on one thread.
    with threadpool_limits(limits=1):
        result = permutation_importance(
            pipeline, x_test, y_test, scoring=scoring, n_repeats=5, random_state=seed, n_jobs=1
        )
    importance = pd.DataFrame(
        {"feature": list(x_test.columns), "importance_mean": result.importances_mean, "importance_std": result.importances_std}
    ).sort_values("importance_mean", ascending=False)
    csv_path = out / "feature_importance.csv"
    importance.to_csv(csv_path, index=False)
    fig, ax = plt.subplots(figsize=(6, 0.4 * len(importance) + 1))
    ordered = importance.iloc[::-1]
    ax.barh(ordered["feature"], ordered["importance_mean"], xerr=ordered["importance_std"])
    ax.set_xlabel(f"{drop} when the feature is shuffled")
    ax.set_title("Permutation importance (test split)")
    png_path = out / "feature_importance.png"
    fig.savefig(png_path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return [first_path, csv_path, png_path]


def train_model(
    ctx: JobContext,
    experiment: str | None = None,
    progress: Callable[[str], None] = print,
    extra_rows: pd.DataFrame | None = None,
    tags: dict[str, str] | None = None,
) -> TrainResult:
    """Train, evaluate and log one run. Callable from Python (the end-to-end loop) and the CLI.

    `extra_rows` (features + label) join the training split: `lakemon retrain` passes the
    labelled inference-log rows of the recent windows. The test split, and so the logged test
    metrics, stay the original one. `tags` are added to the run (the retrain's reason)."""
    from .model_code.served_model import prepare_features  # lazy: MLflow warns when it is imported

    model, training = ctx.model, ctx.model.training
    progress(f"train: loading {training.source}")
    data = load_training_data(ctx)
    train_df, test_df = split_for(training, data)
    categorical, numeric = feature_kinds(model)
    label = model.label.name
    recent_rows = 0 if extra_rows is None else len(extra_rows)
    if recent_rows:
        columns = [*model.feature_names(), label]
        train_df = pd.concat([train_df[columns], extra_rows[columns]], ignore_index=True)
    x_train = prepare_features(train_df, categorical, numeric)
    x_test = prepare_features(test_df, categorical, numeric)
    params = {**default_params(model), **training.params}
    configure_mlflow(ctx)  # after the data loaded: a bad source leaves MLflow untouched
    experiment_id = use_experiment(ctx, experiment)

    progress(f"train: fitting on {len(train_df)} rows, testing on {len(test_df)} rows")
    pipeline = build_pipeline(model, params, training.seed)
    fit_pipeline(pipeline, x_train, train_df[label], training.params, model_key(ctx, "training.params"))
    metrics, predicted = evaluate(model, pipeline, x_test, test_df[label])
    progress("train: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))

    with mlflow.start_run(experiment_id=experiment_id) as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags(
            {"lakemon.env": ctx.env.name, "lakemon.model": model.name, "lakemon.version": __version__, **(tags or {})}
        )
        mlflow.log_params(
            {
                **params,
                "estimator": estimator_name(model),
                "source": training.source,
                "test_fraction": training.test_fraction,
                "seed": training.seed,
                **({"time_column": training.time_column} if training.time_column else {}),
                "train_rows": len(train_df),
                "test_rows": len(test_df),
                "recent_rows": recent_rows,
            }
        )
        mlflow.log_metrics(metrics)
        columns = [*model.feature_names(), label]
        source = dataset_source(training.source)
        for part, frame, context in (("train", train_df, "training"), ("test", test_df, "testing")):
            dataset = mlflow.data.from_pandas(frame[columns], source=source, targets=label, name=f"{model.name}-{part}")
            mlflow.log_input(dataset, context=context)
        progress("train: computing permutation importance and plots")
        for path in _plots(model, pipeline, x_test, test_df[label], predicted, training.seed, Path(tmp)):
            mlflow.log_artifact(str(path))

        progress("train: logging the model")
        pipeline_dir = Path(tmp) / "pipeline"
        requirements = [
            f"mlflow=={mlflow.__version__}",
            f"scikit-learn=={sklearn.__version__}",
            f"pandas=={pd.__version__}",
            "cloudpickle",
        ]
        # Explicit requirements: inferring them loads the model in a subprocess (seconds).
        mlflow.sklearn.save_model(
            pipeline, str(pipeline_dir), serialization_format="cloudpickle", pip_requirements=requirements
        )
        example = test_df[model.feature_names()].head(5)
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(MODEL_CODE),
            artifacts={"pipeline": str(pipeline_dir)},
            model_config=model_config(model),
            signature=signature(model),
            input_example=example,
            pip_requirements=requirements,
        )
        run_id = run.info.run_id
        # MLflow 3 keeps logged models outside the run's artifacts: record where, for register.
        mlflow.set_tag(MODEL_URI_TAG, info.model_uri)
    progress(f"train: run {run_id} logged in experiment {experiment_id}")
    return TrainResult(run_id, experiment_id, info.model_uri, metrics)


add_arguments = arguments.train
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)
    return run_job("train", lambda: train_model(ctx, experiment=args.experiment).run_id)
