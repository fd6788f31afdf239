"""The lakemon policy rules. Each rule is a small pure function of one resource's Terraform
configuration (what `to_terraform()` gives), so it can be read, tested and reused on its own.

Shaped like cdk-nag's rules: a check answers COMPLIANT, NON_COMPLIANT (with a sentence saying
what is wrong) or NOT_APPLICABLE (the rule does not concern this resource, e.g. a schema in an
environment without `protect_data`). "Not applicable" is its own answer so that a report can
tell "checked and fine" from "not checked", which a bare `None` could not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .._marks import PROTECTED_ROLES
from ..contract.gateway import INFERENCE_TABLE_TAG, InferenceTableSpec
from ..contract.principals import names_every_user


class Compliance(StrEnum):
    """cdk-nag's NagRuleCompliance: the three answers a rule can give about one resource."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class RuleResult:
    """A rule's answer about one resource; `problem` says what is wrong when NON_COMPLIANT."""

    compliance: Compliance
    problem: str = ""

    def __post_init__(self) -> None:
        if (self.compliance is Compliance.NON_COMPLIANT) != bool(self.problem):
            raise ValueError("a NON_COMPLIANT result needs a problem, and only it may have one")


COMPLIANT = RuleResult(Compliance.COMPLIANT)
NOT_APPLICABLE = RuleResult(Compliance.NOT_APPLICABLE)


def non_compliant(problem: str) -> RuleResult:
    return RuleResult(Compliance.NON_COMPLIANT, problem)


@dataclass(frozen=True)
class ResourceView:
    """What a rule sees: the resource type, its construct path, its config and its data role."""

    type: str
    path: str
    config: dict[str, Any]
    data_role: str | None = None


@dataclass(frozen=True)
class Rule:
    """One policy rule. `fix` says what to change in code; `config_keys` names the env-file keys
    that satisfy it when the resources come from `MonitoredModel` (listed in the report and in
    README's configuration reference)."""

    id: str
    name: str
    description: str
    fix: str
    resource_types: tuple[str, ...]
    check: Callable[[ResourceView], RuleResult]
    config_keys: tuple[str, ...] = ()


def rule(
    id: str, name: str, *, on: tuple[str, ...], fix: str, config_keys: tuple[str, ...] = ()
) -> Callable[[Callable[[ResourceView], RuleResult]], Rule]:
    """Make the decorated check function a Rule: `on` lists the resource types it looks at, the
    first paragraph of the function's docstring is the rule's description. Why a decorator: the
    rule's id, what it requires and how it checks it are read together, in one place."""

    def make(check: Callable[[ResourceView], RuleResult]) -> Rule:
        description = " ".join((check.__doc__ or "").strip().split("\n\n")[0].split())
        if not description:
            raise ValueError(f"rule {id}: the check function needs a docstring (the rule's description)")
        return Rule(id, name, description, fix, on, check, config_keys)

    return make


@dataclass(frozen=True)
class Finding:
    """A NON_COMPLIANT result of one rule on one resource; `suppressed_reason` when accepted."""

    rule: Rule
    resource: ResourceView
    problem: str
    suppressed_reason: str | None = None

    @property
    def blocking(self) -> bool:
        return self.suppressed_reason is None

    def message(self) -> str:
        """The finding as an indented block: rule, where, what is wrong, what to change."""
        change = self.rule.fix
        if self.rule.config_keys:
            change += f" (env file: {', '.join(self.rule.config_keys)})"
        return (
            f"  {self.rule.id} {self.rule.name}\n"
            f"    at:      {self.resource.path} [{self.resource.type}]\n"
            f"    problem: {self.problem}\n"
            f"    change:  {change}"
        )


def _one(block: Any) -> dict:
    """A nested block as a dict, whether the binding emits it as an object or a list of one."""
    if isinstance(block, list):
        return block[0] if block and isinstance(block[0], dict) else {}
    return block if isinstance(block, dict) else {}


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


# --- rules ---------------------------------------------------------------------------------------


