"""`lakemon preflight`: before a deploy, never let Terraform replace or drop a table that holds data.

Why: on create, `databricks_sql_table` runs `CREATE OR REPLACE TABLE` for managed Delta tables
(provider v1.99.0, catalog/resource_sql_table.go, buildTableCreateStatement). A table that exists
in the workspace but not in Terraform state (state lost, construct renamed, a job created the
table first) would be silently emptied by the next apply. And a table that is in state but no
longer declared (model removed, construct renamed without a `moved` block) would be DROPPED.

What it does, for the `databricks_sql_table` resources of one synthesized stack directory
(`cdktf.out/stacks/<env>`), against that stack's Terraform state (`terraform show -json`, run in
the directory after `terraform init`) and its workspace (the provider's host, credentials from
the environment as for the provider):

- declared at an address that state does not have, but the same table is in state at another
  address: a `moved` block (a renamed construct);
- declared, not in state, and the table exists in the workspace: an `import` block (adopted
  as it is, never re-created);
- in state but no longer declared: a `removed` block with `destroy = false` (Terraform forgets
  the table, the data stays; drop it by hand if that is really wanted).

Without `--adopt` it lists what it found and exits 1 (nothing is written): a clear stop. With
`--adopt` it writes those blocks to `lakemon-preflight.tf.json` next to `cdk.tf.json`, where the
following `cdktf diff` / `cdktf deploy` (and plain Terraform) pick them up; the synthesized
`cdk.tf.json` itself is not touched. Needs Terraform >= 1.7 (`removed` blocks).

The module imports nothing from lakemon, only the standard library and `databricks-sdk`, so the
pipeline can run it as a script (`python scripts/lakemon_jobs/preflight.py ...`) on an agent
without the project's environment. Exit codes: 0 nothing to do or blocks written, 1 a stop
(adoption needed without --adopt, or the workspace/state could not be read), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TABLE_TYPE = "databricks_sql_table"
STACK_FILE = "cdk.tf.json"
OUTPUT_FILE = "lakemon-preflight.tf.json"
TERRAFORM_TIMEOUT_S = 300
EXIT_OK, EXIT_STOP, EXIT_USAGE = 0, 1, 2


class PreflightError(RuntimeError):
    """The stack, its state or the workspace could not be read: stop with this message."""


@dataclass(frozen=True)
class Table:
    address: str
    """Terraform address, e.g. databricks_sql_table.alive_inference-log_table_1A2B3C4D."""
    full_name: str
    """catalog.schema.table (the resource's import id)."""


@dataclass
class Findings:
    imports: list[Table] = field(default_factory=list)
    moves: list[tuple[Table, Table]] = field(default_factory=list)
    """(in state, declared): the same table under a new address."""
    removals: list[Table] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.imports or self.moves or self.removals)

    def blocks(self) -> dict:
        """Terraform JSON syntax: top-level `import`, `moved` and `removed` blocks."""
        out: dict = {}
        if self.imports:
            out["import"] = [{"to": t.address, "id": t.full_name} for t in self.imports]
        if self.moves:
            out["moved"] = [{"from": old.address, "to": new.address} for old, new in self.moves]
        if self.removals:
            out["removed"] = [{"from": t.address, "lifecycle": {"destroy": False}} for t in self.removals]
        return out

    def describe(self) -> list[str]:
        lines = [f"  import  {t.full_name} -> {t.address} (exists in the workspace, not in state)" for t in self.imports]
        lines += [f"  moved   {old.address} -> {new.address} ({new.full_name})" for old, new in self.moves]
        lines += [f"  removed {t.address} ({t.full_name}): no longer declared; forgotten, NOT dropped" for t in self.removals]
        return lines


def declared_tables(stack: dict) -> list[Table]:
    """The stack's tables (cdk.tf.json `resource.databricks_sql_table`)."""
    tables = []
    for name, body in sorted(stack.get("resource", {}).get(TABLE_TYPE, {}).items()):
        try:
            full = ".".join((body["catalog_name"], body["schema_name"], body["name"]))
        except KeyError as exc:
            raise PreflightError(f"{TABLE_TYPE}.{name} has no {exc.args[0]} in {STACK_FILE}") from None
        tables.append(Table(f"{TABLE_TYPE}.{name}", full))
    return tables


def _state_resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _state_resources(child)


def state_tables(show_json: dict, resource_type: str = TABLE_TYPE) -> list[Table]:
    """Tables in `terraform show -json` output (an empty state has no `values`)."""
    root = (show_json.get("values") or {}).get("root_module") or {}
    tables = []
    for r in _state_resources(root):
        if r.get("type") != resource_type or r.get("mode", "managed") != "managed":
            continue
        v = r.get("values") or {}
        full = v.get("id") or ".".join(str(v.get(k, "")) for k in ("catalog_name", "schema_name", "name"))
        tables.append(Table(r["address"], full))
    return tables


