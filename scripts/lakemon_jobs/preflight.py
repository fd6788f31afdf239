"""`lakemon preflight`: before a deploy, adopt what the workspace already has, and never drop data.

Why: after a lost state, a renamed construct, or an object created outside Terraform, an apply
would try to create what exists. Unity Catalog objects and the endpoint then fail with "already
exists"; jobs, alerts and notification destinations are created a second time (they are found
by id, not by name). And a table that is in state but no longer declared would be DROPPED.

What it does, for every resource of one synthesized stack directory (`cdktf.out/stacks/<env>`)
whose type is in `KINDS`, against that stack's Terraform state (`terraform show -json`, run in
the directory after `terraform init`) and its workspace (the provider's host, credentials from
the environment as for the provider):

- declared at an address that state does not have, but the same object (same identity: full
  name, endpoint name, job name, ...) is in state at another address: a `moved` block;
- declared, not in state, and the object exists in the workspace: an `import` block with the id
  the provider's Import section asks for (adopted as it is, never created twice);
- in state but no longer declared, for the kinds that hold data (tables, schema, volume,
  registered model): a `removed` block with `destroy = false` (Terraform forgets the object,
  the data stays). Other kinds are destroyed as their removal from the stack asks.
- a monitor in state under the other resource type than the declared one on the same table
  (`databricks_quality_monitor` <-> `databricks_data_quality_monitor`): `removed` without destroy,
  while the declared one is imported; a stop if it would be created instead (monitor_migration).

Generic on purpose: `KINDS` maps a resource type to how its identity is read from the stack (the
same attributes name it in state), how databricks-sdk finds it, and its import id. Adding a type
is one entry. A type the stack declares that is in neither `KINDS` nor `NOT_ADOPTED` stops the
preflight, so a new resource type cannot slip past it.

Without `--adopt` it lists what it found and exits 1 (nothing is written): a clear stop. With
`--adopt` it writes those blocks to `lakemon-preflight.tf.json` next to `cdk.tf.json`, where the
following `cdktf diff` / `cdktf deploy --skip-synth` (and plain Terraform) pick them up; the
synthesized `cdk.tf.json` itself is not touched. Needs Terraform >= 1.7 (`removed` blocks).

The module imports nothing from lakemon, only the standard library and `databricks-sdk`, so the
pipeline can run it as a script (`python scripts/lakemon_jobs/preflight.py ...`) on an agent
without the project's environment. Exit codes: 0 nothing to do or blocks written, 1 a stop
(adoption needed without --adopt, an ambiguous or unreadable object), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

try:
    from . import monitor_migration
    from .errors import EXIT_FAILED, EXIT_OK, JobError
except ImportError:  # run as a plain script (the pipeline): the modules sit next to this file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import monitor_migration  # type: ignore[no-redef]
    from errors import EXIT_FAILED, EXIT_OK, JobError  # type: ignore[no-redef]

STACK_FILE = "cdk.tf.json"
OUTPUT_FILE = "lakemon-preflight.tf.json"
TERRAFORM_TIMEOUT_S = 300
EXIT_STOP = EXIT_FAILED
TABLE_TYPE = "databricks_sql_table"


class PreflightError(JobError):
    """The stack, its state or the workspace could not be read, or an object is ambiguous: stop."""


# --- how each resource type is adopted ------------------------------------------------------------


def _get(method: str, argument: str | None = None) -> Callable:
    """A lookup that calls `client.<api>.<method>(identity)`: the id is the identity itself, or
    None when the SDK raises NotFound (its ResourceDoesNotExist is one)."""
    api, call = method.split(".")

    def lookup(client, identity: str) -> str | None:
        from databricks.sdk.errors import NotFound  # lazy: Databricks-only path

        try:
            fn = getattr(getattr(client, api), call)
            fn(**{argument: identity}) if argument else fn(identity)
        except NotFound:
            return None
        return identity

    return lookup


def _table_exists(client, full_name: str) -> str | None:
    from databricks.sdk.errors import NotFound  # lazy: Databricks-only path

    try:
        return full_name if client.tables.exists(full_name=full_name).table_exists else None
    except NotFound:  # the catalog or schema does not exist yet: neither does the table
        return None


def _directory(client, path: str) -> str | None:
    from databricks.sdk.errors import NotFound  # lazy: Databricks-only path

    try:
        info = client.workspace.get_status(path)
    except NotFound:
        return None
    kind = getattr(info.object_type, "value", info.object_type)
    if kind != "DIRECTORY":
        raise PreflightError(f"{path} exists in the workspace but is a {kind}, not a folder: move it away first")
    return path


def _one_by_name(what: str, identity: str, found: list[tuple[str, str]]) -> str | None:
    """The id of the only object named `identity`; a stop when there are several (which one the
    stack means cannot be guessed: adopting one would leave the other running unmanaged)."""
    if len(found) > 1:
        ids = ", ".join(i for i, _ in found)
        raise PreflightError(
            f"{len(found)} {what}s named {identity!r} exist (ids {ids}): delete or rename the extra one(s), "
            "or write the import block for the right one by hand"
        )
    return found[0][0] if found else None


def _job(client, name: str) -> str | None:
    # JobsAPI.list(name=...): "A filter on the list based on the exact (case insensitive) job name."
    found = [(str(j.job_id), name) for j in client.jobs.list(name=name) if j.settings and j.settings.name == name]
    return _one_by_name("job", name, found)


def _alert(client, display_name: str) -> str | None:
    found = [
        (a.id, a.display_name)
        for a in client.alerts_v2.list_alerts()
        if a.display_name == display_name and getattr(a.lifecycle_state, "value", a.lifecycle_state) not in ("DELETED", "TRASHED")
    ]
    return _one_by_name("alert", display_name, found)


def _destination(client, display_name: str) -> str | None:
    found = [(d.id, d.display_name) for d in client.notification_destinations.list() if d.display_name == display_name]
    return _one_by_name("notification destination", display_name, found)


@dataclass(frozen=True)
class Kind:
    """How the preflight adopts one resource type.

    `fields`: the attributes that name the object, joined with "." (read from the stack's config
    and from state: both use the provider's attribute names). `lookup(client, identity)`: the
    import id when the object exists, else None. `keeps_data`: an undeclared one in state is
    forgotten, never destroyed. `source`: where the import id format is documented."""

    type: str
    fields: tuple[str, ...]
    lookup: Callable
    what: str
    source: str
    keeps_data: bool = False
    case_insensitive: bool = False
    """Unity Catalog names are case-insensitive (the provider suppresses case-only diffs)."""
    from_config: Callable[[dict, dict, str], str] | None = None
    """identity(stack, body, address) when `fields` cannot name the object (a reference to another
    resource, e.g. a monitor's table by `table_id`)."""
    from_state: Callable[[dict], str | None] | None = None
    """identity(state values) for such a type."""

    def identity(self, values: dict, address: str = "") -> str:
        try:
            parts = [values[f] for f in self.fields]
        except KeyError as exc:
            raise PreflightError(f"{address or self.type} has no {exc.args[0]}: cannot tell which {self.what} it is") from None
        text = ".".join(str(p) for p in parts)
        if "${" in text:
            raise PreflightError(f"{address}: its {'/'.join(self.fields)} is a Terraform expression ({text}); the preflight needs a literal")
        return text

    def key(self, identity: str) -> str:
        return identity.lower() if self.case_insensitive else identity


DOCS = "terraform-provider-databricks v1.99.0"
KINDS: dict[str, Kind] = {
    k.type: k
    for k in (
        Kind(TABLE_TYPE, ("catalog_name", "schema_name", "name"), _table_exists, "table",
             f"{DOCS} docs/resources/sql_table.md, Import: <catalog_name>.<schema_name>.<name>", True, True),
        Kind("databricks_schema", ("catalog_name", "name"), _get("schemas.get", "full_name"), "schema",
             f"{DOCS} docs/resources/schema.md, Import: <catalog_name>.<name>", True, True),
        Kind("databricks_volume", ("catalog_name", "schema_name", "name"), _get("volumes.read", "name"), "volume",
             f"{DOCS} docs/resources/volume.md, Import: <catalog_name>.<schema_name>.<name>", True, True),
        Kind("databricks_registered_model", ("catalog_name", "schema_name", "name"),
             _get("registered_models.get", "full_name"), "registered model",
             f"{DOCS} docs/resources/registered_model.md, Import: <catalog_name>.<schema_name>.<model_name>", True, True),
        Kind("databricks_model_serving", ("name",), _get("serving_endpoints.get", "name"), "serving endpoint",
             f"{DOCS} docs/resources/model_serving.md, Import: <model-serving-endpoint-name>"),
        Kind("databricks_quality_monitor", ("table_name",), _get("quality_monitors.get", "table_name"), "quality monitor",
             f"{DOCS} internal/providers/pluginfw/products/qualitymonitor/resource_quality_monitor.go, ImportState: "
             "ImportStatePassthroughID(table_name); docs/resources/quality_monitor.md: id is the full table name",
             case_insensitive=True),
        Kind(monitor_migration.CURRENT, ("object_id",), monitor_migration.data_quality_lookup, "data quality monitor",
             f"{DOCS} docs/resources/data_quality_monitor.md, Import: object_type,object_id (table,<table UUID>)",
             case_insensitive=True, from_config=monitor_migration.monitored_table,
             from_state=monitor_migration.state_table),
        Kind("databricks_job", ("name",), _job, "job", f"{DOCS} docs/resources/job.md, Import: <job-id>"),
        Kind("databricks_alert_v2", ("display_name",), _alert, "alert", f"{DOCS} docs/resources/alert_v2.md, Import: id"),
        Kind("databricks_notification_destination", ("display_name",), _destination, "notification destination",
             f"{DOCS} docs/resources/notification_destination.md, Import: <notification-id>"),
        Kind("databricks_directory", ("path",), _directory, "workspace folder",
             f"{DOCS} docs/resources/directory.md, Import: /path/to/directory"),
        Kind("databricks_file", ("path",), _get("files.get_metadata", "file_path"), "file",
             f"{DOCS} docs/resources/file.md, Import: <path>"),
    )
}
"""Resource type -> how the preflight adopts it. One entry per stateful type a stack declares."""

NOT_ADOPTED: dict[str, str] = {
    "databricks_grants": "authoritative: creating it sets the securable's grants to the declared ones "
    "(docs/resources/grants.md); nothing is duplicated",
    "databricks_permissions": "authoritative: creating it sets the object's permissions to the declared ones "
    "(docs/resources/permissions.md); nothing is duplicated",
}
"""Resource types the stacks declare that need no adoption, and why."""


# --- what is declared, what state has, what must happen --------------------------------------------


@dataclass(frozen=True)
class Resource:
    address: str
    """Terraform address, e.g. databricks_sql_table.alive_inference-log_table_1A2B3C4D."""
    type: str
    identity: str
    """What names the object in the workspace: a full name, an endpoint, job or alert name, a path."""

    @property
    def kind(self) -> Kind:
        return KINDS[self.type]


@dataclass(frozen=True)
class Adoption:
    resource: Resource
    import_id: str


@dataclass
class Findings:
    imports: list[Adoption] = field(default_factory=list)
    moves: list[tuple[Resource, Resource]] = field(default_factory=list)
    """(in state, declared): the same object under a new address."""
    removals: list[Resource] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.imports or self.moves or self.removals)

    def blocks(self) -> dict:
        """Terraform JSON syntax: top-level `import`, `moved` and `removed` blocks."""
        out: dict = {}
        if self.imports:
            out["import"] = [{"to": a.resource.address, "id": a.import_id} for a in self.imports]
        if self.moves:
            out["moved"] = [{"from": old.address, "to": new.address} for old, new in self.moves]
        if self.removals:
            out["removed"] = [{"from": r.address, "lifecycle": {"destroy": False}} for r in self.removals]
        return out

    def describe(self) -> list[str]:
        lines = []
        for a in self.imports:
            r = a.resource
            shown = r.identity if a.import_id == r.identity else f"{r.identity} (id {a.import_id})"
            lines.append(f"  import  {r.kind.what} {shown} -> {r.address} (exists in the workspace, not in state)")
        lines += [f"  moved   {old.address} -> {new.address} ({new.kind.what} {new.identity})" for old, new in self.moves]
        lines += [
            f"  removed {r.address} ({r.kind.what} {r.identity}): no longer declared; forgotten, NOT destroyed"
            for r in self.removals
        ]
        return lines

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for a in self.imports:
            counts[a.resource.kind.what] = counts.get(a.resource.kind.what, 0) + 1
        adopted = ", ".join(f"{n} {what}{'s' if n > 1 else ''}" for what, n in counts.items()) or "nothing"
        return f"adopting {adopted}; {len(self.moves)} moved, {len(self.removals)} forgotten"


def declared_resources(stack: dict) -> list[Resource]:
    """The stack's resources of adoptable types (cdk.tf.json `resource`); a stop for a type the
    preflight does not know."""
    found = []
    unknown = []
    for type_, bodies in sorted(stack.get("resource", {}).items()):
        if type_ in NOT_ADOPTED:
            continue
        kind = KINDS.get(type_)
        if kind is None:
            unknown.append(type_)
            continue
        for name, body in sorted(bodies.items()):
            address = f"{type_}.{name}"
            if kind.from_config is not None:
                try:
                    identity = kind.from_config(stack, body, address)
                except monitor_migration.MigrationError as exc:
                    raise PreflightError(str(exc)) from None
            else:
                identity = kind.identity(body, address)
            found.append(Resource(address, type_, identity))
    if unknown:
        raise PreflightError(
            f"the stack declares {', '.join(unknown)}, which the preflight does not know how to adopt: "
            "add an entry to KINDS (or, with the reason, to NOT_ADOPTED) in lakemon_jobs/preflight.py"
        )
    return found


def state_resources(show_json: dict) -> list[Resource]:
    """Adoptable resources in `terraform show -json` output (an empty state has no `values`)."""
    found = []
    for r in monitor_migration.managed_state_resources(show_json):
        kind = KINDS.get(r.get("type", ""))
        if kind is None:
            continue
        values = r.get("values") or {}
        try:
            identity = (kind.from_state(values) if kind.from_state else None) or kind.identity(values, r["address"])
        except PreflightError:
            identity = str(values.get("id", ""))  # a state without the naming attributes: match by id only
        found.append(Resource(r["address"], kind.type, identity))
    return found


def find(declared: Iterable[Resource], in_state: Iterable[Resource], lookup: Callable[[Resource], str | None]) -> Findings:
    """What must be moved, imported or forgotten so that no apply creates what exists or drops
    data. `lookup(resource)` asks the workspace for the import id (None: absent); it is only
    called for declared resources that state lacks under any address."""
    declared, in_state = list(declared), list(in_state)
    findings = Findings()
    state_by_address = {r.address: r for r in in_state}
    state_by_identity = {(r.type, r.kind.key(r.identity)): r for r in in_state}
    declared_addresses = {r.address for r in declared}
    moved_from: set[str] = set()
    for resource in declared:
        if resource.address in state_by_address:
            continue
        old = state_by_identity.get((resource.type, resource.kind.key(resource.identity)))
        if old is not None and old.address not in declared_addresses and old.address not in moved_from:
            findings.moves.append((old, resource))
            moved_from.add(old.address)
            continue
        import_id = lookup(resource)
        if import_id is not None:
            findings.imports.append(Adoption(resource, import_id))
    findings.removals = [
        r for r in in_state if r.kind.keeps_data and r.address not in declared_addresses and r.address not in moved_from
    ]
    findings.removals += carried_monitors(declared, in_state, findings)
    return findings


def carried_monitors(declared: list[Resource], in_state: list[Resource], findings: Findings) -> list[Resource]:
    """A monitor in state under the other resource type (legacy <-> data quality) than the
    declared one on the same table: forgotten (`removed`, no destroy) while the declared one is
    imported; a stop if the declared one would be created instead (monitor_migration)."""
    mm = monitor_migration

    def monitors(resources: list[Resource]) -> list:
        return [mm.Monitor(r.address, r.identity) for r in resources if r.type in mm.MONITOR_TYPES]

    imported = {a.resource.address for a in findings.imports}
    try:
        forget = mm.carry_over(monitors(declared), monitors(in_state), imported)
    except mm.MigrationError as exc:
        raise PreflightError(str(exc)) from None
    by_address = {r.address: r for r in in_state}
    return [by_address[m.address] for m in forget]


# --- the outside world: Terraform and the workspace -------------------------------------------------


def read_state(stack_dir: Path, terraform: str = "terraform") -> dict:
    """`terraform show -json` in the (initialised) stack directory, with a timeout."""
    try:
        result = subprocess.run(
            [terraform, "show", "-json", "-no-color"],
            cwd=stack_dir, capture_output=True, text=True, timeout=TERRAFORM_TIMEOUT_S,
        )
    except FileNotFoundError:
        raise PreflightError(f"{terraform!r} not found on PATH (the preflight reads the state with it)") from None
    except subprocess.TimeoutExpired:
        raise PreflightError(f"terraform show did not answer within {TERRAFORM_TIMEOUT_S}s in {stack_dir}") from None
    if result.returncode != 0:
        raise PreflightError(
            f"terraform show failed in {stack_dir} (run `terraform init` there first): {result.stderr.strip()[-1500:]}"
        )
    try:
        return json.loads(result.stdout or "{}")
    except ValueError as exc:
        raise PreflightError(f"terraform show -json in {stack_dir} printed no JSON: {exc}") from None


def read_state_json(path: Path) -> dict:
    """--state-json: a saved `terraform show -json`; PreflightError when it cannot be read."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PreflightError(f"cannot read the state {path}: {exc}") from None


def workspace_lookup(host: str, client=None) -> Callable[[Resource], str | None]:
    """`lookup(resource)` backed by the stack's workspace (databricks-sdk, one call or list per
    resource); any failure other than "not found" stops the deploy with one line. The client is
    made at the first question: a state that already holds every resource needs no login."""
    clients = [client] if client is not None else []

    def workspace():
        if not clients:
            from databricks.sdk import WorkspaceClient  # lazy: Databricks-only path

            try:  # credentials: environment / Azure CLI, as the provider
                clients.append(WorkspaceClient(host=host))
            except ValueError as exc:  # the SDK found no credentials
                raise PreflightError(f"cannot log in to {host}: {exc}") from None
        return clients[0]

    def lookup(resource: Resource) -> str | None:
        client = workspace()
        try:
            return resource.kind.lookup(client, resource.identity)
        except PreflightError:
            raise
        except Exception as exc:  # noqa: BLE001 - any other failure must stop the deploy, clearly
            raise PreflightError(
                f"cannot ask {host} whether {resource.kind.what} {resource.identity} exists: {type(exc).__name__}: {exc}"
            ) from None

    return lookup


def run_preflight(
    stack_dir: Path,
    *,
    adopt: bool,
    state: dict | None = None,
    lookup: Callable[[Resource], str | None] | None = None,
    terraform: str = "terraform",
    out: Callable[[str], None] = print,
    result: dict | None = None,
) -> int:
    """Check one synthesized stack; `result` (for --json) receives the stack, the stateful
    resources declared, the decision (`clear`, `stop`, `adopted`) and the blocks found."""
    result = {} if result is None else result
    stack_file = stack_dir / STACK_FILE
    try:
        stack = json.loads(stack_file.read_text())
    except (OSError, ValueError) as exc:
        raise PreflightError(f"cannot read the synthesized stack {stack_file}: {exc}") from None
    declared = declared_resources(stack)
    state = read_state(stack_dir, terraform) if state is None else state
    if lookup is None:
        providers = stack.get("provider", {}).get("databricks") or [{}]
        host = providers[0].get("host")
        if not host:
            raise PreflightError(f"{stack_file} sets no databricks provider host")
        lookup = workspace_lookup(host)
    findings = find(declared, state_resources(state), lookup)
    output = stack_dir / OUTPUT_FILE
    name = stack_dir.name
    result.update({"stack": name, "resources_declared": len(declared), "blocks": findings.blocks(),
                   "findings": [line.strip() for line in findings.describe()]})  # fmt: skip
    if findings.empty:
        result["decision"] = "clear"
        output.unlink(missing_ok=True)
        out(f"preflight {name}: {len(declared)} stateful resources declared; nothing to adopt, nothing would be dropped")
        return EXIT_OK
    if not adopt:
        result["decision"] = "stop"
        out(f"preflight {name}: STOP. Applying this stack now would create what exists, or drop data:")
        for line in findings.describe():
            out(line)
        out(
            "Nothing was changed. To adopt them as they are, rerun with --adopt (writes "
            f"{OUTPUT_FILE} with these import/moved/removed blocks next to {STACK_FILE}), then diff and deploy."
        )
        return EXIT_STOP
    output.write_text(json.dumps(findings.blocks(), indent=2) + "\n")
    result.update({"decision": "adopted", "written": str(output)})
    out(f"preflight {name}: {findings.summary()}; wrote {output}:")
    for line in findings.describe():
        out(line)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-dir", type=Path, required=True, help="synthesized stack folder, e.g. cdktf.out/stacks/prod")
    parser.add_argument("--adopt", action="store_true", help=f"write import/moved/removed blocks to {OUTPUT_FILE} instead of stopping")
    parser.add_argument("--state-json", type=Path, help="`terraform show -json` output to use instead of running terraform")
    parser.add_argument("--terraform", default="terraform", help="terraform binary (default: terraform on PATH)")
    parser.add_argument(  # written out, not lakemon_jobs.arguments: this module also runs as a plain script
        "--json", action="store_true",
        help="print the decision (clear, stop, adopted), the stateful resources declared and the blocks found as one JSON "
        "document on stdout (the human lines go to stderr)",
    )


def run(args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    result: dict = {}

    def out(line: str) -> None:  # with --json the human lines go to stderr, the document to stdout
        print(line, file=sys.stderr if as_json else sys.stdout)

    try:
        state = read_state_json(args.state_json) if args.state_json else None
        code = run_preflight(args.stack_dir, adopt=args.adopt, state=state, terraform=args.terraform, out=out, result=result)
    except PreflightError as exc:
        print(f"lakemon preflight: {exc}", file=sys.stderr)
        result.update({"decision": "error", "error": str(exc)})
        code = exc.exit_code
    if as_json:
        print(json.dumps({**result, "exit_code": code}, indent=2))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakemon preflight", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
