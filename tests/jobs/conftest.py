"""Shared fixtures for the job-script tests, all on the embedded default in temporary folders.

Training is the slow part (seconds), so one session trains the real Marvel model once and the
tests share that run, its registered version and one MLflow store (a fresh SQLite store costs
several seconds of schema migrations)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from jobs_helpers import DEV_ENV, WEAK_PARAMS, quiet, write_env

from lakemon_jobs.context import JobContext


@pytest.fixture(scope="session", autouse=True)
def _embedded_default():
    os.environ.pop("DATABRICKS_RUNTIME_VERSION", None)
    warnings.filterwarnings("ignore", module="mlflow")


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lakemon_home")


@pytest.fixture
def uctx(tmp_path) -> JobContext:
    """A fresh embedded home per test (the unpack tests write tables)."""
    return JobContext.load(DEV_ENV, home=tmp_path / "home")


@pytest.fixture(scope="session")
def ctx(home) -> JobContext:
    return JobContext.load(DEV_ENV, home=home)


@pytest.fixture(scope="session")
def legacy_ctx(ctx) -> JobContext:
    """ctx of an environment that keeps the deprecated monitor resource (`monitoring.api: legacy`)."""
    import dataclasses

    monitoring = ctx.env.monitoring.model_copy(update={"api": "legacy"})
    return dataclasses.replace(ctx, env=ctx.env.model_copy(update={"monitoring": monitoring}))


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
