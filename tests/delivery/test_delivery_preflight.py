"""`lakemon preflight`: every stateful object the workspace has but Terraform state lacks is
adopted (import), renamed constructs are moved, undeclared data is forgotten (never dropped), or
the deploy stops.

The workspace is a fake built with create_autospec from databricks-sdk's own API classes, answering
with the SDK's own types (so a call with a wrong name or signature fails); the stacks are the exact
synthesized ones (their snapshots). Real Terraform plans the generated blocks after a simulated
lost state: built-in `terraform_data` resources stand in for the Databricks ones (no registry is
reachable), one stand-in per declared stateful resource, so the plan counts what Terraform would
create, import and destroy for each of them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from unittest.mock import create_autospec

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied, ResourceDoesNotExist
from databricks.sdk.service import catalog, dataquality, files, jobs, serving, settings, sql, workspace

from lakemon_jobs import preflight
from lakemon_jobs.preflight import (
    KINDS,
    NOT_ADOPTED,
    OUTPUT_FILE,
    PreflightError,
    Resource,
    declared_resources,
    find,
    run_preflight,
    state_resources,
    workspace_lookup,
)

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = REPO / "tests" / "stacks" / "snapshots"
SNAPSHOT = SNAPSHOTS / "prod.json"
EMPTY_STATE = {"format_version": "1.0"}
LOG, BASELINE, LABELS, VERDICTS = (
    f"mlops_prod.marvel_characters.alive_classifier_{t}" for t in ("inference_log", "baseline", "labels", "drift_verdicts")
)
HOST = "https://adb-1.azuredatabricks.net"


class FakeWorkspace:
    """A workspace holding `objects` {resource type: {identity, ...}}: an autospec'd WorkspaceClient
    whose APIs answer with databricks-sdk types. Jobs, alerts and destinations get ids of their own
    (numbers, UUIDs), as the real ones do; `duplicates` adds a second object of the same name."""

    def __init__(self, objects: dict[str, set[str]], *, duplicates: set[str] = frozenset(), error: Exception | None = None):
        self.objects = {t: set(v) for t, v in objects.items()}
        self.ids: dict[tuple[str, str], str] = {}
        self.error = error
        c = self.client = create_autospec(WorkspaceClient, instance=True)
        for attr, api in [
            ("tables", catalog.TablesAPI), ("schemas", catalog.SchemasAPI), ("volumes", catalog.VolumesAPI),
            ("registered_models", catalog.RegisteredModelsAPI), ("serving_endpoints", serving.ServingEndpointsAPI),
            ("quality_monitors", catalog.QualityMonitorsAPI), ("jobs", jobs.JobsAPI), ("alerts_v2", sql.AlertsV2API),
            ("notification_destinations", settings.NotificationDestinationsAPI), ("workspace", workspace.WorkspaceAPI),
            ("files", files.FilesAPI), ("data_quality", dataquality.DataQualityAPI),
        ]:
            setattr(c, attr, create_autospec(api, instance=True))
        for n, name in enumerate(sorted(self.objects.get("databricks_job", ()))):
            self.ids[("databricks_job", name)] = str(1000 + n)
        for t in ("databricks_alert_v2", "databricks_notification_destination"):
            for name in sorted(self.objects.get(t, ())):
                self.ids[(t, name)] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{t}/{name}"))
        self.duplicates = duplicates

        def has(t: str, identity: str, make):
            if self.error is not None:
                raise self.error
            if identity in self.objects.get(t, ()):
                return make()
            raise ResourceDoesNotExist(f"{identity} does not exist")

        c.tables.exists.side_effect = lambda full_name: catalog.TableExistsResponse(
            table_exists=full_name in self.objects.get("databricks_sql_table", ())
        )
        c.tables.get.side_effect = lambda full_name, **_: has(
            "databricks_sql_table", full_name, lambda: catalog.TableInfo(full_name=full_name, table_id=table_uuid(full_name)))
        monitored = {table_uuid(t): t for t in self.objects.get("databricks_data_quality_monitor", ())}
        c.data_quality.get_monitor.side_effect = lambda object_type, object_id: has(
            "databricks_data_quality_monitor", monitored.get(object_id, "?"),
            lambda: dataquality.Monitor(object_type=object_type, object_id=object_id))
        c.schemas.get.side_effect = lambda full_name, **_: has("databricks_schema", full_name, lambda: catalog.SchemaInfo(full_name=full_name))
        c.volumes.read.side_effect = lambda name, **_: has("databricks_volume", name, lambda: catalog.VolumeInfo(full_name=name))
        c.registered_models.get.side_effect = lambda full_name, **_: has(
            "databricks_registered_model", full_name, lambda: catalog.RegisteredModelInfo(full_name=full_name))
        c.serving_endpoints.get.side_effect = lambda name: has(
            "databricks_model_serving", name, lambda: serving.ServingEndpointDetailed(name=name))
        c.quality_monitors.get.side_effect = lambda table_name: has(
            "databricks_quality_monitor", table_name, lambda: catalog.MonitorInfo(
                table_name=table_name, output_schema_name="c.s", status=catalog.MonitorInfoStatus.MONITOR_STATUS_ACTIVE,
                profile_metrics_table_name=f"{table_name}_profile_metrics",
                drift_metrics_table_name=f"{table_name}_drift_metrics", monitor_version=1))
        c.workspace.get_status.side_effect = lambda path: has(
            "databricks_directory", path, lambda: workspace.ObjectInfo(path=path, object_type=workspace.ObjectType.DIRECTORY))
        c.files.get_metadata.side_effect = lambda file_path: has(
            "databricks_file", file_path, lambda: files.GetMetadataResponse(content_length=1))
        c.jobs.list.side_effect = lambda name=None, **_: iter(self._named("databricks_job", name, lambda i, n: jobs.BaseJob(
            job_id=int(i), settings=jobs.JobSettings(name=n))))
        c.alerts_v2.list_alerts.side_effect = lambda **_: iter(self._named("databricks_alert_v2", None, lambda i, n: sql.AlertV2(
            id=i, display_name=n, query_text="q", warehouse_id="w", evaluation=None, schedule=None,
            lifecycle_state=sql.AlertLifecycleState.ACTIVE)))
        c.notification_destinations.list.side_effect = lambda **_: iter(self._named(
            "databricks_notification_destination", None,
            lambda i, n: settings.ListNotificationDestinationsResult(id=i, display_name=n)))

    def _named(self, t: str, name: str | None, make) -> list:
        if self.error is not None:
            raise self.error
        out = []
        for n in sorted(self.objects.get(t, ())):
            if name is not None and n.lower() != name.lower():
                continue
            out.append(make(self.ids[(t, n)], n))
            if n in self.duplicates:
                out.append(make(self.ids[(t, n)] + "1", n))
        return out

    def id_of(self, resource: Resource) -> str:
        if resource.type == "databricks_data_quality_monitor":  # Import: object_type,object_id
            return f"table,{table_uuid(resource.identity)}"
        return self.ids.get((resource.type, resource.identity), resource.identity)


def table_uuid(full_name: str) -> str:
    """The fake workspace's table_id of a table (a UUID, as Unity Catalog's)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"table/{full_name}"))


