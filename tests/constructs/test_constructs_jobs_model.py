"""Wheel jobs, MonitoredModel composition and dependency order, env-file round trip, wheel lookup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakemon import LakemonConstructError, MonitoredModel, WheelJob, WheelTask
from lakemon.config import load_environment
from lakemon.jobs.artifacts import environment_yaml
from lakemon.wheel import WHEEL_NAME, WheelNotFoundError, locate_wheel

REPO = Path(__file__).resolve().parents[2]


def _by_name(resources, key="name"):
    return {r[key]: r for r in resources}


def test_monitored_model_jobs_run_the_versioned_wheel_serverless(make_stack, dev_env, resources_of, fake_wheel):
    import hashlib

    stack = make_stack(dev_env)
    MonitoredModel(stack, "alive", env=dev_env, model=dev_env.model())
    jobs = _by_name(resources_of(stack, "databricks_job"))
    training = jobs["lakemon-dev-alive_classifier-training"]
    monitoring = jobs["lakemon-dev-alive_classifier-monitoring"]
    digest = hashlib.sha256(fake_wheel.read_bytes()).hexdigest()[:16]
    wheel_path = f"/Volumes/mlops_dev/marvel_characters/artifacts/wheels/{digest}/{WHEEL_NAME}"
    for job in (training, monitoring):
        assert job["environment"] == [
            {"environment_key": "lakemon", "spec": {"environment_version": "4", "dependencies": [wheel_path + "[jobs]"]}}
        ]
        for task in job["task"]:
            assert task["environment_key"] == "lakemon"
            assert "new_cluster" not in task and "existing_cluster_id" not in task
            wheel_task = task["python_wheel_task"]
            assert (wheel_task["package_name"], wheel_task["entry_point"]) == ("lakemon", "lakemon")
            assert wheel_task["parameters"][1:5] == [
                "--env-file",
                "/Volumes/mlops_dev/marvel_characters/artifacts/envs/dev.yml",
                "--model",
                "alive_classifier",
            ]
        assert job["email_notifications"] == {"on_failure": ["ml-platform-dev@example.com"]}
        assert len(job["webhook_notifications"]["on_failure"]) == 1  # the webhook destination
    # run order is depends_on; the list itself is sorted by task_key (see test below)
    subcommands = {j: {t["task_key"]: t["python_wheel_task"]["parameters"][0] for t in job["task"]}
                   for j, job in (("training", training), ("monitoring", monitoring))}
    assert subcommands["training"] == {"train": "train", "register": "register", "deploy": "deploy"}
    assert subcommands["monitoring"] == {"unpack": "unpack", "refresh": "refresh", "analyze_drift": "analyze-drift"}
    training_tasks = {t["task_key"]: t for t in training["task"]}
    monitoring_tasks = {t["task_key"]: t for t in monitoring["task"]}
    # analyze-drift reads with the task's Spark session (no SQL warehouse), reports to the
    # volume, and drift is not a job failure (the SQL alerts notify); the other tasks take no
    # extra parameters.
    assert monitoring_tasks["analyze_drift"]["python_wheel_task"]["parameters"][5:] == [
        "--output-dir", "/Volumes/mlops_dev/marvel_characters/artifacts/reports/alive_classifier",
        "--drift-exit-code", "0",
    ]
    assert all(
        len(t["python_wheel_task"]["parameters"]) == 5
        for t in [*training_tasks.values(), monitoring_tasks["unpack"], monitoring_tasks["refresh"]]
    )
    assert "depends_on" not in monitoring_tasks["unpack"] and "depends_on" not in training_tasks["train"]
    assert monitoring_tasks["refresh"]["depends_on"] == [{"task_key": "unpack"}]
    assert monitoring_tasks["analyze_drift"]["depends_on"] == [{"task_key": "refresh"}]
    assert training_tasks["register"]["depends_on"] == [{"task_key": "train"}]
    assert training_tasks["deploy"]["depends_on"] == [{"task_key": "register"}]
    assert monitoring["schedule"]["quartz_cron_expression"] == "0 0 0 * * ?"
    assert "schedule" not in training
    files = _by_name(resources_of(stack, "databricks_file"), "path")
    wheel_file = files[wheel_path]
    assert wheel_file["source"].startswith("assets/") and wheel_file["source"].endswith(WHEEL_NAME)
    assert files["/Volumes/mlops_dev/marvel_characters/artifacts/envs/dev.yml"]["source"].endswith("/dev.yml")


def test_monitored_model_dependencies_are_in_deployable_order(make_stack, dev_env, synth_json):
    stack = make_stack(dev_env)
    MonitoredModel(stack, "alive", env=dev_env, model=dev_env.model())
    res = synth_json(stack)["resource"]

    def deps(resource_type, predicate=lambda r: True):
        return [r.get("depends_on", []) for r in res[resource_type].values() if predicate(r)]

    (schema_key,) = res["databricks_schema"]
    for table_deps in deps("databricks_sql_table"):
        assert f"databricks_schema.{schema_key}" in table_deps
    (monitor_deps,) = deps("databricks_data_quality_monitor")
    watched = ("_inference_log", "_baseline")
    table_keys = {k for k, t in res["databricks_sql_table"].items() if t["name"].endswith(watched)}
    assert len(table_keys) == 2 and {f"databricks_sql_table.{k}" for k in table_keys} <= set(monitor_deps)
    # the alerts read the verdicts table (written by analyze-drift), which must exist first
    (verdicts_key,) = [k for k, t in res["databricks_sql_table"].items() if t["name"].endswith("_drift_verdicts")]
    for alert_deps in deps("databricks_alert_v2"):
        assert f"databricks_sql_table.{verdicts_key}" in alert_deps
    (job_deps_monitoring,) = deps("databricks_job", lambda r: r["name"].endswith("-monitoring"))
    assert f"databricks_sql_table.{verdicts_key}" in job_deps_monitoring
    for serving in res["databricks_model_serving"].values():
        assert f"databricks_schema.{schema_key}" in serving["depends_on"]
    for job_deps in deps("databricks_job"):
        assert sum(d.startswith("databricks_file.") for d in job_deps) == 2
    assert len(res["databricks_alert_v2"]) == 2  # drift + quality (the model has a label)


def test_wheel_job_emits_tasks_and_depends_on_sorted_by_task_key(make_stack, dev_env, resources_of, fake_wheel):
    """The provider reads tasks back sorted by task_key (issues #3126, #4159): any other emitted
    order is a permanent plan diff. Declared order here is run order, deliberately unsorted."""
    stack = make_stack(dev_env)
    WheelJob(
        stack,
        "job",
        name="j",
        artifacts=stack.artifacts,
        model_name="m",
        failure_emails=["a@example.com"],
        tasks=[
            WheelTask("zeta", "unpack"),
            WheelTask("alpha", "refresh", depends_on=("zeta",)),
            WheelTask("mid", "analyze-drift", depends_on=("zeta", "alpha")),
        ],
    )
    (job,) = resources_of(stack, "databricks_job")
    assert [t["task_key"] for t in job["task"]] == ["alpha", "mid", "zeta"]
    mid = next(t for t in job["task"] if t["task_key"] == "mid")
    assert mid["depends_on"] == [{"task_key": "alpha"}, {"task_key": "zeta"}]


def test_wheel_job_refusals(make_stack, dev_env, fake_wheel):
    stack = make_stack(dev_env)
    artifacts = stack.artifacts
    good = dict(name="j", artifacts=artifacts, model_name="m", failure_emails=["a@example.com"])
    with pytest.raises(LakemonConstructError, match="task key 'a' repeats"):
        WheelJob(stack, "j1", tasks=[WheelTask("a", "train"), WheelTask("a", "register")], **good)
    with pytest.raises(LakemonConstructError, match="depends on b, which must be declared before it"):
        WheelJob(
            stack,
            "j2",
            tasks=[WheelTask("a", "train", depends_on=("b",)), WheelTask("b", "register")],
            **good,
        )
    with pytest.raises(LakemonConstructError, match="needs failure_emails or failure_destinations"):
        WheelJob(stack, "j3", name="j", artifacts=artifacts, model_name="m", tasks=[WheelTask("a", "train")])
    with pytest.raises(LakemonConstructError, match="at least one task"):
        WheelJob(stack, "j4", tasks=[], **good)
    with pytest.raises(LakemonConstructError, match="6 or 7 fields"):
        WheelJob(stack, "j5", tasks=[WheelTask("a", "train")], schedule_cron="@daily", **good)


def test_uploaded_env_file_round_trips_through_the_loader(tmp_path, dev_env):
    path = tmp_path / "dev.yml"
    path.write_text(environment_yaml(dev_env), encoding="utf-8")
    assert load_environment(path) == dev_env


def test_locate_wheel_explicit_missing_says_how_to_build(tmp_path):
    with pytest.raises(WheelNotFoundError, match="uv build --wheel"):
        locate_wheel(tmp_path / "nope.whl")


def test_locate_wheel_builds_from_the_source_tree():
    wheel = locate_wheel()
    assert wheel == REPO / "dist" / WHEEL_NAME and wheel.stat().st_size > 1000
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "lakemon/stack.py" in names and "lakemon_jobs/cli.py" in names and "lakemon/py.typed" in names


def test_import_constructs_from_repo_root_is_the_cdk_library():
    code = "import constructs, os; print(constructs.__file__); print(hasattr(constructs, 'Construct'))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    path, has_construct = out.stdout.split()
    assert "site-packages" in path and not path.startswith(str(REPO / "constructs"))
    assert has_construct == "True"


def test_public_api_is_lazy_and_complete():
    code = (
        "import sys, lakemon; assert 'cdktf' not in sys.modules, 'lakemon import pulled in cdktf';"
        "import lakemon.config, lakemon.contract.tables; assert 'cdktf' not in sys.modules;"
        "missing = [n for n in lakemon.__all__ if not hasattr(lakemon, n)]; assert not missing, missing; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def _jobs_without_a_wheel(dev_env, **env_changes):
    """A stack whose artifacts have no wheel file, as in a team's project (lakemon from an index)."""
    import cdktf

    from lakemon.catalog import SchemaHome
    from lakemon.jobs import JobArtifacts, TrainingPipeline

    env = dev_env.model_copy(update=env_changes)
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev")
    home = SchemaHome.for_env(stack, "home", env=env)
    artifacts = JobArtifacts(stack, "artifacts", env=env, volume=home, wheel=None)
    TrainingPipeline.for_model(stack, "training", env=env, model=env.model(), artifacts=artifacts)
    out = json.loads(cdktf.Testing.synth(stack))
    return artifacts, out


def test_without_a_wheel_file_or_an_index_synth_refuses_naming_the_key(dev_env, monkeypatch):
    """A bare `lakemon` requirement would install whatever the workspace's default index calls
    lakemon (dependency confusion): refused, and the message names the key to set."""
    with pytest.raises(LakemonConstructError, match=r"`jobs\.package_index`") as refused:
        _jobs_without_a_wheel(dev_env)
    assert "LAKEMON_WHEEL" in str(refused.value)


def test_a_configured_package_index_is_the_only_index_and_the_version_is_exact(dev_env, monkeypatch):
    import lakemon.jobs.artifacts as artifacts_module
    from lakemon.config import Jobs

    monkeypatch.setattr(artifacts_module, "__version__", "1.2.3")  # a release: only those reach an index
    index = "https://pkgs.dev.azure.com/org/proj/_packaging/lakemon/pypi/simple/"
    artifacts, out = _jobs_without_a_wheel(dev_env, jobs=Jobs(package_index=index))
    assert artifacts.wheel is None and artifacts.wheel_path is None
    (job,) = out["resource"]["databricks_job"].values()
    assert job["environment"][0]["spec"]["dependencies"] == [f"--index-url {index}", "lakemon[jobs]==1.2.3"]
    assert not any("extra-index-url" in d for d in job["environment"][0]["spec"]["dependencies"])
    # only the env file is uploaded
    assert [f["path"].rsplit("/", 1)[1] for f in out["resource"]["databricks_file"].values()] == ["dev.yml"]


def test_a_dev_build_never_comes_from_an_index(dev_env, monkeypatch):
    import lakemon.jobs.artifacts as artifacts_module
    from lakemon.config import Jobs

    monkeypatch.setattr(artifacts_module, "__version__", "1.2.4.dev7+gabc")
    with pytest.raises(LakemonConstructError, match="development build"):
        _jobs_without_a_wheel(dev_env, jobs=Jobs(package_index="https://pkgs.example.com/simple/"))


def test_a_wheel_of_another_version_is_refused(dev_env, tmp_path):
    import cdktf

    from lakemon.catalog import SchemaHome
    from lakemon.jobs import JobArtifacts

    other = tmp_path / "lakemon-9.9.9-py3-none-any.whl"
    other.write_bytes(b"x")
    stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev")
    home = SchemaHome.for_env(stack, "home", env=dev_env)
    with pytest.raises(LakemonConstructError, match="is lakemon 9.9.9, but this synth runs"):
        JobArtifacts(stack, "artifacts", env=dev_env, volume=home, wheel=other)


def test_two_wheel_contents_give_two_volume_paths(dev_env, tmp_path):
    import cdktf

    from lakemon.catalog import SchemaHome
    from lakemon.jobs import JobArtifacts

    paths = []
    for content in (b"build one", b"build two"):
        folder = tmp_path / content.decode().replace(" ", "-")
        folder.mkdir()
        (folder / WHEEL_NAME).write_bytes(content)
        stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev")
        home = SchemaHome.for_env(stack, "home", env=dev_env)
        paths.append(JobArtifacts(stack, "artifacts", env=dev_env, volume=home, wheel=folder / WHEEL_NAME).wheel_path)
    assert paths[0] != paths[1] and all(p.endswith("/" + WHEEL_NAME) for p in paths)


@pytest.mark.parametrize("url", ["http://pypi.example.com/simple/", "https://user:token@pkgs.example.com/simple/"])
def test_a_package_index_needs_https_and_no_credentials(dev_env, url):
    from pydantic import ValidationError

    from lakemon.config import Jobs

    with pytest.raises(ValidationError):
        Jobs(package_index=url)


def test_outside_a_source_tree_the_project_wheel_or_no_file(monkeypatch, tmp_path):
    import lakemon.wheel

    monkeypatch.delenv("LAKEMON_WHEEL", raising=False)
    monkeypatch.setattr(lakemon.wheel, "source_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert locate_wheel() is None  # the jobs then need jobs.package_index
    (tmp_path / "wheels").mkdir()
    (tmp_path / "wheels" / WHEEL_NAME).write_bytes(b"x")
    assert locate_wheel() == Path("wheels") / WHEEL_NAME  # a `lakemon init` project's release wheel


# --- the per-environment pieces of a model outside a LakemonStack of its environment ------------

_PIECE_KINDS = (
    "databricks_schema", "databricks_volume", "databricks_grants", "databricks_file",
    "databricks_notification_destination", "databricks_directory",
)


def _piece_ids(out: dict) -> dict[str, list[str]]:
    return {kind: sorted(out["resource"].get(kind, {})) for kind in _PIECE_KINDS}


def test_a_model_outside_a_lakemon_stack_keeps_its_pieces_terraform_addresses(dev_env, fake_wheel, synth_json):
    """Outside a LakemonStack the model declares its own schema home, artifacts, destinations and
    alert folder. Their logical ids are Terraform addresses: written out here, because a changed
    id makes Terraform destroy the schema and volume (and everything in them) and create new ones."""
    import cdktf

    stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev")
    model = MonitoredModel(stack, "alive", env=dev_env, model=dev_env.model(), warehouse_id="wh-1", wheel=str(fake_wheel))
    assert _piece_ids(synth_json(stack)) == {
        "databricks_schema": ["alive_catalog_home_schema_1F10FBBB"],
        "databricks_volume": ["alive_catalog_home_artifacts_DB45EC55"],
        "databricks_grants": [
            "alive_catalog_grants_E2E932F1",
            "alive_catalog_home_schema-grants_23C2E247",
            "alive_catalog_home_volume-grants_5F4CBC1A",
        ],
        "databricks_file": ["alive_artifacts_env-file_D7D32EC0", "alive_artifacts_wheel_1D2B4354"],
        "databricks_notification_destination": [
            "alive_destination-drift-webhook-dev_destination_419B4F3B",
            "alive_destination-ml-platform-dev_destination_8F458842",
        ],
        "databricks_directory": ["alive_alert-folder_directory_A7FD981A"],
    }
    # the artifacts go to the model's own home (its catalog's), and the alerts to its own folder
    assert model.artifacts.volume_path == model.catalog.home.volume_path
    assert [d.display_name for d in model.destinations] == ["ml-platform-dev", "drift-webhook-dev"]
    assert model.alert_folder.node.path == "dev/alive/alert-folder"


def test_a_model_of_another_env_in_a_lakemon_stack_has_its_own_pieces(make_stack, dev_env, prod_env, fake_wheel, synth_json):
    """Only a model of the stack's environment shares the stack's pieces; a model of another
    environment declares its own, with the same ids as outside any LakemonStack."""
    stack = make_stack(dev_env)
    own = MonitoredModel(stack, "alive", env=dev_env, model=dev_env.model())
    other = MonitoredModel(stack, "prod-alive", env=prod_env, model=prod_env.model(), wheel=str(fake_wheel))
    assert own.artifacts is stack.artifacts and own.alert_folder is stack.alert_folder
    assert own.destinations == stack.destinations and own.catalog.home is stack.home
    assert other.artifacts is not stack.artifacts and other.catalog.home is not stack.home
    ids = _piece_ids(synth_json(stack))
    assert ids["databricks_schema"] == ["prod-alive_catalog_home_schema_8F013787", "uc-home_schema_182EBB18"]
    assert "prod-alive_catalog_home_artifacts_C8597EBC" in ids["databricks_volume"]
    assert {"prod-alive_artifacts_env-file_D8CE58A7", "prod-alive_artifacts_wheel_C8E53091"} <= set(ids["databricks_file"])
    assert "prod-alive_alert-folder_directory_B4B038C6" in ids["databricks_directory"]
    assert {
        "prod-alive_destination-drift-webhook-prod_destination_750C997E",
        "prod-alive_destination-ml-platform-prod_destination_87FB6C72",
    } <= set(ids["databricks_notification_destination"])


def test_the_stack_declares_its_pieces_on_first_use_and_once(make_stack, dev_env, synth_json):
    """A stack without models declares no schema, volume, upload, destination or folder; the
    first use declares a piece (artifacts bring their home) and later uses get the same one."""
    empty = make_stack(dev_env)
    assert all(ids == [] for ids in _piece_ids({"resource": {}, **synth_json(empty)}).values())
    stack = make_stack(dev_env)
    artifacts = stack.artifacts
    assert stack.artifacts is artifacts and stack.pieces.artifacts is artifacts
    assert artifacts.volume_path == stack.home.volume_path
    assert stack.destinations is stack.destinations and stack.alert_folder is stack.alert_folder
    ids = _piece_ids(synth_json(stack))
    assert ids["databricks_schema"] == ["uc-home_schema_182EBB18"]
    assert len(ids["databricks_file"]) == 2 and len(ids["databricks_notification_destination"]) == 2
    assert len(ids["databricks_directory"]) == 1


def test_models_of_one_env_in_a_plain_stack_share_the_first_models_pieces(dev_env, prod_env, fake_wheel, synth_json):
    """Outside a LakemonStack, the second and third model of an environment in one Terraform stack
    use the pieces the first declared: one schema, one volume, one upload, one folder, one
    destination each (declaring the same schema three times fails on apply). The first model's
    addresses are those of a model alone."""
    import cdktf

    stack = cdktf.TerraformStack(cdktf.Testing.app(), "dev")
    first, *others = [
        MonitoredModel(stack, m.name.replace("_", "-"), env=dev_env, model=m, warehouse_id="wh-1", wheel=str(fake_wheel))
        for m in dev_env.models
    ]
    assert len(others) == len(dev_env.models) - 1 >= 1
    for model in others:
        assert model.pieces is first.pieces and model.catalog.home is first.catalog.home
        assert model.artifacts is first.artifacts and model.alert_folder is first.alert_folder
    ids = _piece_ids(synth_json(stack))
    assert ids["databricks_schema"] == ["alive-classifier_catalog_home_schema_F2A412AD"]
    assert len(ids["databricks_volume"]) == 1 and len(ids["databricks_directory"]) == 1
    assert len(ids["databricks_file"]) == 2 and len(ids["databricks_notification_destination"]) == 2
    # a model of another environment in the same stack still declares its own
    other_env = MonitoredModel(
        stack, "prod-alive", env=prod_env, model=prod_env.model(), warehouse_id="wh-1", wheel=str(fake_wheel)
    )
    assert other_env.pieces is not first.pieces
    assert len(_piece_ids(synth_json(stack))["databricks_schema"]) == 2
