"""`lakemon refresh`: recompute the monitor's profile and drift metrics tables, and wait.

On Databricks: `data_quality.create_refresh` on the inference-log table's monitor (or the
deprecated `quality_monitors.run_refresh` when the stack keeps `monitoring.api: legacy`), then
poll `get_refresh` until SUCCESS / FAILED / CANCELED, with progress and a timeout (a refresh takes
minutes; the first one after creating a monitor can take 8-20).
On the embedded default: the local monitor engine, `monitoring.refresh.refresh_local`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from . import arguments
from .context import JobContext, run_job
from .errors import JobError

DEFAULT_TIMEOUT_S = arguments.REFRESH_TIMEOUT_S
POLL_S = arguments.REFRESH_POLL_S


class RefreshError(JobError):
    """The refresh failed, was cancelled or did not finish in time."""


TERMINAL = ("SUCCESS", "FAILED", "CANCELED")
ACTIVE = ("PENDING", "RUNNING")


class DataQualityRefreshes:
    """Refreshes through the Data Quality API (databricks-sdk 0.162 `DataQualityAPI`), which
    addresses the monitor by table UUID (`object_type="table"`, `object_id` = `table_id`).
    States are `RefreshState.MONITOR_REFRESH_STATE_<X>`; `state()` gives `<X>`."""

    api_name = "data_quality"

    def __init__(self, w, table: str) -> None:
        self.w, self.table = w, table
        self.table_id = w.tables.get(full_name=table).table_id

    @staticmethod
    def state(info) -> str:
        return info.state.value.removeprefix("MONITOR_REFRESH_STATE_") if info.state else "UNKNOWN"

    def active(self) -> list:
        listed = self.w.data_quality.list_refresh(object_type="table", object_id=self.table_id)
        return [r for r in listed if self.state(r) in ACTIVE]  # the SDK's iterator follows the pages

    def wait_ready(self, timeout_s: float, poll_s: float, progress: Callable[[str], None]) -> None:
        """Wait until the monitor is ACTIVE before asking for a refresh. Why: provider v1.99.0's
        databricks_data_quality_monitor returns from create without waiting (the legacy resource
        polled for MONITOR_STATUS_ACTIVE), so the first monitoring run can find it PENDING
        (`dataquality.DataProfilingStatus`). ERROR / FAILED stop with the monitor's own message."""
        from databricks.sdk.service.dataquality import (
            DataProfilingStatus as Status,  # lazy: Databricks-only path
        )

        started = time.monotonic()
        while True:
            config = self.w.data_quality.get_monitor(object_type="table", object_id=self.table_id).data_profiling_config
            status = config.status if config else None
            if status is Status.DATA_PROFILING_STATUS_ACTIVE:
                return
            name = status.value.removeprefix("DATA_PROFILING_STATUS_") if status else "UNKNOWN"
            if status in (Status.DATA_PROFILING_STATUS_ERROR, Status.DATA_PROFILING_STATUS_FAILED):
                why = (config.latest_monitor_failure_message if config else None) or "no message"
                raise RefreshError(f"the monitor on {self.table} is {name}, not ACTIVE: {why}")
            elapsed = time.monotonic() - started
            if elapsed > timeout_s:
                raise RefreshError(f"the monitor on {self.table} is still {name} after {timeout_s:.0f}s, not ACTIVE")
            progress(f"refresh: the monitor on {self.table} is {name}; waiting for it to be ACTIVE")
            time.sleep(min(poll_s, max(0.0, timeout_s - elapsed)))

    def start(self):
        from databricks.sdk.service.dataquality import Refresh  # lazy: Databricks-only path

        return self.w.data_quality.create_refresh(
            object_type="table", object_id=self.table_id, refresh=Refresh(object_type="table", object_id=self.table_id)
        )

    def get(self, refresh_id: int):
        return self.w.data_quality.get_refresh(object_type="table", object_id=self.table_id, refresh_id=refresh_id)


class LegacyRefreshes:
    """Refreshes through the deprecated `quality_monitors` API, for stacks that keep
    `monitoring.api: legacy` (the SDK marks these calls deprecated in favour of DataQualityAPI).
    `list_refreshes` returns the most recent refreshes (up to 25) in one response, no paging."""

    api_name = "legacy"

    def __init__(self, w, table: str) -> None:
        self.w, self.table = w, table

    @staticmethod
    def state(info) -> str:
        return info.state.value if info.state else "UNKNOWN"

    def active(self) -> list:
        listed = self.w.quality_monitors.list_refreshes(table_name=self.table)
        return [r for r in (listed.refreshes or []) if self.state(r) in ACTIVE]

    def wait_ready(self, timeout_s: float, poll_s: float, progress: Callable[[str], None]) -> None:
        """Nothing to wait for: the legacy resource's create waited for MONITOR_STATUS_ACTIVE
        (provider v1.99.0 `resource_quality_monitor.go`, waitForMonitor)."""

    def start(self):
        return self.w.quality_monitors.run_refresh(table_name=self.table)

    def get(self, refresh_id: int):
        return self.w.quality_monitors.get_refresh(table_name=self.table, refresh_id=refresh_id)