def stack_of(env: str = "prod") -> dict:
    return json.loads((SNAPSHOTS / f"{env}.json").read_text())


def everything(declared: list[Resource]) -> dict[str, set[str]]:
    objects: dict[str, set[str]] = {}
    for r in declared:
        objects.setdefault(r.type, set()).add(r.identity)
    return objects


def state_of(*resources: Resource) -> dict:
    """`terraform show -json` shape for these resources (values named as the provider names them)."""
    entries = []
    for r in resources:
        values = dict(zip(r.kind.fields, r.identity.split(".", len(r.kind.fields) - 1), strict=True))
        entries.append({"address": r.address, "mode": "managed", "type": r.type,
                        "name": r.address.split(".", 1)[1], "values": {"id": r.identity, **values}})
    return {"format_version": "1.0", "values": {"root_module": {"resources": entries}}}


@pytest.fixture
def stack_dir(tmp_path) -> Path:
    folder = tmp_path / "prod"
    folder.mkdir()
    shutil.copy(SNAPSHOT, folder / "cdk.tf.json")
    return folder


@pytest.fixture
def declared() -> list[Resource]:
    return declared_resources(stack_of("prod"))


@pytest.fixture
def tables(declared) -> dict[str, Resource]:
    return {r.identity: r for r in declared if r.type == "databricks_sql_table"}


