"""`lakemon deploy` applies the declared serving compute (workload size, workload type, scale to
zero) even when the champion version is already served: Terraform ignores the endpoint's `config`,
so only this job can change it.

The workspace is `create_autospec(ServingEndpointsAPI, spec_set=True)` of databricks-sdk 0.162
whose `get` answers with the SDK's own types (`ServingEndpointDetailed`,
`EndpointCoreConfigOutput`, `ServedEntityOutput`) and whose `update_config` changes what `get`
returns, so a second deploy sees the first one's result."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    EndpointCoreConfigOutput,
    EndpointState,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServedEntityInput,
    ServedEntityOutput,
    ServingEndpointDetailed,
    ServingEndpointsAPI,
    ServingModelWorkloadType,
)
from jobs_helpers import REPO

from lakemon_jobs.context import JobContext
from lakemon_jobs.deploy import ServingConfig, config_changes, deploy_databricks

VERSION = "3"


@pytest.fixture(scope="module")
def prod_ctx(tmp_path_factory) -> JobContext:
    """prod declares Medium, CPU, scale to zero off (envs/prod.yml)."""
    return JobContext.load(REPO / "envs" / "prod.yml", home=tmp_path_factory.mktemp("prod_home"))


def _workspace(ctx: JobContext, size: str, scale_to_zero: bool, workload_type=ServingModelWorkloadType.CPU):
    """One endpoint serving the champion at VERSION with the given compute; `update_config`
    replaces the served entities with what it was sent."""
    api = create_autospec(ServingEndpointsAPI, instance=True, spec_set=True)
    name = ctx.tables.registered_model
    t = ctx.env.catalog, ctx.env.schema_
    gateway = AiGatewayConfig(  # already as declared: this test counts config updates only
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=t[0], schema_name=t[1], table_name_prefix=ctx.model.name, enabled=True),
        rate_limits=[AiGatewayRateLimit(calls=r.calls, key=AiGatewayRateLimitKey(r.key),
                                        renewal_period=AiGatewayRateLimitRenewalPeriod(r.renewal_period))
                     for r in ctx.env.serving.rate_limits],
    )
    state = {"entities": [ServedEntityOutput(
        name=f"{ctx.model.name}-{VERSION}", entity_name=name, entity_version=VERSION,
        workload_size=size, workload_type=workload_type, scale_to_zero_enabled=scale_to_zero)]}
    ready = EndpointState(config_update=EndpointStateConfigUpdate.NOT_UPDATING, ready=EndpointStateReady.READY)

    def get(endpoint):
        return ServingEndpointDetailed(name=endpoint, ai_gateway=gateway, state=ready,
                                       config=EndpointCoreConfigOutput(served_entities=state["entities"]))

    def update_config(name, *, served_entities, traffic_config=None, **_):
        state["entities"] = [ServedEntityOutput(
            name=e.name, entity_name=e.entity_name, entity_version=e.entity_version, workload_size=e.workload_size,
            workload_type=e.workload_type, scale_to_zero_enabled=e.scale_to_zero_enabled) for e in served_entities]
        return SimpleNamespace(result=lambda timeout, callback: get(name))

    api.get.side_effect = get
    api.update_config.side_effect = update_config
    return api


def _deploy(ctx, api) -> list[str]:
    lines: list[str] = []
    deploy_databricks(ctx, VERSION, 60, lines.append, client=SimpleNamespace(serving_endpoints=api))
    return lines


def test_a_declared_size_change_at_the_same_version_is_applied_once(prod_ctx):
    api = _workspace(prod_ctx, size="Small", scale_to_zero=True)
    lines = _deploy(prod_ctx, api)
    api.update_config.assert_called_once()
    (entity,) = api.update_config.call_args.kwargs["served_entities"]
    assert isinstance(entity, ServedEntityInput)
    assert (entity.entity_version, entity.workload_size, entity.workload_type, entity.scale_to_zero_enabled) == (
        VERSION, "Medium", ServingModelWorkloadType.CPU, False)
    text = "\n".join(lines)
    assert (f"serves {prod_ctx.tables.registered_model} version {VERSION} as Small CPU, scale to zero on, "
            "declared Medium CPU, scale to zero off: updating its config "
            "(workload_size Small -> Medium; scale_to_zero on -> off)") in text
    # the next deploy finds the endpoint as declared: no second update
    lines = _deploy(prod_ctx, api)
    api.update_config.assert_called_once()
    assert any("already serves" in line and "as declared (Medium CPU, scale to zero off)" in line for line in lines)


def test_an_unchanged_config_makes_no_update(prod_ctx):
    api = _workspace(prod_ctx, size="Medium", scale_to_zero=False)
    _deploy(prod_ctx, api)
    api.update_config.assert_not_called()


@pytest.mark.parametrize(("served", "expected"), [
    (ServingConfig("Medium", "GPU_SMALL", False), ["workload_type GPU_SMALL -> CPU"]),
    (ServingConfig("Medium", "CPU", None), ["scale_to_zero unset -> off"]),
    (ServingConfig(None, None, False), ["workload_size unset -> Medium", "workload_type unset -> CPU"]),
    (ServingConfig("Medium", "CPU", False), []),
])
def test_each_field_is_compared(prod_ctx, served, expected):
    assert config_changes(ServingConfig.declared(prod_ctx.env.serving), served) == expected


def test_a_workload_type_change_alone_is_applied(prod_ctx):
    api = _workspace(prod_ctx, size="Medium", scale_to_zero=False, workload_type=ServingModelWorkloadType.GPU_SMALL)
    lines = _deploy(prod_ctx, api)
    api.update_config.assert_called_once()
    assert "workload_type GPU_SMALL -> CPU" in "\n".join(lines)
