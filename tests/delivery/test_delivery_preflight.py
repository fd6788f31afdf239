"""`lakemon preflight`: tables the workspace has but Terraform state lacks are adopted (import),
renamed constructs are moved, undeclared tables are forgotten (never dropped), or the deploy stops.

The workspace is a fake built with create_autospec from databricks-sdk's TablesAPI (so a call
with a wrong signature fails); the stack is the exact synthesized prod stack (its snapshot);
one test runs the generated blocks through a real Terraform to prove their syntax and effect.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest.mock import create_autospec

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service.catalog import TableExistsResponse, TablesAPI

from lakemon_jobs import preflight
from lakemon_jobs.preflight import (
    OUTPUT_FILE,
    PreflightError,
    Table,
    declared_tables,
    find,
    run_preflight,
    state_tables,
    workspace_exists,
)

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO / "tests" / "stacks" / "snapshots" / "prod.json"
EMPTY_STATE = {"format_version": "1.0"}
LOG, BASELINE, LABELS, VERDICTS = (
    f"mlops_prod.marvel_characters.alive_classifier_{t}" for t in ("inference_log", "baseline", "labels", "drift_verdicts")
)


def fake_workspace(existing: set[str], error: Exception | None = None):
    client = create_autospec(WorkspaceClient, instance=True)
    client.tables = create_autospec(TablesAPI, instance=True)

    def exists(full_name: str) -> TableExistsResponse:
        if error is not None:
            raise error
        return TableExistsResponse(table_exists=full_name in existing)

    client.tables.exists.side_effect = exists
    return client


@pytest.fixture
def stack_dir(tmp_path) -> Path:
    folder = tmp_path / "prod"
    folder.mkdir()
    shutil.copy(SNAPSHOT, folder / "cdk.tf.json")
    return folder


@pytest.fixture
def declared(stack_dir) -> dict[str, Table]:
    tables = declared_tables(json.loads((stack_dir / "cdk.tf.json").read_text()))
    return {t.full_name: t for t in tables}


def state_of(*tables: Table) -> dict:
    """`terraform show -json` shape for these tables."""
    resources = [
        {"address": t.address, "mode": "managed", "type": "databricks_sql_table", "name": t.address.split(".", 1)[1],
         "values": {"id": t.full_name, "catalog_name": t.full_name.split(".")[0]}}
        for t in tables
    ]
    return {"format_version": "1.0", "values": {"root_module": {"resources": resources}}}


def test_the_stack_declares_its_four_tables(declared):
    assert set(declared) == {LOG, BASELINE, LABELS, VERDICTS}
    assert all(t.address.startswith("databricks_sql_table.") for t in declared.values())


def test_lost_state_stops_with_a_clear_message_and_writes_nothing(stack_dir, declared):
    client = fake_workspace({LOG, BASELINE})
    lines: list[str] = []
    code = run_preflight(stack_dir, adopt=False, state=EMPTY_STATE,
                         exists=workspace_exists("https://adb-1.azuredatabricks.net", client), out=lines.append)
    assert code == 1
    text = "\n".join(lines)
    assert "STOP" in text and "--adopt" in text
    assert f"import  {LOG} -> {declared[LOG].address}" in text and BASELINE in text and LABELS not in text
    assert not (stack_dir / OUTPUT_FILE).exists()
    assert sorted(c.kwargs["full_name"] for c in client.tables.exists.call_args_list) == sorted([LOG, BASELINE, LABELS, VERDICTS])


def test_adopt_writes_import_blocks_for_existing_tables_only(stack_dir, declared):
    client = fake_workspace({LOG, BASELINE})
    code = run_preflight(stack_dir, adopt=True, state=EMPTY_STATE,
                         exists=workspace_exists("h", client), out=lambda _: None)
    assert code == 0
    blocks = json.loads((stack_dir / OUTPUT_FILE).read_text())
    assert blocks == {"import": [{"to": declared[t].address, "id": t} for t in sorted([BASELINE, LOG],
                                                                                    key=lambda n: declared[n].address)]}
    # the synthesized stack itself is untouched: the deploy still runs the Build's artifact
    assert (stack_dir / "cdk.tf.json").read_bytes() == SNAPSHOT.read_bytes()


def test_renamed_construct_is_moved_not_imported_or_dropped(declared):
    old = Table("databricks_sql_table.old_name_1234", LOG)
    client = fake_workspace({LOG, BASELINE, LABELS})
    in_state = [old, declared[BASELINE], declared[LABELS], declared[VERDICTS]]
    findings = find(list(declared.values()), in_state, workspace_exists("h", client))
    assert findings.moves == [(old, declared[LOG])]
    assert findings.imports == [] and findings.removals == []
    client.tables.exists.assert_not_called()  # the state already knows the table
    assert findings.blocks() == {"moved": [{"from": old.address, "to": declared[LOG].address}]}


def test_table_no_longer_declared_is_forgotten_never_dropped(declared):
    gone = Table("databricks_sql_table.other_model_log", "mlops_prod.marvel_characters.other_inference_log")
    findings = find(list(declared.values()), [*declared.values(), gone], lambda name: pytest.fail(name))
    assert findings.removals == [gone]
    assert findings.blocks() == {"removed": [{"from": gone.address, "lifecycle": {"destroy": False}}]}


def test_nothing_to_do_when_state_has_every_table(stack_dir, declared):
    (stack_dir / OUTPUT_FILE).write_text("{}")  # left over from an earlier adoption
    client = fake_workspace({LOG, BASELINE, LABELS})
    lines: list[str] = []
    code = run_preflight(stack_dir, adopt=True, state=state_of(*declared.values()),
                         exists=workspace_exists("h", client), out=lines.append)
    assert code == 0 and "none would be replaced or dropped" in lines[0]
    client.tables.exists.assert_not_called()
    assert not (stack_dir / OUTPUT_FILE).exists()


def test_new_tables_absent_from_the_workspace_need_nothing(stack_dir):
    code = run_preflight(stack_dir, adopt=False, state=EMPTY_STATE,
                         exists=workspace_exists("h", fake_workspace(set())), out=lambda _: None)
    assert code == 0


def test_missing_schema_counts_as_absent_other_errors_stop(declared):
    assert workspace_exists("h", fake_workspace(set(), NotFound("SCHEMA_DOES_NOT_EXIST")))(LOG) is False
    ask = workspace_exists("https://adb-9.azuredatabricks.net", fake_workspace(set(), PermissionDenied("no USE CATALOG")))
    with pytest.raises(PreflightError, match=r"cannot ask https://adb-9.azuredatabricks.net whether .* PermissionDenied"):
        ask(LOG)


def test_cli_reports_unreadable_input_in_one_line(tmp_path, capsys):
    from lakemon_jobs.cli import main

    assert main(["preflight", "--stack-dir", str(tmp_path), "--state-json", str(tmp_path / "none.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lakemon preflight:") and "Traceback" not in err


def test_state_tables_reads_terraform_show_json():
    show = state_of(Table("databricks_sql_table.a", "c.s.a"))
    show["values"]["root_module"]["child_modules"] = [
        {"resources": [{"address": "module.m.databricks_sql_table.b", "mode": "managed", "type": "databricks_sql_table",
                        "values": {"catalog_name": "c", "schema_name": "s", "name": "b"}},
                       {"address": "data.databricks_sql_table.x", "mode": "data", "type": "databricks_sql_table", "values": {}}]}
    ]
    assert state_tables(show) == [Table("databricks_sql_table.a", "c.s.a"), Table("module.m.databricks_sql_table.b", "c.s.b")]
    assert state_tables(EMPTY_STATE) == []


def test_the_module_runs_as_a_plain_script_without_lakemon(tmp_path):
    """The deploy stage has no project venv: the file must run with the standard library and
    databricks-sdk only (no lakemon imports)."""
    script = REPO / "scripts" / "lakemon_jobs" / "preflight.py"
    imported = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add("." if node.level else node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"databricks"}, imported
    result = subprocess.run([sys.executable, "-I", str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--adopt" in result.stdout


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH (CI machines have it)")
def test_generated_blocks_work_in_real_terraform(tmp_path):
    """Real Terraform, offline (built-in terraform_data resources stand in for tables): a state
    holding `old`, a config declaring `renamed` (same table) and `adopted` (exists in the
    workspace); the preflight's blocks make the plan move, import and forget, and destroy nothing."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}

    def terraform(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(["terraform", *args, "-no-color"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    def config(resources: dict, extra: dict | None = None) -> None:
        (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": resources}, **(extra or {})}))

    # state: `old` is table c.s.log, `gone` is table c.s.gone (ids set through import)
    config({"old": {}, "gone": {}}, {"import": [{"to": "terraform_data.old", "id": "c.s.log"},
                                                {"to": "terraform_data.gone", "id": "c.s.gone"}]})
    terraform("init", "-input=false")
    terraform("apply", "-auto-approve", "-input=false")
    config({"renamed": {}, "adopted": {}})
    in_state = state_tables(json.loads(terraform("show", "-json").stdout), resource_type="terraform_data")
    assert sorted(in_state, key=lambda t: t.address) == [Table("terraform_data.gone", "c.s.gone"),
                                                          Table("terraform_data.old", "c.s.log")]
    declared = [Table("terraform_data.renamed", "c.s.log"), Table("terraform_data.adopted", "c.s.new")]
    findings = find(declared, in_state, lambda name: name == "c.s.new")
    (tmp_path / OUTPUT_FILE).write_text(json.dumps(findings.blocks()))
    terraform("plan", "-input=false", "-out=plan.bin")
    plan = json.loads(terraform("show", "-json", "plan.bin").stdout)
    changes = {c["address"]: c for c in plan["resource_changes"]}
    assert changes["terraform_data.renamed"]["previous_address"] == "terraform_data.old"
    assert changes["terraform_data.adopted"]["change"]["importing"]["id"] == "c.s.new"
    assert changes["terraform_data.gone"]["change"]["actions"] == ["forget"]
    assert not [a for c in changes.values() for a in c["change"]["actions"] if a in ("delete", "create")]


def test_the_preflight_is_a_lakemon_subcommand():
    from lakemon_jobs.cli import SUBCOMMANDS

    assert SUBCOMMANDS["preflight"][0] == preflight.__name__


@pytest.mark.parametrize("env", ["dev", "aut", "prod"])
def test_every_plan_stage_runs_the_preflight_after_init_and_before_plan(env):
    from ado_pipeline import commands, job_steps, load_pipeline, stages

    steps = [s for job in stages(load_pipeline())[f"plan_{env}"]["jobs"] for s in job_steps(job)]
    (step,) = [s for s in steps if any("preflight.py" in line for line in commands(s))]
    lines = commands(step)

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(lines) if re.search(pattern, line))

    init, pre, plan = first(r"^terraform init\b"), first(r'preflight\.py"? --stack-dir \. --adopt$'), first(r"^terraform plan\b")
    assert init < pre < plan  # the import blocks it writes are part of the plan the approver reads
    assert step["task"] == "AzureCLI@2" and step["inputs"]["azureSubscription"] == f"sc-lakemon-{env}"
    assert step["inputs"]["workingDirectory"] == f"$(Pipeline.Workspace)/cdktf.out/stacks/{env}"
    assert "requirements.lock" in " ".join(lines)  # the SDK version is the pinned one
