"""The served classifier: returns the class AND the probability of class 1 for every row.

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
    all become NaN, so they share one 'missing' category), numerics as float."""
    out = pd.DataFrame(index=frame.index)
    for col in categorical:
        values = frame[col] if col in frame else pd.Series(np.nan, index=frame.index)
        text = values.map(lambda v: np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        out[col] = text.astype(object)
    for col in numeric:
        values = frame[col] if col in frame else pd.Series(np.nan, index=frame.index)
        out[col] = pd.to_numeric(values, errors="coerce").astype("float64")
    return out


class ProbabilityClassifier(PythonModel):
    """pyfunc around a fitted sklearn binary classifier pipeline (model_config keys:
    categorical, numeric, prediction, prediction_proba)."""

    def load_context(self, context):
        self.pipeline = mlflow.sklearn.load_model(context.artifacts["pipeline"])
        config = context.model_config or {}
        self.categorical = list(config["categorical"])
        self.numeric = list(config["numeric"])
        self.prediction = config.get("prediction", "prediction")
        self.prediction_proba = config.get("prediction_proba", "prediction_proba")

    def predict(self, context, model_input, params=None):
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        features = prepare_features(frame, self.categorical, self.numeric)
        proba = self.pipeline.predict_proba(features)[:, 1]
        classes = self.pipeline.classes_
        predicted = np.where(proba >= 0.5, classes[1], classes[0]).astype("int64")
        return pd.DataFrame({self.prediction: predicted, self.prediction_proba: proba.astype("float64")})


mlflow.models.set_model(ProbabilityClassifier())
