"""The analysis type of a quality monitor: exactly one of three typed props.

Why types instead of three booleans: a monitor has exactly one analysis type, and each type takes
its own columns (a time series has no prediction column, a snapshot no timestamp). With one
value of `MonitorAnalysis` a contradiction cannot be written; what is left to check (a column
named twice, a problem type lakemon does not know) is refused with a clear message.

`block()` gives the provider block as a dict (`databricks_quality_monitor` arguments
`inference_log`, `time_series`, `snapshot`: docs/resources/quality_monitor.md of the provider at
v1.99.0); the construct wraps it in a list of one (plugin-framework binding quirk).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config.model import ProblemType

PROBLEM_TYPES = {
    "classification": "PROBLEM_TYPE_CLASSIFICATION",
    "regression": "PROBLEM_TYPE_REGRESSION",
}


@dataclass(frozen=True)
class InferenceLogAnalysis:
    """Inference-log analysis: model quality and drift per model version over time windows.

    Fields: problem_type (`classification` or `regression`, required), prediction_col,
    timestamp_col, model_id_col (required), label_col (default none: no quality metrics),
    prediction_proba_col (default none; classification only, a MAP<STRING, DOUBLE> column, class ->
    probability, see lakemon.contract.tables.monitor_prediction_proba_col).
    """

    problem_type: ProblemType | str | None
    prediction_col: str | None
    timestamp_col: str | None
    model_id_col: str | None
    label_col: str | None = None
    prediction_proba_col: str | None = None

    kind: ClassVar[str] = "inference_log"
    windowed: ClassVar[bool] = True

    def block(self, granularities: Sequence[str]) -> dict[str, Any]:
        """The provider block; raises ValueError naming what is missing or contradictory."""
        if self.problem_type is None:
            raise ValueError(f"inference_log analysis needs problem_type; allowed: {', '.join(PROBLEM_TYPES)}")
        kind = self.problem_type.value if isinstance(self.problem_type, ProblemType) else str(self.problem_type)
        if kind not in PROBLEM_TYPES:
            raise ValueError(f"problem_type {kind!r} is not allowed; allowed: {', '.join(PROBLEM_TYPES)}")
        required = (
            ("prediction_col", self.prediction_col),
            ("timestamp_col", self.timestamp_col),
            ("model_id_col", self.model_id_col),
        )
        missing = [name for name, value in required if not value]
        if missing:
            raise ValueError(f"inference_log analysis needs {', '.join(missing)}")
        proba = self.prediction_proba_col
        if proba and kind != "classification":
            raise ValueError(
                "prediction_proba_col is only meaningful for classification; remove it or change problem_type"
            )
        columns = (self.prediction_col, self.timestamp_col, self.model_id_col, self.label_col, proba)
        named = [c for c in columns if c]
        if len(set(named)) != len(named):
            raise ValueError(f"prediction, timestamp, model id, label and probability columns must differ; got {named}")
        block: dict[str, Any] = {
            "problem_type": PROBLEM_TYPES[kind],
            "prediction_col": self.prediction_col,
            "timestamp_col": self.timestamp_col,
            "model_id_col": self.model_id_col,
            "granularities": list(granularities),
        }
        if self.label_col:
            block["label_col"] = self.label_col
        if proba:
            block["prediction_proba_col"] = proba
        return block


@dataclass(frozen=True)
class TimeSeriesAnalysis:
    """Time-series analysis: data profile and drift over time windows, no model columns.

    Fields: timestamp_col (required).
    """

    timestamp_col: str

    kind: ClassVar[str] = "time_series"
    windowed: ClassVar[bool] = True

    def block(self, granularities: Sequence[str]) -> dict[str, Any]:
        if not self.timestamp_col:
            raise ValueError("time_series analysis needs timestamp_col")
        return {"timestamp_col": self.timestamp_col, "granularities": list(granularities)}


@dataclass(frozen=True)
class SnapshotAnalysis:
    """Snapshot analysis: the whole table profiled at each refresh; no columns, no windows."""

    kind: ClassVar[str] = "snapshot"
    windowed: ClassVar[bool] = False

    def block(self, granularities: Sequence[str]) -> dict[str, Any]:
        return {}


MonitorAnalysis = InferenceLogAnalysis | TimeSeriesAnalysis | SnapshotAnalysis
"""What a QualityMonitor analyses: exactly one of the three."""

CUSTOM_METRIC_TYPES = (
    "CUSTOM_METRIC_TYPE_AGGREGATE",
    "CUSTOM_METRIC_TYPE_DERIVED",
    "CUSTOM_METRIC_TYPE_DRIFT",
)
"""The provider's custom metric `type` values (MonitorMetric at v1.99.0)."""


@dataclass(frozen=True)
class CustomMetric:
    """A custom metric: `definition` is a SQL expression (Jinja `{{input_column}}` allowed),
    `output_data_type` a Spark StructField JSON, `type` one of CUSTOM_METRIC_TYPES.
    `lakemon.monitoring.monitor.custom_metrics_of` builds them from `models[].monitoring.custom_metrics`."""

    name: str
    definition: str
    input_columns: tuple[str, ...]
    output_data_type: str
    type: str = "CUSTOM_METRIC_TYPE_AGGREGATE"
