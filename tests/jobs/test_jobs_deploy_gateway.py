"""`lakemon deploy` puts the declared AI gateway once the endpoint serves a
version, idempotently, keeping the gateway fields lakemon does not declare.

Databricks side: a `create_autospec(ServingEndpointsAPI, spec_set=True)` fake of databricks-sdk
0.162 (a wrong method or argument name fails here as on a workspace) whose `get` returns the
gateway the last `put_ai_gateway` set. Embedded side: the same function through the file-backed
LocalServingEndpoints."""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest.mock import create_autospec

import pytest
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayGuardrailParameters,
    AiGatewayGuardrails,
    AiGatewayInferenceTableConfig,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    AiGatewayUsageTrackingConfig,
    EndpointState,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    ServingEndpointDetailed,
    ServingEndpointsAPI,
)
from jobs_helpers import quiet

from lakemon.contract.gateway import GatewaySpec, InferenceTableSpec, RateLimitSpec
from lakemon_jobs.deploy import DeployError, deploy_databricks
from lakemon_jobs.gateway_apply import GatewayError, apply_ai_gateway
from lakemon_jobs.local.endpoints import LocalServingEndpoints
from lakemon_jobs.local.runtime import LocalRuntime

ENDPOINT = "alive-classifier-dev"
DECLARED_TABLE = AiGatewayInferenceTableConfig(
    catalog_name="mlops_dev", schema_name="marvel_characters", table_name_prefix="alive_classifier", enabled=True
)
PER_USER = AiGatewayRateLimit(
    calls=100, key=AiGatewayRateLimitKey.USER, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE
)


def _workspace(gateway: AiGatewayConfig | None = None, serving: str = "1", ready=EndpointStateReady.READY):
    """An autospec'd ServingEndpointsAPI with one endpoint whose gateway `put_ai_gateway` replaces."""
    api = create_autospec(ServingEndpointsAPI, instance=True, spec_set=True)
    state = {"gateway": gateway}

    def get(name):
        return ServingEndpointDetailed(
            name=name,
            ai_gateway=state["gateway"],
            config=SimpleNamespace(served_entities=[SimpleNamespace(entity_name="x", entity_version=serving)]),
            state=EndpointState(config_update=EndpointStateConfigUpdate.NOT_UPDATING, ready=ready),
        )

    def put(name, **fields):
        state["gateway"] = AiGatewayConfig(**fields)

    api.get.side_effect = get
    api.put_ai_gateway.side_effect = put
    api.update_config.return_value = SimpleNamespace(
        result=lambda timeout, callback: ServingEndpointDetailed(
            name=ENDPOINT, state=EndpointState(config_update=EndpointStateConfigUpdate.NOT_UPDATING, ready=ready)
        )
    )
    return api, state


def _deploy(ctx, api, version="2", progress=quiet):
    return deploy_databricks(ctx, version, 60, progress, client=SimpleNamespace(serving_endpoints=api))


def test_first_deploy_puts_the_declared_gateway_once_and_the_second_makes_no_call(ctx):
    api, state = _workspace(gateway=None)
    _deploy(ctx, api)
    api.put_ai_gateway.assert_called_once()
    call = api.put_ai_gateway.call_args
    assert call.args == (ENDPOINT,)
    assert call.kwargs["inference_table_config"] == DECLARED_TABLE
    assert call.kwargs["rate_limits"] == [PER_USER]
    # only after the new version is rolled out
    names = [c[0] for c in api.mock_calls]
    assert names.index("update_config") < names.index("put_ai_gateway")

    messages: list[str] = []
    _deploy(ctx, api, progress=messages.append)  # the endpoint now has it: no second put
    assert api.put_ai_gateway.call_count == 1
    assert any("already logs to mlops_dev.marvel_characters.alive_classifier_payload" in m for m in messages)


def test_existing_gateway_fields_lakemon_does_not_declare_are_kept(ctx):
    usage = AiGatewayUsageTrackingConfig(enabled=True)
    guardrails = AiGatewayGuardrails(input=AiGatewayGuardrailParameters(safety=True))
    existing = AiGatewayConfig(usage_tracking_config=usage, guardrails=guardrails, rate_limits=[PER_USER])
    api, state = _workspace(gateway=existing)
    _deploy(ctx, api)
    kwargs = api.put_ai_gateway.call_args.kwargs
    assert kwargs["usage_tracking_config"] == usage
    assert kwargs["guardrails"] == guardrails
    assert kwargs["fallback_config"] is None
    assert kwargs["rate_limits"] == [PER_USER]  # equal to the declared ones: kept as they are
    assert state["gateway"].usage_tracking_config == usage and state["gateway"].inference_table_config == DECLARED_TABLE


