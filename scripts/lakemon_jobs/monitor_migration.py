"""Carry a table's monitor from one Terraform resource type to the other without re-creating it.

Why: lakemon moved from the deprecated `databricks_quality_monitor` (the `quality_monitors` API)
to `databricks_data_quality_monitor` (the Data Quality API). A stack deployed by an earlier
release holds the monitor in state under the legacy type; the new stack declares the other
type. Left alone, Terraform would delete the legacy monitor and create a new one. Databricks
keeps one monitor per table ("Only a single profile can be created in a Unity Catalog
metastore for any table", Databricks, "Create a data profile using the API"), so both resources
describe the same monitor, and what must change is only which resource manages it:

- an `import` block for the declared resource, id `table,<table UUID>` (provider
  docs/resources/data_quality_monitor.md at v1.99.0, "Import"), or the table name for the legacy
  type (docs/resources/quality_monitor.md): Terraform reads the existing monitor instead of
  creating one. The preflight writes it like any adoption (`KINDS`), after `lookup` asked the
  workspace whether the declared API sees the monitor (`data_quality.get_monitor`);
- a `removed` block with `destroy = false` for the resource of the other type in state:
  Terraform forgets it without calling the API's delete (`carry_over`).
A `moved` block cannot do this: a move between resource types needs the provider to implement
state moves, which provider v1.99.0 does not (no `ResourceWithMoveState` in its source).

The monitor is never deleted or re-created, so its profile and drift metrics tables, which the
monitor writes and Terraform does not manage, are untouched. If the declared API does not see the
monitor, `carry_over` stops the deploy with what to do instead (deleting the old resource and
creating a new monitor is exactly what must not happen silently).

Standard library and databricks-sdk only: the preflight (a plain script in the pipeline) uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEGACY = "databricks_quality_monitor"
CURRENT = "databricks_data_quality_monitor"
MONITOR_TYPES = (LEGACY, CURRENT)
TABLE_TYPE = "databricks_sql_table"
_TABLE_ID_REF = re.compile(r"^\$\{databricks_sql_table\.([^.}]+)\.table_id\}$")


class MigrationError(RuntimeError):
    """The monitor cannot be carried over safely: stop with this message."""


@dataclass(frozen=True)
class Monitor:
    address: str
    """Terraform address, e.g. databricks_data_quality_monitor.alive-classifier_monitor_C226EFF3."""
    table: str
    """catalog.schema.table of the monitored table."""

    @property
    def type(self) -> str:
        return self.address.split(".", 1)[0]


def monitored_table(stack: dict, body: dict, address: str) -> str:
    """The table a declared data-quality monitor watches. Its `object_id` is the table's UUID;
    lakemon writes it as a reference to the table's resource (`${databricks_sql_table.X.table_id}`),
    which gives the name. Anything else cannot be matched by name and is refused."""
    match = _TABLE_ID_REF.match(str(body.get("object_id", "")))
    table = (stack.get("resource", {}).get(TABLE_TYPE, {}) or {}).get(match.group(1)) if match else None
    if body.get("object_type") != "table" or not table or not all(k in table for k in ("catalog_name", "schema_name", "name")):
        raise MigrationError(
            f"{address}: object_id {body.get('object_id')!r} does not reference a declared {TABLE_TYPE}'s "
            "table_id (object_type table), so the monitored table is unknown"
        )
    return ".".join((table["catalog_name"], table["schema_name"], table["name"]))


def state_table(values: dict) -> str | None:
    """The monitored table of a monitor in state. The legacy resource's id is its table name
    (provider v1.99.0 `resource_quality_monitor.go`, Create: "Set the ID to the table name"); the
    data-quality one reports `data_profiling_config.monitored_table_name`."""
    return values.get("table_name") or (values.get("data_profiling_config") or {}).get("monitored_table_name")


def declared_monitors(stack: dict) -> list[Monitor]:
    """The stack's table monitors of either type."""
    resources = stack.get("resource", {})
    monitors = [Monitor(f"{LEGACY}.{n}", b["table_name"]) for n, b in sorted(resources.get(LEGACY, {}).items())]
    monitors += [
        Monitor(f"{CURRENT}.{n}", monitored_table(stack, b, f"{CURRENT}.{n}"))
        for n, b in sorted(resources.get(CURRENT, {}).items())
    ]
    return monitors


def _module_resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _module_resources(child)


def managed_state_resources(show_json: dict):
    """Managed resources (root and child modules) of `terraform show -json` output; an empty
    state has no `values`. The preflight reads its adoptable resources from the same walk."""
    root = (show_json.get("values") or {}).get("root_module") or {}
    for r in _module_resources(root):
        if r.get("mode", "managed") == "managed":
            yield r


def state_monitors(show_json: dict) -> list[Monitor]:
    """Monitors in `terraform show -json` (what `lakemon doctor` reports)."""
    monitors = []
    for r in managed_state_resources(show_json):
        if r.get("type") in MONITOR_TYPES:
            table = state_table(r.get("values") or {})
            if table:
                monitors.append(Monitor(r["address"], str(table)))
    return monitors


def data_quality_lookup(client, full_name: str) -> str | None:
    """The import id `table,<table UUID>` of the monitor on `full_name` if the Data Quality API
    sees one, else None (no table, or no monitor)."""
    from databricks.sdk.errors import NotFound  # lazy: Databricks-only path

    try:
        table_id = client.tables.get(full_name=full_name).table_id
        client.data_quality.get_monitor(object_type="table", object_id=table_id)
    except NotFound:
        return None
    return f"table,{table_id}"


def carry_over(declared: list[Monitor], in_state: list[Monitor], imported: set[str]) -> list[Monitor]:
    """The monitors in state to forget (`removed`, no destroy) because a declared monitor of the
    other type watches the same table and is imported (`imported`: addresses with an import
    block) or already in state. Raises MigrationError when the declared one would be created
    instead, i.e. its API does not see the monitor the other resource manages."""
    state_addresses = {m.address for m in in_state}
    declared_addresses = {m.address for m in declared}
    forget = []
    for old in in_state:
        if old.address in declared_addresses:
            continue
        new = next((d for d in declared if d.type != old.type and d.table.lower() == old.table.lower()), None)
        if new is None:
            continue
        if new.address not in imported and new.address not in state_addresses:
            raise MigrationError(
                f"the monitor on {old.table} is managed by {old.address}, but the API of {new.type} does not "
                "see it, so the deploy would delete it and create another; nothing was changed. Keep "
                f"`monitoring.api: {'legacy' if old.type == LEGACY else 'data_quality'}` for this environment, "
                "or re-create the monitor as docs/deploy.md describes (\"Moving a deployed monitor\")"
            )
        forget.append(old)
    return forget
