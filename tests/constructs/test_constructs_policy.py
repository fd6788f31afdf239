"""Policy aspects: each rule fails synth naming the rule and the resource; suppression needs a
reason and is recorded in the synthesized JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cdktf
import pytest
from cdktf_cdktf_provider_databricks.model_serving import ModelServing
from cdktf_cdktf_provider_databricks.permissions import Permissions, PermissionsAccessControl
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitor as RawMonitor
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitorInferenceLog, QualityMonitorSchedule

from lakemon import DeltaTable, InferenceLogAnalysis, MonitoredModel, QualityMonitor, suppress
from lakemon import errors as _errors
from lakemon.config import Column
from lakemon.policy import ALL_RULES, Compliance, ResourceView, RuleResult
from lakemon.policy.rules import (
    ENDPOINT_INFERENCE_TABLE,
    ENDPOINT_NOT_PUBLIC,
    MONITOR_NOTIFICATIONS,
    MONITOR_SCHEDULE,
    PROTECT_DATA,
)


def _synth_error(stack) -> str:
    with pytest.raises(RuntimeError) as error:
        cdktf.Testing.synth(stack)
    return str(error.value)


def _raw_monitor(stack, **overrides):
    props = dict(
        table_name="c.s.t",
        output_schema_name="c.s",
        assets_dir="/Shared/m",
        inference_log=[
            QualityMonitorInferenceLog(
                granularities=["1 day"],
                model_id_col="m",
                prediction_col="p",
                problem_type="PROBLEM_TYPE_REGRESSION",
                timestamp_col="ts",
            )
        ],
    )
    props.update(overrides)
    return RawMonitor(stack, "raw-monitor", **props)


def test_full_env_stacks_pass_the_policy(make_stack, dev_env, prod_env, synth_json):
    for env in (dev_env, prod_env):
        stack = make_stack(env)
        MonitoredModel(stack, "alive", env=env, model=env.model())
        assert synth_json(stack)["resource"]


def test_endpoint_without_inference_table_fails_synth(make_stack, dev_env):
    stack = make_stack(dev_env)
    ModelServing(stack, "bare-endpoint", name="bare")
    message = _synth_error(stack)
    assert "LM-SERVE-1 endpoint-inference-table" in message
    assert "dev/bare-endpoint [databricks_model_serving]" in message


def test_endpoint_open_to_all_users_fails_synth(make_stack, dev_env):
    stack = make_stack(dev_env)
    Permissions(
        stack,
        "open",
        serving_endpoint_id="abc",
        access_control=[PermissionsAccessControl(group_name="users", permission_level="CAN_QUERY")],
    )
    message = _synth_error(stack)
    assert "LM-SERVE-2" in message and "dev/open" in message and "'users'" in message


def test_monitor_without_notifications_fails_synth(make_stack, dev_env):
    stack = make_stack(dev_env)
    _raw_monitor(
        stack, schedule=[QualityMonitorSchedule(quartz_cron_expression="0 0 0 * * ?", timezone_id="UTC")]
    )
    message = _synth_error(stack)
    assert "LM-MON-1 monitor-failure-notifications" in message and "dev/raw-monitor" in message


def test_monitor_without_schedule_fails_synth(make_stack, dev_env):
    stack = make_stack(dev_env)
    from cdktf_cdktf_provider_databricks.quality_monitor import (
        QualityMonitorNotifications,
        QualityMonitorNotificationsOnFailure,
    )

    _raw_monitor(
        stack,
        notifications=[
            QualityMonitorNotifications(
                on_failure=[QualityMonitorNotificationsOnFailure(email_addresses=["a@b.c"])]
            )
        ],
    )
    message = _synth_error(stack)
    assert "LM-MON-2 monitor-schedule" in message and "dev/raw-monitor" in message


def unprotected_table(stack, name: str, role: str) -> DeltaTable:
    """A one-column Delta table `c.s.<name>` holding `role` data, without prevent_destroy."""
    return DeltaTable(
        stack, name, full_name=f"c.s.{name}", columns=[Column(name="a", type="string")], role=role, comment="x",
        protect_data=False,
    )


def test_unprotected_data_table_fails_synth_in_prod_only(make_stack, dev_env, prod_env, synth_json):
    dev = make_stack(dev_env)
    unprotected_table(dev, "log", "inference_log")
    assert synth_json(dev)["resource"]["databricks_sql_table"]
    prod = make_stack(prod_env)
    unprotected_table(prod, "log", "inference_log")
    message = _synth_error(prod)
    assert "LM-DATA-1 protect-data-tables" in message and "prod/log/table" in message
    assert "inference_log data" in message


@pytest.mark.parametrize("api", ["data_quality", "legacy"])
def test_unprotected_monitor_fails_synth_in_prod(make_stack, prod_env, api):
    stack = make_stack(prod_env)
    monitor = QualityMonitor(
        stack,
        "monitor",
        table_name="c.s.t",
        output_schema_name="c.s",
        assets_dir="/Shared/m",
        schedule_cron="0 0 0 * * ?",
        analysis=InferenceLogAnalysis(problem_type="regression", prediction_col="p", timestamp_col="ts", model_id_col="m"),
        notify_on_failure=["a@b.c"],
        protect_data=False,
        api=api,
        table_id="tid",
        output_schema_id="sid",
    )
    assert monitor.monitor
    message = _synth_error(stack)
    assert "LM-DATA-1" in message and "prod/monitor/monitor" in message


def test_suppression_with_reason_passes_and_is_recorded(make_stack, dev_env, synth_json):
    stack = make_stack(dev_env)
    endpoint = ModelServing(stack, "bare-endpoint", name="bare")
    suppress(endpoint, "LM-SERVE-1", reason="external model endpoint, requests are logged by the vendor")
    # Testing.synth strips "//" comments; the full synth writes what Terraform and reviewers see.
    outdir = cdktf.Testing.full_synth(stack)
    out = json.loads((Path(outdir) / "stacks" / "dev" / "cdk.tf.json").read_text())
    (serving,) = out["resource"]["databricks_model_serving"].values()
    assert serving["//"]["lakemon_suppressions"] == [
        {"rule": "LM-SERVE-1", "reason": "external model endpoint, requests are logged by the vendor"}
    ]


def test_suppression_on_a_parent_scope_applies_to_children(make_stack, prod_env, synth_json):
    stack = make_stack(prod_env)
    table = unprotected_table(stack, "scratch", "baseline")
    suppress(table, "LM-DATA-1", reason="scratch copy, rebuilt by the train job every run")
    assert synth_json(stack)["resource"]["databricks_sql_table"]  # no PolicyViolation


@pytest.mark.parametrize(
    ("rule", "reason", "message"),
    [
        ("LM-SERVE-1", "", "needs a reason"),
        ("LM-SERVE-1", "because", "needs a reason"),
        ("LM-NOPE-9", "a perfectly good reason", "unknown policy rule"),
    ],
)
def test_suppression_refusals(make_stack, dev_env, rule, reason, message):
    stack = make_stack(dev_env)
    endpoint = ModelServing(stack, "bare-endpoint", name="bare")
    with pytest.raises(ValueError, match=message):
        suppress(endpoint, rule, reason=reason)


def test_rules_are_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "constructs.md").read_text(encoding="utf-8")
    for rule in ALL_RULES:
        assert rule.id in doc and rule.name in doc


# --- cdk-nag's shape, every finding of a synth in one report ----------------


def _view(type_: str, config: dict, role: str | None = None) -> ResourceView:
    return ResourceView(type=type_, path="s/r", config=config, data_role=role)


@pytest.mark.parametrize(
    ("rule", "view", "expected"),
    [
        (PROTECT_DATA, _view("databricks_sql_table", {}, None), Compliance.NOT_APPLICABLE),
        (PROTECT_DATA, _view("databricks_sql_table", {}, "baseline"), Compliance.NON_COMPLIANT),
        (
            PROTECT_DATA,
            _view("databricks_sql_table", {"lifecycle": {"prevent_destroy": True}}, "baseline"),
            Compliance.COMPLIANT,
        ),
        (ENDPOINT_NOT_PUBLIC, _view("databricks_permissions", {"job_id": "1"}), Compliance.NOT_APPLICABLE),
        (
            ENDPOINT_NOT_PUBLIC,
            _view(
                "databricks_permissions",
                {"serving_endpoint_id": "e", "access_control": [{"group_name": "Users", "permission_level": "CAN_QUERY"}]},
            ),
            Compliance.NON_COMPLIANT,
        ),
        (
            ENDPOINT_NOT_PUBLIC,
            _view(
                "databricks_permissions",
                {"serving_endpoint_id": "e", "access_control": [{"group_name": "ds", "permission_level": "CAN_QUERY"}]},
            ),
            Compliance.COMPLIANT,
        ),
        (MONITOR_SCHEDULE, _view("databricks_quality_monitor", {}), Compliance.NON_COMPLIANT),
        (
            MONITOR_SCHEDULE,
            _view("databricks_data_quality_monitor", {"data_profiling_config": {"output_schema_id": "s"}}),
            Compliance.NON_COMPLIANT,
        ),
        (
            MONITOR_SCHEDULE,
            _view("databricks_data_quality_monitor",
                  {"data_profiling_config": {"schedule": {"quartz_cron_expression": "0 0 0 * * ?"}}}),
            Compliance.COMPLIANT,
        ),
        (
            MONITOR_NOTIFICATIONS,
            _view("databricks_data_quality_monitor", {"data_profiling_config": {"schedule": {}}}),
            Compliance.NON_COMPLIANT,
        ),
        (
            MONITOR_NOTIFICATIONS,
            _view("databricks_data_quality_monitor", {"data_profiling_config": {
                "notification_settings": {"on_failure": {"email_addresses": ["a@b.c"]}}}}),
            Compliance.COMPLIANT,
        ),
        (
            MONITOR_SCHEDULE,
            _view("databricks_quality_monitor", {"schedule": [{"quartz_cron_expression": "0 0 0 * * ?"}]}),
            Compliance.COMPLIANT,
        ),
    ],
)
def test_rules_answer_compliant_non_compliant_or_not_applicable(rule, view, expected):
    result = rule.check(view)
    assert result.compliance is expected
    assert bool(result.problem) == (expected is Compliance.NON_COMPLIANT)


_TABLE_TAG = [{"key": "lakemon_inference_table", "value": "mlops_dev.marvel_characters.alive_classifier"}]
_IGNORE_GATEWAY = {"ignore_changes": ["config", "ai_gateway"]}
_TERRAFORM_TABLE = {
    "catalog_name": "c", "schema_name": "s", "table_name_prefix": "p", "enabled": True,
}  # fmt: skip


@pytest.mark.parametrize(
    ("config", "expected", "problem"),
    [
        # the deploy job sets the gateway: declared in the tag, ignored by Terraform
        ({"tags": _TABLE_TAG, "lifecycle": _IGNORE_GATEWAY}, Compliance.COMPLIANT, ""),
        ({"tags": _TABLE_TAG, "lifecycle": {"ignore_changes": "all"}}, Compliance.COMPLIANT, ""),
        # Terraform sets an enabled inference table itself
        ({"ai_gateway": {"inference_table_config": _TERRAFORM_TABLE}}, Compliance.COMPLIANT, ""),
        # declared, but the next apply would remove what the deploy job put
        ({"tags": _TABLE_TAG, "lifecycle": {"ignore_changes": ["config"]}}, Compliance.NON_COMPLIANT, "lacks ai_gateway"),
        ({"tags": _TABLE_TAG}, Compliance.NON_COMPLIANT, "lacks ai_gateway"),
        # a tag that names no table, or a disabled Terraform table without a tag
        (
            {"tags": [{"key": "lakemon_inference_table", "value": "mlops_dev.alive"}], "lifecycle": _IGNORE_GATEWAY},
            Compliance.NON_COMPLIANT,
            "does not name <catalog>.<schema>.<table_name_prefix>",
        ),
        (
            {"ai_gateway": {"inference_table_config": {**_TERRAFORM_TABLE, "enabled": False}}, "lifecycle": _IGNORE_GATEWAY},
            Compliance.NON_COMPLIANT,
            "no lakemon_inference_table tag",
        ),
        ({"lifecycle": _IGNORE_GATEWAY}, Compliance.NON_COMPLIANT, "no lakemon_inference_table tag"),
        (
            {"config": {"auto_capture_config": {"catalog_name": "c"}}},
            Compliance.NON_COMPLIANT,
            "legacy config.auto_capture_config does not count",
        ),
    ],
)
def test_endpoint_rule_accepts_a_terraform_table_or_one_handed_to_the_deploy_job(config, expected, problem):
    result = ENDPOINT_INFERENCE_TABLE.check(_view("databricks_model_serving", config))
    assert result.compliance is expected
    assert problem in result.problem


def test_lakemon_endpoint_passes_the_endpoint_rule_only_with_its_ignore_changes(make_stack, dev_env, synth_json):
    from lakemon import ServingEndpoint

    stack = make_stack(dev_env, policy=False)
    ServingEndpoint(stack, "e", name="e", inference_catalog="c", inference_schema="s", inference_table_prefix="p")
    (config,) = synth_json(stack)["resource"]["databricks_model_serving"].values()
    assert ENDPOINT_INFERENCE_TABLE.check(_view("databricks_model_serving", config)).compliance is Compliance.COMPLIANT
    config["lifecycle"]["ignore_changes"].remove("ai_gateway")
    assert ENDPOINT_INFERENCE_TABLE.check(_view("databricks_model_serving", config)).compliance is Compliance.NON_COMPLIANT


def test_a_non_compliant_result_must_say_what_is_wrong():
    with pytest.raises(ValueError):
        RuleResult(Compliance.NON_COMPLIANT)
    with pytest.raises(ValueError):
        RuleResult(Compliance.COMPLIANT, "but something is wrong")


def test_every_finding_of_a_stack_is_reported_together(make_stack, dev_env):
    stack = make_stack(dev_env)
    ModelServing(stack, "bare-endpoint", name="bare")
    Permissions(
        stack,
        "open",
        serving_endpoint_id="abc",
        access_control=[PermissionsAccessControl(group_name="users", permission_level="CAN_QUERY")],
    )
    _raw_monitor(stack)
    with pytest.raises(RuntimeError) as error:
        cdktf.Testing.synth(stack)
    message = str(error.value)
    assert message.startswith("lakemon policy: 4 findings stop the synth\n")
    for rule_id, path in [
        ("LM-SERVE-1", "dev/bare-endpoint"),
        ("LM-SERVE-2", "dev/open"),
        ("LM-MON-1", "dev/raw-monitor"),
        ("LM-MON-2", "dev/raw-monitor"),
    ]:
        block = message.split(f"  {rule_id} ", 1)[1]
        assert block.split("\n")[1].strip().startswith(f"at:      {path} [")
        assert "problem: " in block and "change: " in block
    assert "lakemon.suppress(" in message
    # No jsii or JavaScript text in what lakemon says; the user sees this block only.
    assert "jsii" not in message and "at KernelHost" not in message
    # The unwrapped exception is lakemon's own, with every finding.
    violation = _errors.user_message(error.value)
    assert violation == message


def test_findings_of_every_stack_of_the_app_are_reported_together(dev_env, prod_env, fake_wheel):
    from lakemon import LakemonStack

    app = cdktf.Testing.app()
    dev = LakemonStack(app, dev_env, wheel=fake_wheel)
    ModelServing(dev, "bare-endpoint", name="bare")
    prod = LakemonStack(app, prod_env, wheel=fake_wheel)
    _raw_monitor(prod, schedule=[QualityMonitorSchedule(quartz_cron_expression="0 0 0 * * ?", timezone_id="UTC")])
    with pytest.raises(RuntimeError) as error:
        cdktf.Testing.synth(dev)
    message = str(error.value)
    assert message.startswith("lakemon policy: 2 findings")
    assert "dev/bare-endpoint" in message
    # prod: no notifications (LM-MON-1), and no prevent_destroy in a protect_data env (LM-DATA-1)
    assert "LM-MON-1 monitor-failure-notifications\n    at:      prod/raw-monitor" in message
    assert "LM-DATA-1" not in message  # a raw monitor carries no data role: not applicable


def test_suppressed_findings_stay_out_of_the_report_and_keep_their_reason(make_stack, dev_env):
    stack = make_stack(dev_env)
    accepted = ModelServing(stack, "accepted-endpoint", name="a")
    suppress(accepted, "LM-SERVE-1", reason="external model endpoint, requests are logged by the vendor")
    ModelServing(stack, "bare-endpoint", name="bare")
    with pytest.raises(RuntimeError) as error:
        cdktf.Testing.synth(stack)
    message = str(error.value)
    assert message.startswith("lakemon policy: 1 finding stop")
    assert "dev/bare-endpoint" in message and "accepted-endpoint" not in message
    (pack,) = [p for p in stack.policy if p.name == "serving"]
    (suppressed,) = [f for f in pack.findings if not f.blocking]
    assert suppressed.resource.path == "dev/accepted-endpoint"
    assert suppressed.suppressed_reason == "external model endpoint, requests are logged by the vendor"


def test_compliant_and_not_applicable_results_are_recorded(make_stack, dev_env):
    stack = make_stack(dev_env)
    MonitoredModel(stack, "alive", env=dev_env, model=dev_env.model())
    cdktf.Testing.synth(stack)
    results = {(e.rule.id, e.result.compliance) for p in stack.policy for e in p.evaluations}
    assert ("LM-SERVE-1", Compliance.COMPLIANT) in results
    assert ("LM-MON-1", Compliance.COMPLIANT) in results
    assert ("LM-SERVE-2", Compliance.NOT_APPLICABLE) in results  # job permissions are not endpoints
    assert not any(c is Compliance.NON_COMPLIANT for _, c in results)


APP_WITHOUT_RECIPIENTS = """
import lakemon
from cdktf import App
from lakemon import LakemonStack, MonitoredModel, load_environment

