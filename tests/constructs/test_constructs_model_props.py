"""L2 constructs take typed props; each maps (env, model) to its own props (`props_for_model`), and
`for_model` (lakemon.model_props) merges them with the explicit ones."""

from __future__ import annotations

import pytest

from lakemon import (
    BaselineTable,
    DriftAlert,
    InferenceLogTable,
    LabelsTable,
    ModelCatalog,
    QualityAlert,
    QualityMonitor,
    ServingEndpoint,
    VerdictsTable,
)
from lakemon.alerting import drift_alert_spec, quality_alert_spec
from lakemon.config import Column
from lakemon.contract.monitor_analysis import InferenceLogAnalysis
from lakemon.contract.tables import ModelTables
from lakemon.contract.verdicts import verdicts_columns
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
    from lakemon.catalog import SchemaHome
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


def _tags(resource: dict) -> dict:
    return {t["key"]: t["value"] for t in resource["tags"]}


def _composition_props(stack, cls) -> dict:
    """What a composition passes besides (env, model): the ids, warehouse, folder, artifacts."""
    from lakemon.jobs import WheelJob

    if cls is QualityMonitor:
        return {"table_id": "tid", "output_schema_id": "sid"}
    if issubclass(cls, DriftAlert | QualityAlert):
        return {"warehouse_id": "w", "parent_path": stack.alert_folder.path}
    if issubclass(cls, WheelJob):
        return {"artifacts": stack.artifacts}
    return {}


def _override_cases():
    from lakemon.jobs import MonitoringPipeline, RetrainingPipeline, TrainingPipeline

    team_table = "mlops_dev.marvel_characters.team_table"
    # construct, prop, explicit value, resource type, what the resource shows, what it should show
    cases = [
        (ModelCatalog, "comment", "team model", "databricks_registered_model", lambda r: r["comment"], "team model"),
        (ServingEndpoint, "workload_size", "Large", "databricks_model_serving",
         lambda r: _tags(r)["lakemon_workload_size"], "Large"),
        (InferenceLogTable, "retention_days", 7, "databricks_sql_table",
         lambda r: r["properties"]["lakemon.retention_days"], "7"),
        (BaselineTable, "full_name", team_table, "databricks_sql_table", lambda r: r["name"], "team_table"),
        (LabelsTable, "full_name", team_table, "databricks_sql_table", lambda r: r["name"], "team_table"),
        (VerdictsTable, "protect_data", True, "databricks_sql_table", lambda r: r.get("lifecycle"),
         {"prevent_destroy": True}),
        (QualityMonitor, "schedule_cron", "0 0 5 * * ?", "databricks_data_quality_monitor",
         lambda r: r["data_profiling_config"]["schedule"]["quartz_cron_expression"], "0 0 5 * * ?"),
        (DriftAlert, "display_name", "team drift", "databricks_alert_v2", lambda r: r["display_name"], "team drift"),
        (QualityAlert, "schedule_timezone", "Europe/Amsterdam", "databricks_alert_v2",
         lambda r: r["schedule"]["timezone_id"], "Europe/Amsterdam"),
        (TrainingPipeline, "failure_emails", ["team@example.com"], "databricks_job",
         lambda r: r["email_notifications"]["on_failure"], ["team@example.com"]),
        (MonitoringPipeline, "schedule_cron", "0 0 5 * * ?", "databricks_job",
         lambda r: r["schedule"]["quartz_cron_expression"], "0 0 5 * * ?"),
        (RetrainingPipeline, "verdicts_table", team_table, "databricks_job",
         lambda r: r["trigger"]["table_update"]["table_names"], [team_table]),
    ]
    return [pytest.param(*case, id=case[0].__name__) for case in cases]


OVERRIDES = _override_cases()


@pytest.mark.parametrize(("cls", "prop", "value", "resource_type", "shown", "expected"), OVERRIDES)
def test_for_model_an_explicit_prop_wins_over_the_env(make_stack, dev_env, resources_of, cls, prop, value,
                                                      resource_type, shown, expected):
    model = dev_env.model()  # the first model opts in to retraining
    assert cls.props_for_model(dev_env, model)[prop] != value  # the env says otherwise
    stack = make_stack(dev_env, policy=False)
    cls.for_model(stack, "built", env=dev_env, model=model, **_composition_props(stack, cls), **{prop: value})
    (resource,) = resources_of(stack, resource_type)
    assert shown(resource) == expected


