"""`lakemon refresh`: recompute the monitor's profile and drift metrics tables, and wait.

On Databricks: `quality_monitors.run_refresh` on the inference-log table, then poll
`get_refresh` until SUCCESS / FAILED / CANCELED, with progress and a timeout (a refresh takes
minutes; the first one after creating a monitor can take 8-20).
On the embedded default: the local monitor engine, `monitoring.refresh.refresh_local`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from .context import JobContext, add_context_arguments, run_job

DEFAULT_TIMEOUT_S = 60 * 60
POLL_S = 20


class RefreshError(RuntimeError):
    """The refresh failed, was cancelled or did not finish in time."""


def refresh_databricks(
    ctx: JobContext, timeout_s: float, poll_s: float, progress: Callable[[str], None], client=None
) -> str:
    """Start a refresh, or join the one already running (the monitor's own schedule may have
    started one at the same minute), and poll it to the end.

    Why `quality_monitors` although the SDK marks it deprecated in favour of `data_quality`: the
    stack declares the monitor with the provider's `databricks_quality_monitor` (provider 1.99.0),
    and `data_quality` refreshes address the table by UUID (`object_id` = table_id) and belong to
    the `databricks_data_quality_monitor` resource, which the provider documents as preview
    (docs/deploy.md). Both move together, in one release.
    """
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import DatabricksError
    from databricks.sdk.service.catalog import MonitorRefreshInfoState as State

    w = client or WorkspaceClient()
    table = ctx.tables.inference_log
    try:
        info = _running_refresh(w, table)
        if info is not None:
            progress(f"refresh: refresh {info.refresh_id} of {table} is already {info.state.value}; waiting for it")
        else:
            info = w.quality_monitors.run_refresh(table_name=table)
            progress(f"refresh: started refresh {info.refresh_id} of the monitor on {table}")
    except DatabricksError as exc:
        raise RefreshError(f"cannot start a refresh of the monitor on {table}: {exc}") from None
    started = time.monotonic()
    while info.state not in (State.SUCCESS, State.FAILED, State.CANCELED):
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            raise RefreshError(f"refresh {info.refresh_id} of {table} still {info.state.value} after {timeout_s:.0f}s")
        time.sleep(min(poll_s, max(0.0, timeout_s - elapsed)))
        try:
            info = w.quality_monitors.get_refresh(table_name=table, refresh_id=info.refresh_id)
        except DatabricksError as exc:
            raise RefreshError(f"cannot read refresh {info.refresh_id} of {table}: {exc}") from None
        progress(f"refresh: {info.state.value} after {time.monotonic() - started:.0f}s")
    if info.state is not State.SUCCESS:
        raise RefreshError(f"refresh {info.refresh_id} of {table} ended {info.state.value}: {info.message or 'no message'}")
    return info.state.value


def _running_refresh(w, table: str):
    """A PENDING or RUNNING refresh of `table`'s monitor, newest first, else None.
    `list_refreshes` returns the most recent refreshes (up to 25) in one response, no paging."""
    from databricks.sdk.service.catalog import MonitorRefreshInfoState as State

    listed = w.quality_monitors.list_refreshes(table_name=table)
    active = [r for r in (listed.refreshes or []) if r.state in (State.PENDING, State.RUNNING)]
    return max(active, key=lambda r: r.start_time_ms or 0) if active else None


def refresh_monitor(
    ctx: JobContext,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = POLL_S,
    progress: Callable[[str], None] = print,
):
    """Refresh the monitor of ctx's model; returns the Databricks state or refresh_local's result."""
    if ctx.runtime is None:
        return refresh_databricks(ctx, timeout_s, poll_s, progress)
    from .monitoring.refresh import refresh_local  # imported lazily: the local engine is heavy

    return refresh_local(ctx.runtime, ctx.env, ctx.model, progress=progress)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .run_lock import add_lock_argument

    add_context_arguments(parser, reads_a_run=True)
    add_lock_argument(parser)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait (Databricks)")
    parser.add_argument("--poll", type=float, default=POLL_S, help="seconds between status checks (Databricks)")


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)
    from .monitoring.windows import TimestampRangeError
    from .run_lock import RunInProgress

    def work():
        with ctx.run_lock("refresh", args.wait_for_lock):
            return refresh_monitor(ctx, timeout_s=args.timeout, poll_s=args.poll)

    return run_job("refresh", work, RefreshError, TimestampRangeError, RunInProgress)