app = App(outdir="out"); env = load_environment("dev.yml")
stack = LakemonStack(app, env, wheel={wheel!r})
MonitoredModel(stack, "alive", env=env, model=env.model())
app.synth()
"""


def test_the_python_app_prints_the_report_and_no_stack_trace(tmp_path, fake_wheel):
    repo = Path(__file__).resolve().parents[2]
    text = (repo / "envs" / "dev.yml").read_text(encoding="utf-8")
    (tmp_path / "dev.yml").write_text(
        "\n".join(line for line in text.splitlines() if "recipients:" not in line), encoding="utf-8"
    )
    (tmp_path / "app.py").write_text(APP_WITHOUT_RECIPIENTS.format(wheel=str(fake_wheel)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 1
    assert done.stderr.startswith("lakemon policy: 1 finding stop")
    assert "LM-MON-1 monitor-failure-notifications" in done.stderr
    assert "alerts.recipients" in done.stderr
    for noise in ("Traceback", "jsii", "JavaScriptError", "!!!!", "end-of-life"):
        assert noise not in done.stderr, noise


IMPORT_AND_HOOK = """
import os, sys
before, environment = sys.excepthook, dict(os.environ)
import lakemon, lakemon.errors, lakemon.config
print("unchanged after import:", sys.excepthook is before)
print("environment unchanged after import:", dict(os.environ) == environment)
from cdktf import App
from lakemon import LakemonStack
LakemonStack(App(outdir="out"), lakemon.config.load_environment({env!r}), wheel={wheel!r})
print("lakemon's after LakemonStack:", getattr(sys.excepthook, "lakemon", False))
"""


def test_importing_lakemon_leaves_the_exception_hook_alone_and_the_stack_installs_it(tmp_path, fake_wheel):
    """A library import must not change the interpreter; the app start (LakemonStack) may."""
    env_file = Path(__file__).resolve().parents[2] / "envs" / "dev.yml"
    (tmp_path / "app.py").write_text(IMPORT_AND_HOOK.format(env=str(env_file), wheel=str(fake_wheel)), encoding="utf-8")
    # without CHECKPOINT_DISABLE, which an import that quieted cdktf would set
    env = {k: v for k, v in os.environ.items() if k != "CHECKPOINT_DISABLE"}
    done = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "unchanged after import: True",
        "environment unchanged after import: True",
        "lakemon's after LakemonStack: True",
    ]


def test_a_policy_report_is_told_by_its_header_without_a_registry_of_raised_errors():
    """jsii hands back only the message: the hook knows a policy report by its header, and
    lakemon.errors keeps no module-level record of the errors it raised."""

    class JavaScriptError(Exception):
        pass

    report = str(_errors.PolicyViolation([]).args[0]).replace("0 findings", "2 findings")
    wrapped = RuntimeError(report)
    wrapped.__cause__ = JavaScriptError("at KernelHost ...")
    assert _errors.user_message(wrapped) == report
    assert _errors.user_message(RuntimeError(report)) is None  # not from jsii: a bug, its traceback
    other = RuntimeError("Value is not an array")
    other.__cause__ = JavaScriptError("at KernelHost ...")
    assert _errors.user_message(other) is None
    assert not [name for name, value in vars(_errors).items() if isinstance(value, dict) and not name.startswith("__")]


APP_WITH_A_BINDING_ERROR = """
import lakemon.errors
from cdktf import App, TerraformStack
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitor
lakemon.errors.install_excepthook()  # the app's own choice: importing lakemon installs no hook
app = App(outdir="out")
stack = TerraformStack(app, "x")
QualityMonitor(stack, "m", table_name="a", output_schema_name="b", assets_dir="/c",
               inference_log={"granularities": ["1 day"], "model_id_col": "m", "prediction_col": "p",
                              "problem_type": "PROBLEM_TYPE_REGRESSION", "timestamp_col": "t"})
