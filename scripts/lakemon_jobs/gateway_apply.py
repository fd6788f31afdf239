"""`lakemon deploy`'s second half: put the declared AI gateway on the endpoint, idempotently.

The endpoint is created by Terraform without `ai_gateway` (docs/deploy.md, "Endpoint without
served entities"); once it serves a version, the deploy job makes its inference table and rate
limits what the env file declares (`lakemon.contract.gateway.GatewaySpec.for_model`, the construct's own
declaration). One function for both places: on Databricks `endpoints` is the SDK's
`ServingEndpointsAPI`; on the embedded default it is `LocalServingEndpoints`, whose state the
local logging layer reads to know where to log.

Which gateway fields lakemon owns (set to what the env file says) and which it keeps:
- owned: `inference_table_config`, and the rate limits the env file can declare: a `calls`
  limit keyed `user` or `endpoint` with no `principal` and no `tokens` (`serving.rate_limits`,
  key user|endpoint). Those are set to exactly the declared ones, so removing one from the env
  file removes it from the endpoint;
- kept as the endpoint has them: every other rate limit (keyed `user_group` or
  `service_principal`, naming a `principal`, or a `tokens` limit: added in the UI or by another
  tool), `usage_tracking_config`, `guardrails`, `fallback_config`.

Rules this follows:
- no call when the endpoint already has the declared inference table and owned rate limits;
- `put_ai_gateway` replaces the whole gateway (it is an HTTP PUT, and provider v1.99.0's
  `updateAiGateway` sends every field), so what lakemon keeps is sent back as the endpoint has
  it, and the log names the kept rate limits and any owned one it replaces;
- moving an enabled inference table (other catalog, schema or prefix) disables it first: SDK
  `AiGatewayInferenceTableConfig`: "On update, you have to disable inference table first in
  order to change the catalog name" (likewise schema and prefix).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from lakemon.contract.gateway import GatewaySpec

from .errors import JobError


class GatewayError(JobError):
    """The endpoint's AI gateway could not be read or put. The served version is not affected
    (so a retrain must not move its alias back), but requests are not logged until it is set."""


def sdk_message(exc: Exception) -> str:
    """One line from a Databricks SDK error: its error code and message, no traceback."""
    code = getattr(exc, "error_code", None)
    text = " ".join(str(exc).split())
    return f"{code}: {text}" if code else text


def declared_table(spec: GatewaySpec):
    from databricks.sdk.service.serving import (
        AiGatewayInferenceTableConfig,  # lazy: databricks-sdk (1 s), only to apply a gateway
    )

    table = spec.inference_table
    return AiGatewayInferenceTableConfig(
        catalog_name=table.catalog, schema_name=table.schema, table_name_prefix=table.table_prefix, enabled=table.enabled
    )


def declared_rate_limits(spec: GatewaySpec) -> list:
    from databricks.sdk.service.serving import (  # lazy: databricks-sdk (1 s), only to apply a gateway
        AiGatewayRateLimit,
        AiGatewayRateLimitKey,
        AiGatewayRateLimitRenewalPeriod,
    )

    return [
        AiGatewayRateLimit(
            calls=r.calls, key=AiGatewayRateLimitKey(r.key), renewal_period=AiGatewayRateLimitRenewalPeriod(r.renewal_period)
        )
        for r in spec.rate_limits
    ]


def _location(table) -> tuple | None:
    return None if table is None else (table.catalog_name, table.schema_name, table.table_name_prefix)


def _table_state(table) -> tuple | None:
    return None if table is None else (*_location(table), bool(table.enabled))


def _value(enum_or_text) -> str | None:
    return None if enum_or_text is None else str(getattr(enum_or_text, "value", enum_or_text))


def _limits_state(limits) -> list[tuple]:
    """Rate limits as comparable tuples, order-free (the API does not promise to keep order)."""
    return sorted(
        (r.calls, _value(r.key), _value(r.renewal_period), r.principal, r.tokens) for r in (limits or [])
    )


OWNED_RATE_LIMIT_KEYS = ("user", "endpoint")
"""The rate-limit keys an env file can declare (`serving.rate_limits[].key`)."""


def owned_rate_limit(limit) -> bool:
    """True for a rate limit lakemon sets: a calls limit keyed user or endpoint, for no named
    principal and not on tokens (the only kind `serving.rate_limits` can declare)."""
    return _value(limit.key) in OWNED_RATE_LIMIT_KEYS and not limit.principal and limit.tokens is None


def describe_rate_limit(limit) -> str:
    who = _value(limit.key) or "?"
    if limit.principal:
        who += f" {limit.principal}"
    amount = f"{limit.calls} calls" if limit.calls is not None else f"{limit.tokens} tokens"
    return f"{who}: {amount}/{_value(limit.renewal_period)}"


def apply_ai_gateway(endpoints, name: str, spec: GatewaySpec, progress: Callable[[str], None]) -> int:
    """Make `name`'s AI gateway carry `spec`; returns how many `put_ai_gateway` calls it made
    (0 when it already does). GatewayError, one line, when reading or putting fails."""
    from databricks.sdk.errors import DatabricksError  # lazy: databricks-sdk (1 s), only to apply a gateway
    from databricks.sdk.service.serving import (
        AiGatewayConfig,  # lazy: databricks-sdk (1 s), only to apply a gateway
    )

    payload = spec.inference_table.payload_table
    try:
        current = endpoints.get(name).ai_gateway or AiGatewayConfig()
    except DatabricksError as exc:
        raise GatewayError(f"cannot read the AI gateway of {name}: {sdk_message(exc)}") from None
    table, declared = declared_table(spec), declared_rate_limits(spec)
    have = current.inference_table_config
    kept = [r for r in current.rate_limits or [] if not owned_rate_limit(r)]
    owned_now = [r for r in current.rate_limits or [] if owned_rate_limit(r)]
    kept_note = f"; kept {len(kept)} rate limit(s) lakemon does not own: " + ", ".join(map(describe_rate_limit, kept)) if kept else ""
    if _table_state(have) == _table_state(table) and _limits_state(owned_now) == _limits_state(declared):
        progress(f"deploy: {name}'s AI gateway already logs to {payload} with the declared rate limits{kept_note}")
        return 0
    limits = declared + kept
    replaced = [r for r in owned_now if _limits_state([r])[0] not in _limits_state(declared)]
    if replaced:
        progress(
            f"deploy: replacing {name}'s rate limit(s) {', '.join(map(describe_rate_limit, replaced))} with the declared "
            f"{', '.join(map(describe_rate_limit, declared)) or 'none'} (env file serving.rate_limits owns user and endpoint limits)"
        )
    steps = [table]
    if have is not None and have.enabled and _location(have) != _location(table):
        steps.insert(0, replace(have, enabled=False))
        progress(f"deploy: disabling {name}'s inference table {'.'.join(_location(have))}_payload before moving it")
    for step in steps:
        try:
            endpoints.put_ai_gateway(
                name,
                fallback_config=current.fallback_config,
                guardrails=current.guardrails,
                inference_table_config=step,
                rate_limits=limits,
                usage_tracking_config=current.usage_tracking_config,
            )
        except DatabricksError as exc:
            raise GatewayError(
                f"putting the AI gateway of {name} failed ({sdk_message(exc)}); requests are not logged to "
                f"{payload} until it is set: fix the cause and run `lakemon deploy` again (the served version stays)"
            ) from None
    progress(
        f"deploy: {name}'s AI gateway now logs to {payload} "
        f"({len(declared)} declared rate limit(s); usage tracking, guardrails, fallback kept){kept_note}"
    )
    return len(steps)
