"""`models[].monitoring.custom_metrics`: good definitions load and reach the monitor as Databricks
wants them; bad ones fail at load (so at synth) with the file, the key and the reason."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lakemon.config import ConfigError, parse_environment
from lakemon.config import custom_metrics as cm
from lakemon.config.loader import read_yaml

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "envs" / "dev.yml"
REGRESSOR = 1  # appearances_regressor in envs/dev.yml

GOOD = [
    {"name": "abs_err", "type": "aggregate", "definition": "avg(abs({{prediction_col}} - {{label_col}}))"},
    {"name": "sq_avg", "type": "aggregate", "input_columns": ["year", "prediction"],
     "definition": "avg(`{{input_column}}` * `{{input_column}}`)"},
    {"name": "rms", "type": "derived", "input_columns": ["year", "prediction"], "definition": "sqrt(sq_avg)"},
    {"name": "abs_err_delta", "type": "drift", "definition": "{{current_df}}.abs_err - {{base_df}}.abs_err",
     "threshold": {"max": 0.5}},
]


def _load(metrics):
    raw = read_yaml(DEV)
    raw = copy.deepcopy(raw)
    raw["models"][REGRESSOR]["monitoring"] = {"custom_metrics": metrics}
    return parse_environment(raw, DEV)


def test_good_definitions_load_with_their_defaults():
    env = _load(GOOD)
    metrics = env.models[REGRESSOR].monitoring.custom_metrics
    assert [m.name for m in metrics] == ["abs_err", "sq_avg", "rms", "abs_err_delta"]
    assert metrics[0].input_columns == (":table",) and metrics[0].output_data_type == "double"
    assert metrics[3].threshold.max == 0.5 and metrics[3].threshold.min is None


@pytest.mark.parametrize(
    ("metric", "reason"),
    [
        ({"name": "x", "type": "aggregate", "definition": "avg(abs(prediction - ))"},
         r"custom_metrics\[0\] \(x\): definition: unparsable SQL"),
        ({"name": "x", "type": "aggregate", "definition": "avg(nope)"},
         r"definition: unknown input column 'nope'"),
        ({"name": "x", "type": "aggregate", "definition": "avg(year)", "input_columns": ["nope"]},
         r"input_columns: unknown input column 'nope'"),
        ({"name": "x", "type": "derived", "definition": "sqrt(missing)"},
         r"definition: unknown referenced metric 'missing'"),
        ({"name": "x", "type": "aggregate", "definition": "avg(year)", "output_data_type": "string"},
         r"output_data_type: 'string' does not fit the definition, which gives DOUBLE"),
        ({"name": "x", "type": "aggregate", "definition": "max(sex)", "output_data_type": "double"},
         r"output_data_type: 'double' does not fit the definition, which gives"),
        ({"name": "x", "type": "aggregate", "definition": "year + 1"},
         r"an aggregate metric must aggregate its rows"),
        ({"name": "x", "type": "aggregate", "definition": "(select max(year) from t)"},
         r"cannot contain joins or subqueries"),
        ({"name": "x", "type": "aggregate", "definition": "avg(year), avg(alive)"},
         r"must be one SQL expression"),
        ({"name": "x", "type": "aggregate", "definition": "avg({{input_column}})"},
         r"needs named input_columns, not ':table'"),
        ({"name": "x", "type": "aggregate", "definition": "avg({{current_df}}.year)"},
         r"template variable \{\{current_df\}\} is not available to a aggregate metric"),
        ({"name": "count", "type": "aggregate", "definition": "count(*)"},
         r"monitoring\.custom_metrics\[0\]: name 'count' is a built-in column"),
        ({"name": "x", "type": "aggregate", "definition": "avg(year)", "output_data_type": "string",
          "threshold": {"max": 1}}, r"a threshold needs a numeric output_data_type"),
        ({"name": "x", "type": "aggregate", "definition": "avg(year)", "threshold": {}},
         r"a threshold needs max, min or both"),
    ],
)
def test_bad_definitions_fail_with_file_key_and_reason(metric, reason):
    with pytest.raises(ConfigError) as err:
        _load([metric])
    (line,) = err.value.problems
    assert line.startswith(f"{DEV}: models[{REGRESSOR}]")
    assert "custom_metrics" in line
    import re

    assert re.search(reason, line), line


def test_drift_metrics_must_read_metrics_through_current_and_base():
    with pytest.raises(ConfigError, match=r"'abs_err' must be read as \{\{current_df\}\}.abs_err"):
        _load([GOOD[0], {"name": "x", "type": "drift", "definition": "abs_err"}])


def test_derived_metrics_in_a_circle_are_refused():
    circle = [{"name": "a", "type": "derived", "definition": "b + 1"}, {"name": "b", "type": "derived", "definition": "a + 1"}]
    with pytest.raises(ConfigError, match="reference each other in a circle: a -> b -> a"):
        _load(circle)


def test_a_referenced_metric_must_cover_every_input_column():
    metrics = [GOOD[1], {"name": "x", "type": "derived", "input_columns": ["alive"], "definition": "sqrt(sq_avg)"}]
    with pytest.raises(ConfigError, match=r"metric 'sq_avg' is not computed for input column\(s\) alive"):
        _load(metrics)


def test_repeated_names_are_refused():
    with pytest.raises(ConfigError, match="custom metric names must be unique; repeated: abs_err"):
        _load([GOOD[0], GOOD[0]])


def test_output_data_type_is_the_json_pyspark_writes():
    from pyspark.sql import types as T

    spark = {"double": T.DoubleType(), "float": T.FloatType(), "bigint": T.LongType(), "int": T.IntegerType(),
             "boolean": T.BooleanType(), "string": T.StringType()}
    assert set(spark) == set(cm.OUTPUT_TYPES)
    for name, spark_type in spark.items():
        assert cm.output_data_type_json(name) == T.StructField("output", spark_type).json()


def test_built_in_column_list_is_the_metrics_tables_columns():
    from lakemon_jobs.monitor_engine.schema import drift_metrics_schema, profile_metrics_schema

    names = set(profile_metrics_schema("model_version").names) | set(drift_metrics_schema("model_version").names)
    assert names - {"model_version"} == cm.BUILT_IN_COLUMNS


def test_render_substitutes_like_jinja_for_plain_variables():
    import jinja2

    template = "avg(`{{input_column}}` * {{ prediction_col }}) - {{label_col}}"
    values = {"input_column": "f1", "prediction_col": "p", "label_col": "y"}
    assert cm.render(template, values) == jinja2.Template(template).render(**values)
    assert cm.to_duckdb(cm.render(template, values)) == "AVG(\"f1\" * p) - y"
