"""The served model (classification or regression), written once for both problem types.

Classification (`problem_type: classification` in the model config) returns the class AND the
probability of class 1 for every row; regression returns one numeric prediction per row
(`{"predictions": [{"prediction": 2.71}, ...]}`).

WHY a custom pyfunc: a plain sklearn flavor serves `predict` only (the class), but the monitor
needs `prediction_proba` for ROC AUC. This wrapper returns a DataFrame with two columns, named
as in the model config (`prediction`, `prediction_proba` for alive_classifier), so the MLflow
and Databricks scoring servers answer

    {"predictions": [{"prediction": 1, "prediction_proba": 0.83}, ...]}

which is EXACTLY the response format `lakemon_jobs.unpack` parses (list of dicts keyed by the
model config's output names; a list of scalars is also accepted there, as the class only).

WHY "models from code": MLflow copies this file into the model and runs it at load time, so the
serving container needs mlflow, scikit-learn and pandas, but not our wheel. Hence: no imports
from lakemon_jobs here. The fitted sklearn pipeline is an MLflow artifact (`pipeline`).
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel


def prepare_features(frame: pd.DataFrame, categorical: list[str], numeric: list[str]) -> pd.DataFrame:
    """Bring any input (CSV-loaded, JSON-decoded, missing columns) into the one shape the
    pipeline was fitted on: categoricals as text with NaN for missing (None, NaN and absent
    all become NaN, so they share one 'missing' category), numerics as float.

    The text "None" is missing too: MLflow's scoring server parses the `instances` and `inputs`
    request formats (TF-serving JSON) into numpy string arrays, which turn a JSON null into the
    text 'None' (measured with mlflow 3.x `scoring_server.infer_and_parse_data`); without this,
    those two formats scored a missing category as an unknown one and predicted differently
    from `dataframe_records` for the same row."""
    out = pd.DataFrame(index=frame.index)
    for col in categorical:
        values = frame[col] if col in frame else pd.Series(np.nan, index=frame.index)
        text = values.map(lambda v: np.nan if _is_missing(v) else str(v))
        out[col] = text.astype(object)
    for col in numeric:
        values = frame[col] if col in frame else pd.Series(np.nan, index=frame.index)
        out[col] = pd.to_numeric(values, errors="coerce").astype("float64")
    return out


MISSING_TEXTS = frozenset({"None"})
"""What MLflow's TF-serving parser makes of a JSON null in a string column (see prepare_features)."""


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value in MISSING_TEXTS


class ServedModel(PythonModel):
    """pyfunc around a fitted sklearn pipeline: a binary classifier or a regressor (model_config
    keys: problem_type, categorical, numeric, prediction, prediction_proba)."""

    def load_context(self, context):
        self.pipeline = mlflow.sklearn.load_model(context.artifacts["pipeline"])
        config = context.model_config or {}
        self.categorical = list(config["categorical"])
        self.numeric = list(config["numeric"])
        self.prediction = config.get("prediction", "prediction")
        self.prediction_proba = config.get("prediction_proba", "prediction_proba")
        self.regression = config.get("problem_type") == "regression"

    def predict(self, context, model_input, params=None):
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        features = prepare_features(frame, self.categorical, self.numeric)
        if self.regression:
            return pd.DataFrame({self.prediction: self.pipeline.predict(features).astype("float64")})
        proba = self.pipeline.predict_proba(features)[:, 1]
        classes = self.pipeline.classes_
        predicted = np.where(proba >= 0.5, classes[1], classes[0]).astype("int64")
        return pd.DataFrame({self.prediction: predicted, self.prediction_proba: proba.astype("float64")})


mlflow.models.set_model(ServedModel())
