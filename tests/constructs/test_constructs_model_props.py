"""Issue 14: L2 constructs take typed props; (env, model) -> props is one mapping (lakemon.model_props)."""

from __future__ import annotations

import pytest

from lakemon import BaselineTable, DriftAlert, InferenceLogTable, QualityAlert, QualityMonitor, VerdictsTable
from lakemon.alerting import drift_alert_spec, quality_alert_spec
from lakemon.config import Column
from lakemon.errors import LakemonConstructError
from lakemon.model_props import ForModel, props_for_model
from lakemon.monitor_analysis import InferenceLogAnalysis
from lakemon.tables import ModelTables, verdicts_columns


def test_a_table_needs_no_app_config(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    InferenceLogTable(
        stack,
        "log",
        full_name="c.s.events_inference_log",
        columns=[Column(name="id", type="string"), Column(name="ts", type="timestamp")],
        model_name="events",
        warehouse_id="w",
        retention_days=7,
        protect_data=True,
    )
    (table,) = resources_of(stack, "databricks_sql_table")
    assert table["name"] == "events_inference_log"
    assert table["comment"].startswith("lakemon: unpacked inference log of events ")
    assert table["properties"]["lakemon.retention_days"] == "7"
    assert table["warehouse_id"] == "w"
    assert table["lifecycle"] == {"prevent_destroy": True}


def test_retention_days_must_be_positive(make_stack, dev_env):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match="retention_days must be positive; got 0"):
        InferenceLogTable.for_model(stack, "log", env=dev_env, model=dev_env.model(), retention_days=0)


def test_for_model_fills_props_from_the_env_and_explicit_props_win(make_stack, dev_env, prod_env, resources_of):
    model = prod_env.model()
    props = props_for_model(VerdictsTable, prod_env, model)
    assert props["full_name"] == ModelTables(prod_env, model).drift_verdicts
    assert list(props["columns"]) == list(verdicts_columns())
    assert props["protect_data"] is True  # prod protects its data
    stack = make_stack(dev_env)  # dev does not: an explicit prop overrides the env's
    VerdictsTable.for_model(stack, "verdicts", env=dev_env, model=dev_env.model(), protect_data=True)
    BaselineTable.for_model(stack, "baseline", env=dev_env, model=dev_env.model())
    tables = {t["name"]: t for t in resources_of(stack, "databricks_sql_table")}
    assert tables["alive_classifier_drift_verdicts"]["lifecycle"] == {"prevent_destroy": True}
    assert "lifecycle" not in tables["alive_classifier_baseline"]


def test_a_subclass_uses_its_lakemon_parents_mapping_and_an_unmapped_class_is_refused(dev_env):
    class TeamVerdicts(VerdictsTable):
        pass

    assert props_for_model(TeamVerdicts, dev_env, dev_env.model()) == props_for_model(
        VerdictsTable, dev_env, dev_env.model()
    )

    class Unmapped(ForModel):
        pass

    with pytest.raises(TypeError, match="Unmapped has no props mapping"):
        props_for_model(Unmapped, dev_env, dev_env.model())


def test_the_monitor_from_the_env_is_an_inference_log_analysis(dev_env):
    model = dev_env.model()
    analysis = props_for_model(QualityMonitor, dev_env, model)["analysis"]
    assert isinstance(analysis, InferenceLogAnalysis)
    assert (analysis.prediction_col, analysis.label_col) == (model.prediction.name, model.label.name)


@pytest.mark.parametrize(("alert", "spec_of"), [(DriftAlert, drift_alert_spec), (QualityAlert, quality_alert_spec)])
def test_alerts_from_the_env_evaluate_what_the_embedded_default_evaluates(make_stack, dev_env, alert, spec_of):
    stack = make_stack(dev_env)
    built = alert.for_model(stack, "a", env=dev_env, model=dev_env.model(), warehouse_id="w")
    assert built.spec == spec_of(dev_env, dev_env.model())


def test_alert_emails_are_the_fallback_when_no_destination_is_given(dev_env):
    assert dev_env.alerts.recipients
    model = dev_env.model()
    assert props_for_model(DriftAlert, dev_env, model)["emails"] == dev_env.alerts.recipients
    assert props_for_model(DriftAlert, dev_env, model, {"destinations": ["d"]})["emails"] == ()