def test_rate_limits_other_than_declared_are_replaced_and_order_does_not_matter():
    endpoint = create_autospec(ServingEndpointsAPI, instance=True, spec_set=True)
    spec = GatewaySpec(
        InferenceTableSpec("mlops_dev", "marvel_characters", "alive_classifier"),
        (RateLimitSpec(100, "user"), RateLimitSpec(1000, "endpoint")),
    )
    per_endpoint = AiGatewayRateLimit(
        calls=1000, key=AiGatewayRateLimitKey.ENDPOINT, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE
    )
    endpoint.get.return_value = ServingEndpointDetailed(
        name=ENDPOINT, ai_gateway=AiGatewayConfig(inference_table_config=DECLARED_TABLE, rate_limits=[per_endpoint, PER_USER])
    )
    assert apply_ai_gateway(endpoint, ENDPOINT, spec, quiet) == 0  # same limits, other order
    endpoint.get.return_value = ServingEndpointDetailed(
        name=ENDPOINT, ai_gateway=AiGatewayConfig(inference_table_config=DECLARED_TABLE, rate_limits=[PER_USER])
    )
    assert apply_ai_gateway(endpoint, ENDPOINT, spec, quiet) == 1
    assert endpoint.put_ai_gateway.call_args.kwargs["rate_limits"] == [PER_USER, per_endpoint]


def test_a_disabled_table_is_enabled_and_a_moved_table_is_disabled_first(ctx):
    disabled = AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name="mlops_dev", schema_name="marvel_characters", table_name_prefix="alive_classifier", enabled=False
        ),
        rate_limits=[PER_USER],
    )
    api, _ = _workspace(gateway=disabled)
    _deploy(ctx, api)
    assert [c.kwargs["inference_table_config"] for c in api.put_ai_gateway.call_args_list] == [DECLARED_TABLE]

    old = AiGatewayInferenceTableConfig(catalog_name="old", schema_name="s", table_name_prefix="p", enabled=True)
    api, _ = _workspace(gateway=AiGatewayConfig(inference_table_config=old, rate_limits=[PER_USER]))
    _deploy(ctx, api)
    tables = [c.kwargs["inference_table_config"] for c in api.put_ai_gateway.call_args_list]
    assert tables == [
        AiGatewayInferenceTableConfig(catalog_name="old", schema_name="s", table_name_prefix="p", enabled=False),
        DECLARED_TABLE,
    ]


def test_a_refused_gateway_is_one_line_and_leaves_the_version_serving(ctx):
    api, _ = _workspace(gateway=None)
    api.put_ai_gateway.side_effect = PermissionDenied(
        "User does not have CREATE TABLE on schema mlops_dev.marvel_characters", error_code="PERMISSION_DENIED"
    )
    with pytest.raises(GatewayError) as err:
        _deploy(ctx, api)
    text = str(err.value)
    assert "\n" not in text and "PERMISSION_DENIED" in text
    assert "mlops_dev.marvel_characters.alive_classifier_payload" in text and "run `lakemon deploy` again" in text
    assert not isinstance(err.value, DeployError)  # a retrain must not move the alias back: it serves
    api.update_config.assert_called_once()


def test_an_endpoint_that_is_not_ready_gets_no_gateway(ctx):
    api, _ = _workspace(gateway=None, ready=EndpointStateReady.NOT_READY)
    with pytest.raises(DeployError, match="not READY"):
        _deploy(ctx, api)
    api.put_ai_gateway.assert_not_called()


def test_the_local_endpoint_runs_the_same_step_and_refuses_a_move_in_one_call(tmp_path):
    local = LocalServingEndpoints(LocalRuntime(tmp_path))
    spec = GatewaySpec(InferenceTableSpec("mlops_dev", "marvel_characters", "alive_classifier"), (RateLimitSpec(100),))
    with pytest.raises(ValueError, match="run `lakemon deploy` first"):
        local.payload_table(ENDPOINT)
    assert apply_ai_gateway(local, ENDPOINT, spec, quiet) == 1
    assert apply_ai_gateway(local, ENDPOINT, spec, quiet) == 0
    assert local.payload_table(ENDPOINT) == "mlops_dev.marvel_characters.alive_classifier_payload"
    stored = json.loads(local.gateway_path(ENDPOINT).read_text())
    assert stored["inference_table_config"] == {
        "catalog_name": "mlops_dev", "schema_name": "marvel_characters", "table_name_prefix": "alive_classifier",
        "enabled": True,
    }  # fmt: skip
    assert stored["rate_limits"] == [{"calls": 100, "key": "user", "renewal_period": "minute"}]

    moved = GatewaySpec(InferenceTableSpec("mlops_dev", "other_schema", "alive_classifier"), (RateLimitSpec(100),))
    with pytest.raises(Exception, match="must be disabled before"):  # the API's rule, mirrored locally
        local.put_ai_gateway(ENDPOINT, inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name="mlops_dev", schema_name="other_schema", table_name_prefix="alive_classifier", enabled=True))
    assert apply_ai_gateway(local, ENDPOINT, moved, quiet) == 2  # disable, then enable at the new place
    assert local.payload_table(ENDPOINT) == "mlops_dev.other_schema.alive_classifier_payload"


