"""Small inference-log and baseline tables with known contents, shared by the engine tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lakemon_jobs.monitor_engine.settings import ColumnSpec, MonitorSettings

DAY_US = 86_400_000_000
T0 = 19_000 * DAY_US  # 2022-01-08 00:00 UTC


def settings(**overrides) -> MonitorSettings:
    base = dict(
        granularities=("1 day",),
        timestamp_col="timestamp",
        model_id_col="model_version",
        columns=(
            ColumnSpec("x", "numeric", "double"),
            ColumnSpec("color", "categorical", "string"),
            ColumnSpec("prediction", "categorical", "bigint"),
            ColumnSpec("prediction_proba", "numeric", "double"),
            ColumnSpec("label", "categorical", "bigint"),
        ),
        problem_type="classification",
        prediction_col="prediction",
        label_col="label",
        prediction_proba_col="prediction_proba",
        slicing_exprs=(),
    )
    base.update(overrides)
    return MonitorSettings(**base)


def table(n: int, *, seed: int = 0, shift: float = 0.0, days: int = 3, day0: int = 0, models=("1",)) -> pa.Table:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    return pa.table(
        {
            "x": rng.normal(shift, 1, n),
            "color": pa.array(rng.choice(["red", "green", "blue"], n)),
            "prediction": np.where(rng.random(n) < 0.8, label, 1 - label),
            "prediction_proba": np.clip(label * 0.4 + rng.random(n) * 0.6, 0, 1),
            "label": label,
            "model_version": pa.array(rng.choice(list(models), n)),
            "timestamp": pa.array(T0 + day0 * DAY_US + rng.integers(0, days * DAY_US, n), pa.timestamp("us", tz="UTC")),
        }
    )


def baseline(n: int = 400, seed: int = 99) -> pa.Table:
    return table(n, seed=seed).drop_columns(["timestamp"])
