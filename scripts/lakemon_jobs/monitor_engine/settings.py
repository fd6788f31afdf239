"""What the monitor watches, derived from the model and environment config.

One frozen value that the engine takes, so the engine itself never reads YAML or pydantic
models: tests and the benchmark build it directly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from lakemon.contract.statistics import CATEGORICAL, NUMERIC, profile_kind
from lakemon.contract.tables import (
    CLIENT_REQUEST_ID,
    LABEL_TIME,
    REQUEST_ID,
    ROW_INDEX,
    monitor_prediction_proba_col,
)

from ..errors import UsageError

KEY_COLUMNS = (REQUEST_ID, CLIENT_REQUEST_ID, ROW_INDEX, LABEL_TIME)


class SettingsMismatch(UsageError, ValueError):
    """The monitor's settings (from the env file) do not fit the tables: no timestamp column, a
    column configured numeric that is not, a slicing expression or custom metric that cannot be
    evaluated on the data. The refresh stops before writing anything: exit 2. Also a ValueError:
    the engine's functions are called outside the jobs too (tests, the benchmark)."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str
    """NUMERIC (KS, Wasserstein, PSI) or CATEGORICAL (chi-squared, TV, L-inf, JS), lakemon.contract.statistics."""
    data_type: str
    """Spark SQL type name as in config ('double', 'string', ...)."""


@dataclass(frozen=True)
class CustomMetricSpec:
    """One custom metric as the config declares it (lakemon.config.model.CustomMetric): the
    engine renders, transpiles and evaluates it (custom.py)."""

    name: str
    type: str
    """aggregate, derived or drift."""
    definition: str
    input_columns: tuple[str, ...]
    output_data_type: str = "double"


@dataclass(frozen=True)
class MonitorSettings:
    granularities: tuple[str, ...]
    timestamp_col: str
    model_id_col: str
    columns: tuple[ColumnSpec, ...]
    problem_type: str = "classification"
    prediction_col: str | None = None
    label_col: str | None = None
    prediction_proba_col: str | None = None
    slicing_exprs: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = field(default=KEY_COLUMNS)
    """Never profiled: request keys and bookkeeping columns."""
    custom_metrics: tuple[CustomMetricSpec, ...] = ()
    """Extra columns of the metrics tables (models[].monitoring.custom_metrics)."""

    @classmethod
    def from_config(cls, env, model) -> MonitorSettings:
        """Settings for `model` (lakemon.config.Model) in `env` (lakemon.config.Environment).

        Features are numeric or categorical by their type; for classification the label and
        prediction are categorical (classes), for regression numeric."""
        classification = model.problem_type.value == "classification"
        cols = [ColumnSpec(c.name, profile_kind(c.type), c.type) for c in model.features]
        for c in (model.prediction, model.label):
            kind = CATEGORICAL if classification else NUMERIC
            cols.append(ColumnSpec(c.name, kind, c.type))
        if model.prediction_proba:
            cols.insert(len(model.features) + 1, ColumnSpec(model.prediction_proba, NUMERIC, "double"))
        return cls(
            granularities=tuple(env.monitoring.granularities),
            timestamp_col=model.timestamp_column,
            model_id_col=model.model_id_column,
            columns=tuple(cols),
            problem_type=model.problem_type.value,
            prediction_col=model.prediction.name,
            label_col=model.label.name,
            # what the Databricks monitor is given (None: no ROC AUC there, so none here)
            prediction_proba_col=monitor_prediction_proba_col(model),
            slicing_exprs=tuple(model.slicing_exprs),
            custom_metrics=tuple(
                CustomMetricSpec(m.name, m.type, m.definition, tuple(m.input_columns), m.output_data_type)
                for m in model.monitoring.custom_metrics
            ),
        )

    def fingerprint(self) -> str:
        """Changes whenever a setting that changes the metrics changes: stored state is then stale."""
        settings = asdict(self)
        if not settings["custom_metrics"]:  # absent before custom metrics existed: same fingerprint
            del settings["custom_metrics"]
        blob = json.dumps(settings, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