# --- what the stacks declare ------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "aut", "prod"])
def test_every_resource_type_of_every_stack_is_adopted_or_exempt_with_a_reason(env):
    types = set(stack_of(env)["resource"])
    assert types <= set(KINDS) | set(NOT_ADOPTED), types - set(KINDS) - set(NOT_ADOPTED)
    stateful = {"databricks_schema", "databricks_volume", "databricks_registered_model", "databricks_model_serving",
                "databricks_data_quality_monitor", "databricks_job", "databricks_alert_v2",
                "databricks_notification_destination", "databricks_sql_table", "databricks_directory"}
    assert stateful <= types & set(KINDS)
    assert all(len(reason) > 20 for reason in NOT_ADOPTED.values())


def test_an_unknown_resource_type_stops_the_preflight():
    stack = {"resource": {"databricks_pipeline": {"p": {"name": "x"}}}}
    with pytest.raises(PreflightError, match="databricks_pipeline, which the preflight does not know"):
        declared_resources(stack)


def test_identities_are_what_names_the_object(declared):
    by_type = {}
    for r in declared:
        by_type.setdefault(r.type, set()).add(r.identity)
    assert by_type["databricks_sql_table"] == {LOG, BASELINE, LABELS, VERDICTS}
    assert by_type["databricks_schema"] == {"mlops_prod.marvel_characters"}
    assert by_type["databricks_volume"] == {"mlops_prod.marvel_characters.artifacts"}
    assert by_type["databricks_registered_model"] == {"mlops_prod.marvel_characters.alive_classifier"}
    assert by_type["databricks_model_serving"] == {"alive-classifier-prod"}
    assert by_type["databricks_data_quality_monitor"] == {LOG}  # by the table its object_id references
    assert by_type["databricks_directory"] == {"/Shared/lakemon/prod/alerts"}
    assert "lakemon-prod-alive_classifier-monitoring" in by_type["databricks_job"]
    assert "lakemon prod alive_classifier: feature drift" in by_type["databricks_alert_v2"]
    assert "drift-webhook-prod" in by_type["databricks_notification_destination"]


def test_a_terraform_expression_as_a_name_stops_the_preflight():
    stack = {"resource": {"databricks_job": {"j": {"name": "${var.x}"}}}}
    with pytest.raises(PreflightError, match=r"databricks_job.j: its name is a Terraform expression"):
        declared_resources(stack)


# --- lost state: everything exists ------------------------------------------------------------------


def test_lost_state_stops_with_a_clear_message_and_writes_nothing(stack_dir, declared, tables):
    ws = FakeWorkspace({"databricks_sql_table": {LOG, BASELINE}, "databricks_job": {"lakemon-prod-alive_classifier-training"}})
    lines: list[str] = []
    code = run_preflight(stack_dir, adopt=False, state=EMPTY_STATE, lookup=workspace_lookup(HOST, ws.client), out=lines.append)
    assert code == 1
    text = "\n".join(lines)
    assert "STOP" in text and "--adopt" in text
    assert f"import  table {LOG} -> {tables[LOG].address}" in text and BASELINE in text and LABELS not in text
    assert "import  job lakemon-prod-alive_classifier-training (id 1000) -> databricks_job." in text
    assert not (stack_dir / OUTPUT_FILE).exists()
    asked = sorted(c.kwargs["full_name"] for c in ws.client.tables.exists.call_args_list)
    assert asked == sorted([LOG, BASELINE, LABELS, VERDICTS])


def test_adopt_imports_every_existing_object_with_its_documented_id(stack_dir, declared):
    ws = FakeWorkspace(everything(declared))
    lines: list[str] = []
    code = run_preflight(stack_dir, adopt=True, state=EMPTY_STATE, lookup=workspace_lookup(HOST, ws.client), out=lines.append)
    assert code == 0
    blocks = json.loads((stack_dir / OUTPUT_FILE).read_text())
    assert set(blocks) == {"import"}
    assert {b["to"]: b["id"] for b in blocks["import"]} == {r.address: ws.id_of(r) for r in declared}
    ids = {b["to"].split(".")[0]: b["id"] for b in blocks["import"]}
    # the formats of the provider docs' Import sections (v1.99.0)
    assert ids["databricks_schema"] == "mlops_prod.marvel_characters"  # <catalog_name>.<name>
    assert ids["databricks_volume"] == "mlops_prod.marvel_characters.artifacts"
    assert ids["databricks_registered_model"] == "mlops_prod.marvel_characters.alive_classifier"
    assert ids["databricks_model_serving"] == "alive-classifier-prod"
    assert ids["databricks_data_quality_monitor"] == f"table,{table_uuid(LOG)}"  # object_type,object_id
    assert ids["databricks_directory"] == "/Shared/lakemon/prod/alerts"
    assert re.fullmatch(r"\d+", ids["databricks_job"])
    assert uuid.UUID(ids["databricks_alert_v2"]) and uuid.UUID(ids["databricks_notification_destination"])
    assert ids["databricks_file"].startswith("/Volumes/mlops_prod/marvel_characters/artifacts/")
    # it says what it adopted, per kind
    assert lines[0].startswith("preflight prod: adopting ") and "; 0 moved, 0 forgotten; wrote " in lines[0]
    for what in ("table", "schema", "volume", "registered model", "serving endpoint", "quality monitor", "job",
                 "alert", "notification destination", "workspace folder"):
        assert f" {what}" in lines[0], (what, lines[0])
    assert len(lines) == 1 + len(declared)
    # the synthesized stack itself is untouched: the deploy still runs the Build's artifact
    assert (stack_dir / "cdk.tf.json").read_bytes() == SNAPSHOT.read_bytes()