@pytest.mark.parametrize("failure", ["gateway", "rollout"])
def test_retrain_moves_the_alias_back_only_when_the_rollout_failed(ctx, monkeypatch, failure):
    """A refused gateway comes after the rollout: the promoted version serves, so its alias stays
    and retrain reports the error after rewriting the baseline. A failed rollout moves it back."""
    from mlflow import MlflowClient

    import lakemon_jobs.deploy as deploy
    from lakemon_jobs.retrain import RetrainError, promote_and_deploy

    def fail(*_args, **_kwargs):
        if failure == "gateway":
            raise GatewayError("putting the AI gateway of alive-classifier-dev failed (simulated)")
        raise DeployError("endpoint update failed (simulated)")

    monkeypatch.setattr(deploy, "deploy_champion", fail)
    client = create_autospec(MlflowClient, instance=True, spec_set=True)
    name = ctx.tables.registered_model
    if failure == "gateway":
        problem = promote_and_deploy(ctx, client, "run1", "3", "2", quiet)
        assert isinstance(problem, GatewayError)
        assert [c.args for c in client.set_registered_model_alias.call_args_list] == [(name, "champion", "3")]
    else:
        with pytest.raises(RetrainError, match="alias 'champion' is back on version 2"):
            promote_and_deploy(ctx, client, "run1", "3", "2", quiet)
        assert [c.args for c in client.set_registered_model_alias.call_args_list] == [
            (name, "champion", "3"), (name, "champion", "2"),
        ]  # fmt: skip


# --- rate limits lakemon does not own ----------------------------------------------------------------

DATA_SCIENTISTS = AiGatewayRateLimit(  # added in the UI: a per-group limit
    calls=1000, key=AiGatewayRateLimitKey.USER_GROUP, principal="data-scientists",
    renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
)
BATCH_SP = AiGatewayRateLimit(
    calls=50, key=AiGatewayRateLimitKey.SERVICE_PRINCIPAL, principal="8c5e-batch",
    renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
)


def test_ui_added_rate_limits_survive_a_deploy_that_changes_the_declared_ones(ctx):
    """The endpoint has the declared table, an old per-user limit and two limits added outside
    the stack; the deploy sets the declared per-user limit and sends the other two back."""
    old_user = AiGatewayRateLimit(calls=10, key=AiGatewayRateLimitKey.USER, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE)
    api, state = _workspace(gateway=AiGatewayConfig(inference_table_config=DECLARED_TABLE,
                                                    rate_limits=[DATA_SCIENTISTS, old_user, BATCH_SP]))
    messages: list[str] = []
    _deploy(ctx, api, progress=messages.append)
    api.put_ai_gateway.assert_called_once()
    assert api.put_ai_gateway.call_args.kwargs["rate_limits"] == [PER_USER, DATA_SCIENTISTS, BATCH_SP]
    assert state["gateway"].rate_limits == [PER_USER, DATA_SCIENTISTS, BATCH_SP]
    text = "\n".join(messages)
    assert "replacing alive-classifier-dev's rate limit(s) user: 10 calls/minute with the declared user: 100 calls/minute" in text
    assert "kept 2 rate limit(s) lakemon does not own: user_group data-scientists: 1000 calls/minute, " \
           "service_principal 8c5e-batch: 50 calls/minute" in text


def test_ui_added_rate_limits_alone_cause_no_put(ctx):
    """Declared table and per-user limit in place, plus a per-group limit: nothing to do."""
    api, state = _workspace(gateway=AiGatewayConfig(inference_table_config=DECLARED_TABLE,
                                                    rate_limits=[DATA_SCIENTISTS, PER_USER]))
    messages: list[str] = []
    _deploy(ctx, api, progress=messages.append)
    api.put_ai_gateway.assert_not_called()
    assert any("already logs to" in m and "user_group data-scientists: 1000 calls/minute" in m for m in messages)


def test_a_moved_table_keeps_the_ui_added_limits_in_both_calls(ctx):
    old = AiGatewayInferenceTableConfig(catalog_name="old", schema_name="s", table_name_prefix="p", enabled=True)
    api, state = _workspace(gateway=AiGatewayConfig(inference_table_config=old, rate_limits=[PER_USER, DATA_SCIENTISTS]))
    _deploy(ctx, api)
    assert [c.kwargs["rate_limits"] for c in api.put_ai_gateway.call_args_list] == [[PER_USER, DATA_SCIENTISTS]] * 2
    assert state["gateway"].rate_limits == [PER_USER, DATA_SCIENTISTS]


@pytest.mark.parametrize(("limit", "owned"), [
    (PER_USER, True),
    (AiGatewayRateLimit(calls=5, key=AiGatewayRateLimitKey.ENDPOINT, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE), True),
    (DATA_SCIENTISTS, False),
    (BATCH_SP, False),
    (AiGatewayRateLimit(calls=5, key=AiGatewayRateLimitKey.USER, principal="someone@example.com",
                        renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE), False),
    (AiGatewayRateLimit(tokens=5000, key=AiGatewayRateLimitKey.USER, renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE), False),
])
def test_which_rate_limits_lakemon_owns(limit, owned):
    from lakemon_jobs.gateway_apply import owned_rate_limit

    assert owned_rate_limit(limit) is owned
