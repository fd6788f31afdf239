"""`lakemon register`: register a training run's model, mark it `challenger`, and promote it to
`champion` only if it beats the current champion on the challenger's test set.

- Name: the three-part ModelTables.registered_model (`catalog.schema.model`) on Databricks
  (Unity Catalog) and locally (SQLite registry) alike.
- Gate: `model.promotion.metric` computed for both models on the same rows (the test split
  re-created from the run's params: source, test_fraction, seed). Higher is better, except
  rmse and mae. The challenger must win by MORE than `min_improvement`. With no champion yet,
  the first version becomes champion.
- Baseline: register (not train) writes ModelTables.baseline, because only register knows the
  version number, and because the baseline must describe the model that is served: it is
  rewritten (one atomic overwrite) exactly when a new champion is crowned. It holds the
  TRAINING split scored by the champion, model id `<model>-<version>`: the distribution the
  model learned from (what Databricks recommends for a baseline), four times the rows of the
  test split (less noise in every drift distance), and independent of held-out traffic. Its
  model-quality metrics are training-set quality, i.e. optimistic; quality alerts use the
  absolute `monitoring.quality_threshold`, not the baseline's quality.
  With `training.baseline: backtest` (the forecasting template, whose split is chronological)
  it holds the TEST split scored out of sample instead: a forecast's in-sample errors would set
  a bar the live forecasts can never meet, so forecasting metrics are compared with a backtest.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from lakemon.config.model import Model
from lakemon.contract.tables import baseline_columns

from . import arguments
from .context import JobContext, run_job
from .errors import JobError
from .model_steps import (
    CHALLENGER,
    CHAMPION,
    MODEL_ARTIFACT,
    MODEL_URI_TAG,
    classification_metrics,
    load_training_data,
    regression_metrics,
    served_entity_name,
    split_for,
)
from .table_engines import engine_for
from .tracking import configure_mlflow, experiment_name

LOWER_IS_BETTER = frozenset({"rmse", "mae"})
REGRESSION_METRIC_NAMES = {"rmse": "root_mean_squared_error", "mae": "mean_absolute_error", "r2": "r2_score"}
"""promotion.metric -> the Databricks regression metric train logs and the monitor writes."""


@dataclass(frozen=True)
class RegisterResult:
    model_name: str
    version: str
    run_id: str
    metric: str
    challenger_score: float
    champion_version: str | None
    """The champion before this run (None if there was none)."""
    champion_score: float | None
    promoted: bool


class NoTrainingRun(JobError):
    """The model's experiment has no finished training run to register: exit 1."""


def latest_run_id(ctx: JobContext) -> str:
    """Newest finished training run of this model in its experiment (NoTrainingRun if none)."""
    experiment = mlflow.get_experiment_by_name(experiment_name(ctx))
    runs = (
        []
        if experiment is None
        else mlflow.search_runs(
            experiment_ids=[experiment.experiment_id],
            filter_string=f"tags.`lakemon.model` = '{ctx.model.name}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
            output_format="list",
        )
    )
    if not runs:
        raise NoTrainingRun(f"no finished training run of {ctx.model.name} in experiment {experiment_name(ctx)}; run `lakemon train` first")
    return runs[0].info.run_id