def test_two_jobs_of_the_same_name_stop_the_preflight(declared):
    job = next(r for r in declared if r.type == "databricks_job")
    ws = FakeWorkspace(everything(declared), duplicates={job.identity})
    with pytest.raises(PreflightError, match=rf"2 jobs named '{re.escape(job.identity)}' exist \(ids 100\d, 100\d1\)"):
        find(declared, [], workspace_lookup(HOST, ws.client))


def test_a_file_where_the_folder_should_be_stops_the_preflight():
    ws = FakeWorkspace({})
    ws.client.workspace.get_status.side_effect = lambda path: workspace.ObjectInfo(path=path, object_type=workspace.ObjectType.NOTEBOOK)
    folder = Resource("databricks_directory.f", "databricks_directory", "/Shared/lakemon/prod/alerts")
    with pytest.raises(PreflightError, match="is a NOTEBOOK, not a folder"):
        workspace_lookup(HOST, ws.client)(folder)


def test_a_job_with_a_case_variant_name_is_not_adopted():
    """JobsAPI.list(name=) filters case-insensitively; only the exact name is the stack's job."""
    ws = FakeWorkspace({"databricks_job": {"LAKEMON-prod-x"}})
    job = Resource("databricks_job.j", "databricks_job", "lakemon-prod-x")
    assert workspace_lookup(HOST, ws.client)(job) is None


# --- partial state, renames, undeclared -------------------------------------------------------------


def test_renamed_construct_is_moved_not_imported_or_dropped(declared, tables):
    old = Resource("databricks_sql_table.old_name_1234", "databricks_sql_table", LOG)
    others = [r for r in declared if r.identity != LOG or r.type != "databricks_sql_table"]
    ws = FakeWorkspace(everything(declared))
    findings = find(declared, [old, *others], workspace_lookup(HOST, ws.client))
    assert findings.moves == [(old, tables[LOG])]
    assert findings.imports == [] and findings.removals == []
    ws.client.tables.exists.assert_not_called()  # the state already knows the table
    assert findings.blocks() == {"moved": [{"from": old.address, "to": tables[LOG].address}]}


def test_a_renamed_job_is_moved_too(declared):
    job = next(r for r in declared if r.type == "databricks_job")
    old = Resource("databricks_job.old_1", "databricks_job", job.identity)
    findings = find([job], [old], lambda r: pytest.fail(f"asked about {r}"))
    assert findings.blocks() == {"moved": [{"from": old.address, "to": job.address}]}


def test_undeclared_data_is_forgotten_never_dropped_other_objects_are_left_to_terraform(declared):
    gone_table = Resource("databricks_sql_table.other_log", "databricks_sql_table", "mlops_prod.marvel_characters.other_inference_log")
    gone_model = Resource("databricks_registered_model.other", "databricks_registered_model", "mlops_prod.marvel_characters.other")
    gone_job = Resource("databricks_job.other", "databricks_job", "lakemon-prod-other-training")
    findings = find(declared, [*declared, gone_table, gone_model, gone_job], lambda r: pytest.fail(str(r)))
    assert findings.removals == [gone_table, gone_model]
    assert findings.blocks() == {"removed": [{"from": r.address, "lifecycle": {"destroy": False}} for r in (gone_table, gone_model)]}


