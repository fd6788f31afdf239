"""ModelCatalog, SchemaHome and ServingEndpoint: what they declare and what they refuse."""

from __future__ import annotations

from pathlib import Path

import cdktf
import pytest

from lakemon import LakemonConstructError, ModelCatalog, RateLimitSpec, ServingEndpoint
from lakemon.contract.tables import ModelTables
from lakemon.serving import GatewaySpec, InferenceTableSpec

REPO = Path(__file__).resolve().parents[2]


def test_model_catalog_declares_schema_volume_model_and_grants(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    catalog = ModelCatalog.for_model(stack, "catalog-alive", env=dev_env, model=dev_env.model())
    synthesized = cdktf.Testing.synth(stack)
    assert cdktf.Testing.to_have_resource_with_properties(
        synthesized, "databricks_schema", {"catalog_name": "mlops_dev", "name": "marvel_characters"}
    )
    assert cdktf.Testing.to_have_resource_with_properties(
        synthesized,
        "databricks_volume",
        {"name": "artifacts", "volume_type": "MANAGED", "schema_name": "marvel_characters"},
    )
    assert cdktf.Testing.to_have_resource_with_properties(
        synthesized, "databricks_registered_model", {"name": "alive_classifier", "catalog_name": "mlops_dev"}
    )
    assert catalog.registered_model_name == "mlops_dev.marvel_characters.alive_classifier"
    grants = {
        g.get("schema") or g.get("volume") or g.get("model"): g["grant"]
        for g in resources_of(stack, "databricks_grants")
    }
    assert {"principal": "ml-platform-readers", "privileges": ["USE_SCHEMA", "SELECT"]} in grants[
        "mlops_dev.marvel_characters"
    ]
    assert {"principal": "ml-platform-admins", "privileges": ["ALL_PRIVILEGES"]} in grants[
        catalog.registered_model_name
    ]
    assert {"principal": "ml-platform-readers", "privileges": ["EXECUTE"]} in grants[
        catalog.registered_model_name
    ]
    assert "mlops_dev.marvel_characters.artifacts" in grants
    # dev does not protect data
    assert "lifecycle" not in resources_of(stack, "databricks_schema")[0]


def test_two_models_share_one_schema_and_volume_when_wired_explicitly(make_stack, dev_env, resources_of):
    """Low-level constructs never look up the stack: the shared home is passed in."""
    stack = make_stack(dev_env)
    model = dev_env.model()
    ModelCatalog.for_model(stack, "a", env=dev_env, model=model, home=stack.home)
    other = model.model_copy(update={"name": "second_model"})
    ModelCatalog.for_model(stack, "b", env=dev_env, model=other, home=stack.home)
    assert len(resources_of(stack, "databricks_schema")) == 1
    assert len(resources_of(stack, "databricks_volume")) == 1
    assert len(resources_of(stack, "databricks_registered_model")) == 2


def test_prod_schema_is_protected(make_stack, prod_env, resources_of):
    stack = make_stack(prod_env)
    ModelCatalog.for_model(stack, "catalog", env=prod_env, model=prod_env.model())
    assert resources_of(stack, "databricks_schema")[0]["lifecycle"] == {"prevent_destroy": True}


def _endpoint(stack, **overrides):
    props = dict(
        name="alive-classifier-dev",
        inference_catalog="mlops_dev",
        inference_schema="marvel_characters",
        inference_table_prefix="alive_classifier",
        workload_size="Small",
        scale_to_zero=True,
        rate_limits=[RateLimitSpec(calls=100)],
        tags={"team": "ml"},
        query_principals=["consumers"],
        manage_principals=["admins", "0f2b7c1e-1111-2222-3333-444455556666"],
    )
    props.update(overrides)
    return ServingEndpoint(stack, "endpoint", **props)


def test_endpoint_is_created_without_gateway_and_declares_it_for_the_deploy_job(
    make_stack, dev_env, resources_of
):
    stack = make_stack(dev_env)
    endpoint = _endpoint(stack)
    (serving,) = resources_of(stack, "databricks_model_serving")
    assert serving["name"] == "alive-classifier-dev"
    # Neither served entities nor an AI gateway at creation; the deploy job puts
    # both once a version exists, and Terraform ignores both afterwards.
    assert "config" not in serving and "ai_gateway" not in serving
    assert serving["lifecycle"] == {"ignore_changes": ["config", "ai_gateway"]}
    tags = {t["key"]: t["value"] for t in serving["tags"]}
    assert tags == {
        "team": "ml",
        "lakemon_inference_table": "mlops_dev.marvel_characters.alive_classifier",
        "lakemon_workload_size": "Small",
        "lakemon_workload_type": "CPU",
        "lakemon_scale_to_zero": "true",
    }
    assert endpoint.gateway == GatewaySpec(
        InferenceTableSpec("mlops_dev", "marvel_characters", "alive_classifier", enabled=True),
        (RateLimitSpec(calls=100, key="user", renewal_period="minute"),),
    )
    assert endpoint.inference_table == "mlops_dev.marvel_characters.alive_classifier_payload"


def test_monitored_model_endpoint_declares_what_the_deploy_job_puts(make_stack, dev_env, fake_wheel):
    from lakemon import MonitoredModel

    stack = make_stack(dev_env)
    model = dev_env.model()
    monitored = MonitoredModel(stack, "alive", env=dev_env, model=model, wheel=fake_wheel)
    # The deploy job builds its declaration with the same call (lakemon_jobs.deploy).
    declared = GatewaySpec.for_model(dev_env, model)
    assert monitored.endpoint.gateway == declared
    assert declared.inference_table.payload_table == ModelTables(dev_env, model).payload
    assert declared.rate_limits == tuple(
        RateLimitSpec(r.calls, r.key, r.renewal_period) for r in dev_env.serving.rate_limits
    )


def test_endpoint_permissions_query_and_manage(make_stack, dev_env, resources_of):
    stack = make_stack(dev_env)
    _endpoint(stack)
    (permissions,) = resources_of(stack, "databricks_permissions")
    assert permissions["serving_endpoint_id"].startswith("${databricks_model_serving.")
    assert permissions["access_control"] == [
        {"group_name": "consumers", "permission_level": "CAN_QUERY"},
        {"group_name": "admins", "permission_level": "CAN_MANAGE"},
        {"service_principal_name": "0f2b7c1e-1111-2222-3333-444455556666", "permission_level": "CAN_MANAGE"},
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "bad name!"}, "not a valid serving endpoint name"),
        ({"workload_size": "Huge"}, "workload_size 'Huge' is not allowed; allowed: Small, Medium, Large"),
        ({"workload_type": "TPU"}, "workload_type 'TPU' is not allowed"),
        ({"query_principals": ["users"]}, "would open the endpoint to every user"),
        ({"manage_principals": ["All Users"]}, "would open the endpoint to every user"),
        ({"rate_limits": [RateLimitSpec(calls=0)]}, "rate limit"),
        ({"inference_schema": "Marvel"}, "not a valid Unity Catalog identifier"),
    ],
)
def test_endpoint_refuses_bad_props(make_stack, dev_env, overrides, message):
    stack = make_stack(dev_env)
    with pytest.raises(LakemonConstructError) as error:
        _endpoint(stack, **overrides)
    assert message in str(error.value)
    assert "dev/endpoint" in str(error.value)


