"""Notification destinations and SQL alerts on the drift verdicts table.

`queries` (the alert SQL) is free of CDK imports, so job scripts import it without loading the
CDK for Terraform bindings; the constructs load lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..contract.alert_queries import (
    AlertSpec,
    drift_alert_spec,
    drift_query,
    quality_alert_spec,
    quality_query,
)

__all__ = [
    "AlertDestination",
    "AlertFolder",
    "AlertSpec",
    "DriftAlert",
    "QualityAlert",
    "alert_folder_path",
    "drift_alert_spec",
    "drift_query",
    "quality_alert_spec",
    "quality_query",
]

_LAZY = {
    "AlertDestination": ".destination",
    "AlertFolder": ".folder",
    "alert_folder_path": ".folder",
    "DriftAlert": ".alerts",
    "QualityAlert": ".alerts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
