"""Steps and names the model jobs share: `train`, `register` and `deploy` (and the embedded
loop) call these instead of importing each other (no job imports another job: a test in
tests/architecture says so).

- the training data (`load_training_data`): train fits on it, register re-creates the same test
  split from the run's params to compare challenger and champion;
- the model-quality metrics (`classification_metrics`, `regression_metrics`): train logs them,
  register's promotion gate computes them with the same code;
- where a run keeps its model (`MODEL_ARTIFACT`, the run tag `MODEL_URI_TAG`);
- the registry aliases (`CHALLENGER`, `CHAMPION`) and the served entity name of a version
  (`served_entity_name`), which register writes into the baseline and deploy gives the endpoint.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from lakemon.config.model import Model

from .context import JobConfigError, JobContext
from .datasets import load_comic, split_by_time, split_train_test
from .datasets.co2 import load_co2
from .monitor_engine.quality import regression_metrics as window_metrics
from .table_engines import engine_for

MODEL_ARTIFACT = "model"
"""Artifact path of the logged model inside a training run."""
MODEL_URI_TAG = "lakemon.model_uri"
"""Run tag holding models:/<logged model id>: what register registers."""
CHALLENGER = "challenger"
"""Registry alias of the newest registered version (register sets it on every run)."""
CHAMPION = "champion"
"""Registry alias of the version that serves (register promotes, deploy rolls it out)."""


def served_entity_name(model: Model, version: str) -> str:
    """`<model>-<version>`: the served entity name deploy gives the champion on Databricks, the
    served_entity_id the embedded logging layer records, and so the model id in the baseline and
    the inference log alike (the monitor compares them per model id)."""
    return f"{model.name}-{version}"


class TrainingColumnsError(JobConfigError):
    """The model's columns do not match the training data: one line per problem, each naming
    the env file, the key path and the nearest columns the data has. A configuration error
    (exit 2), found before anything is fitted or logged."""



NEAREST = 3
"""How many close column names a problem suggests (difflib ratio >= 0.6)."""


def _nearest(name: str, available: list[str]) -> str:
    close = difflib.get_close_matches(name, available, n=NEAREST, cutoff=0.6)
    if close:
        return f"nearest: {', '.join(close)}"
    shown = available[:12]
    more = f", ... ({len(available)} in all)" if len(available) > len(shown) else ""
    return f"no close name; columns: {', '.join(shown)}{more}"


def model_key(ctx: JobContext, key: str) -> str:
    """`<env file>: models[<i>].<key>`: where a problem with the model's config is to be fixed."""
    where = str(ctx.env_file) if ctx.env_file is not None else f"env {ctx.env.name}"
    index = next((i for i, m in enumerate(ctx.env.models) if m.name == ctx.model.name), 0)
    return f"{where}: models[{index}].{key}"


def check_training_columns(ctx: JobContext, frame: pd.DataFrame, source: str) -> None:
    """TrainingColumnsError unless every feature and the label is a column of `frame`, and the
    timestamp column, where the training data has one of that name, holds times.

    Why here and not in the config loader: the columns are only known once the data is read,
    and a job that fits first fails half a minute later with a pandas KeyError and no key path.
    The timestamp column is not a training input (the serving layer stamps each request), so
    it is only checked where the data has a column of that name that could be mistaken for it."""
    available = [str(c) for c in frame.columns]
    model = ctx.model
    wanted = [(f"features[{i}].name", c.name, "feature") for i, c in enumerate(model.features)]
    wanted.append(("label.name", model.label.name, "label"))
    problems = [
        f"{model_key(ctx, key)}: {role} {name!r} is not a column of the training data {source}; "
        f"{_nearest(name, available)}"
        for key, name, role in wanted
        if name not in available
    ]
    ts = model.timestamp_column
    if ts in available and not pd.api.types.is_datetime64_any_dtype(frame[ts].dtype):
        problems.append(
            f"{model_key(ctx, 'timestamp_column')}: {ts!r} is a {frame[ts].dtype} column of the training "
            f"data {source}, not a time; name the request-time column something else"
        )
    if problems:
        raise TrainingColumnsError(problems)


def load_training_data(ctx: JobContext, source: str | None = None) -> pd.DataFrame:
    """The configured training source as a pandas frame with the model's feature and label columns.

    `bundled:<publisher>` is the data shipped in the wheel. Anything else is a table name: a
    Unity Catalog table on Databricks, the local Delta table of that name on the embedded default.
    Raises TrainingColumnsError when the model's columns are not the data's (check_training_columns).
    """
    source = source or ctx.model.training.source
    if source == "bundled:co2":
        frame = load_co2()
        check_training_columns(ctx, frame, source)
        return frame
    if source.startswith("bundled:"):
        frame = load_comic(source.removeprefix("bundled:"))  # type: ignore[arg-type]
    else:
        frame = engine_for(ctx).read_table(source)
        frame.columns = [str(c).lower() for c in frame.columns]
    check_training_columns(ctx, frame, source)
    # A row without a label teaches nothing (appearances is missing for some characters).
    return frame.dropna(subset=[ctx.model.label.name]).reset_index(drop=True)


def split_for(training, frame: pd.DataFrame, *, time_column: str | None = None,
              test_fraction: float | None = None, seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) as `training` (a model's `training:`) splits: chronologically by its
    `time_column` (a backtest), else at random with its seed. Keyword values override the config
    (register re-creates a run's split from the run's logged params)."""
    column = time_column if time_column is not None else training.time_column
    fraction = test_fraction if test_fraction is not None else training.test_fraction
    if column:
        return split_by_time(frame, fraction, column)
    return split_train_test(frame, fraction, training.seed if seed is None else seed)


def classification_metrics(y_true, predicted, proba) -> dict[str, float]:
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, proba)),
    }


def regression_metrics(y_true, predicted) -> dict[str, float]:
    """The Databricks monitor's regression metrics (mean_absolute_error, mean_squared_error,
    root_mean_squared_error, mean_absolute_percentage_error, r2_score), from the one function
    the local monitor computes them with."""
    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(predicted, dtype="float64")
    return {k: float(v) for k, v in window_metrics(y, p).items() if k != "num_labeled"}
