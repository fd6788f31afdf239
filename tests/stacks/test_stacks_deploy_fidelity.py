"""What a valid plan would still do wrong on a real workspace, checked on the synthesized stacks:
no managed table is created with CREATE OR REPLACE, every alert is created in a folder the stack
declares (docs/deploy.md, "Deploy fidelity")."""

from __future__ import annotations

import pytest

from lakemon.policy.rules import ALERT_PARENT_PATH, MANAGED_TABLE_PLAIN_CREATE, Compliance, ResourceView

ENVS = ("dev", "aut", "prod")


@pytest.mark.parametrize("env", ENVS)
def test_no_managed_table_carries_data_source_format(stacks, env):
    tables = stacks[env]["resource"]["databricks_sql_table"]
    assert len(tables) >= 4
    for name, table in tables.items():
        assert table["table_type"] == "MANAGED", name
        assert "data_source_format" not in table, name


@pytest.mark.parametrize("env", ENVS)
def test_every_alert_lives_in_the_alert_folder_the_stack_declares(stacks, env):
    stack = stacks[env]
    alerts = stack["resource"]["databricks_alert_v2"]
    (folder_name,) = stack["resource"]["databricks_directory"]
    folder = stack["resource"]["databricks_directory"][folder_name]
    assert folder["path"] == f"/Shared/lakemon/{env}/alerts"
    assert alerts
    for name, alert in alerts.items():
        # a reference to the directory: Terraform creates the folder before the alert
        assert alert["parent_path"] == f"${{databricks_directory.{folder_name}.path}}", name


def _view(type_: str, config: dict) -> ResourceView:
    return ResourceView(type=type_, path="s/x", config=config)


def test_rule_managed_table_plain_create():
    found = MANAGED_TABLE_PLAIN_CREATE.check(_view("databricks_sql_table", {"table_type": "MANAGED", "data_source_format": "DELTA"}))
    assert found.compliance is Compliance.NON_COMPLIANT and "CREATE OR REPLACE" in found.problem
    assert MANAGED_TABLE_PLAIN_CREATE.check(_view("databricks_sql_table", {"table_type": "MANAGED"})).compliance is Compliance.COMPLIANT
    external = {"table_type": "EXTERNAL", "data_source_format": "DELTA", "storage_location": "abfss://x"}
    assert MANAGED_TABLE_PLAIN_CREATE.check(_view("databricks_sql_table", external)).compliance is Compliance.NOT_APPLICABLE


def test_rule_alert_parent_path():
    assert ALERT_PARENT_PATH.check(_view("databricks_alert_v2", {})).compliance is Compliance.NON_COMPLIANT
    ok = ALERT_PARENT_PATH.check(_view("databricks_alert_v2", {"parent_path": "/Shared/lakemon/dev/alerts"}))
    assert ok.compliance is Compliance.COMPLIANT