app.synth()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_other_jsii_errors_keep_the_users_lines_but_not_the_javascript_stack(tmp_path, debug):
    (tmp_path / "app.py").write_text(APP_WITH_A_BINDING_ERROR, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "LAKEMON_DEBUG"} | ({"LAKEMON_DEBUG": "1"} if debug else {})
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 1
    assert "Value is not an array" in done.stderr  # the binding's own explanation stays
    assert 'app.py", line 8' in done.stderr  # the user's line that passed the bad value
    # the JavaScript stack and jsii's frames only with LAKEMON_DEBUG=1
    assert ("JavaScriptError" in done.stderr) == debug
    assert ("jsii/_kernel" in done.stderr) == debug


def test_a_managed_delta_table_written_by_hand_stops_the_synth(make_stack, dev_env):
    """LM-DATA-2 runs as an Aspect: a team's own SqlTable with data_source_format on a MANAGED
    table (CREATE OR REPLACE at create) fails the synth, naming the rule."""
    from cdktf_cdktf_provider_databricks.sql_table import SqlTable

    stack = make_stack(dev_env)
    SqlTable(stack, "own", catalog_name="c", schema_name="s", name="t", table_type="MANAGED",
             data_source_format="DELTA", column=[{"name": "a", "type": "STRING"}])
    message = _synth_error(stack)
    assert "LM-DATA-2 managed-table-plain-create" in message and "dev/own [databricks_sql_table]" in message


def test_an_alert_without_parent_path_is_refused(make_stack, dev_env):
    from lakemon import DriftAlert, LakemonConstructError

    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError, match="parent_path"):
        DriftAlert.for_model(stack, "drift", env=dev_env, model=dev_env.model(), warehouse_id="w", emails=["a@b.c"])
