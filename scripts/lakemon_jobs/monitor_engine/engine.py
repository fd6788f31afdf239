"""The local monitor engine: inference log + baseline -> profile and drift metrics tables.

`compute_metrics` is the pure entry point. `run` is what a refresh calls, with a stored baseline
profile (`baselines.BaselineProfile`) and only the windows to recompute (`RunSettings.emit`).

Column at a time (bounded memory): the rows of each group (whole table, each slice value, each model
id) of each window are found once, from the timestamp, model-id and slicing columns. Then each
monitored column is one task: read its baseline and inference values, profile every group of
every window, compare each with the baseline and the previous window, keep only the resulting
rows' fields, release the values. Peak memory is therefore set by the columns in flight (one
per worker thread), not by the table; statistics stay exact because a column's full values
are in memory while it is computed. A group whose rows are its parent's (one model id in the
window) reuses the parent's results. Rows are written in the order the engine always wrote
them (tests/monitoring/golden).

The run's parts, one module each: the groups and one column's state per group (groups.py), the
two kinds of baseline and the absence of one behind one interface (baselines.py), the windows
and their comparisons (plans.py), one column's task (column_task.py), how many columns at once
(scheduling.py), the rows of the two tables (rows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .baselines import Baseline, BaselineTable, NoBaseline
from .column_task import ColumnTask
from .custom import CustomValues
from .groups import WHOLE
from .plans import WindowPlan, plan_windows
from .prepare import Vocabulary, check_types, ensure_vocabs, monitored_columns, structure
from .quality import quality_rows
from .rows import MetricRows, MetricTables, NoCustomValues
from .scheduling import Progress, columns_at_once, memory_budget, pool_size, run_columns
from .settings import ColumnSpec, MonitorSettings, SettingsMismatch
from .sources import ColumnSource
from .stats import preload_slow_imports


@dataclass(frozen=True)
class RunSettings:
    """What one run computes and how it reports, besides its two tables and its threads."""

    monitor: MonitorSettings
    specs: list[ColumnSpec]
    """The monitored columns of either table (prepare.monitored_columns), in row order."""
    vocabs: dict[str, Vocabulary] = field(default_factory=dict)
    """Categorical vocabularies, extended by the run (a stored profile's values come first)."""
    emit: Callable[[str, int], bool] | None = None
    """emit(granularity, window start in µs): the windows whose rows are wanted; all when None."""
    progress: Callable[[str], None] | None = None
    commit_version: int | None = None
    """The inference log's Delta version, written as logging_table_commit_version."""


def run(inference: ColumnSource, baseline: Baseline, job: RunSettings, pool: ThreadPoolExecutor) -> MetricTables:
    """Profile and drift rows for the windows `job.emit` accepts, against `baseline` of any
    kind (a stored profile's arrays are released column by column: it serves one run;
    `NoBaseline` when there is none)."""
    preload_slow_imports()  # usually started earlier, before any reading
    settings, specs, vocabs = job.monitor, job.specs, job.vocabs
    check_types(inference, specs)
    if settings.timestamp_col not in inference.column_names and inference.num_rows:
        raise SettingsMismatch(f"inference table has no timestamp column {settings.timestamp_col!r}")
    st = structure(inference, settings)
    plans = plan_windows(inference, st, settings, baseline, job.emit)
    present = st.present
    del st  # the model-id and slice codes: the plans hold each group's rows
    _say_plan(job, plans)

    wanted_groups = [g for p in plans if p.wanted for g in p.groups if g.same_as is None]
    inf_quality = pool.submit(quality_rows, settings, inference, wanted_groups)
    baseline.start(pool, settings, specs, vocabs)
    ensure_vocabs(vocabs, specs, inference)  # after the baseline's: its values come first
    in_any = [s for s in specs if s.name in present or s.name in baseline.present]
    at_once = _columns_at_once(inference.num_rows + baseline.num_rows, job)
    task = ColumnTask(inference, present, baseline, plans, vocabs)
    results = run_columns(pool, in_any, task, Progress(job.progress, len(in_any)), at_once)
    baseline.finish(specs)

    quality = dict(zip(map(id, wanted_groups), inf_quality.result(), strict=True))
    custom = _custom_values(settings, inference, plans, baseline)
    rows = MetricRows(settings, specs, present, results, quality, baseline, custom, job.commit_version)
    rows.add_baseline()
    for plan in plans:
        rows.add_window(plan)
    return rows.tables()


def _say_plan(job: RunSettings, plans: list[WindowPlan]) -> None:
    if job.progress:
        n_rows = sum(g.n for p in plans for g in p.groups if g.key == WHOLE)
        job.progress(f"{sum(p.wanted for p in plans)} window(s) to profile ({n_rows} rows), "
                     f"{len(job.specs)} columns, one column at a time")


def _columns_at_once(rows: int, job: RunSettings) -> int:
    """Column tasks in flight for `rows` rows (baseline + inference), said when fewer than threads."""
    at_once = columns_at_once(rows, pool_size())
    if job.progress and at_once < pool_size():
        job.progress(f"{at_once} column(s) at a time: {pool_size()} would not fit in "
                     f"{memory_budget() / 2**30:.1f} GB (LAKEMON_MONITOR_MEMORY_GB)")
    return at_once


def _custom_values(settings: MonitorSettings, inference: ColumnSource, plans: list[WindowPlan],
                   baseline: Baseline):
    """The custom metrics of every planned group (custom.py), or an empty lookup without any."""
    if not settings.custom_metrics:
        return NoCustomValues()
    return CustomValues(settings, inference, plans, baseline.with_rows(settings))


def compute_metrics(inference: ColumnSource, baseline: ColumnSource | None, settings: MonitorSettings) -> MetricTables:
    """Profile and drift metrics tables (`profile_metrics_schema(settings.model_id_col)`,
    `drift_metrics_schema(...)`: the model-id column is named after model_id_col) for every
    window of the inference log against the baseline. Pure: reads nothing, writes nothing.
    `inference` and `baseline` are Arrow tables or column sources (sources.py): the engine
    takes one column of each at a time."""
    preload_slow_imports()
    specs = monitored_columns(settings, *(t for t in (inference, baseline) if t is not None))
    side = NoBaseline() if baseline is None else BaselineTable.checked(baseline, settings, specs)
    with ThreadPoolExecutor(pool_size()) as pool:
        return run(inference, side, RunSettings(settings, specs), pool)
