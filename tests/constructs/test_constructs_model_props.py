"""L2 constructs take typed props; each maps (env, model) to its own props (`props_for_model`), and
`for_model` (lakemon.model_props) merges them with the explicit ones."""

from __future__ import annotations

import pytest

from lakemon import BaselineTable, DriftAlert, InferenceLogTable, QualityAlert, QualityMonitor, VerdictsTable
from lakemon.alerting import drift_alert_spec, quality_alert_spec
from lakemon.config import Column
from lakemon.contract.monitor_analysis import InferenceLogAnalysis
from lakemon.contract.tables import ModelTables, verdicts_columns
from lakemon.errors import LakemonConstructError
from lakemon.model_props import ForModel


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
    props = VerdictsTable.props_for_model(prod_env, model)
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

    assert TeamVerdicts.props_for_model(dev_env, dev_env.model()) == VerdictsTable.props_for_model(
        dev_env, dev_env.model()
    )

    class Unmapped(ForModel):
        pass

    with pytest.raises(TypeError, match="Unmapped has no props mapping"):
        Unmapped.props_for_model(dev_env, dev_env.model())


def test_the_monitor_from_the_env_is_an_inference_log_analysis(dev_env):
    model = dev_env.model()
    analysis = QualityMonitor.props_for_model(dev_env, model)["analysis"]
    assert isinstance(analysis, InferenceLogAnalysis)
    assert (analysis.prediction_col, analysis.label_col) == (model.prediction.name, model.label.name)


@pytest.mark.parametrize(("alert", "spec_of"), [(DriftAlert, drift_alert_spec), (QualityAlert, quality_alert_spec)])
def test_alerts_from_the_env_evaluate_what_the_embedded_default_evaluates(make_stack, dev_env, alert, spec_of):
    stack = make_stack(dev_env)
    built = alert.for_model(stack, "a", env=dev_env, model=dev_env.model(), warehouse_id="w",
                            parent_path=stack.alert_folder.path)
    assert built.spec == spec_of(dev_env, dev_env.model())


def test_alert_emails_are_the_fallback_when_no_destination_is_given(dev_env):
    assert dev_env.alerts.recipients
    model = dev_env.model()
    assert DriftAlert.props_for_model(dev_env, model)["emails"] == dev_env.alerts.recipients
    assert DriftAlert.props_for_model(dev_env, model, {"destinations": ["d"]})["emails"] == ()


def test_the_catalog_and_the_jobs_need_no_app_config(make_stack, dev_env, resources_of, fake_wheel):
    """SchemaHome, ModelCatalog and the three pipelines from typed props alone."""
    from lakemon.catalog import ModelCatalog, SchemaHome
    from lakemon.jobs import JobArtifacts, MonitoringPipeline, RetrainingPipeline, TrainingPipeline

    stack = make_stack(dev_env)
    home = SchemaHome(stack, "home", catalog="c", schema="s", readers=["readers"], protect_data=True)
    ModelCatalog(stack, "catalog", model_name="events", home=home, managers=["owners"])
    artifacts = JobArtifacts(stack, "artifacts", env=dev_env, volume=home, wheel=fake_wheel)
    common = {"env_name": "qa", "model_name": "events", "artifacts": artifacts}
    TrainingPipeline(stack, "training", **common, failure_emails=["oncall@example.com"])
    MonitoringPipeline(stack, "monitoring", **common, failure_emails=["oncall@example.com"])
    RetrainingPipeline(stack, "retraining", **common, verdicts_table="c.s.events_drift_verdicts",
                       failure_emails=["oncall@example.com"], managers=["owners"])
    (schema,) = resources_of(stack, "databricks_schema")
    assert (schema["catalog_name"], schema["name"], schema["lifecycle"]) == ("c", "s", {"prevent_destroy": True})
    (model,) = resources_of(stack, "databricks_registered_model")
    assert (model["catalog_name"], model["schema_name"], model["name"]) == ("c", "s", "events")
    grants = {g.get("model") or g.get("schema"): g["grant"] for g in resources_of(stack, "databricks_grants")}
    assert grants["c.s.events"] == [{"principal": "owners", "privileges": ["ALL_PRIVILEGES"]}]
    assert grants["c.s"] == [{"principal": "readers", "privileges": ["USE_SCHEMA", "SELECT"]}]
    jobs = {j["name"]: j for j in resources_of(stack, "databricks_job")}
    assert set(jobs) == {f"lakemon-qa-events-{k}" for k in ("training", "monitoring", "retraining")}
    monitoring = jobs["lakemon-qa-events-monitoring"]
    assert monitoring["schedule"]["quartz_cron_expression"] == "0 0 0 * * ?"  # the documented default
    assert monitoring["tags"] == {
        "lakemon_env": "qa", "lakemon_model": "events", "lakemon_pipeline": "monitoring",
        "lakemon_version": artifacts.version,
    }
    (analyze,) = [t for t in monitoring["task"] if t["task_key"] == "analyze_drift"]
    assert analyze["python_wheel_task"]["parameters"][-4:] == [
        "--output-dir", "/Volumes/c/s/artifacts/reports/events", "--drift-exit-code", "0",
    ]
    trigger = jobs["lakemon-qa-events-retraining"]["trigger"]["table_update"]
    assert trigger["table_names"] == ["c.s.events_drift_verdicts"]


def test_a_model_catalog_without_a_home_needs_catalog_and_schema(make_stack, dev_env):
    from lakemon.catalog import ModelCatalog

    with pytest.raises(LakemonConstructError, match="catalog and schema are required without a home"):
        ModelCatalog(make_stack(dev_env), "catalog", model_name="events")


def test_only_a_model_that_opts_in_gets_retraining_props(dev_env):
    from lakemon.jobs import MonitoringPipeline, RetrainingPipeline

    opted = next(m for m in dev_env.models if m.retraining is not None)
    other = next(m for m in dev_env.models if m.retraining is None)
    assert RetrainingPipeline.props_for_model(dev_env, opted)["verdicts_table"] == ModelTables(dev_env, opted).drift_verdicts
    with pytest.raises(ValueError, match=f"model {other.name} has no `retraining:`"):
        RetrainingPipeline.props_for_model(dev_env, other)
    schedule = MonitoringPipeline.props_for_model(dev_env, opted)
    assert (schedule["schedule_cron"], schedule["failure_emails"]) == (
        dev_env.monitoring.schedule.quartz_cron, dev_env.alerts.recipients,
    )