@rule(
    "LM-DATA-1", "protect-data-tables",
    on=("databricks_sql_table", "databricks_schema", "databricks_quality_monitor", "databricks_data_quality_monitor"),
    fix="pass protect_data=True to the table, schema or monitor construct", config_keys=("protect_data: true",),
)
def PROTECT_DATA(resource: ResourceView) -> RuleResult:
    """In a protect_data environment (aut, prod), tables holding inference logs, baselines, labels,
    the schema holding them and monitors (which own the metrics tables) have lifecycle prevent_destroy."""
    if resource.data_role not in PROTECTED_ROLES:
        return NOT_APPLICABLE
    if _is_true(_one(resource.config.get("lifecycle")).get("prevent_destroy")):
        return COMPLIANT
    return non_compliant(f"it holds {resource.data_role} data but has no lifecycle prevent_destroy")


def _tags(resource: ResourceView) -> dict[str, str]:
    return {str(t.get("key")): str(t.get("value")) for t in resource.config.get("tags") or [] if isinstance(t, dict)}


def _ignores(resource: ResourceView, attribute: str) -> bool:
    ignored = _one(resource.config.get("lifecycle")).get("ignore_changes")
    return ignored == "all" or (isinstance(ignored, list) and attribute in ignored)


@rule(
    "LM-SERVE-1", "endpoint-inference-table", on=("databricks_model_serving",),
    fix="use lakemon.ServingEndpoint (the deploy job sets the gateway) or set ai_gateway.inference_table_config "
    "(enabled, catalog, schema, prefix)",
)
def ENDPOINT_INFERENCE_TABLE(resource: ResourceView) -> RuleResult:
    """Every serving endpoint logs requests to an AI-gateway inference table: set by Terraform, or
    declared in the tag lakemon_inference_table for `lakemon deploy` to set (with ignore_changes on ai_gateway).

    Compliant when Terraform sets an enabled inference table itself, or when the endpoint hands it
    to `lakemon deploy`: the tag names catalog.schema.prefix (what the deploy job puts,
    lakemon.contract.gateway) and `ignore_changes` holds `ai_gateway` (else the next apply would remove
    the job's gateway; docs/deploy.md, "Endpoint without served entities")."""
    table = _one(_one(resource.config.get("ai_gateway")).get("inference_table_config"))
    missing = [k for k in ("catalog_name", "schema_name", "table_name_prefix") if not table.get(k)]
    if not missing and _is_true(table.get("enabled")):
        return COMPLIANT
    declared = _tags(resource).get(INFERENCE_TABLE_TAG)
    if declared is not None:
        if InferenceTableSpec.from_tag(declared) is None:
            return non_compliant(
                f"its tag {INFERENCE_TABLE_TAG}={declared!r} does not name <catalog>.<schema>.<table_name_prefix>, "
                "so the deploy job has no inference table to enable"
            )
        if not _ignores(resource, "ai_gateway"):
            return non_compliant(
                "the deploy job sets its AI gateway, but lifecycle.ignore_changes lacks ai_gateway: the next "
                "apply would try to remove the gateway (provider v1.99.0 fails on the absent block)"
            )
        return COMPLIANT
    legacy = (
        " (the legacy config.auto_capture_config does not count)"
        if _one(_one(resource.config.get("config")).get("auto_capture_config"))
        else ""
    )
    return non_compliant(
        "the endpoint does not log requests to an enabled AI-gateway inference table, and no "
        f"{INFERENCE_TABLE_TAG} tag asks the deploy job to set one" + legacy
    )


@rule("LM-SERVE-2", "endpoint-not-open-to-all-users", on=("databricks_permissions",),
      fix="grant CAN_QUERY to a named group instead")
def ENDPOINT_NOT_PUBLIC(resource: ResourceView) -> RuleResult:
    """No serving endpoint permission is granted to `users` (all workspace/account users)."""
    if "serving_endpoint_id" not in resource.config:
        return NOT_APPLICABLE
    for entry in resource.config.get("access_control") or []:
        if names_every_user(str(entry.get("group_name", ""))):
            return non_compliant(
                f"it grants {entry.get('permission_level')} to {entry.get('group_name')!r}, i.e. to every user"
            )
    return COMPLIANT


