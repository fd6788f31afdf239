"""The env file's custom metrics reach `databricks_quality_monitor.custom_metrics` as the provider
(v1.99.0) and Databricks define them; a model without any gets no block at all."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from lakemon import QualityMonitor
from lakemon.config import parse_environment
from lakemon.config.loader import read_yaml
from lakemon.monitor_analysis import CUSTOM_METRIC_TYPES

REPO = Path(__file__).resolve().parents[2]

METRICS = [
    {"name": "ape", "type": "aggregate", "definition": "avg(abs({{prediction_col}} - {{label_col}}) / abs({{label_col}}))",
     "threshold": {"max": 0.3}},
    {"name": "sq_avg", "type": "aggregate", "input_columns": ["year"], "definition": "avg(`{{input_column}}` * `{{input_column}}`)"},
    {"name": "rms", "type": "derived", "input_columns": ["year"], "definition": "sqrt(sq_avg)"},
    {"name": "ape_delta", "type": "drift", "definition": "{{current_df}}.ape - {{base_df}}.ape"},
]


def _env():
    path = REPO / "envs" / "dev.yml"
    raw = copy.deepcopy(read_yaml(path))
    raw["models"][1]["monitoring"] = {"custom_metrics": METRICS}
    return parse_environment(raw, path)


def test_custom_metrics_are_synthesized_as_databricks_defines_them(make_stack, resources_of):
    env = _env()
    stack = make_stack(env)
    QualityMonitor.for_model(stack, "monitor", env=env, model=env.models[1])
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    got = resource["custom_metrics"]
    assert [m["name"] for m in got] == ["ape", "sq_avg", "rms", "ape_delta"]
    assert [m["type"] for m in got] == [CUSTOM_METRIC_TYPES[0], *CUSTOM_METRIC_TYPES]
    assert got[0]["definition"] == METRICS[0]["definition"]  # the template as written: Databricks renders it
    assert got[0]["input_columns"] == [":table"] and got[1]["input_columns"] == ["year"]
    assert json.loads(got[0]["output_data_type"]) == {"metadata": {}, "name": "output", "nullable": True, "type": "double"}
    assert all("threshold" not in m for m in got)  # a lakemon verdict setting, not a monitor argument


def test_a_model_without_custom_metrics_synthesizes_no_block(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    QualityMonitor.for_model(stack, "monitor", env=dev_env, model=dev_env.models[1])
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    assert "custom_metrics" not in resource
