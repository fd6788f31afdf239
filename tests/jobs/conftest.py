"""Shared fixtures for the job-script tests, all on the embedded default in temporary folders.

Training is the slow part (seconds), so one session trains the real Marvel model once and the
tests share that run, its registered version and one MLflow store (a fresh SQLite store costs
several seconds of schema migrations)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import yaml

from lakemon_jobs.context import JobContext

REPO = Path(__file__).resolve().parents[2]
DEV_ENV = REPO / "envs" / "dev.yml"
WEAK_PARAMS = {"max_iter": 1, "max_leaf_nodes": 2, "learning_rate": 0.01}
"""One stump: a deliberately worse classifier than the defaults (the champion gate must refuse it)."""


def quiet(_message: str) -> None:
    """progress callback that drops messages (the jobs print progress by default)."""


def write_env(folder: Path, *, name: str = "alive_classifier", **overrides) -> Path:
    """A copy of envs/dev.yml with another model name / catalog / schema / training params."""
    data = yaml.safe_load(DEV_ENV.read_text())
    model = data["models"][0]
    model["name"] = name
    if "params" in overrides:
        model["training"]["params"] = overrides.pop("params")
    data.update(overrides)
    # the loader requires the file name to be the env name: keep 'dev' in a subfolder per variant
    path = folder / f"{name}_{data['catalog']}" / "dev.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="session", autouse=True)
def _embedded_default():
    os.environ.pop("DATABRICKS_RUNTIME_VERSION", None)
    warnings.filterwarnings("ignore", module="mlflow")


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lakemon_home")


@pytest.fixture(scope="session")
def ctx(home) -> JobContext:
    return JobContext.load(DEV_ENV, home=home)


@pytest.fixture(scope="session")
def weak_ctx(home, tmp_path_factory) -> JobContext:
    """Same store, another registered model (alive_classifier_weak) trained with WEAK_PARAMS."""
    path = write_env(tmp_path_factory.mktemp("envs"), name="alive_classifier_weak", params=WEAK_PARAMS)
    return JobContext.load(path, home=home)


@pytest.fixture(scope="session")
def trained(ctx):
    from lakemon_jobs.train import train_model

    return train_model(ctx, progress=quiet)


@pytest.fixture(scope="session")
def weak_trained(weak_ctx):
    from lakemon_jobs.train import train_model

    return train_model(weak_ctx, progress=quiet)


@pytest.fixture(scope="session")
def registered(ctx, trained):
    from lakemon_jobs.register import register_model

    return register_model(ctx, trained.run_id, progress=quiet)