def find(declared: list[Table], in_state: list[Table], exists: Callable[[str], bool]) -> Findings:
    """What must be moved, imported or forgotten so that no apply replaces or drops a table.
    `exists(full_name)` asks the workspace; it is only called for declared tables state lacks."""
    findings = Findings()
    state_by_address = {t.address: t for t in in_state}
    state_by_name = {t.full_name.lower(): t for t in in_state}
    declared_addresses = {t.address for t in declared}
    moved_from: set[str] = set()
    for table in declared:
        if table.address in state_by_address:
            continue
        old = state_by_name.get(table.full_name.lower())
        if old is not None and old.address not in declared_addresses:
            findings.moves.append((old, table))
            moved_from.add(old.address)
        elif exists(table.full_name):
            findings.imports.append(table)
    findings.removals = [t for t in in_state if t.address not in declared_addresses and t.address not in moved_from]
    return findings


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
    return json.loads(result.stdout or "{}")


def workspace_exists(host: str, client=None) -> Callable[[str], bool]:
    """`exists(full_name)` backed by the Unity Catalog tables API of the stack's workspace."""
    if client is None:
        from databricks.sdk import WorkspaceClient

        client = WorkspaceClient(host=host)  # credentials: environment / Azure CLI, as the provider
    from databricks.sdk.errors import NotFound

    def exists(full_name: str) -> bool:
        try:
            return bool(client.tables.exists(full_name=full_name).table_exists)
        except NotFound:  # the catalog or schema does not exist yet: neither does the table
            return False
        except Exception as exc:  # noqa: BLE001 - any other failure must stop the deploy, clearly
            raise PreflightError(f"cannot ask {host} whether {full_name} exists: {type(exc).__name__}: {exc}") from None

    return exists


def run_preflight(
    stack_dir: Path,
    *,
    adopt: bool,
    state: dict | None = None,
    exists: Callable[[str], bool] | None = None,
    terraform: str = "terraform",
    out: Callable[[str], None] = print,
) -> int:
    stack_file = stack_dir / STACK_FILE
    try:
        stack = json.loads(stack_file.read_text())
    except (OSError, ValueError) as exc:
        raise PreflightError(f"cannot read the synthesized stack {stack_file}: {exc}") from None
    declared = declared_tables(stack)
    state = read_state(stack_dir, terraform) if state is None else state
    if exists is None:
        providers = stack.get("provider", {}).get("databricks") or [{}]
        host = providers[0].get("host")
        if not host:
            raise PreflightError(f"{stack_file} sets no databricks provider host")
        exists = workspace_exists(host)
    findings = find(declared, state_tables(state), exists)
    output = stack_dir / OUTPUT_FILE
    name = stack_dir.name
    if findings.empty:
        output.unlink(missing_ok=True)
        out(f"preflight {name}: {len(declared)} tables declared; none would be replaced or dropped")
        return EXIT_OK
    if not adopt:
        out(f"preflight {name}: STOP. Applying this stack now would replace or drop tables that hold data:")
        for line in findings.describe():
            out(line)
        out(
            "Nothing was changed. To adopt them as they are, rerun with --adopt (writes "
            f"{OUTPUT_FILE} with these import/moved/removed blocks next to {STACK_FILE}), then diff and deploy."
        )
        return EXIT_STOP
    output.write_text(json.dumps(findings.blocks(), indent=2) + "\n")
    out(f"preflight {name}: wrote {output} so that the deploy adopts instead of replacing:")
    for line in findings.describe():
        out(line)
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack-dir", type=Path, required=True, help="synthesized stack folder, e.g. cdktf.out/stacks/prod")
    parser.add_argument("--adopt", action="store_true", help=f"write import/moved/removed blocks to {OUTPUT_FILE} instead of stopping")
    parser.add_argument("--state-json", type=Path, help="`terraform show -json` output to use instead of running terraform")
    parser.add_argument("--terraform", default="terraform", help="terraform binary (default: terraform on PATH)")


def run(args: argparse.Namespace) -> int:
    try:
        state = json.loads(args.state_json.read_text()) if args.state_json else None
        return run_preflight(args.stack_dir, adopt=args.adopt, state=state, terraform=args.terraform)
    except (PreflightError, OSError, ValueError) as exc:
        print(f"lakemon preflight: {exc}", file=sys.stderr)
        return EXIT_STOP


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakemon preflight", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
