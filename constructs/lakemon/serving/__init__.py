"""Model serving endpoints with AI-gateway inference tables."""

from .endpoint import RateLimitSpec, ServingEndpoint

__all__ = ["RateLimitSpec", "ServingEndpoint"]
