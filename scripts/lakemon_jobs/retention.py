"""Retention of unpacked inference data: `inference.retention_days` from the env config.

The inference log and the quarantine table hold request data; they are kept for the configured
number of days (90 by default) and no longer. The unpack job enforces it after each run, so the
monitoring pipeline needs no extra task. Rows with a null timestamp are kept (never guessed
old). The raw AI-gateway payload table is Databricks' own and is not touched here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lakemon.contract.payload import REQUEST_TIME

from .context import JobContext
from .table_engines import engine_for
from .table_engines.engine import TableEngine


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    deleted: dict[str, int]
    """Rows deleted per table (three-part name)."""


def enforce_retention(
    ctx: JobContext,
    *,
    now: datetime | None = None,
    engine: TableEngine | None = None,
    progress: Callable[[str], None] = print,
) -> RetentionResult:
    """Delete inference-log and quarantine rows older than `retention_days` before `now`."""
    engine = engine or engine_for(ctx)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=ctx.env.inference.retention_days)
    targets = {
        ctx.tables.inference_log: ctx.model.timestamp_column,
        ctx.tables.quarantine: REQUEST_TIME,
    }
    deleted = {}
    for table, column in targets.items():
        if engine.exists(table):
            deleted[table] = engine.delete_older_than(table, column, cutoff)
    total = sum(deleted.values())
    progress(
        f"retention: {total} rows older than {cutoff:%Y-%m-%d %H:%M} UTC "
        f"({ctx.env.inference.retention_days} days) deleted"
    )
    return RetentionResult(cutoff=cutoff, deleted=deleted)
