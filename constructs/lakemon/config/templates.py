"""Model templates: presets a new model starts from (`template: classification` in YAML).

A template is a YAML mapping merged *under* the model's own keys, so the model overrides
anything. They live as files in `lakemon/templates/` so users can read them as examples.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

TEMPLATE_NAMES = ("classification", "regression", "forecasting")
"""Forecasting is a regression over lag and calendar features with the horizon as a column, a
chronological split, a backtest baseline, the monitor sliced by horizon and forecasting metrics
as custom metrics (docs/forecasting.md)."""


@cache
def _template_text(name: str) -> str:
    return resources.files("lakemon.templates").joinpath(f"{name}.yml").read_text(encoding="utf-8")


def load_template(name: str) -> dict:
    if name not in TEMPLATE_NAMES:
        raise KeyError(f"unknown template {name!r}; allowed: {', '.join(TEMPLATE_NAMES)}")
    return yaml.safe_load(_template_text(name)) or {}
