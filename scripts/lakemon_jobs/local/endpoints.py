"""The embedded default's serving-endpoint API: `get` and `put_ai_gateway`, backed by a file.

`lakemon deploy` puts the AI gateway through `gateway.apply_ai_gateway` on Databricks and here
alike, so the local tests run the same function. The state is the SDK's own types serialized
(`AiGatewayConfig.as_dict`) in `<root>/deployments/<endpoint>.ai_gateway.json`, and the local
logging layer logs to the payload table this gateway names (`payload_table`).

Like the API (SDK `AiGatewayInferenceTableConfig`: "On update, you have to disable inference
table first in order to change the catalog name"), moving an enabled inference table to another
catalog, schema or prefix in one call is refused, so the local path exercises that rule too.
"""

from __future__ import annotations

import json
from pathlib import Path

from .runtime import LocalRuntime, write_atomically


class LocalServingEndpoints:
    """The two ServingEndpointsAPI calls the gateway step makes, on the local runtime."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime

    def gateway_path(self, name: str) -> Path:
        return self.runtime.deployment_path(name).with_suffix(".ai_gateway.json")

    def get(self, name: str):
        from databricks.sdk.service.serving import (  # lazy: databricks-sdk (1 s), only to apply a gateway
            AiGatewayConfig,
            ServingEndpointDetailed,
        )

        path = self.gateway_path(name)
        gateway = AiGatewayConfig.from_dict(json.loads(path.read_text())) if path.exists() else None
        return ServingEndpointDetailed(name=name, ai_gateway=gateway)

    def put_ai_gateway(
        self, name: str, *, fallback_config=None, guardrails=None, inference_table_config=None,
        rate_limits=None, usage_tracking_config=None,
    ):
        from databricks.sdk.errors import (
            InvalidParameterValue,  # lazy: databricks-sdk (1 s), only to apply a gateway
        )
        from databricks.sdk.service.serving import (
            PutAiGatewayResponse,  # lazy: databricks-sdk (1 s), only to apply a gateway
        )

        before = self.get(name).ai_gateway
        old = before.inference_table_config if before else None
        new = inference_table_config
        if old is not None and old.enabled and new is not None and new.enabled and _location(old) != _location(new):
            raise InvalidParameterValue(
                "inference table must be disabled before its catalog, schema or prefix can change",
                error_code="INVALID_PARAMETER_VALUE",
            )
        response = PutAiGatewayResponse(
            fallback_config=fallback_config,
            guardrails=guardrails,
            inference_table_config=inference_table_config,
            rate_limits=rate_limits,
            usage_tracking_config=usage_tracking_config,
        )
        write_atomically(self.gateway_path(name), json.dumps(response.as_dict(), indent=2, sort_keys=True) + "\n")
        return response

    def payload_table(self, name: str) -> str:
        """The table the local logging layer appends to: the enabled inference table's
        `<catalog>.<schema>.<prefix>_payload`. ValueError when `lakemon deploy` has not set one."""
        gateway = self.get(name).ai_gateway
        table = gateway.inference_table_config if gateway else None
        if table is None or not table.enabled:
            raise ValueError(f"endpoint {name} has no enabled inference table; run `lakemon deploy` first")
        return f"{table.catalog_name}.{table.schema_name}.{table.table_name_prefix}_payload"


def _location(table) -> tuple:
    return (table.catalog_name, table.schema_name, table.table_name_prefix)