def test_endpoint_allows_what_the_env_file_allows(make_stack, dev_env):
    """One definition of the serving values (lakemon.config.model): the env file's types are built
    from the tuples the construct checks, and the construct takes every value they hold."""
    import itertools
    import typing

    from lakemon.config.model import (
        RATE_LIMIT_KEYS,
        RENEWAL_PERIODS,
        WORKLOAD_SIZES,
        WORKLOAD_TYPES,
        RateLimit,
        Serving,
        WorkloadSize,
    )

    assert typing.get_args(Serving.model_fields["workload_type"].annotation) == WORKLOAD_TYPES
    assert tuple(WorkloadSize) == WORKLOAD_SIZES
    assert typing.get_args(RateLimit.model_fields["key"].annotation) == RATE_LIMIT_KEYS
    assert typing.get_args(RateLimit.model_fields["renewal_period"].annotation) == RENEWAL_PERIODS
    sizes, keys = itertools.cycle(WORKLOAD_SIZES), itertools.cycle(RATE_LIMIT_KEYS)
    for workload_type in WORKLOAD_TYPES:
        limit = RateLimitSpec(calls=10, key=next(keys), renewal_period=RENEWAL_PERIODS[0])
        endpoint = _endpoint(make_stack(dev_env), workload_size=next(sizes), workload_type=workload_type,
                             rate_limits=[limit])
        assert endpoint.gateway.rate_limits == (limit,)


def test_an_env_file_loaded_twice_still_shares_one_schema(make_stack, dev_env, resources_of):
    """MonitoredModel compared the stack's env by identity, so a second
    load_environment of the same file declared a second schema and volume."""
    from lakemon import MonitoredModel, load_environment

    stack = make_stack(dev_env)
    again = load_environment(REPO / "envs" / "dev.yml")
    assert again is not dev_env and again == dev_env
    MonitoredModel(stack, "alive", env=again, model=again.model())
    assert len(resources_of(stack, "databricks_schema")) == 1
    assert len(resources_of(stack, "databricks_volume")) == 1
