"""`ServingEndpoint`: a model serving endpoint that logs every request to an inference table.

Design decisions (see docs/constructs.md and docs/deploy.md):
- No `config` block (served entities, traffic). The endpoint is creatable before any model
  version exists, and the deploy job, not Terraform, rolls out versions. `lifecycle.ignore_changes
  = ["config"]` keeps Terraform from fighting the job over what it rolled out: this also removes the
  known perpetual diffs on workload_size/workload_type/scale_to_zero/traffic_config.
- No `ai_gateway` block either: no cited source says the API accepts an AI-gateway inference
  table on an endpoint without served entities, so `lakemon deploy` puts the gateway (inference
  table + rate limits, `serving_endpoints.put_ai_gateway`) once the endpoint serves a version.
  `ignore_changes` holds `ai_gateway` too: without it the next apply would plan to remove the
  job's gateway, and provider v1.99.0's update dereferences the absent block
  (serving/resource_model_serving.go, `updateAiGateway(ctx, w, e.Name, *e.AiGateway, d)`).
- Request logging through the AI gateway's `inference_table_config`, not the legacy
  `config.auto_capture_config` (being retired; immutable; cannot be re-enabled once disabled).
  The declared table is recorded in the tag `lakemon_inference_table` (policy LM-SERVE-1).
- The serving size the deploy job applies (workload size, type, scale to zero) is recorded in
  the endpoint's tags, so it is reviewable in the synthesized plan and visible in billing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_databricks.model_serving import ModelServing, ModelServingTags
from cdktf_cdktf_provider_databricks.permissions import Permissions

from constructs import Construct

from ..access import access_control
from ..config.model import (
    RATE_LIMIT_KEYS,
    RENEWAL_PERIODS,
    WORKLOAD_SIZES,
    WORKLOAD_TYPES,
    Environment,
    Model,
)
from ..config.validators import check_endpoint_name, check_identifier
from ..contract.gateway import (
    INFERENCE_TABLE_TAG,
    GatewaySpec,
    InferenceTableSpec,
    RateLimitSpec,
    rate_limits_of,
)
from ..contract.principals import opens_to_everyone
from ..contract.tables import ModelTables
from ..errors import LakemonConstructError
from ..model_props import NO_PROPS, ForModel


class ServingEndpointProps(TypedDict):
    """What `ServingEndpoint.for_model` fills from the env file."""

    name: str
    inference_catalog: str
    inference_schema: str
    inference_table_prefix: str
    workload_size: str
    workload_type: str
    scale_to_zero: bool
    rate_limits: Sequence[RateLimitSpec]
    tags: Mapping[str, str]
    query_principals: Sequence[str]
    manage_principals: Sequence[str]
    served_model: str


class ServingEndpoint(ForModel, Construct):
    """`databricks_model_serving` + `databricks_permissions` (CAN_QUERY / CAN_MANAGE).

    Example::

        ServingEndpoint(stack, "endpoint", name="alive-classifier-dev",
                        inference_catalog="mlops_dev", inference_schema="marvel_characters",
                        inference_table_prefix="alive_classifier",
                        query_principals=["ml-serving-consumers-dev"], manage_principals=["ml-admins"])
        ServingEndpoint.for_model(stack, "endpoint", env=env, model=model, depends_on=[schema])

    Props:
      name: endpoint name (letters, digits, '-', '_'; at most 63).
      inference_catalog/inference_schema/inference_table_prefix: where the AI gateway writes
        `<prefix>_payload` (required: an endpoint without an inference table is refused by policy).
        The deploy job enables it (recorded as the tag `lakemon_inference_table`).
      workload_size/workload_type/scale_to_zero: what the deploy job applies (recorded as tags).
      rate_limits: AI-gateway rate limits the deploy job applies (default 100 calls/minute/user).
      tags: extra endpoint tags.
      query_principals/manage_principals: CAN_QUERY / CAN_MANAGE; `users` is refused.
      served_model: the registered model this endpoint serves (tag, for the deploy job and people).
      depends_on: resources that must exist first (the schema of the inference table).
    `for_model(scope, id, *, env, model, **props)` fills all but depends_on from the env file:
    the endpoint name (`models[].endpoint_name`), the inference table and rate limits of
    `GatewaySpec.for_model` (the deploy job's own call), `serving.*`, `permissions.query` /
    `permissions.manage`, and the registered model.

    Attributes: endpoint, permissions, gateway (the GatewaySpec the deploy job puts),
    inference_table (the payload table's three-part name).
    """

    @classmethod
    def props_for_model(
        cls, env: Environment, model: Model, given: Mapping[str, Any] = NO_PROPS
    ) -> ServingEndpointProps:
        """The env's endpoint of `model`, with the gateway `lakemon deploy` puts (the same call)."""
        gateway = GatewaySpec.for_model(env, model)
        table = gateway.inference_table
        serving = env.serving
        return ServingEndpointProps(
            name=model.endpoint(env.name),
            inference_catalog=table.catalog,
            inference_schema=table.schema,
            inference_table_prefix=table.table_prefix,
            workload_size=serving.workload_size.value,
            workload_type=serving.workload_type,
            scale_to_zero=serving.scale_to_zero,
            rate_limits=gateway.rate_limits,
            tags=serving.tags,
            query_principals=env.permissions.query,
            manage_principals=env.permissions.manage,
            served_model=ModelTables(env, model).registered_model,
        )

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        inference_catalog: str,
        inference_schema: str,
        inference_table_prefix: str,
        workload_size: str = "Small",
        workload_type: str = "CPU",
        scale_to_zero: bool = True,
        rate_limits: Sequence[RateLimitSpec] = (RateLimitSpec(calls=100),),
        tags: Mapping[str, str] | None = None,
        query_principals: Sequence[str] = (),
        manage_principals: Sequence[str] = (),
        served_model: str | None = None,
        depends_on: Sequence[ITerraformDependable] = (),
    ) -> None:
        super().__init__(scope, id)
        self._refuse_bad_props(
            name,
            (inference_catalog, inference_schema, inference_table_prefix),
            workload_size,
            workload_type,
            rate_limits,
            (*query_principals, *manage_principals),
        )
        self.name = name
        self.gateway = GatewaySpec(
            InferenceTableSpec(inference_catalog, inference_schema, inference_table_prefix),
            rate_limits_of(rate_limits),
        )
        self.inference_table = self.gateway.inference_table.payload_table
        all_tags = {
            **dict(tags or {}),
            INFERENCE_TABLE_TAG: self.gateway.inference_table.tag_value,
            "lakemon_workload_size": workload_size,
            "lakemon_workload_type": workload_type,
            "lakemon_scale_to_zero": "true" if scale_to_zero else "false",
        }
        if served_model:
            all_tags["lakemon_model"] = served_model
        self.endpoint = ModelServing(
            self,
            "endpoint",
            name=name,
            tags=[ModelServingTags(key=k, value=v) for k, v in sorted(all_tags.items())],
            timeouts={"create": "60m", "update": "60m"},
            # Both belong to the deploy job after creation (module docstring).
            lifecycle={"ignore_changes": ["config", "ai_gateway"]},
            depends_on=list(depends_on) or None,
        )
        acl = [access_control(p, "CAN_QUERY") for p in query_principals if p not in manage_principals]
        acl += [access_control(p, "CAN_MANAGE") for p in manage_principals]
        self.permissions = (
            Permissions(
                self, "permissions", serving_endpoint_id=self.endpoint.serving_endpoint_id, access_control=acl
            )
            if acl
            else None
        )

    def _refuse_bad_props(
        self, name, identifiers, workload_size, workload_type, rate_limits, principals
    ) -> None:
        path = self.node.path
        try:
            check_endpoint_name(name)
            for value in identifiers:
                check_identifier(value)
        except ValueError as exc:
            raise LakemonConstructError(path, str(exc)) from None
        if workload_size not in WORKLOAD_SIZES:
            raise LakemonConstructError(
                path, f"workload_size {workload_size!r} is not allowed; allowed: {', '.join(WORKLOAD_SIZES)}"
            )
        if workload_type not in WORKLOAD_TYPES:
            raise LakemonConstructError(
                path, f"workload_type {workload_type!r} is not allowed; allowed: {', '.join(WORKLOAD_TYPES)}"
            )
        for limit in rate_limits:
            if limit.calls <= 0 or limit.key not in RATE_LIMIT_KEYS or limit.renewal_period not in RENEWAL_PERIODS:
                raise LakemonConstructError(
                    path,
                    f"rate limit {limit} is not allowed: calls > 0, key {'|'.join(RATE_LIMIT_KEYS)}, "
                    f"renewal_period {'|'.join(RENEWAL_PERIODS)}",
                )
        for principal in principals:
            problem = opens_to_everyone(principal)
            if problem:
                raise LakemonConstructError(path, problem)
