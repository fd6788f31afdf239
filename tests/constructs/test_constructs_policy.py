"""Policy aspects: each rule fails synth naming the rule and the resource; suppression needs a
reason and is recorded in the synthesized JSON."""

from __future__ import annotations

import json
from pathlib import Path

import cdktf
import pytest
from cdktf_cdktf_provider_databricks.model_serving import ModelServing
from cdktf_cdktf_provider_databricks.permissions import Permissions, PermissionsAccessControl
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitor as RawMonitor
from cdktf_cdktf_provider_databricks.quality_monitor import QualityMonitorInferenceLog, QualityMonitorSchedule

from lakemon import DeltaTable, MonitoredModel, QualityMonitor, suppress
from lakemon.config import Column
from lakemon.policy import ALL_RULES


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
    assert "LM-SERVE-1 (endpoint-inference-table)" in message
    assert "dev/bare-endpoint" in message and "databricks_model_serving" in message


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
    assert "LM-MON-1 (monitor-failure-notifications)" in message and "dev/raw-monitor" in message


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
    assert "LM-MON-2 (monitor-schedule)" in message and "dev/raw-monitor" in message


def test_unprotected_data_table_fails_synth_in_prod_only(make_stack, dev_env, prod_env, synth_json):
    def add_table(stack):
        DeltaTable(
            stack,
            "log",
            full_name="c.s.log",
            columns=[Column(name="a", type="string")],
            role="inference_log",
            comment="x",
            protect_data=False,
        )

    dev = make_stack(dev_env)
    add_table(dev)
    assert synth_json(dev)["resource"]["databricks_sql_table"]
    prod = make_stack(prod_env)
    add_table(prod)
    message = _synth_error(prod)
    assert "LM-DATA-1 (protect-data-tables)" in message and "prod/log/table" in message
    assert "inference_log data" in message


def test_unprotected_monitor_fails_synth_in_prod(make_stack, prod_env):
    stack = make_stack(prod_env)
    monitor = QualityMonitor(
        stack,
        "monitor",
        table_name="c.s.t",
        output_schema_name="c.s",
        assets_dir="/Shared/m",
        schedule_cron="0 0 0 * * ?",
        inference_log=True,
        problem_type="regression",
        prediction_col="p",
        timestamp_col="ts",
        model_id_col="m",
        notify_on_failure=["a@b.c"],
        protect_data=False,
    )
    assert monitor.monitor
    assert "LM-DATA-1" in _synth_error(stack)


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
    table = DeltaTable(
        stack,
        "scratch",
        full_name="c.s.scratch",
        columns=[Column(name="a", type="string")],
        role="baseline",
        comment="x",
        protect_data=False,
    )
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
