"""Aspects that run the rules on every resource at synth and stop the synth with one report.

Grouped like cdk-nag packs: data protection (only where the env protects data), serving,
monitoring. `LakemonPolicy.apply(stack, protect_data=...)` adds the packs a stack needs.

Why findings are collected and not raised one by one: a user who fixes one finding and synths
again only to meet the next wastes a round trip per finding. Every pack records its results in
one ledger per app (`PolicyLedger`); when the last pack has visited the last construct of its
scope, the ledger raises a single `PolicyViolation` listing every unsuppressed finding of the
synth, those of the app's other policy-checked stacks included (they are evaluated right then,
with the same rules, so a failing `dev` does not hide what would fail in `prod`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import jsii
from cdktf import Aspects, IAspect, TerraformResource, TerraformStack

from constructs import IConstruct

from .._marks import data_role
from ..errors import PolicyViolation
from .rules import (
    ALERT_PARENT_PATH,
    ENDPOINT_INFERENCE_TABLE,
    ENDPOINT_NOT_PUBLIC,
    MANAGED_TABLE_PLAIN_CREATE,
    MONITOR_NOTIFICATIONS,
    MONITOR_SCHEDULE,
    PROTECT_DATA,
    Compliance,
    Finding,
    ResourceView,
    Rule,
    RuleResult,
)
from .suppress import suppressions


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


@dataclass
class Evaluation:
    """Every rule result on one resource (compliant and not-applicable ones too)."""

    rule: Rule
    resource: ResourceView
    result: RuleResult
    suppressed_reason: str | None = None


def findings_of(evaluations: Sequence[Evaluation]) -> list[Finding]:
    """The non-compliant results among `evaluations`, suppressed ones with their reason."""
    return [
        Finding(rule=e.rule, resource=e.resource, problem=e.result.problem, suppressed_reason=e.suppressed_reason)
        for e in evaluations
        if e.result.compliance is Compliance.NON_COMPLIANT
    ]


@dataclass
class PolicyLedger:
    """All results of one app's synth, across packs and stacks; raises one report at the end."""

    evaluations: list[Evaluation] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return findings_of(self.evaluations)

    def raise_if_blocking(self) -> None:
        blocking = [f for f in self.findings if f.blocking]
        if blocking:
            raise PolicyViolation(blocking)


_LEDGERS: dict[str, PolicyLedger] = {}
"""jsii object reference of an app -> its ledger. Keyed by the reference because jsii may hand
back a new Python proxy for the same app object (`node.root` of a `Testing.app()` does)."""


def ledger_of(node: IConstruct) -> PolicyLedger:
    """The ledger of the app (construct tree root) that holds `node`."""
    root = node.node.root
    ref = getattr(getattr(root, "__jsii_ref__", None), "ref", None) or str(id(root))
    return _LEDGERS.setdefault(ref, PolicyLedger())


@jsii.implements(IAspect)
class PolicyAspect:
    """A rule pack: runs `rules` on every Terraform resource under the scope it is added to and
    records each result (compliant, non-compliant, not applicable) in the app's ledger. After
    the last construct of its scope, the last pack of that scope raises the ledger's report.
    `evaluations` keeps this pack's own results, suppressed findings with their reason."""

    def __init__(self, name: str, rules: Sequence[Rule]):
        self.name = name
        self.rules = tuple(rules)
        self.evaluations: list[Evaluation] = []
        self._scope: IConstruct | None = None
        self._last_path: str | None = None
        self._done: set[str] = set()

    @property
    def findings(self) -> list[Finding]:
        return findings_of(self.evaluations)

    def visit(self, node: IConstruct) -> None:
        if self._scope is None:
            # invokeAspects walks the tree depth-first in `findAll` order, starting at the scope
            # the aspect was added to: the last node of that order ends this pack's pass.
            self._scope = node
            self._last_path = node.node.find_all()[-1].node.path
        self.evaluate(node)
        if node.node.path == self._last_path and self._is_last_pack_of_scope():
            ledger = ledger_of(node)
            if any(f.blocking for f in ledger.findings):
                _evaluate_other_stacks(node)
            ledger.raise_if_blocking()

    def evaluate(self, node: IConstruct) -> None:
        """Run the pack's rules on `node` (once per construct path) and record the results."""
        path = node.node.path
        if not isinstance(node, TerraformResource) or path in self._done:
            return
        self._done.add(path)
        rules = [r for r in self.rules if node.terraform_resource_type in r.resource_types]
        if not rules:
            return
        view = resource_view(node)
        accepted = suppressions(node)
        ledger = ledger_of(node)
        for rule in rules:
            result = rule.check(view)
            reason = accepted.get(rule.id) if result.compliance is Compliance.NON_COMPLIANT else None
            evaluation = Evaluation(rule=rule, resource=view, result=result, suppressed_reason=reason)
            self.evaluations.append(evaluation)
            ledger.evaluations.append(evaluation)
        recorded = [
            {"rule": e.rule.id, "reason": e.suppressed_reason}
            for e in ledger.evaluations
            if e.resource.path == path and e.suppressed_reason
        ]
        if recorded:
            node.add_override("//.lakemon_suppressions", recorded)

    def _is_last_pack_of_scope(self) -> bool:
        packs = [a for a in Aspects.of(self._scope).all if isinstance(a, PolicyAspect)]
        return bool(packs) and packs[-1] is self


def _evaluate_other_stacks(node: IConstruct) -> None:
    """Evaluate the app's other policy-checked stacks now, with their own packs, so the report
    covers the whole synth (the synth stops here, so they would never be visited)."""
    here = TerraformStack.of(node)
    for stack in node.node.root.node.find_all():
        if not isinstance(stack, TerraformStack) or stack is here:
            continue
        packs = [a for a in Aspects.of(stack).all if isinstance(a, PolicyAspect)]
        if not packs:
            continue
        for construct in stack.node.find_all():
            for pack in packs:
                pack.evaluate(construct)


class DataProtectionChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("data-protection", [PROTECT_DATA])


class ServingChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("serving", [ENDPOINT_INFERENCE_TABLE, ENDPOINT_NOT_PUBLIC])


class MonitoringChecks(PolicyAspect):
    def __init__(self) -> None:
        super().__init__("monitoring", [MONITOR_NOTIFICATIONS, MONITOR_SCHEDULE])


class DeployFidelityChecks(PolicyAspect):
    """Resources a valid plan would still create wrongly on a real workspace (docs/deploy.md,
    "Deploy fidelity")."""

    def __init__(self) -> None:
        super().__init__("deploy-fidelity", [MANAGED_TABLE_PLAIN_CREATE, ALERT_PARENT_PATH])


class LakemonPolicy:
    """The lakemon rule packs for one stack."""

    @staticmethod
    def apply(scope: IConstruct, *, protect_data: bool) -> list[PolicyAspect]:
        aspects: list[PolicyAspect] = [DeployFidelityChecks(), ServingChecks(), MonitoringChecks()]
        if protect_data:
            aspects.insert(0, DataProtectionChecks())
        for aspect in aspects:
            Aspects.of(scope).add(aspect)
        return aspects