@pytest.mark.parametrize(("cls", "prop"), [pytest.param(*p.values[:2], id=p.id) for p in OVERRIDES])
def test_for_model_refuses_an_unknown_prop_naming_the_construct_and_the_nearest(make_stack, dev_env, cls, prop):
    typo = prop[:-1] + ("x" if prop[-1] != "x" else "y")
    stack = make_stack(dev_env, policy=False)
    with pytest.raises(TypeError) as raised:
        cls.for_model(stack, "built", env=dev_env, model=dev_env.model(), **_composition_props(stack, cls),
                      **{typo: "?"})
    message = str(raised.value)
    assert message.startswith(f"{cls.__name__}.for_model got unknown prop(s) '{typo}' (nearest: {prop}")
    assert f"{cls.__name__} takes: " in message and prop in message.split("takes: ")[1].split(", ")
    assert stack.node.try_find_child("built") is None  # refused before anything is declared


def test_schema_home_for_env_lets_explicit_props_win_and_refuses_unknown_ones(make_stack, dev_env, resources_of):
    from lakemon.catalog import SchemaHome

    assert SchemaHome.props_for_env(dev_env)["protect_data"] is False
    stack = make_stack(dev_env, policy=False)
    SchemaHome.for_env(stack, "home", env=dev_env, protect_data=True)
    (schema,) = resources_of(stack, "databricks_schema")
    assert (schema["name"], schema["lifecycle"]) == (dev_env.schema_, {"prevent_destroy": True})
    with pytest.raises(TypeError, match=r"SchemaHome.for_env got unknown prop\(s\) 'reader' \(nearest: readers"):
        SchemaHome.for_env(stack, "other", env=dev_env, reader=["x"])


def test_several_unknown_props_are_all_named(make_stack, dev_env):
    stack = make_stack(dev_env, policy=False)
    with pytest.raises(TypeError, match=r"got unknown prop\(s\) 'retention' \(nearest: retention_days\); 'zzz'; "):
        InferenceLogTable.for_model(stack, "log", env=dev_env, model=dev_env.model(), zzz=1, retention=3)


def _for_model_constructs() -> list[type]:
    import lakemon

    return sorted(
        {v for v in (getattr(lakemon, n) for n in lakemon.__all__) if isinstance(v, type) and issubclass(v, ForModel)}
        | {c for c in (p.values[0] for p in OVERRIDES)},
        key=lambda c: c.__name__,
    )


def test_every_construct_maps_its_props_in_its_own_module_as_a_typed_dict(dev_env):
    """The mapping lives with the construct (no table keyed by class name), and what it fills is
    a TypedDict whose keys the construct takes."""
    import typing

    from lakemon.model_props import prop_names

    constructs = _for_model_constructs()
    assert {c.__name__ for c in constructs} >= {p.id for p in OVERRIDES}
    model = dev_env.model()
    for cls in constructs:
        mapping = cls.props_for_model.__func__
        assert mapping is not ForModel.props_for_model.__func__, cls.__name__
        assert mapping.__module__ == cls.__module__, cls.__name__
        props_type = typing.get_type_hints(mapping)["return"]
        assert typing.is_typeddict(props_type), (cls.__name__, props_type)
        props = cls.props_for_model(dev_env, model)
        assert set(props) == set(props_type.__annotations__), cls.__name__
        assert set(props) <= prop_names(cls), (cls.__name__, set(props) - prop_names(cls))


def test_the_props_a_construct_sets_itself_are_refused_by_its_constructor(make_stack, dev_env):
    """`fixed_props` (left out of the names for_model offers) are truly not the caller's to set."""
    fixed = {
        cls: {name for klass in cls.__mro__ for name in vars(klass).get("fixed_props", ())}
        for cls in _for_model_constructs()
    }
    assert {c.__name__ for c, names in fixed.items() if names} == {
        "InferenceLogTable", "BaselineTable", "LabelsTable", "VerdictsTable",
        "TrainingPipeline", "MonitoringPipeline", "RetrainingPipeline",
    }
    model = dev_env.model()
    for cls, names in fixed.items():
        for name in sorted(names):
            stack = make_stack(dev_env, policy=False)
            props = dict(cls.props_for_model(dev_env, model)) | _composition_props(stack, cls)
            with pytest.raises(TypeError, match=f"multiple values for keyword argument '{name}'"):
                cls(stack, "built", **props, **{name: None})


def test_the_documented_unknown_prop_message_is_the_one_raised(make_stack, dev_env):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "constructs.md").read_text(encoding="utf-8")
    (documented,) = [line for line in doc.splitlines() if line.startswith("InferenceLogTable.for_model got")]
    with pytest.raises(TypeError) as raised:
        InferenceLogTable.for_model(make_stack(dev_env), "log", env=dev_env, model=dev_env.model(), retension_days=3)
    assert str(raised.value) == documented
