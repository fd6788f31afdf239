"""Which windows a run profiles, the groups of each, and what each group is compared with.

The timestamp column is read once; per granularity, the rows of each window are found by one
stable sort of the window starts (none when the log is in time order, the usual case: each
window is then a range of rows and needs no gather).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .groups import Group, GroupKey, enumerate_groups, stable_order
from .prepare import Structure
from .schema import DRIFT_TYPES
from .settings import MonitorSettings
from .sources import ColumnSource
from .windows import timestamps_us, window_end, window_starts

if TYPE_CHECKING:
    from .baselines import Baseline

BASELINE, CONSECUTIVE = DRIFT_TYPES


class Comparison(NamedTuple):
    """One drift row group: a window's group against the baseline or the previous window."""

    drift_type: str
    """BASELINE or CONSECUTIVE."""
    group: Group
    ref_key: GroupKey | None
    """The reference group's key in the baseline (None: the baseline has no such group) or in
    the previous window."""


@dataclass
class WindowPlan:
    """One window to profile: its groups, and what each group is compared with."""

    index: int
    """Position among the run's plans: custom metrics and column results are keyed by it."""
    granularity: str
    start: int
    end: int
    wanted: bool
    """False for a window profiled only as the CONSECUTIVE reference of the next one."""
    groups: list[Group]
    previous: WindowPlan | None = None
    comparisons: list[Comparison] = field(default_factory=list)


def _window_rows(st: Structure, starts: np.ndarray, valid_rows: np.ndarray | None) -> tuple[list[int], list]:
    """(start of each window in time order, the rows of each: a range when the log is in time
    order, else ascending row indices)."""
    order = stable_order(starts)
    sorted_starts = starts if order is None else starts[order]
    del starts
    cuts = np.flatnonzero(np.diff(sorted_starts)) + 1
    unique_starts = sorted_starts[np.concatenate(([0], cuts))].tolist() if sorted_starts.shape[0] else []
    bounds = [0, *cuts.tolist(), sorted_starts.shape[0]] if sorted_starts.shape[0] else [0]
    del sorted_starts
    if order is None and valid_rows is None:  # in time order: each window is a range of rows
        return unique_starts, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    # rows ascending within each window: valid_rows is, and a stable sort keeps that order
    rows_in_order = (np.arange(st.n, dtype=np.int64) if valid_rows is None else valid_rows)
    if order is not None:
        rows_in_order = rows_in_order[order]
    return unique_starts, [rows_in_order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _compare(plan: WindowPlan, baseline: Baseline) -> None:
    """Each group against its baseline group (none without a baseline: `Baseline.references`)
    and against the same group of the previous window (when that window had it)."""
    before = {g.key for g in plan.previous.groups} if plan.previous is not None else set()
    for g in plan.groups:
        plan.comparisons += [Comparison(BASELINE, g, ref) for ref in baseline.references(g.key)]
        if g.key in before:
            plan.comparisons.append(Comparison(CONSECUTIVE, g, g.key))


def plan_windows(inference: ColumnSource, st: Structure, settings: MonitorSettings, baseline: Baseline,
                 emit: Callable[[str, int], bool] | None) -> list[WindowPlan]:
    """Windows (per granularity, in time order) whose rows `emit` wants, or whose next window
    it wants (for CONSECUTIVE drift); reads the timestamp column once."""
    if settings.timestamp_col in inference.column_names:
        ts, valid = timestamps_us(inference.column(settings.timestamp_col), settings.timestamp_col)
    else:
        ts, valid = np.zeros(st.n, np.int64), np.zeros(st.n, bool)
    all_valid = bool(valid.all())
    valid_rows = None if all_valid else np.flatnonzero(valid)
    valid_ts = ts if all_valid else ts[valid_rows]
    del ts, valid
    plans: list[WindowPlan] = []
    for granularity in settings.granularities:
        unique_starts, parts = _window_rows(st, window_starts(valid_ts, granularity), valid_rows)
        prev: WindowPlan | None = None
        for i, (start, rows) in enumerate(zip(unique_starts, parts, strict=True)):
            wanted = emit is None or emit(granularity, start)
            nxt_wanted = i + 1 < len(parts) and (emit is None or emit(granularity, int(unique_starts[i + 1])))
            if not wanted and not nxt_wanted:
                prev = None
                continue
            plan = WindowPlan(len(plans), granularity, start, window_end(start, granularity), wanted,
                              enumerate_groups(st, rows, settings.slicing_exprs))
            plan.previous = prev if prev is not None and prev.end == start else None
            if wanted:
                _compare(plan, baseline)
            plans.append(plan)
            prev = plan
    return plans
