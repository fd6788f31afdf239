"""Aspects that run the rules on every resource at synth and fail synth on a violation.

Grouped like cdk-nag packs: data protection (only where the env protects data), serving,
monitoring. `LakemonPolicy.apply(stack, protect_data=...)` adds the groups a stack needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from cdktf import Aspects, IAspect, TerraformResource

from constructs import IConstruct

from .._marks import data_role
from .rules import (
    ENDPOINT_INFERENCE_TABLE,
    ENDPOINT_NOT_PUBLIC,
    MONITOR_NOTIFICATIONS,
    MONITOR_SCHEDULE,
    PROTECT_DATA,
    Finding,
    ResourceView,
    Rule,
)
from .suppress import suppressions


class PolicyViolation(Exception):
    """A resource breaks a policy rule; the message names the rule, the resource and the fix."""

    def __init__(self, finding: Finding):
        self.finding = finding
        super().__init__(finding.message())


def resource_view(resource: TerraformResource) -> ResourceView:
    rendered = resource.to_terraform().get("resource", {})
    config = rendered.get(resource.terraform_resource_type, {})
    body = next(iter(config.values()), {}) if isinstance(config, dict) else {}
    return ResourceView(
        type=resource.terraform_resource_type,
        path=resource.node.path,
        config=body,
        data_role=data_role(resource),
    )


@jsii.implements(IAspect)
class PolicyAspect:
    """Runs `rules` on every Terraform resource it visits; raises PolicyViolation on the first
    unsuppressed finding. `findings` keeps every finding (suppressed ones with their reason)."""

    def __init__(self, name: str, rules: Sequence[Rule]):
        self.name = name
        self.rules = tuple(rules)
        self.findings: list[Finding] = []

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        rules = [r for r in self.rules if node.terraform_resource_type in r.resource_types]
        if not rules:
            return
        view = resource_view(node)
        accepted = suppressions(node)
        for rule in rules:
            problem = rule.check(view)
            if problem is None:
                continue
            reason = accepted.get(rule.id)
            finding = Finding(rule=rule, resource=view, problem=problem, suppressed_reason=reason)
            self.findings.append(finding)
            if reason is None:
                raise PolicyViolation(finding)
            recorded = [
                {"rule": f.rule.id, "reason": f.suppressed_reason}
                for f in self.findings
                if f.resource.path == view.path and f.suppressed_reason
            ]
            node.add_override("//.lakemon_suppressions", recorded)


class DataProtectionChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("data-protection", [PROTECT_DATA])


class ServingChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("serving", [ENDPOINT_INFERENCE_TABLE, ENDPOINT_NOT_PUBLIC])


class MonitoringChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("monitoring", [MONITOR_NOTIFICATIONS, MONITOR_SCHEDULE])


class LakemonPolicy:
    """The lakemon rule packs for one stack."""

    @staticmethod
    def apply(scope: IConstruct, *, protect_data: bool) -> list[PolicyAspect]:
        aspects: list[PolicyAspect] = [ServingChecks(), MonitoringChecks()]
        if protect_data:
            aspects.insert(0, DataProtectionChecks())
        for aspect in aspects:
            Aspects.of(scope).add(aspect)
        return aspects
