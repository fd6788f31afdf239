"""Shared helpers for the analyze-drift tests (imported explicitly; no conftest, so the test
folders stay independent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from lakemon.config import load_environment
from lakemon.config.model import Environment
from lakemon_jobs.datasets import CATEGORICAL, NUMERIC, load_comic, split_train_test
from lakemon_jobs.monitor_engine.schema import DRIFT_METRICS_SCHEMA, PROFILE_METRICS_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
DEV_ENV = ROOT / "envs" / "dev.yml"
FEATURES = {**{c: "categorical" for c in CATEGORICAL}, **{c: "numeric" for c in NUMERIC}}
START = datetime(2026, 1, 1, tzinfo=UTC)


def dev_env(**drift_updates) -> Environment:
    env = load_environment(DEV_ENV)
    drift = env.monitoring.drift.model_copy(update=drift_updates)
    return env.model_copy(update={"monitoring": env.monitoring.model_copy(update={"drift": drift})})


def with_destinations(env: Environment, destinations) -> Environment:
    return env.model_copy(update={"alerts": env.alerts.model_copy(update={"destinations": tuple(destinations)})})


@lru_cache(maxsize=1)
def marvel_split():
    """The model's own split (test_fraction 0.2, seed 42): baseline = training rows."""
    return split_train_test(load_comic("marvel"), 0.2, 42)


@lru_cache(maxsize=1)
def dc():
    return load_comic("dc")


def day(i: int) -> dict:
    return {"start": START + timedelta(days=i), "end": START + timedelta(days=i + 1)}


KEY = {"granularity": "1 day", "slice_key": None, "slice_value": None, "model_version": "*"}


def drift_row(i: int, column: str, **stats) -> dict:
    return {**KEY, "window": day(i), "window_cmp": None, "drift_type": "BASELINE", "column_name": column, **stats}


def count_row(i: int, column: str, count: int) -> dict:
    return {**KEY, "window": day(i), "log_type": "INPUT", "column_name": column, "count": count, "num_nulls": 0}


def tables(drift_rows: list[dict], profile_rows: list[dict]) -> tuple[pa.Table, pa.Table]:
    return (pa.Table.from_pylist(drift_rows, schema=DRIFT_METRICS_SCHEMA),
            pa.Table.from_pylist(profile_rows, schema=PROFILE_METRICS_SCHEMA))