MONITOR_TYPES = ("databricks_quality_monitor", "databricks_data_quality_monitor")


def _monitor_settings(resource: ResourceView) -> dict[str, Any]:
    """The monitor's settings: top level (legacy databricks_quality_monitor) or under
    data_profiling_config (databricks_data_quality_monitor, where notifications are
    `notification_settings`)."""
    profiling = _one(resource.config.get("data_profiling_config"))
    if not profiling:
        return resource.config
    return {"schedule": profiling.get("schedule"), "notifications": profiling.get("notification_settings")}


@rule("LM-MON-1", "monitor-failure-notifications", on=MONITOR_TYPES,
      fix="give the monitor at least one notify_on_failure address", config_keys=("alerts.recipients",))
def MONITOR_NOTIFICATIONS(resource: ResourceView) -> RuleResult:
    """Every quality monitor e-mails someone when a refresh fails."""
    on_failure = _one(_one(_monitor_settings(resource).get("notifications")).get("on_failure"))
    if not on_failure.get("email_addresses"):
        return non_compliant("the monitor notifies nobody when a refresh fails")
    return COMPLIANT


@rule("LM-MON-2", "monitor-schedule", on=MONITOR_TYPES,
      fix="give the monitor a schedule_cron", config_keys=("monitoring.schedule.quartz_cron",))
def MONITOR_SCHEDULE(resource: ResourceView) -> RuleResult:
    """Every quality monitor refreshes on a schedule."""
    if not _one(_monitor_settings(resource).get("schedule")).get("quartz_cron_expression"):
        return non_compliant("the monitor has no refresh schedule, so its metrics go stale silently")
    return COMPLIANT


@rule(
    "LM-DATA-2", "managed-table-plain-create", on=("databricks_sql_table",),
    fix="leave data_source_format unset on MANAGED tables (lakemon.DeltaTable does); managed tables are Delta",
)
def MANAGED_TABLE_PLAIN_CREATE(resource: ResourceView) -> RuleResult:
    """No MANAGED table sets data_source_format: the provider then creates it with CREATE OR REPLACE,
    which empties a table that exists but is not in state (provider v1.99.0, catalog/resource_sql_table.go).

    With `table_type = MANAGED` and `data_source_format = DELTA`, buildTableCreateStatement emits
    `CREATE OR REPLACE TABLE`; `docs/resources/sql_table.md` says the field is "Not supported for
    MANAGED tables". Without it the statement is a plain `CREATE TABLE`, which fails on a table
    that exists instead of wiping it (docs/deploy.md, "Never wipe a table")."""
    if str(resource.config.get("table_type", "")).upper() != "MANAGED":
        return NOT_APPLICABLE
    if resource.config.get("data_source_format"):
        return non_compliant(
            f"it is MANAGED with data_source_format={resource.config['data_source_format']!r}, so the provider "
            "creates it with CREATE OR REPLACE TABLE and would empty an existing table of that name"
        )
    return COMPLIANT


@rule(
    "LM-ALERT-1", "alert-parent-path", on=("databricks_alert_v2",),
    fix="give the alert parent_path, the path of a folder the stack declares (lakemon.AlertFolder)",
)
def ALERT_PARENT_PATH(resource: ResourceView) -> RuleResult:
    """Every SQL alert names the workspace folder it lives in (parent_path).

    `parent_path` is Optional and not Computed in provider v1.99.0
    (internal/service/sql_tf/model.go), and can only be set on create: left unset, an API that
    answers with a default folder ends the create in "Provider produced inconsistent result"."""
    if not resource.config.get("parent_path"):
        return non_compliant("it has no parent_path, so the API picks the folder and the provider may reject its answer")
    return COMPLIANT


ALL_RULES = (
    PROTECT_DATA,
    MANAGED_TABLE_PLAIN_CREATE,
    ALERT_PARENT_PATH,
    ENDPOINT_INFERENCE_TABLE,
    ENDPOINT_NOT_PUBLIC,
    MONITOR_NOTIFICATIONS,
    MONITOR_SCHEDULE,
)