def test_nothing_to_do_when_state_has_everything(stack_dir, declared):
    (stack_dir / OUTPUT_FILE).write_text("{}")  # left over from an earlier adoption
    ws = FakeWorkspace(everything(declared))
    lines: list[str] = []
    code = run_preflight(stack_dir, adopt=True, state=state_of(*declared), lookup=workspace_lookup(HOST, ws.client),
                         out=lines.append)
    assert code == 0 and "nothing to adopt, nothing would be dropped" in lines[0]
    ws.client.tables.exists.assert_not_called()
    ws.client.jobs.list.assert_not_called()
    assert not (stack_dir / OUTPUT_FILE).exists()


def test_a_new_environment_needs_nothing(stack_dir):
    code = run_preflight(stack_dir, adopt=False, state=EMPTY_STATE, lookup=workspace_lookup(HOST, FakeWorkspace({}).client),
                         out=lambda _: None)
    assert code == 0


def test_missing_parents_count_as_absent_other_errors_stop(tables):
    ws = FakeWorkspace({})
    ws.client.tables.exists.side_effect = NotFound("SCHEMA_DOES_NOT_EXIST")
    assert workspace_lookup(HOST, ws.client)(tables[LOG]) is None
    denied = FakeWorkspace({}, error=PermissionDenied("no USE CATALOG"))
    schema = Resource("databricks_schema.s", "databricks_schema", "mlops_prod.marvel_characters")
    with pytest.raises(PreflightError, match=r"cannot ask https://adb-1.azuredatabricks.net whether schema .* PermissionDenied"):
        workspace_lookup(HOST, denied.client)(schema)