def _start_time(info) -> int:
    return getattr(info, "start_time_ms", None) or 0


def refresh_databricks(
    ctx: JobContext, timeout_s: float, poll_s: float, progress: Callable[[str], None], client=None
) -> str:
    """Start a refresh, or join the one already running (the monitor's own schedule may have
    started one at the same minute), and poll it to the end.

    Which API: the one of the resource the stack declares (`monitoring.api`, default
    `data_quality`: databricks_data_quality_monitor); the two move together (docs/deploy.md,
    "Monitors on the Data Quality API").
    """
    from databricks.sdk import WorkspaceClient  # lazy: Databricks-only path
    from databricks.sdk.errors import DatabricksError  # lazy: Databricks-only path

    w = client or WorkspaceClient()
    table = ctx.tables.inference_log
    kind = DataQualityRefreshes if ctx.env.monitoring.api == "data_quality" else LegacyRefreshes
    try:
        refreshes = kind(w, table)
        active = refreshes.active()
        if active:
            info = max(active, key=_start_time)
            progress(f"refresh: refresh {info.refresh_id} of {table} is already {refreshes.state(info)}; waiting for it")
        else:
            refreshes.wait_ready(timeout_s, poll_s, progress)
            info = refreshes.start()
            progress(f"refresh: started refresh {info.refresh_id} of the monitor on {table} ({refreshes.api_name} API)")
    except DatabricksError as exc:
        raise RefreshError(f"cannot start a refresh of the monitor on {table}: {exc}") from None
    started = time.monotonic()
    while refreshes.state(info) not in TERMINAL:
        elapsed = time.monotonic() - started
        if elapsed > timeout_s:
            raise RefreshError(
                f"refresh {info.refresh_id} of {table} still {refreshes.state(info)} after {timeout_s:.0f}s"
            )
        time.sleep(min(poll_s, max(0.0, timeout_s - elapsed)))
        try:
            info = refreshes.get(info.refresh_id)
        except DatabricksError as exc:
            raise RefreshError(f"cannot read refresh {info.refresh_id} of {table}: {exc}") from None
        progress(f"refresh: {refreshes.state(info)} after {time.monotonic() - started:.0f}s")
    if refreshes.state(info) != "SUCCESS":
        raise RefreshError(
            f"refresh {info.refresh_id} of {table} ended {refreshes.state(info)}: {info.message or 'no message'}"
        )
    return refreshes.state(info)


def refresh_monitor(
    ctx: JobContext,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = POLL_S,
    progress: Callable[[str], None] = print,
):
    """Refresh the monitor of ctx's model; returns the Databricks state or refresh_local's result."""
    if ctx.runtime is None:
        return refresh_databricks(ctx, timeout_s, poll_s, progress)
    from .monitor_engine.incremental import refresh_local  # lazy: heavy, embedded default only
    from .table_engines.engine import TableError  # lazy: pandas and pyarrow (0.2 s), embedded default only
    from .table_engines.integrity import damaged, storage_errors  # lazy: pandas and pyarrow too

    if not ctx.runtime.table_path(ctx.tables.inference_log).exists():
        raise RefreshError(f"no inference-log table {ctx.tables.inference_log} yet; run `lakemon unpack` first")
    try:
        return refresh_local(ctx.runtime, ctx.env, ctx.model, progress=progress)
    except TableError as exc:  # a damaged table (tables.integrity): one line, the tables as they were
        raise RefreshError(f"{exc}; the metrics tables were left as they were") from None
    except storage_errors() as exc:
        tables = f"{ctx.tables.inference_log} (or its baseline or metrics tables)"
        raise RefreshError(f"{damaged(tables, None, exc, 'refreshing from')}; the metrics tables were left as they were") from None


add_arguments = arguments.refresh
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)

    def work():
        with ctx.run_lock("refresh", args.wait_for_lock):
            return refresh_monitor(ctx, timeout_s=args.timeout, poll_s=args.poll)

    return run_job("refresh", work)
