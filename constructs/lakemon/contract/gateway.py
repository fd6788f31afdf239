"""The AI gateway an endpoint should have: one definition for the construct and the deploy job.

Why the deploy job, not Terraform, sets the gateway (docs/deploy.md, "Endpoint without served
entities"): the endpoint is created without served entities, and no source we could cite says
that the API accepts `ai_gateway.inference_table_config` on such an endpoint. So the
`ServingEndpoint` construct creates it without `ai_gateway`, records the declared inference
table in the endpoint tag `lakemon_inference_table`, and `lakemon deploy` puts the gateway once
the endpoint serves a version. Both sides build the declaration here, from the same env file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INFERENCE_TABLE_TAG = "lakemon_inference_table"
"""Endpoint tag holding `<catalog>.<schema>.<table_name_prefix>`: what the deploy job enables
(reviewable in the plan; policy rule LM-SERVE-1 checks it)."""


@dataclass(frozen=True)
class InferenceTableSpec:
    """AI-gateway `inference_table_config`: Databricks writes `<catalog>.<schema>.<prefix>_payload`."""

    catalog: str
    schema: str
    table_prefix: str
    enabled: bool = True

    @property
    def payload_table(self) -> str:
        return f"{self.tag_value}_payload"

    @property
    def tag_value(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table_prefix}"

    @classmethod
    def from_tag(cls, value: object) -> InferenceTableSpec | None:
        """The spec a `lakemon_inference_table` tag value names, or None if it names none."""
        from ..config.validators import check_identifier

        parts = str(value or "").split(".")
        try:
            return cls(*(check_identifier(p) for p in parts)) if len(parts) == 3 else None
        except ValueError:
            return None


@dataclass(frozen=True)
class RateLimitSpec:
    """AI-gateway rate limit: `calls` per `renewal_period` per `key` (user or endpoint)."""

    calls: int
    key: str = "user"
    renewal_period: str = "minute"


@dataclass(frozen=True)
class GatewaySpec:
    """The gateway fields lakemon declares. Other fields (usage tracking, guardrails, fallback)
    are not lakemon's: the deploy job keeps whatever the endpoint has."""

    inference_table: InferenceTableSpec
    rate_limits: tuple[RateLimitSpec, ...] = ()

    @classmethod
    def for_model(cls, env, model) -> GatewaySpec:
        """What the env file declares for `model`'s endpoint (the construct and the deploy job
        both call this, so they cannot disagree)."""
        from .tables import ModelTables

        return cls(
            inference_table=InferenceTableSpec(env.catalog, env.schema_, ModelTables(env, model).payload_prefix),
            rate_limits=rate_limits_of(env.serving.rate_limits),
        )


def rate_limits_of(limits: Sequence) -> tuple[RateLimitSpec, ...]:
    """RateLimitSpec tuples from anything with calls/key/renewal_period (config or specs)."""
    return tuple(RateLimitSpec(int(r.calls), str(r.key), str(r.renewal_period)) for r in limits)
