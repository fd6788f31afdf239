"""Inference-log, baseline and labels tables, and the quality monitor that watches them."""

from .monitor import CustomMetric, QualityMonitor
from .tables import BaselineTable, DeltaTable, InferenceLogTable, LabelsTable

__all__ = [
    "BaselineTable",
    "CustomMetric",
    "DeltaTable",
    "InferenceLogTable",
    "LabelsTable",
    "QualityMonitor",
]
