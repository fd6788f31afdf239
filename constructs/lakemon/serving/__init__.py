"""Model serving endpoints with AI-gateway inference tables (set by the deploy job)."""

from ..contract.gateway import INFERENCE_TABLE_TAG, GatewaySpec, InferenceTableSpec, RateLimitSpec
from .endpoint import ServingEndpoint

__all__ = ["INFERENCE_TABLE_TAG", "GatewaySpec", "InferenceTableSpec", "RateLimitSpec", "ServingEndpoint"]
