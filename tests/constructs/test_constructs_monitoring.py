"""Inference-log/baseline/labels tables and the quality monitor, including every refusal."""

from __future__ import annotations

import pytest

from lakemon import (
    BaselineTable,
    CustomMetric,
    InferenceLogAnalysis,
    InferenceLogTable,
    LabelsTable,
    LakemonConstructError,
    QualityMonitor,
    SnapshotAnalysis,
    TimeSeriesAnalysis,
)
from lakemon.contract.tables import SQL_TYPES, baseline_columns, inference_log_columns, labels_columns


def test_inference_log_table_is_managed_with_cdf_and_model_typed_columns(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    model = dev_env.model()
    InferenceLogTable.for_model(stack, "log", env=dev_env, model=model)
    (table,) = resources_of(stack, "databricks_sql_table")
    assert (table["catalog_name"], table["schema_name"], table["name"]) == (
        "mlops_dev",
        "marvel_characters",
        "alive_classifier_inference_log",
    )
    # plain CREATE TABLE: no data_source_format on a managed table (provider emits CREATE OR REPLACE with it)
    assert table["table_type"] == "MANAGED" and "data_source_format" not in table
    assert table["properties"]["delta.enableChangeDataFeed"] == "true"
    assert table["properties"]["lakemon.retention_days"] == "90"
    expected = [{"name": c.name, "type": SQL_TYPES[c.type]} for c in inference_log_columns(model)]
    assert table["column"] == expected
    names = [c["name"] for c in table["column"]]
    # features, prediction, probability (classification), label, model id, timestamp
    assert names[:8] == ["id", "align", "eye", "hair", "sex", "gsm", "appearances", "year"]
    assert {"prediction", "prediction_proba", "alive", "model_version", "timestamp"} <= set(names)
    assert table["warehouse_id"] == "${var.warehouse_id}"
    assert "lifecycle" not in table


def test_baseline_and_labels_tables_and_prod_protection(make_stack, prod_env, resources_of):
    stack = make_stack(prod_env)
    model = prod_env.model()
    BaselineTable.for_model(stack, "baseline", env=prod_env, model=model)
    LabelsTable.for_model(stack, "labels", env=prod_env, model=model)
    tables = {t["name"]: t for t in resources_of(stack, "databricks_sql_table")}
    assert [c["name"] for c in tables["alive_classifier_baseline"]["column"]] == [
        c.name for c in baseline_columns(model)
    ]
    assert [c["name"] for c in tables["alive_classifier_labels"]["column"]] == [
        c.name for c in labels_columns(model)
    ]
    for table in tables.values():
        assert table["lifecycle"] == {"prevent_destroy": True}


ANALYSIS = dict(problem_type="classification", prediction_col="prediction", prediction_proba_col="proba",
                label_col="label", timestamp_col="timestamp", model_id_col="model_version")  # fmt: skip


def _monitor(stack, **overrides):
    """A valid inference-log monitor on the legacy resource (`api="legacy"`, which has a
    probability column) unless overridden; overrides of InferenceLogAnalysis fields go to `analysis`."""
    analysis = {k: overrides.pop(k) for k in list(overrides) if k in ANALYSIS}
    props = dict(
        table_name="c.s.t",
        output_schema_name="c.s",
        assets_dir="/Workspace/Shared/lakemon/t",
        schedule_cron="0 0 0 * * ?",
        analysis=InferenceLogAnalysis(**{**ANALYSIS, **analysis}),
        granularities=["1 day"],
        baseline_table_name="c.s.baseline",
        notify_on_failure=["team@example.com"],
        api="legacy",
    )
    props.update(overrides)
    return QualityMonitor(stack, "monitor", **props)


def _dq_monitor(stack, **overrides):
    """A valid inference-log monitor on the Data Quality API (the default api)."""
    return _monitor(stack, **{"api": "data_quality", "table_id": "tid-1", "output_schema_id": "sid-1",
                              "prediction_proba_col": None, **overrides})


def test_legacy_monitor_inference_log_blocks_are_lists_of_one(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    monitor = _monitor(
        stack,
        slicing_exprs=["sex"],
        custom_metrics=[
            CustomMetric("avg_len", "avg(length({{input_column}}))", ("name",), '{"type":"double"}')
        ],
    )
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    assert resource["inference_log"] == [
        {
            "problem_type": "PROBLEM_TYPE_CLASSIFICATION",
            "prediction_col": "prediction",
            "timestamp_col": "timestamp",
            "model_id_col": "model_version",
            "granularities": ["1 day"],
            "label_col": "label",
            "prediction_proba_col": "proba",
        }
    ]
    assert resource["schedule"] == [{"quartz_cron_expression": "0 0 0 * * ?", "timezone_id": "UTC"}]
    assert resource["notifications"] == [{"on_failure": [{"email_addresses": ["team@example.com"]}]}]
    assert resource["custom_metrics"][0]["type"] == "CUSTOM_METRIC_TYPE_AGGREGATE"
    assert resource["slicing_exprs"] == ["sex"]
    assert "time_series" not in resource and "snapshot" not in resource
    assert monitor.drift_metrics_table == "c.s.t_drift_metrics"
    assert monitor.profile_metrics_table == "c.s.t_profile_metrics"
    # the warehouse is create-only: the legacy update API has no warehouse field
    assert resource["lifecycle"] == {"ignore_changes": ["warehouse_id"]}


def test_data_quality_monitor_spells_the_current_api(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    monitor = _dq_monitor(
        stack,
        slicing_exprs=["sex"],
        granularities=["1 hour", "2 weeks"],
        warehouse_id="wh-1",
        custom_metrics=[CustomMetric("avg_len", "avg(length({{input_column}}))", ("name",), '{"type":"double"}')],
    )
    assert resources_of(stack, "databricks_quality_monitor") == []
    (resource,) = resources_of(stack, "databricks_data_quality_monitor")
    assert (resource["object_type"], resource["object_id"]) == ("table", "tid-1")
    config = resource["data_profiling_config"]
    assert config["inference_log"] == {
        "problem_type": "INFERENCE_PROBLEM_TYPE_CLASSIFICATION",
        "prediction_column": "prediction",
        "timestamp_column": "timestamp",
        "model_id_column": "model_version",
        "label_column": "label",
        "granularities": ["AGGREGATION_GRANULARITY_1_HOUR", "AGGREGATION_GRANULARITY_2_WEEKS"],
    }
    assert config["output_schema_id"] == "sid-1" and config["assets_dir"] == "/Workspace/Shared/lakemon/t"
    assert config["baseline_table_name"] == "c.s.baseline" and config["slicing_exprs"] == ["sex"]
    assert config["schedule"] == {"quartz_cron_expression": "0 0 0 * * ?", "timezone_id": "UTC"}
    assert config["notification_settings"] == {"on_failure": {"email_addresses": ["team@example.com"]}}
    assert config["custom_metrics"][0]["type"] == "DATA_PROFILING_CUSTOM_METRIC_TYPE_AGGREGATE"
    assert config["warehouse_id"] == "wh-1"
    assert resource["lifecycle"] == {"ignore_changes": ["data_profiling_config.warehouse_id"]}
    assert monitor.api == "data_quality" and monitor.profile_metrics_table == "c.s.t_profile_metrics"


def test_data_quality_spellings_are_the_sdks_enum_values():
    """Every granularity lakemon accepts, both problem types and the custom metric types map to a
    member of databricks-sdk's own enums (the values the API accepts)."""
    from databricks.sdk.service import dataquality as dq

    from lakemon.config.validators import GRANULARITIES
    from lakemon.contract.monitor_analysis import PROBLEM_TYPES as LEGACY_PROBLEM_TYPES
    from lakemon.monitoring import data_profiling
    from lakemon.monitoring.monitor import CUSTOM_METRIC_TYPES

    assert {data_profiling.granularity(g) for g in GRANULARITIES} == {m.value for m in dq.AggregationGranularity}
    assert {data_profiling.PROBLEM_TYPES[v] for v in LEGACY_PROBLEM_TYPES.values()} == {
        m.value for m in dq.InferenceProblemType
    }
    assert {data_profiling.CUSTOM_METRIC_TYPES[t] for t in CUSTOM_METRIC_TYPES} == {
        m.value for m in dq.DataProfilingCustomMetricType
    }
    assert {f for f in dq.InferenceLogConfig.__dataclass_fields__} == {
        "problem_type", "timestamp_column", "granularities", "prediction_column", "model_id_column", "label_column"
    }  # no probability column: the construct refuses one


def test_data_quality_time_series_and_snapshot(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    _dq_monitor(stack, analysis=TimeSeriesAnalysis(timestamp_col="ts"), granularities=["5 minutes", "1 year"])
    (resource,) = resources_of(stack, "databricks_data_quality_monitor")
    assert resource["data_profiling_config"]["time_series"] == {
        "timestamp_column": "ts",
        "granularities": ["AGGREGATION_GRANULARITY_5_MINUTES", "AGGREGATION_GRANULARITY_1_YEAR"],
    }
    other = make_stack(dev_env)
    _dq_monitor(other, analysis=SnapshotAnalysis(), granularities=[])
    (resource,) = resources_of(other, "databricks_data_quality_monitor")
    assert resource["data_profiling_config"]["snapshot"] == {}
    assert "inference_log" not in resource["data_profiling_config"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"table_id": None}, "pass table_id (e.g. SqlTable.table_id) and output_schema_id"),
        ({"output_schema_id": ""}, "addresses the table and the output schema by UUID"),
        ({"prediction_proba_col": "proba"}, "has no prediction probability column"),
        ({"notify_on_failure": [f"p{i}@example.com" for i in range(6)]}, "at most 5 addresses"),
        ({"api": "v3"}, "api 'v3' is not known; allowed: data_quality, legacy"),
    ],
)
def test_data_quality_monitor_refuses_what_the_api_cannot_take(make_stack, dev_env, overrides, message):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError) as error:
        _dq_monitor(stack, **overrides)
    assert message in str(error.value)


