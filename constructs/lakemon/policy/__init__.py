"""Policy as cdktf Aspects, in the spirit of cdk-nag: small rules, grouped, suppressible with a reason."""

from .aspects import (
    DataProtectionChecks,
    LakemonPolicy,
    MonitoringChecks,
    PolicyAspect,
    PolicyViolation,
    ServingChecks,
)
from .rules import ALL_RULES, Finding, ResourceView, Rule
from .suppress import suppress, suppressions

__all__ = [
    "ALL_RULES",
    "DataProtectionChecks",
    "Finding",
    "LakemonPolicy",
    "MonitoringChecks",
    "PolicyAspect",
    "PolicyViolation",
    "ResourceView",
    "Rule",
    "ServingChecks",
    "suppress",
    "suppressions",
]
