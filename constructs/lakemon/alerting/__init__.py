"""Notification destinations and SQL alerts on the monitor's metrics tables."""

from .alerts import DriftAlert, QualityAlert
from .destination import AlertDestination
from .queries import drift_query, quality_query

__all__ = ["AlertDestination", "DriftAlert", "QualityAlert", "drift_query", "quality_query"]