def test_cli_reports_unreadable_input_in_one_line(tmp_path, capsys):
    from lakemon_jobs.cli import main

    assert main(["preflight", "--stack-dir", str(tmp_path), "--state-json", str(tmp_path / "none.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lakemon preflight:") and "Traceback" not in err


def test_state_resources_reads_terraform_show_json():
    show = state_of(Resource("databricks_sql_table.a", "databricks_sql_table", "c.s.a"))
    show["values"]["root_module"]["child_modules"] = [
        {"resources": [{"address": "module.m.databricks_job.b", "mode": "managed", "type": "databricks_job",
                        "values": {"id": "42", "name": "lakemon-dev-x"}},
                       {"address": "data.databricks_sql_table.x", "mode": "data", "type": "databricks_sql_table", "values": {}},
                       {"address": "databricks_grants.g", "mode": "managed", "type": "databricks_grants", "values": {}}]}
    ]
    assert state_resources(show) == [Resource("databricks_sql_table.a", "databricks_sql_table", "c.s.a"),
                                      Resource("module.m.databricks_job.b", "databricks_job", "lakemon-dev-x")]
    assert state_resources(EMPTY_STATE) == []


def test_the_module_runs_as_a_plain_script_without_lakemon(tmp_path):
    """The deploy stage has no project venv: the file must run with the standard library and
    databricks-sdk only (no lakemon imports); its siblings, monitor_migration and errors (the base
    of the jobs' expected failures), likewise."""
    script = REPO / "scripts" / "lakemon_jobs" / "preflight.py"
    expected = {script: {"databricks"}, script.with_name("monitor_migration.py"): {"databricks"}, script.with_name("errors.py"): set()}
    for source, outside_stdlib in expected.items():
        imported = set()
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add("." if node.level else node.module.split(".")[0])
        assert imported - set(sys.stdlib_module_names) - {".", "monitor_migration", "errors"} == outside_stdlib, imported
    result = subprocess.run([sys.executable, "-I", str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--adopt" in result.stdout


# --- real Terraform -----------------------------------------------------------------------------------

TF_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}


def standin(address: str) -> str:
    """The stand-in address of a Databricks resource: `terraform_data.<type>__<name>`."""
    type_, name = address.split(".", 1)
    return f"terraform_data.{type_}__{name}"


def standin_blocks(blocks: dict) -> dict:
    """The preflight's blocks, addressed to the stand-ins (ids and structure unchanged)."""
    out = {}
    for kind, entries in blocks.items():
        out[kind] = [{k: standin(v) if k in ("to", "from") else v for k, v in e.items()} for e in entries]
    return out


def terraform(folder: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["terraform", *args, "-no-color"], cwd=folder, env=TF_ENV, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result


def write_config(folder: Path, resources: list[Resource], extra: dict | None = None) -> None:
    body = {"resource": {"terraform_data": {standin(r.address).split(".", 1)[1]: {} for r in resources}}, **(extra or {})}
    (folder / "main.tf.json").write_text(json.dumps(body))


def plan(folder: Path) -> dict[str, dict]:
    terraform(folder, "plan", "-input=false", "-out=plan.bin")
    shown = json.loads(terraform(folder, "show", "-json", "plan.bin").stdout)
    return {c["address"]: c for c in shown.get("resource_changes", [])}


def actions(changes: dict[str, dict]) -> list[str]:
    return [a for c in changes.values() for a in c["change"]["actions"]]


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH (CI machines have it)")
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_after_a_lost_state_the_plan_creates_and_destroys_nothing(tmp_path, env):
    """State lost, every declared stateful object exists in the workspace: without the preflight the
    plan creates every one of them; with its blocks it imports each, creates none, destroys none."""
    declared = declared_resources(stack_of(env))
    write_config(tmp_path, declared)
    terraform(tmp_path, "init", "-input=false")
    without = plan(tmp_path)
    assert actions(without) == ["create"] * len(declared)  # what a deploy would do without the preflight

    ws = FakeWorkspace(everything(declared))
    findings = find(declared, state_resources(EMPTY_STATE), workspace_lookup(HOST, ws.client))
    (tmp_path / OUTPUT_FILE).write_text(json.dumps(standin_blocks(findings.blocks())))
    changes = plan(tmp_path)
    assert "create" not in actions(changes) and "delete" not in actions(changes)
    imported = {a: c["change"]["importing"]["id"] for a, c in changes.items() if c["change"].get("importing")}
    assert imported == {standin(r.address): ws.id_of(r) for r in declared}
    types = {r.type for r in declared}
    assert types >= {"databricks_schema", "databricks_volume", "databricks_registered_model", "databricks_model_serving",
                     "databricks_data_quality_monitor", "databricks_job", "databricks_alert_v2",
                     "databricks_notification_destination", "databricks_sql_table", "databricks_directory"}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH (CI machines have it)")
def test_partly_lost_state_with_a_rename_and_an_undeclared_table(tmp_path):
    """State holds the schema, a job under an old construct name and a table no longer declared;
    the rest is lost. The blocks move the job, import the rest, forget the table: 0 creates, 0 deletes."""
    declared = declared_resources(stack_of("prod"))
    schema = next(r for r in declared if r.type == "databricks_schema")
    job = next(r for r in declared if r.type == "databricks_job")
    old_job = Resource("databricks_job.old_name_1", "databricks_job", job.identity)
    gone = Resource("databricks_sql_table.gone_1", "databricks_sql_table", "mlops_prod.marvel_characters.gone")
    kept = [schema, old_job, gone]
    # build that state in Terraform (stand-ins imported with their ids)
    ws = FakeWorkspace(everything(declared))
    write_config(tmp_path, kept, {"import": [{"to": standin(r.address), "id": ws.id_of(r)} for r in kept]})
    terraform(tmp_path, "init", "-input=false")
    terraform(tmp_path, "apply", "-auto-approve", "-input=false")
    (tmp_path / "main.tf.json").unlink()
    write_config(tmp_path, declared)

    findings = find(declared, state_resources(state_of(*kept)), workspace_lookup(HOST, ws.client))
    assert findings.moves == [(old_job, job)] and findings.removals == [gone]
    (tmp_path / OUTPUT_FILE).write_text(json.dumps(standin_blocks(findings.blocks())))
    changes = plan(tmp_path)
    assert "create" not in actions(changes) and "delete" not in actions(changes)
    assert changes[standin(job.address)]["previous_address"] == standin(old_job.address)
    assert changes[standin(gone.address)]["change"]["actions"] == ["forget"]
    assert standin(schema.address) in changes and not changes[standin(schema.address)]["change"].get("importing")
    imported = {a for a, c in changes.items() if c["change"].get("importing")}
    assert imported == {standin(r.address) for r in declared} - {standin(schema.address), standin(job.address)}


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

    init, pre, plan_ = first(r"^terraform init\b"), first(r'preflight\.py"? --stack-dir \. --adopt$'), first(r"^terraform plan\b")
    assert init < pre < plan_  # the import blocks it writes are part of the plan the approver reads
    assert step["task"] == "AzureCLI@2" and step["inputs"]["azureSubscription"] == f"sc-lakemon-{env}"
    assert step["inputs"]["workingDirectory"] == f"$(Pipeline.Workspace)/cdktf.out/stacks/{env}"
    assert "requirements.lock" in " ".join(lines)  # the SDK version is the pinned one
