"""Policy as cdktf Aspects, in the shape of cdk-nag: small rules answering compliant /
non-compliant / not-applicable, grouped in packs, suppressible with a reason, and every finding
of a synth reported together."""

from ..errors import PolicyViolation
from .aspects import (
    DataProtectionChecks,
    DeployFidelityChecks,
    Evaluation,
    LakemonPolicy,
    MonitoringChecks,
    PolicyAspect,
    PolicyLedger,
    ServingChecks,
)
from .rules import ALL_RULES, Compliance, Finding, ResourceView, Rule, RuleResult
from .suppress import suppress, suppressions

__all__ = [
    "ALL_RULES",
    "Compliance",
    "DataProtectionChecks",
    "DeployFidelityChecks",
    "Evaluation",
    "Finding",
    "LakemonPolicy",
    "MonitoringChecks",
    "PolicyAspect",
    "PolicyLedger",
    "PolicyViolation",
    "ResourceView",
    "Rule",
    "RuleResult",
    "ServingChecks",
    "suppress",
    "suppressions",
]
