"""The env stacks as synthesized: outdir layout, the values each env sets, backend/provider,
snapshots (exact after normalization), and no secret or local path anywhere."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
ENVS = ("dev", "aut", "prod")

# The values each env sets: (catalog, workload size, scale to zero, retention days, granularity, cron, threshold)
EXPECTED = {
    "dev": ("mlops_dev", "Small", "true", "90", "1 day", "0 0 0 * * ?", 0.1),
    "aut": ("mlops_aut", "Small", "true", "90", "1 day", "0 0 0 * * ?", 0.1),
    "prod": ("mlops_prod", "Medium", "false", "90", "1 day", "0 0 2 * * ?", 0.05),
}


def _one(stack: dict, resource_type: str, predicate=lambda r: True) -> dict:
    found = [r for r in stack["resource"][resource_type].values() if predicate(r)]
    assert len(found) == 1, f"{resource_type}: {len(found)} matches"
    return found[0]


def test_synth_writes_one_folder_per_env(synth_outdir):
    assert sorted(p.name for p in (synth_outdir / "stacks").iterdir()) == sorted(ENVS)
    manifest = json.loads((synth_outdir / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == sorted(ENVS)


def _monitor_of(stack: dict, table: str) -> dict:
    """The data-quality monitor whose object_id is the table_id of the declared table `table`."""
    (key,) = [k for k, t in stack["resource"]["databricks_sql_table"].items() if t["name"] == table]
    return _one(stack, "databricks_data_quality_monitor",
                lambda m: m["object_id"] == f"${{databricks_sql_table.{key}.table_id}}")


@pytest.mark.parametrize("env", ENVS)
def test_env_values_from_issue_table(stacks, env):
    stack = stacks[env]
    catalog, size, scale_to_zero, retention, granularity, cron, threshold = EXPECTED[env]
    schema = _one(stack, "databricks_schema")
    assert (schema["catalog_name"], schema["name"]) == (catalog, "marvel_characters")
    # The first model of each env, alive_classifier (dev also serves appearances_regressor).
    serving = _one(stack, "databricks_model_serving", lambda r: r["name"] == f"alive-classifier-{env}")
    tags = {t["key"]: t["value"] for t in serving["tags"]}
    assert tags["lakemon_workload_size"] == size
    assert tags["lakemon_scale_to_zero"] == scale_to_zero
    # the inference table lakemon deploy enables (deploy owns the AI gateway: no ai_gateway in Terraform)
    assert "ai_gateway" not in serving
    assert tags["lakemon_inference_table"] == f"{catalog}.marvel_characters.alive_classifier"
    log = _one(stack, "databricks_sql_table", lambda t: t["name"] == "alive_classifier_inference_log")
    assert log["properties"]["lakemon.retention_days"] == retention
    monitor = _monitor_of(stack, "alive_classifier_inference_log")["data_profiling_config"]
    assert monitor["inference_log"]["granularities"] == [f"AGGREGATION_GRANULARITY_{granularity.upper().replace(' ', '_')}"]
    assert monitor["schedule"]["quartz_cron_expression"] == cron
    monitoring_job = _one(stack, "databricks_job", lambda j: j["name"].endswith("alive_classifier-monitoring"))
    assert monitoring_job["schedule"]["quartz_cron_expression"] == cron
    drift = _one(stack, "databricks_alert_v2", lambda a: a["display_name"].endswith("alive_classifier: feature drift"))
    # The threshold is analyze-drift's (it reads the env file the monitoring job ships); the
    # alert only counts the drift verdicts of the newest judged window in the verdicts table.
    assert drift["evaluation"]["threshold"]["value"]["double_value"] == 0
    assert f"{catalog}.marvel_characters.alive_classifier_drift_verdicts" in drift["query_text"]
    env_file = _one(stack, "databricks_file", lambda f: f["path"].endswith(f"/envs/{env}.yml"))
    from lakemon.config import load_environment

    shipped = load_environment(Path(__file__).resolve().parents[2] / "envs" / f"{env}.yml")
    assert env_file["source"].endswith(f"{env}.yml") and shipped.monitoring.drift.threshold == threshold


@pytest.mark.parametrize("env", ENVS)
def test_backend_and_provider(stacks, env):
    stack = stacks[env]
    assert stack["terraform"]["backend"] == {
        "azurerm": {
            "resource_group_name": "rg-lakemon-tfstate",
            "storage_account_name": "stlakemontfstate",
            "container_name": f"tfstate-{env}",
            "key": f"lakemon/{env}.tfstate",
            "use_azuread_auth": True,
        }
    }
    (provider,) = stack["provider"]["databricks"]
    assert list(provider) == ["host"]  # credentials come from the environment only
    assert stack["terraform"]["required_providers"]["databricks"]["version"] == "1.99.0"


@pytest.mark.parametrize("env", ENVS)
def test_job_tasks_and_their_depends_on_are_in_task_key_order(stacks, env):
    """The provider reads tasks back sorted by task_key (provider issues #3126, #4159): any other
    order in the JSON is a permanent plan diff. Whatever tasks a job has, they must be sorted."""
    jobs = stacks[env]["resource"]["databricks_job"].values()
    assert jobs
    for job in jobs:
        keys = [t["task_key"] for t in job["task"]]
        assert keys and keys == sorted(keys), (job["name"], keys)  # the retraining job has one task
        for task in job["task"]:
            deps = [d["task_key"] for d in task.get("depends_on", [])]
            assert deps == sorted(deps) and set(deps) <= set(keys), (job["name"], task["task_key"], deps)


@pytest.mark.parametrize("env", ENVS)
def test_monitor_gets_no_probability_column_and_the_local_engine_agrees(stacks, env):
    """The API wants prediction_proba_col to be a MAP<class, probability> column; the inference
    log holds a DOUBLE. So the monitor is given none, and the local engine (a rehearsal of the
    monitor) is configured from the same decision: it must not compute a ROC AUC either."""
    from lakemon.config import load_environment
    from lakemon_jobs.monitor_engine.settings import MonitorSettings

    block = _monitor_of(stacks[env], "alive_classifier_inference_log")["data_profiling_config"]["inference_log"]
    assert not [k for k in block if "proba" in k]
    config = load_environment(Path(__file__).resolve().parents[2] / "envs" / f"{env}.yml")
    settings = MonitorSettings.from_config(config, config.model())
    assert settings.prediction_proba_col is None
    assert (settings.prediction_col, settings.label_col) == (block["prediction_column"], block["label_column"])
    # the DOUBLE probability column is still a declared, profiled column
    log = _one(stacks[env], "databricks_sql_table", lambda t: t["name"] == "alive_classifier_inference_log")
    assert {"name": "prediction_proba", "type": "DOUBLE"} in log["column"]
    assert "prediction_proba" in [c.name for c in settings.columns]


def test_aut_and_prod_protect_data_dev_does_not(stacks):
    """A deploy must never drop aut's or prod's tables (data never lost by a deploy): prevent_destroy makes a
    plan that would destroy one fail. dev stays disposable."""
    for env in ENVS:
        protected = [
            r.get("lifecycle", {}).get("prevent_destroy", False)
            for t in ("databricks_sql_table", "databricks_schema", "databricks_data_quality_monitor")
            for r in stacks[env]["resource"][t].values()
        ]
        assert protected and all(protected) == (env != "dev") and any(protected) == (env != "dev")


# --- no secrets, tokens or local paths -------------------------------------------------------------

SECRET_PATTERNS = {
    "url with credentials or token": re.compile(
        r"https?://[^\s\"']*(?:[?&](?:token|key|sig|code|secret)=|:[^/\s\"']+@)", re.I
    ),
    "slack/teams/webhook url": re.compile(
        r"hooks\.slack\.com|webhook\.office\.com|/webhookb2/|127\.0\.0\.1|localhost", re.I
    ),
    "databricks token": re.compile(r"dapi[0-9a-f]{20,}"),
    "azure storage key or SAS": re.compile(r"AccountKey=|[?&]sig=|sv=\d{4}-\d{2}-\d{2}"),
    "secret-looking field with a literal": re.compile(
        r"\"(?:password|token|client_secret|integration_key|access_key|api_key|oauth_token|auth_secret)\"\s*:\s*\"(?!\$\{var\.)",
        re.I,
    ),
    "local absolute path": re.compile(
        r"(?<![\w.])/(?:work|home|tmp|root|Users/[^\"/]+/(?:Desktop|Documents)|var/folders)/"
    ),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def _scan(text: str) -> list[str]:
    return [
        f"{name}: {m.group(0)[:80]}"
        for name, pattern in SECRET_PATTERNS.items()
        for m in pattern.finditer(text)
    ]


@pytest.mark.parametrize("env", ENVS)
def test_no_secret_or_local_path_in_synthesized_stack(stack_texts, synth_outdir, env):
    assert _scan(stack_texts[env]) == []
    # The manifest and every text asset (the uploaded env file) too; the wheel is binary code.
    assert _scan((synth_outdir / "manifest.json").read_text()) == []
    env_files = list((synth_outdir / "stacks" / env / "assets").rglob(f"{env}.yml"))
    assert len(env_files) == 1


def test_secret_scanner_catches_what_it_should():
    """The scan must be able to fail: feed it each kind of leak."""
    leaks = [
        '"url": "https://hooks.slack.com/services/T000/B000/XXXX"',
        '"host": "https://user:pass@example.com/x"',
        '"url": "https://example.com/hook?token=abc"',
        '"token": "dapi0123456789abcdef0123456789abcdef"',
        '"password": "hunter2"',
        '"source": "/work/main/dist/lakemon.whl"',
        '"path": "/home/alice/state"',
        '"url": "http://127.0.0.1:8765/alerts"',
    ]
    for leak in leaks:
        assert _scan(leak), leak
    assert _scan('"url": "${var.drift_webhook_url_dev}"') == []


@pytest.mark.parametrize("env", ENVS)
def test_webhook_comes_from_a_sensitive_variable(stacks, env):
    stack = stacks[env]
    variable = stack["variable"][f"drift_webhook_url_{env}"]
    assert variable["sensitive"] is True and "default" not in variable
    hook = _one(stack, "databricks_notification_destination", lambda d: d["destination_type"] == "WEBHOOK")
    assert hook["config"]["generic_webhook"]["url"] == f"${{var.drift_webhook_url_{env}}}"


# --- snapshots ---------------------------------------------------------------------------------------


from lakemon_jobs.stack_diff import normalize  # noqa: E402  (the one normalization `lakemon diff` uses too)


@pytest.mark.parametrize("env", ENVS)
def test_snapshot(stack_texts, env):
    """Exact comparison. To accept a deliberate change: LAKEMON_UPDATE_SNAPSHOTS=1 pytest tests/stacks,
    then review the diff of tests/stacks/snapshots/ like code."""
    actual = json.dumps(json.loads(normalize(stack_texts[env])), indent=2, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{env}.json"
    if os.environ.get("LAKEMON_UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}; create it with LAKEMON_UPDATE_SNAPSHOTS=1"
    assert (
        actual == path.read_text(encoding="utf-8")
    ), f"{env} stack differs from {path.name}; if deliberate, rerun with LAKEMON_UPDATE_SNAPSHOTS=1 and review the diff"


# Terraform expressions lakemon itself writes: references to its own resources and variables.
OWN_REFERENCE = re.compile(r"\$\{(var\.[a-z0-9_]+|databricks_[a-z0-9_]+\.[A-Za-z0-9_-]+\.[a-z0-9_.\[\]]+)\}")


@pytest.mark.parametrize("env", ENVS)
def test_only_lakemon_references_are_terraform_expressions(synth_outdir, env):
    """Config text never becomes a Terraform template. Every `${` or `%{` in the
    synthesized JSON is one of lakemon's own references (config refuses both sequences)."""
    text = (synth_outdir / "stacks" / env / "cdk.tf.json").read_text()
    openers = len(re.findall(r"[$%]\{", text))
    own = OWN_REFERENCE.findall(text)
    assert openers == len(own) > 0, sorted(set(re.findall(r"[$%]\{[^}]*\}", text)) - set(f"${{{o}}}" for o in own))


@pytest.mark.parametrize("env", ENVS)
def test_only_models_that_opt_in_get_the_retraining_job(stacks, env):
    """docs/retraining.md: a retraining job, triggered by updates of the model's verdicts table,
    exists exactly for the models with `retraining:` (dev's alive_classifier)."""
    from lakemon.config import load_environment

    config = load_environment(Path(__file__).resolve().parents[2] / "envs" / f"{env}.yml")
    jobs = [j for j in stacks[env]["resource"]["databricks_job"].values() if j["name"].endswith("-retraining")]
    opted_in = [m.name for m in config.models if m.retraining is not None]
    assert sorted(j["name"] for j in jobs) == sorted(f"lakemon-{env}-{m}-retraining" for m in opted_in)
    assert (env, opted_in) != ("dev", []) and (env == "dev") == bool(opted_in)
    for job in jobs:
        model = job["name"].removeprefix(f"lakemon-{env}-").removesuffix("-retraining")
        trigger = job["trigger"]["table_update"]
        assert trigger["table_names"] == [f"{config.catalog}.marvel_characters.{model}_drift_verdicts"]
        assert trigger["condition"] == "ANY_UPDATED" and trigger["min_time_between_triggers_seconds"] >= 60
        assert "schedule" not in job
        [task] = job["task"]
        assert task["python_wheel_task"]["parameters"][:1] == ["retrain"]
        assert task["python_wheel_task"]["parameters"][-2:] == ["--model", model]


@pytest.mark.parametrize("env", ENVS)
def test_jobs_install_the_uploaded_wheel_named_by_version_and_hash(synth_outdir, stacks, env):
    """The jobs name one exact artifact: the wheel this synth uploaded, at a path that carries its
    version and the SHA-256 of the very file shipped in the stack's assets; the stack and every
    job say the same version."""
    import hashlib

    import lakemon

    stack = stacks[env]
    assert stack["output"]["lakemon_version"]["value"] == lakemon.__version__
    wheel = _one(stack, "databricks_file", lambda f: f["path"].endswith(".whl"))
    digest = hashlib.sha256((synth_outdir / "stacks" / env / wheel["source"]).read_bytes()).hexdigest()
    assert wheel["path"].endswith(f"/wheels/{digest[:16]}/lakemon-{lakemon.__version__}-py3-none-any.whl")
    jobs = stack["resource"]["databricks_job"].values()
    assert jobs
    for job in jobs:
        dependencies = [d for e in job["environment"] for d in e["spec"]["dependencies"]]
        assert dependencies == [wheel["path"] + "[jobs]"], job["name"]
        assert job["tags"]["lakemon_version"] == lakemon.__version__


def test_dev_forecaster_monitor_has_its_custom_metrics_sliced_by_horizon(stacks):
    """The forecasting template's monitor: regression, sliced by horizon, the forecasting metrics
    as the provider's custom_metrics (Databricks' StructField JSON, the template unrendered)."""
    monitors = stacks["dev"]["resource"]["databricks_data_quality_monitor"]
    (monitor,) = [m for k, m in monitors.items() if k.startswith("co2-forecaster_")]
    config = monitor["data_profiling_config"]
    assert config["slicing_exprs"] == ["horizon"]
    assert config["inference_log"]["problem_type"] == "INFERENCE_PROBLEM_TYPE_REGRESSION"
    assert config["inference_log"]["label_column"] == "co2_ppm"
    metrics = {m["name"]: m for m in config["custom_metrics"]}
    assert list(metrics) == ["mape", "smape", "bias", "mape_ratio"]
    assert {m["type"] for n, m in metrics.items() if n != "mape_ratio"} == {"DATA_PROFILING_CUSTOM_METRIC_TYPE_AGGREGATE"}
    assert metrics["mape_ratio"]["type"] == "DATA_PROFILING_CUSTOM_METRIC_TYPE_DRIFT"
    assert "{{current_df}}.mape" in metrics["mape_ratio"]["definition"]
    assert json.loads(metrics["mape"]["output_data_type"])["type"] == "double"
    for env in ("aut", "prod"):  # the other environments declare no forecaster
        assert not any(k.startswith("co2-") for k in stacks[env]["resource"]["databricks_data_quality_monitor"])
