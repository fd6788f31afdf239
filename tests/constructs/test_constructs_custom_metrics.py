"""The env file's custom metrics reach the monitor's `custom_metrics` as the provider (v1.99.0) and
Databricks define them, on both resources (`databricks_data_quality_monitor.data_profiling_config`,
with the Data Quality API's type names, and the legacy `databricks_quality_monitor`); a model
without any gets no block at all."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lakemon import QualityMonitor
from lakemon.config import parse_environment
from lakemon.config.loader import read_yaml
from lakemon.contract.monitor_analysis import CUSTOM_METRIC_TYPES

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


IDS = {"table_id": "tid", "output_schema_id": "sid"}


def _monitor_config(stack, env, model, api: str, resources_of) -> dict:
    """The synthesized monitor's settings: data_profiling_config, or the legacy resource itself."""
    QualityMonitor.for_model(stack, "monitor", env=env, model=model, api=api, **IDS)
    if api == "legacy":
        (resource,) = resources_of(stack, "databricks_quality_monitor")
        return resource
    (resource,) = resources_of(stack, "databricks_data_quality_monitor")
    return resource["data_profiling_config"]


@pytest.mark.parametrize("api", ["data_quality", "legacy"])
def test_custom_metrics_are_synthesized_as_databricks_defines_them(make_stack, resources_of, api):
    env = _env()
    stack = make_stack(env)
    got = _monitor_config(stack, env, env.models[1], api, resources_of)["custom_metrics"]
    assert [m["name"] for m in got] == ["ape", "sq_avg", "rms", "ape_delta"]
    types = [CUSTOM_METRIC_TYPES[0], *CUSTOM_METRIC_TYPES]
    if api == "data_quality":  # dataquality.DataProfilingCustomMetricType
        types = [f"DATA_PROFILING_{t}" for t in types]
    assert [m["type"] for m in got] == types
    assert got[0]["definition"] == METRICS[0]["definition"]  # the template as written: Databricks renders it
    assert got[0]["input_columns"] == [":table"] and got[1]["input_columns"] == ["year"]
    assert json.loads(got[0]["output_data_type"]) == {"metadata": {}, "name": "output", "nullable": True, "type": "double"}
    assert all("threshold" not in m for m in got)  # a lakemon verdict setting, not a monitor argument


@pytest.mark.parametrize("api", ["data_quality", "legacy"])
def test_a_model_without_custom_metrics_synthesizes_no_block(make_stack, dev_env, resources_of, api):
    stack = make_stack(dev_env)
    assert "custom_metrics" not in _monitor_config(stack, dev_env, dev_env.models[1], api, resources_of)