def test_monitor_for_model_takes_env_values(make_stack, prod_env, resources_of):
    stack = make_stack(prod_env)
    QualityMonitor.for_model(stack, "monitor", env=prod_env, model=prod_env.model(), table_id="tid", output_schema_id="sid")
    (resource,) = resources_of(stack, "databricks_data_quality_monitor")
    config = resource["data_profiling_config"]
    assert resource["object_id"] == "tid" and config["output_schema_id"] == "sid"
    assert config["baseline_table_name"] == "mlops_prod.marvel_characters.alive_classifier_baseline"
    assert config["schedule"]["quartz_cron_expression"] == "0 0 2 * * ?"
    assert config["inference_log"]["granularities"] == ["AGGREGATION_GRANULARITY_1_DAY"]
    assert config["inference_log"]["label_column"] == "alive"
    assert resource["lifecycle"] == {"prevent_destroy": True, "ignore_changes": ["data_profiling_config.warehouse_id"]}


def test_monitor_for_model_keeps_the_legacy_resource_when_the_env_says_so(make_stack, prod_env, resources_of):
    monitoring = prod_env.monitoring.model_copy(update={"api": "legacy"})
    env = prod_env.model_copy(update={"monitoring": monitoring})
    stack = make_stack(env)
    QualityMonitor.for_model(stack, "monitor", env=env, model=env.model())
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    assert resource["table_name"] == "mlops_prod.marvel_characters.alive_classifier_inference_log"
    assert resource["output_schema_name"] == "mlops_prod.marvel_characters"
    assert resource["inference_log"][0]["granularities"] == ["1 day"]
    assert resource["lifecycle"] == {"prevent_destroy": True, "ignore_changes": ["warehouse_id"]}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"analysis": "inference_log"}, "analysis must be exactly one of InferenceLogAnalysis"),
        ({"analysis": None}, "got NoneType"),
        ({"problem_type": "regression"}, "prediction_proba_col is only meaningful for classification"),
        ({"problem_type": "ranking"}, "problem_type 'ranking' is not allowed"),
        ({"problem_type": None}, "inference_log analysis needs problem_type"),
        ({"schedule_cron": None}, "a refresh schedule is required"),
        ({"schedule_cron": "0 0 * * *"}, "6 or 7 fields"),
        ({"schedule_timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"granularities": ["2 days"]}, "granularity '2 days' is not allowed"),
        ({"granularities": []}, "at least one granularity"),
        ({"baseline_table_name": "c.s.t"}, "baseline table cannot be the monitored table"),
        ({"label_col": "prediction"}, "must differ"),
        ({"prediction_col": None}, "needs prediction_col"),
        ({"table_name": "t"}, "must be catalog.schema.table"),
        ({"output_schema_name": "c"}, "must be catalog.schema"),
        ({"assets_dir": "relative/dir"}, "absolute workspace folder"),
        ({"slicing_exprs": [" "]}, "slicing expressions must not be empty"),
        ({"custom_metrics": [CustomMetric("m", "1", ("a",), "{}", type="BAD")]}, "type 'BAD'"),
    ],
)
def test_monitor_refuses_contradictions(make_stack, dev_env, overrides, message):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError) as error:
        _monitor(stack, **overrides)
    assert message in str(error.value)
    assert str(error.value).startswith("dev/monitor: ")


