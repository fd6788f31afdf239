"""Inference-log, baseline, labels and verdicts tables, and the quality monitor that watches them."""

from .monitor import CustomMetric, QualityMonitor
from .tables import BaselineTable, DeltaTable, InferenceLogTable, LabelsTable, VerdictsTable

__all__ = [
    "BaselineTable",
    "CustomMetric",
    "DeltaTable",
    "InferenceLogTable",
    "LabelsTable",
    "QualityMonitor",
    "VerdictsTable",
]
