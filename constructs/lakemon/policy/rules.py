"""The lakemon policy rules. Each rule is a small pure function of one resource's Terraform
configuration (what `to_terraform()` gives), so it can be read, tested and reused on its own.

A check returns None when the resource complies, else a sentence saying what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._marks import PROTECTED_ROLES
from ..principals import ALL_USERS


@dataclass(frozen=True)
class ResourceView:
    """What a rule sees: the resource type, its construct path, its config and its data role."""

    type: str
    path: str
    config: dict[str, Any]
    data_role: str | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    fix: str
    resource_types: tuple[str, ...]
    check: Callable[[ResourceView], str | None]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    resource: ResourceView
    problem: str
    suppressed_reason: str | None = None

    def message(self) -> str:
        return (
            f"lakemon policy {self.rule.id} ({self.rule.name}) violated by {self.resource.path} "
            f"[{self.resource.type}]: {self.problem}. Fix: {self.rule.fix}. To accept the risk: "
            f"lakemon.policy.suppress(<construct>, {self.rule.id!r}, reason='<why>')"
        )


def _one(block: Any) -> dict:
    """A nested block as a dict, whether the binding emits it as an object or a list of one."""
    if isinstance(block, list):
        return block[0] if block and isinstance(block[0], dict) else {}
    return block if isinstance(block, dict) else {}


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


# --- rules -----------------------------------------------------------------------------------


def check_prevent_destroy(resource: ResourceView) -> str | None:
    if resource.data_role not in PROTECTED_ROLES:
        return None
    if _is_true(_one(resource.config.get("lifecycle")).get("prevent_destroy")):
        return None
    return f"it holds {resource.data_role} data but has no lifecycle prevent_destroy"


def check_endpoint_inference_table(resource: ResourceView) -> str | None:
    table = _one(_one(resource.config.get("ai_gateway")).get("inference_table_config"))
    missing = [k for k in ("catalog_name", "schema_name", "table_name_prefix") if not table.get(k)]
    if missing or not _is_true(table.get("enabled")):
        legacy = (
            " (the legacy config.auto_capture_config does not count)"
            if _one(_one(resource.config.get("config")).get("auto_capture_config"))
            else ""
        )
        return "the endpoint does not log requests to an enabled AI-gateway inference table" + legacy
    return None


def check_endpoint_not_public(resource: ResourceView) -> str | None:
    if "serving_endpoint_id" not in resource.config:
        return None
    for entry in resource.config.get("access_control") or []:
        group = str(entry.get("group_name", "")).strip().lower()
        if group in ALL_USERS:
            return f"it grants {entry.get('permission_level')} to {entry.get('group_name')!r}, i.e. to every user"
    return None


def check_monitor_notifications(resource: ResourceView) -> str | None:
    on_failure = _one(_one(resource.config.get("notifications")).get("on_failure"))
    if not on_failure.get("email_addresses"):
        return "the monitor notifies nobody when a refresh fails"
    return None


def check_monitor_schedule(resource: ResourceView) -> str | None:
    if not _one(resource.config.get("schedule")).get("quartz_cron_expression"):
        return "the monitor has no refresh schedule, so its metrics go stale silently"
    return None


PROTECT_DATA = Rule(
    id="LM-DATA-1",
    name="protect-data-tables",
    description="In a protect_data environment (prod), tables holding inference logs, baselines, labels, "
    "the schema holding them and monitors (which own the metrics tables) have lifecycle prevent_destroy.",
    fix="pass protect_data=True (set protect_data: true in the env file)",
    resource_types=("databricks_sql_table", "databricks_schema", "databricks_quality_monitor"),
    check=check_prevent_destroy,
)
ENDPOINT_INFERENCE_TABLE = Rule(
    id="LM-SERVE-1",
    name="endpoint-inference-table",
    description="Every serving endpoint logs requests to an AI-gateway inference table.",
    fix="use lakemon.ServingEndpoint or set ai_gateway.inference_table_config (enabled, catalog, schema, prefix)",
    resource_types=("databricks_model_serving",),
    check=check_endpoint_inference_table,
)
ENDPOINT_NOT_PUBLIC = Rule(
    id="LM-SERVE-2",
    name="endpoint-not-open-to-all-users",
    description="No serving endpoint permission is granted to `users` (all workspace/account users).",
    fix="grant CAN_QUERY to a named group instead",
    resource_types=("databricks_permissions",),
    check=check_endpoint_not_public,
)
MONITOR_NOTIFICATIONS = Rule(
    id="LM-MON-1",
    name="monitor-failure-notifications",
    description="Every quality monitor e-mails someone when a refresh fails.",
    fix="set notify_on_failure (alerts.recipients in the env file)",
    resource_types=("databricks_quality_monitor",),
    check=check_monitor_notifications,
)
MONITOR_SCHEDULE = Rule(
    id="LM-MON-2",
    name="monitor-schedule",
    description="Every quality monitor refreshes on a schedule.",
    fix="set schedule_cron (monitoring.schedule in the env file)",
    resource_types=("databricks_quality_monitor",),
    check=check_monitor_schedule,
)

ALL_RULES = (
    PROTECT_DATA,
    ENDPOINT_INFERENCE_TABLE,
    ENDPOINT_NOT_PUBLIC,
    MONITOR_NOTIFICATIONS,
    MONITOR_SCHEDULE,
)