def test_time_series_analysis_has_no_model_columns(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    with pytest.raises(TypeError, match="prediction_col"):
        TimeSeriesAnalysis(timestamp_col="ts", prediction_col="p")  # a contradiction cannot be written
    _monitor(stack, analysis=TimeSeriesAnalysis(timestamp_col="ts"), granularities=["1 hour", "1 day"])
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    assert resource["time_series"] == [{"timestamp_col": "ts", "granularities": ["1 hour", "1 day"]}]
    assert "inference_log" not in resource and "snapshot" not in resource


def test_time_series_analysis_needs_a_timestamp(make_stack, dev_env):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match="time_series analysis needs timestamp_col"):
        _monitor(stack, analysis=TimeSeriesAnalysis(timestamp_col=""))


def test_snapshot_monitor_is_a_list_of_one_empty_block_and_ignores_granularities(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    monitor = _monitor(stack, analysis=SnapshotAnalysis(), granularities=[])
    (resource,) = resources_of(stack, "databricks_quality_monitor")
    assert resource["snapshot"] == [{}]
    assert "inference_log" not in resource and "time_series" not in resource
    assert monitor.has_label is False


@pytest.mark.parametrize(
    ("full_name", "message"),
    [("c.s", "must be catalog.schema.table"), ("c.S.t", "not a valid Unity Catalog identifier")],
)
def test_delta_table_refuses_bad_names(make_stack, dev_env, full_name, message):
    from lakemon import DeltaTable
    from lakemon.config import Column

    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match=message):
        DeltaTable(
            stack,
            "t",
            full_name=full_name,
            columns=[Column(name="a", type="string")],
            role="baseline",
            comment="x",
        )


def test_delta_table_refuses_repeated_columns(make_stack, dev_env):
    from lakemon import DeltaTable
    from lakemon.config import Column

    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match="column names repeat: a"):
        DeltaTable(
            stack,
            "t",
            full_name="c.s.t",
            columns=[Column(name="a", type="string")] * 2,
            role="baseline",
            comment="x",
        )
