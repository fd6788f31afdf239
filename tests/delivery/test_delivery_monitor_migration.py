"""Carrying a deployed monitor from `databricks_quality_monitor` (an earlier lakemon release) to
`databricks_data_quality_monitor` without deleting or re-creating it, and a changed warehouse
without an update the provider cannot apply.

The Terraform tests run the real CLI offline: no registry is reachable, so every resource of the
synthesized prod stack is replaced by a built-in `terraform_data` stand-in under an address that
encodes the real one (`terraform_data.<type>__<name>`). What that proves: the blocks the preflight
generates name the stack's real addresses, and Terraform executes them as intended (the legacy
monitor is forgotten without a delete, the new one imported without a create, nothing else
changes; an ignored warehouse change plans no update). What it cannot prove: that the Data Quality
API finds a monitor the legacy API created (the preflight asks the workspace before importing, see
test_a_monitor_the_data_quality_api_does_not_see_stops_the_deploy) and what the provider's own
read/update then plans.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from unittest.mock import create_autospec

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.catalog import (
    MonitorInfo,
    MonitorInfoStatus,
    QualityMonitorsAPI,
    TableInfo,
    TablesAPI,
)
from databricks.sdk.service.dataquality import DataQualityAPI
from databricks.sdk.service.dataquality import Monitor as DqMonitor

from lakemon_jobs import monitor_migration as mm
from lakemon_jobs.preflight import (
    OUTPUT_FILE,
    PreflightError,
    declared_resources,
    find,
    run_preflight,
    state_resources,
    workspace_lookup,
)

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO / "tests" / "stacks" / "snapshots" / "prod.json"
LOG = "mlops_prod.marvel_characters.alive_classifier_inference_log"
TABLE_ID = "5d1c7e2a-0b9f-4f3e-8a61-3c2b9d7e4f10"
NAME = "alive-classifier_monitor_C226EFF3"
LEGACY_ADDRESS, CURRENT_ADDRESS = f"{mm.LEGACY}.{NAME}", f"{mm.CURRENT}.{NAME}"
HOST = "https://adb-1.azuredatabricks.net"
TERRAFORM = shutil.which("terraform")


@pytest.fixture(scope="module")
def stack() -> dict:
    return json.loads(SNAPSHOT.read_text())


def legacy_stack(stack: dict) -> dict:
    """The prod stack as an earlier release synthesized it: the same monitor construct on the
    legacy resource type (same logical name; the snapshot tests check the other resources)."""
    old = json.loads(json.dumps(stack).replace(f"{mm.CURRENT}.", f"{mm.LEGACY}."))
    body = old["resource"].pop(mm.CURRENT)[NAME]
    config = body.pop("data_profiling_config")
    old["resource"][mm.LEGACY] = {NAME: {**body, "table_name": LOG, "output_schema_name": "mlops_prod.marvel_characters",
                                         "assets_dir": config["assets_dir"]}}
    return old


def show_json(*resources: dict) -> dict:
    return {"format_version": "1.0", "values": {"root_module": {"resources": list(resources)}}}


def legacy_in_state() -> dict:
    # provider v1.99.0: the legacy monitor's id is its table name
    return {"address": LEGACY_ADDRESS, "mode": "managed", "type": mm.LEGACY, "values": {"id": LOG, "table_name": LOG}}


def current_in_state() -> dict:
    return {"address": CURRENT_ADDRESS, "mode": "managed", "type": mm.CURRENT,
            "values": {"object_type": "table", "object_id": TABLE_ID,
                       "data_profiling_config": {"monitored_table_name": LOG}}}


def workspace(*, dq_sees_monitor: bool = True):
    """A WorkspaceClient with autospecs of the SDK's own TablesAPI, DataQualityAPI and
    QualityMonitorsAPI: the log table exists (with TABLE_ID), the legacy API sees its monitor, and
    the Data Quality API does when `dq_sees_monitor`. Nothing else exists."""
    client = create_autospec(WorkspaceClient, instance=True)
    client.tables = create_autospec(TablesAPI, instance=True, spec_set=True)
    client.data_quality = create_autospec(DataQualityAPI, instance=True, spec_set=True)
    client.quality_monitors = create_autospec(QualityMonitorsAPI, instance=True, spec_set=True)

    def table(full_name):
        if full_name != LOG:
            raise NotFound(f"Table '{full_name}' does not exist.")
        return TableInfo(full_name=LOG, table_id=TABLE_ID)

    def dq_monitor(object_type, object_id):
        if not (dq_sees_monitor and object_id == TABLE_ID):
            raise NotFound("Monitor not found")
        return DqMonitor(object_type=object_type, object_id=object_id)

    def legacy_monitor(table_name):
        if table_name != LOG:
            raise NotFound("Monitor not found")
        return MonitorInfo(table_name=LOG, output_schema_name="c.s", status=MonitorInfoStatus.MONITOR_STATUS_ACTIVE,
                           profile_metrics_table_name=f"{LOG}_profile_metrics",
                           drift_metrics_table_name=f"{LOG}_drift_metrics", monitor_version=1)

    client.tables.get.side_effect = table
    client.data_quality.get_monitor.side_effect = dq_monitor
    client.quality_monitors.get.side_effect = legacy_monitor
    return client


def monitors_only(declared):
    return [r for r in declared if r.type in mm.MONITOR_TYPES]


def test_the_stack_declares_one_data_quality_monitor_per_model_by_table_reference(stack):
    assert mm.declared_monitors(stack) == [mm.Monitor(CURRENT_ADDRESS, LOG)]
    assert mm.declared_monitors(legacy_stack(stack)) == [mm.Monitor(LEGACY_ADDRESS, LOG)]
    (monitor,) = monitors_only(declared_resources(stack))
    assert (monitor.address, monitor.identity) == (CURRENT_ADDRESS, LOG)


def test_a_monitor_object_id_that_is_no_table_reference_is_refused(stack):
    broken = json.loads(json.dumps(stack))
    broken["resource"][mm.CURRENT][NAME]["object_id"] = TABLE_ID
    with pytest.raises(PreflightError, match="does not reference a declared databricks_sql_table's table_id"):
        declared_resources(broken)


def test_legacy_monitor_in_state_is_forgotten_and_the_same_monitor_imported_by_table_uuid(stack):
    client = workspace()
    findings = find(monitors_only(declared_resources(stack)), state_resources(show_json(legacy_in_state())),
                    workspace_lookup(HOST, client))
    assert findings.blocks() == {
        "import": [{"to": CURRENT_ADDRESS, "id": f"table,{TABLE_ID}"}],
        "removed": [{"from": LEGACY_ADDRESS, "lifecycle": {"destroy": False}}],
    }
    # the Data Quality API was asked, by the table's UUID, whether it sees the monitor
    client.tables.get.assert_called_once_with(full_name=LOG)
    client.data_quality.get_monitor.assert_called_once_with(object_type="table", object_id=TABLE_ID)
    text = "\n".join(findings.describe())
    assert f"import  data quality monitor {LOG} (id table,{TABLE_ID}) -> {CURRENT_ADDRESS}" in text
    assert f"removed {LEGACY_ADDRESS} (quality monitor {LOG}): no longer declared; forgotten, NOT destroyed" in text


def test_a_monitor_the_data_quality_api_does_not_see_stops_the_deploy(stack, tmp_path):
    folder = tmp_path / "prod"
    folder.mkdir()
    (folder / "cdk.tf.json").write_text(json.dumps(stack))
    ask = workspace_lookup(HOST, workspace(dq_sees_monitor=False))
    with pytest.raises(PreflightError, match=r"managed by databricks_quality_monitor\..*does not see it.*"
                                             r"monitoring.api: legacy"):
        # a fresh environment otherwise: nothing else exists in the workspace
        run_preflight(folder, adopt=True, state=show_json(legacy_in_state()),
                      lookup=lambda r: ask(r) if r.type in mm.MONITOR_TYPES else None)
    assert not (folder / OUTPUT_FILE).exists()


def test_back_to_legacy_imports_by_table_name(stack):
    client = workspace()
    findings = find(monitors_only(declared_resources(legacy_stack(stack))), state_resources(show_json(current_in_state())),
                    workspace_lookup(HOST, client))
    assert findings.blocks() == {
        "import": [{"to": LEGACY_ADDRESS, "id": LOG}],
        "removed": [{"from": CURRENT_ADDRESS, "lifecycle": {"destroy": False}}],
    }
    client.quality_monitors.get.assert_called_once_with(table_name=LOG)


def test_nothing_to_carry_when_state_already_holds_the_declared_resource(stack):
    client = workspace()
    declared = monitors_only(declared_resources(stack))
    assert find(declared, state_resources(show_json(current_in_state())), workspace_lookup(HOST, client)).empty
    # both in state (a half-finished earlier run): the legacy one is forgotten, nothing imported
    both = find(declared, state_resources(show_json(current_in_state(), legacy_in_state())), workspace_lookup(HOST, client))
    assert both.blocks() == {"removed": [{"from": LEGACY_ADDRESS, "lifecycle": {"destroy": False}}]}
    client.data_quality.get_monitor.assert_not_called()


def test_preflight_without_adopt_lists_the_carry_over_and_stops_then_adopt_writes_it(stack, tmp_path, capsys):
    folder = tmp_path / "prod"
    folder.mkdir()
    (folder / "cdk.tf.json").write_text(json.dumps(stack))
    # every other stateful resource is in state already: only the monitor changes hands
    others = [
        {"address": r.address, "mode": "managed", "type": r.type, "values": {"id": r.identity, **dict(
            zip(r.kind.fields, r.identity.split(".", len(r.kind.fields) - 1), strict=True))}}
        for r in declared_resources(stack) if r.type not in mm.MONITOR_TYPES
    ]
    args = dict(state=show_json(legacy_in_state(), *others), lookup=workspace_lookup(HOST, workspace()), out=print)
    assert run_preflight(folder, adopt=False, **args) == 1
    text = capsys.readouterr().out
    assert "STOP" in text and f"-> {CURRENT_ADDRESS}" in text and f"removed {LEGACY_ADDRESS}" in text
    assert not (folder / OUTPUT_FILE).exists()
    assert run_preflight(folder, adopt=True, **args) == 0
    assert json.loads((folder / OUTPUT_FILE).read_text()) == {
        "import": [{"to": CURRENT_ADDRESS, "id": f"table,{TABLE_ID}"}],
        "removed": [{"from": LEGACY_ADDRESS, "lifecycle": {"destroy": False}}],
    }


# --- the real Terraform CLI on stand-ins -----------------------------------------------------------


def stand_in_address(address: str) -> str:
    rtype, name = address.split(".", 1)
    return f"terraform_data.{rtype}__{name}"


def stand_in(stack: dict, *, warehouse_input: bool = False) -> dict:
    """Every resource of `stack` as a terraform_data at stand_in_address(); monitors carry their
    table name as input (what state_monitors reads); lifecycle blocks are kept, with a monitor's
    warehouse path moved under `input`."""
    resources = {}
    for rtype, items in stack["resource"].items():
        for name, body in items.items():
            entry: dict = {}
            lifecycle = body.get("lifecycle", {})
            if lifecycle.get("prevent_destroy"):
                entry["lifecycle"] = {"prevent_destroy": True}
            if rtype in mm.MONITOR_TYPES:
                entry["input"] = {"table_name": LOG}
                if warehouse_input:
                    entry["input"]["warehouse_id"] = "${var.warehouse_id}"
                ignored = lifecycle.get("ignore_changes", [])
                if ignored:
                    entry.setdefault("lifecycle", {})["ignore_changes"] = [f"input.{p.rsplit('.', 1)[-1]}" for p in ignored]
            resources[stand_in_address(f"{rtype}.{name}")[len("terraform_data."):]] = entry
    config: dict = {"resource": {"terraform_data": resources}}
    if warehouse_input:
        config["variable"] = {"warehouse_id": {"type": "string"}}
    return config


def real_state(show: dict) -> dict:
    """`terraform show -json` of the stand-ins with the real types and addresses back, and the
    stand-in's `input` (a monitor's table_name) as attributes, as the provider's state has them."""
    resources = []
    for r in show["values"]["root_module"]["resources"]:
        rtype, name = r["name"].split("__", 1)
        values = {**r["values"], **(r["values"].get("input") or {})}
        resources.append({**r, "type": rtype, "address": f"{rtype}.{name}", "values": values})
    return show_json(*resources)


