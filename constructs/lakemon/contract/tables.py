"""Names and columns of the tables lakemon owns: one definition for constructs and job scripts.

The constructs declare these tables in Terraform; the job scripts write them; the monitor
reads them. Keeping names and column lists here is what keeps the three in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.model import Column, Environment, Model, ProblemType

# Columns the unpack job adds to every inference-log row besides the model's own columns.
REQUEST_ID = "databricks_request_id"
CLIENT_REQUEST_ID = "client_request_id"
ROW_INDEX = "row_index"
LABEL_TIME = "label_time"
"""When a label arrived (labels table): the newest label per LABEL_KEYS wins."""
INFERENCE_LOG_KEYS = [REQUEST_ID, ROW_INDEX]
"""What identifies one prediction in the inference log: the key that makes unpack idempotent."""
LABEL_KEYS = [CLIENT_REQUEST_ID, ROW_INDEX]
"""What a label is joined on: the caller's request id and the row's position in the request."""

SQL_TYPES = {
    "string": "STRING",
    "double": "DOUBLE",
    "float": "FLOAT",
    "bigint": "BIGINT",
    "int": "INT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def ddl_columns(ddl: str) -> list[Column]:
    """Columns written as a Spark-style DDL list, `"name type, name type, ..."` (types: the keys
    of SQL_TYPES, lower case). Why: a fixed table reads as one schema line, as in Spark and SQL,
    instead of one constructor call per column."""
    columns = []
    for item in ddl.split(","):
        parts = item.split()
        if len(parts) != 2 or parts[1] not in SQL_TYPES:
            raise ValueError(f"column {item.strip()!r}: expected '<name> <type>', type one of {', '.join(SQL_TYPES)}")
        columns.append(Column(name=parts[0], type=parts[1]))
    return columns


@dataclass(frozen=True)
class ModelTables:
    """Three-part names of every table that belongs to one served model in one environment."""

    env: Environment
    model: Model

    def _full(self, suffix: str) -> str:
        return self.env.full_name(f"{self.model.name}_{suffix}")

    @property
    def payload_prefix(self) -> str:
        """AI-gateway `table_name_prefix`; Databricks creates `<prefix>_payload`."""
        return self.model.name

    @property
    def payload(self) -> str:
        return self._full("payload")

    @property
    def inference_log(self) -> str:
        return self._full("inference_log")

    @property
    def baseline(self) -> str:
        return self._full("baseline")

    @property
    def quarantine(self) -> str:
        """Payload rows unpack could not use (malformed, non-200), kept for inspection."""
        return self._full("payload_quarantine")

    @property
    def unpack_runs(self) -> str:
        """One row per finished unpack run: the payload-table version it read up to (the next
        run's starting point) and its row accounting. Written by the unpack job."""
        return self._full("unpack_runs")

    @property
    def labels(self) -> str:
        """Ground truth arriving later: request id + row index (or a business key) -> label."""
        return self._full("labels")

    @property
    def profile_metrics(self) -> str:
        return f"{self.inference_log}_profile_metrics"

    @property
    def drift_metrics(self) -> str:
        return f"{self.inference_log}_drift_metrics"

    @property
    def drift_verdicts(self) -> str:
        """What analyze-drift decided per window and feature (and model quality): the table the
        production alerts read. Columns: lakemon.contract.verdicts.verdicts_columns."""
        return self._full("drift_verdicts")

    @property
    def registered_model(self) -> str:
        return self.env.full_name(self.model.name)

    @property
    def volume(self) -> str:
        """Unity Catalog volume for artifacts (the job wheel, monitor assets)."""
        return self.env.full_name("artifacts")


def output_columns(model: Model) -> list[Column]:
    """The model's output columns, as served: prediction, then probability where it has one."""
    cols = [model.prediction]
    if model.problem_type is ProblemType.CLASSIFICATION and model.prediction_proba:
        cols.append(Column(name=model.prediction_proba, type="double"))
    return cols


def inference_log_columns(model: Model) -> list[Column]:
    """Columns of the unpacked inference-log table, in order: what the monitor watches."""
    return [
        *model.features,
        *output_columns(model),
        model.label,
        Column(name=model.model_id_column, type="string"),
        Column(name=model.timestamp_column, type="timestamp"),
        Column(name=REQUEST_ID, type="string"),
        Column(name=CLIENT_REQUEST_ID, type="string"),
        Column(name=ROW_INDEX, type="bigint"),
    ]


def labels_columns(model: Model) -> list[Column]:
    """Ground truth that arrives after the prediction. The caller sends `client_request_id`
    with each request (AI gateway logs it); the label for row `row_index` of that request is
    joined into the inference log by unpack."""
    return [
        Column(name=CLIENT_REQUEST_ID, type="string"),
        Column(name=ROW_INDEX, type="bigint"),
        model.label,
        Column(name=LABEL_TIME, type="timestamp"),
    ]


def baseline_columns(model: Model) -> list[Column]:
    """Baseline (training data scored by the model): the inference-log columns without the
    timestamp and request keys, as Databricks expects of a baseline table."""
    return [*model.features, *output_columns(model), model.label, Column(name=model.model_id_column, type="string")]


def monitor_prediction_proba_col(model: Model) -> str | None:
    """The quality monitor's `prediction_proba_col`: None on purpose, for every model.

    Databricks types that column as a map, class label -> probability ("The values in this column
    should be a map ... of PySpark MapType()": `MonitorInferenceLog.prediction_proba_col` in the
    Databricks SDKs), while lakemon logs the positive class's probability as one DOUBLE (what the
    served model returns). Naming the DOUBLE column would make the monitor's refresh fail or
    misread it, so the monitor gets no probability column and computes no ROC AUC; the DOUBLE
    column is still profiled and drift-checked like any numeric column. The local engine reads
    this same function, so it computes exactly the metrics Databricks would (docs/deploy.md)."""
    del model
    return None
