"""lakemon: Databricks model serving and monitoring as code (CDK for Terraform).

Public API (see docs/constructs.md)::

    from cdktf import App
    from lakemon import LakemonStack, MonitoredModel, load_environment

    app = App(); env = load_environment("envs/dev.yml")
    stack = LakemonStack(app, env)
    MonitoredModel(stack, "alive", env=env, model=env.model())
    app.synth()

Names are loaded lazily: the job scripts import `lakemon.config` and `lakemon.contract.tables` without
paying for the CDK for Terraform bindings (about 2 s to import).

Importing lakemon leaves `sys.excepthook` alone: the exception hook that prints lakemon's own
errors (config, construct, policy, wheel) as one clear message without a traceback, also when
they come back from the jsii kernel, is installed by `LakemonStack` or by the app itself
(`lakemon.errors.install_excepthook()`, as the starter's app.py does). Importing lakemon leaves
the environment alone too: an app that wants cdktf on the project's Node, without checkpoint
calls, says so with `lakemon.tooling.use_project_node()` before it imports cdktf.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    # config
    "ConfigError": "lakemon.config",
    "Environment": "lakemon.config",
    "Model": "lakemon.config",
    "load_environment": "lakemon.config",
    "load_environments": "lakemon.config",
    "ModelTables": "lakemon.contract.tables",
    # stack and composition
    "LakemonStack": "lakemon.stack",
    "MonitoredModel": "lakemon.monitored_model",
    "LakemonConstructError": "lakemon.errors",
    # constructs
    "SchemaHome": "lakemon.catalog",
    "ModelCatalog": "lakemon.catalog",
    "ServingEndpoint": "lakemon.serving",
    "RateLimitSpec": "lakemon.serving",
    "DeltaTable": "lakemon.monitoring",
    "InferenceLogTable": "lakemon.monitoring",
    "BaselineTable": "lakemon.monitoring",
    "LabelsTable": "lakemon.monitoring",
    "VerdictsTable": "lakemon.monitoring",
    "QualityMonitor": "lakemon.monitoring",
    "CustomMetric": "lakemon.monitoring",
    "InferenceLogAnalysis": "lakemon.contract.monitor_analysis",
    "TimeSeriesAnalysis": "lakemon.contract.monitor_analysis",
    "SnapshotAnalysis": "lakemon.contract.monitor_analysis",
    "AlertDestination": "lakemon.alerting",
    "AlertFolder": "lakemon.alerting",
    "DriftAlert": "lakemon.alerting",
    "QualityAlert": "lakemon.alerting",
    "JobArtifacts": "lakemon.jobs",
    "WheelJob": "lakemon.jobs",
    "WheelTask": "lakemon.jobs",
    "TrainingPipeline": "lakemon.jobs",
    "MonitoringPipeline": "lakemon.jobs",
    # policy
    "LakemonPolicy": "lakemon.policy",
    "DataProtectionChecks": "lakemon.policy",
    "DeployFidelityChecks": "lakemon.policy",
    "ServingChecks": "lakemon.policy",
    "MonitoringChecks": "lakemon.policy",
    "PolicyAspect": "lakemon.policy",
    "PolicyViolation": "lakemon.errors",
    "suppress": "lakemon.policy",
}

__all__ = [
    "__version__",
    "ConfigError",
    "Environment",
    "Model",
    "load_environment",
    "load_environments",
    "ModelTables",
    "LakemonStack",
    "MonitoredModel",
    "LakemonConstructError",
    "SchemaHome",
    "ModelCatalog",
    "ServingEndpoint",
    "RateLimitSpec",
    "DeltaTable",
    "InferenceLogTable",
    "BaselineTable",
    "LabelsTable",
    "VerdictsTable",
    "QualityMonitor",
    "CustomMetric",
    "InferenceLogAnalysis",
    "TimeSeriesAnalysis",
    "SnapshotAnalysis",
    "AlertDestination",
    "AlertFolder",
    "DriftAlert",
    "QualityAlert",
    "JobArtifacts",
    "WheelJob",
    "WheelTask",
    "TrainingPipeline",
    "MonitoringPipeline",
    "LakemonPolicy",
    "DataProtectionChecks",
    "DeployFidelityChecks",
    "ServingChecks",
    "MonitoringChecks",
    "PolicyAspect",
    "PolicyViolation",
    "suppress",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lakemon' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    if isinstance(value, type) and type(value).__name__ in ("JSIIMeta", "JSIIAbstractClass"):
        from ._signatures import init_signature

        init_signature(value)  # help()/inspect show the constructor, not jsii's (*args, **kwargs)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .alerting import AlertDestination, AlertFolder, DriftAlert, QualityAlert
    from .catalog import ModelCatalog, SchemaHome
    from .config import ConfigError, Environment, Model, load_environment, load_environments
    from .contract.monitor_analysis import InferenceLogAnalysis, SnapshotAnalysis, TimeSeriesAnalysis
    from .contract.tables import ModelTables
    from .errors import LakemonConstructError
    from .jobs import JobArtifacts, MonitoringPipeline, TrainingPipeline, WheelJob, WheelTask
    from .monitored_model import MonitoredModel
    from .monitoring import (
        BaselineTable,
        CustomMetric,
        DeltaTable,
        InferenceLogTable,
        LabelsTable,
        QualityMonitor,
        VerdictsTable,
    )
    from .policy import (
        DataProtectionChecks,
        DeployFidelityChecks,
        LakemonPolicy,
        MonitoringChecks,
        PolicyAspect,
        PolicyViolation,
        ServingChecks,
        suppress,
    )
    from .serving import RateLimitSpec, ServingEndpoint
    from .stack import LakemonStack