def run_terraform(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    result = subprocess.run([TERRAFORM, *args, "-no-color"], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def planned_changes(folder: Path, *args: str) -> dict[str, dict]:
    run_terraform(folder, "plan", "-input=false", "-out=plan.bin", *args)
    plan = json.loads(run_terraform(folder, "show", "-json", "plan.bin").stdout)
    return {c["address"]: c for c in plan["resource_changes"]}


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH (CI machines have it)")
def test_the_migration_plans_no_delete_and_no_create_in_real_terraform(stack, tmp_path):
    """An earlier release's prod stack is applied (stand-ins); the current stack with the
    preflight's blocks then plans: legacy monitor forgotten, data-quality monitor imported, every
    other resource unchanged, and not one create or delete."""
    (tmp_path / "main.tf.json").write_text(json.dumps(stand_in(legacy_stack(stack))))
    run_terraform(tmp_path, "init", "-input=false")
    run_terraform(tmp_path, "apply", "-auto-approve", "-input=false")
    state = real_state(json.loads(run_terraform(tmp_path, "show", "-json").stdout))
    assert mm.state_monitors(state) == [mm.Monitor(LEGACY_ADDRESS, LOG)]

    (tmp_path / "main.tf.json").write_text(json.dumps(stand_in(stack)))
    in_state = state_resources(state)
    assert len(in_state) == len(declared_resources(stack))  # every stateful resource is deployed
    findings = find(declared_resources(stack), in_state, workspace_lookup(HOST, workspace()))
    blocks = findings.blocks()
    assert set(blocks) == {"import", "removed"}  # nothing else to adopt, move or forget
    blocks["removed"] = [{**b, "from": stand_in_address(b["from"])} for b in blocks["removed"]]
    blocks["import"] = [{**b, "to": stand_in_address(b["to"])} for b in blocks["import"]]
    (tmp_path / OUTPUT_FILE).write_text(json.dumps(blocks))

    changes = planned_changes(tmp_path)
    assert changes[stand_in_address(LEGACY_ADDRESS)]["change"]["actions"] == ["forget"]
    imported = changes[stand_in_address(CURRENT_ADDRESS)]["change"]
    # imported in place: a terraform_data import holds no `input`, so the stand-in then plans an
    # in-place update; the provider plans one only where the declared settings differ from the
    # monitor it read. Never a create.
    assert imported["importing"]["id"] == f"table,{TABLE_ID}" and imported["actions"] == ["update"]
    others = {a: c["change"]["actions"] for a, c in changes.items()
              if a not in (stand_in_address(LEGACY_ADDRESS), stand_in_address(CURRENT_ADDRESS))}
    total = sum(len(items) for items in stack["resource"].values())
    assert len(others) == total - 1 and set(map(tuple, others.values())) == {("no-op",)}
    assert not [a for c in changes.values() for a in c["change"]["actions"] if a in ("create", "delete")]

    # applied, the state holds the monitor under the new type and nothing is left to carry
    run_terraform(tmp_path, "apply", "-auto-approve", "-input=false", "plan.bin")
    after = real_state(json.loads(run_terraform(tmp_path, "show", "-json").stdout))
    assert mm.state_monitors(after) == [mm.Monitor(CURRENT_ADDRESS, LOG)]
    (tmp_path / OUTPUT_FILE).unlink()
    assert find(declared_resources(stack), state_resources(after), lambda r: 1 / 0).empty


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH (CI machines have it)")
@pytest.mark.parametrize("resource_stack", ["data_quality", "legacy"])
def test_a_changed_warehouse_plans_no_monitor_update_in_real_terraform(stack, tmp_path, resource_stack):
    """The monitor's ignore_changes (as synthesized) keeps a new warehouse_id out of the plan, so
    the provider's Update, which cannot apply it, never runs; without it the same change would be
    an update (the control)."""
    source = stack if resource_stack == "data_quality" else legacy_stack(stack)
    if resource_stack == "legacy":  # what QualityMonitor(api="legacy") synthesizes
        source["resource"][mm.LEGACY][NAME]["lifecycle"] = {"ignore_changes": ["warehouse_id"], "prevent_destroy": True}
    config = stand_in(source, warehouse_input=True)
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    run_terraform(tmp_path, "init", "-input=false")
    run_terraform(tmp_path, "apply", "-auto-approve", "-input=false", "-var", "warehouse_id=old-warehouse")
    address = stand_in_address(f"{mm.LEGACY if resource_stack == 'legacy' else mm.CURRENT}.{NAME}")
    changes = planned_changes(tmp_path, "-var", "warehouse_id=new-warehouse")
    assert changes[address]["change"]["actions"] == ["no-op"]
    assert changes[address]["change"]["after"]["input"]["warehouse_id"] == "old-warehouse"
    # control: the same stand-in without the ignore_changes entry would be updated in place
    for body in config["resource"]["terraform_data"].values():
        body.get("lifecycle", {}).pop("ignore_changes", None)
    (tmp_path / "main.tf.json").write_text(json.dumps(config))
    assert planned_changes(tmp_path, "-var", "warehouse_id=new-warehouse")[address]["change"]["actions"] == ["update"]


# --- lakemon doctor: which API a deployed stack uses ---------------------------------------------


@pytest.fixture(scope="module")
def prod_env():
    from lakemon.config import load_environment

    return load_environment(REPO / "envs" / "prod.yml")


def test_doctor_says_a_deployed_legacy_monitor_is_carried_over_by_the_next_deploy(prod_env):
    from lakemon_jobs.doctor import monitor_api_check

    check = monitor_api_check(prod_env, show_json(legacy_in_state()), "cdktf.out/stacks/prod")
    assert check.status == "warn" and check.name == "monitor API (prod)"
    assert f"deployed: {LOG} on legacy; declares data_quality" in check.detail
    assert "deprecated quality_monitors API" in check.detail and "removed + import" in check.fix


def test_doctor_says_ok_when_the_deployed_api_is_the_declared_one(prod_env):
    from lakemon_jobs.doctor import monitor_api_check

    current = {"address": CURRENT_ADDRESS, "mode": "managed", "type": mm.CURRENT,
               "values": {"data_profiling_config": {"monitored_table_name": LOG}}}
    check = monitor_api_check(prod_env, show_json(current), "x")
    assert (check.status, check.detail) == ("ok", f"deployed: {LOG} on data_quality; declares data_quality")
    legacy_env = prod_env.model_copy(update={"monitoring": prod_env.monitoring.model_copy(update={"api": "legacy"})})
    assert monitor_api_check(legacy_env, show_json(current), "x").status == "warn"
    assert monitor_api_check(prod_env, show_json(), "x").detail == "declares data_quality; no monitor deployed yet"


def test_doctor_without_a_deployed_stack_folder_says_unknown(prod_env, tmp_path):
    from lakemon_jobs.doctor import check_monitor_api

    check = check_monitor_api(prod_env, tmp_path)
    assert check.status == "ok" and "deployed: unknown (no initialised cdktf.out/stacks/prod)" in check.detail


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH (CI machines have it)")
def test_doctor_reads_the_api_from_terraform_show_of_a_real_state(stack, tmp_path, prod_env):
    """The state an earlier release's apply leaves (stand-ins, real addresses restored)."""
    from lakemon_jobs.doctor import monitor_api_check

    (tmp_path / "main.tf.json").write_text(json.dumps(stand_in(legacy_stack(stack))))
    run_terraform(tmp_path, "init", "-input=false")
    run_terraform(tmp_path, "apply", "-auto-approve", "-input=false")
    state = real_state(json.loads(run_terraform(tmp_path, "show", "-json").stdout))
    check = monitor_api_check(prod_env, state, "x")
    assert check.status == "warn" and f"{LOG} on legacy" in check.detail