def run_split(ctx: JobContext, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's (train, test) rows, re-created from the params it logged."""
    params = mlflow.get_run(run_id).data.params
    data = load_training_data(ctx, params["source"])
    # a run logs time_column only when its split was chronological
    return split_for(ctx.model.training, data, time_column=params.get("time_column", ""),
                     test_fraction=float(params["test_fraction"]), seed=int(params["seed"]))


def score(model: Model, pyfunc, frame: pd.DataFrame) -> pd.DataFrame:
    """Model outputs (prediction, prediction_proba) for the frame's features."""
    output = pyfunc.predict(frame[model.feature_names()])
    return pd.DataFrame(output).reset_index(drop=True)


def promotion_score(model: Model, frame: pd.DataFrame, outputs: pd.DataFrame) -> float:
    metric = model.promotion.metric
    y = frame[model.label.name].to_numpy()
    predicted = outputs[model.prediction.name].to_numpy()
    if metric in REGRESSION_METRIC_NAMES:
        return regression_metrics(y, predicted)[REGRESSION_METRIC_NAMES[metric]]
    proba = outputs[model.prediction_proba].to_numpy() if model.prediction_proba else predicted
    return classification_metrics(y, predicted, proba)[metric]


def is_better(metric: str, challenger: float, champion: float, min_improvement: float) -> bool:
    """True if the challenger wins by more than min_improvement (direction depends on metric)."""
    gain = champion - challenger if metric in LOWER_IS_BETTER else challenger - champion
    return gain > min_improvement


VERSIONS_PAGE = 100
"""Model versions per search request. Every page is read: the Unity Catalog registry pages
results, and a version missed on page 2 would be registered again."""


def all_model_versions(client, name: str):
    """Every version of `name`, following `page_token` until the registry has no more pages
    (MlflowClient.search_model_versions returns a PagedList with `.token`)."""
    token = None
    while True:
        page = client.search_model_versions(f"name='{name}'", max_results=VERSIONS_PAGE, page_token=token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _find_or_register(client, name: str, run_id: str, progress: Callable[[str], None]) -> str:
    """The version of this run, registering it once (a rerun of register does not add versions)."""
    for version in all_model_versions(client, name):
        if version.run_id == run_id:
            progress(f"register: run {run_id} is already version {version.version} of {name}")
            return str(version.version)
    model_uri = mlflow.get_run(run_id).data.tags.get(MODEL_URI_TAG, f"runs:/{run_id}/{MODEL_ARTIFACT}")
    version = mlflow.register_model(model_uri, name)
    progress(f"register: registered version {version.version} of {name}")
    return str(version.version)


def write_baseline(ctx: JobContext, frame: pd.DataFrame, outputs: pd.DataFrame, version: str) -> int:
    model = ctx.model
    baseline = frame[[*model.feature_names(), model.label.name]].reset_index(drop=True).copy()
    for column in outputs.columns:
        baseline[column] = outputs[column].to_numpy()
    baseline[model.model_id_column] = served_entity_name(model, version)
    columns = baseline_columns(model)
    engine_for(ctx).overwrite(ctx.tables.baseline, baseline[[c.name for c in columns]], columns)
    return len(baseline)


def register_model(
    ctx: JobContext, run_id: str | None = None, progress: Callable[[str], None] = print
) -> RegisterResult:
    """Register, alias `challenger`, gate, maybe promote to `champion` and rewrite the baseline."""
    client = configure_mlflow(ctx)
    model, name = ctx.model, ctx.tables.registered_model
    run_id = run_id or latest_run_id(ctx)
    version = _find_or_register(client, name, run_id, progress)
    client.set_registered_model_alias(name, CHALLENGER, version)

    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champion = None
    champion_version = str(champion.version) if champion else None

    train_rows, frame = run_split(ctx, run_id)
    progress(f"register: scoring version {version} on {len(frame)} test rows")
    challenger = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    outputs = score(model, challenger, frame)
    challenger_score = promotion_score(model, frame, outputs)
    metric, margin = model.promotion.metric, model.promotion.min_improvement

    if champion_version is None:
        champion_score, promoted = None, True
        progress(f"register: no champion yet; version {version} ({metric}={challenger_score:.4f}) becomes champion")
    elif champion_version == version:
        champion_score, promoted = challenger_score, False
        progress(f"register: version {version} is already the champion")
    else:
        champion_outputs = score(model, mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}"), frame)
        champion_score = promotion_score(model, frame, champion_outputs)
        promoted = is_better(metric, challenger_score, champion_score, margin)
        verdict = "promoted" if promoted else "not promoted"
        progress(
            f"register: {metric} challenger v{version}={challenger_score:.4f} vs champion "
            f"v{champion_version}={champion_score:.4f} (needs > {margin} better): {verdict}"
        )

    client.set_model_version_tag(name, version, f"lakemon.test_{metric}", f"{challenger_score:.6f}")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
        # training rows scored (Databricks' recommendation), or the backtest: the test period scored
        # out of sample, the errors a forecast really makes (training.baseline)
        base_rows = frame if model.training.baseline == "backtest" else train_rows
        rows = write_baseline(ctx, base_rows, score(model, challenger, base_rows) if base_rows is train_rows else outputs, version)
        progress(f"register: version {version} is champion; baseline {ctx.tables.baseline} rewritten "
                 f"({rows} {'backtest' if base_rows is frame else 'training'} rows)")
    return RegisterResult(name, version, run_id, metric, challenger_score, champion_version, champion_score, promoted)


add_arguments = arguments.register
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)

    def register() -> str:
        result = register_model(ctx, args.run_id)
        return f"{result.model_name} version {result.version}: {'champion' if result.promoted else 'challenger'}"

    return run_job("register", register)
