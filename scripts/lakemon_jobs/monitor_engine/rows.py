"""The rows of the profile and drift metrics tables, from what the column tasks kept.

Rows are written in the order the engine always wrote them (tests/monitoring/golden): the
baseline's profile rows per granularity, then per window its profile rows (':table' first, then
each column of each group) and its drift rows (per comparison, ':table' first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

from .baselines import Baseline
from .column_task import ColumnResult
from .custom import GroupRef
from .groups import GroupKey
from .plans import BASELINE, WindowPlan
from .schema import LOG_TYPES, TABLE_COLUMN, drift_metrics_schema, profile_metrics_schema
from .settings import ColumnSpec, MonitorSettings

INPUT, BASELINE_LOG = LOG_TYPES
MONITOR_VERSION = 0
"""`monitor_version` of every local row: the local monitor has one configuration (a changed one
makes the refresh recompute every window, see incremental.py)."""


class MetricTables(NamedTuple):
    """The two tables a run writes (`profile_metrics_schema`, `drift_metrics_schema`)."""

    profile: pa.Table
    drift: pa.Table


class NoCustomValues:
    """Stands in for custom.CustomValues when the monitor has no custom metrics: every lookup
    is empty."""

    def profile_fields(self, ref: GroupRef, column: str) -> dict:
        return {}

    def drift_fields(self, i: int, j: int, column: str) -> dict:
        return {}


def _table_delta(cur: dict, ref: dict | None) -> dict:
    if ref is None:
        return {}
    now, before = set(cur["non_null_columns"]), set(ref["non_null_columns"])
    return {
        "count_delta": float(cur["count"] - ref["count"]),
        "non_null_columns_delta": {"added": len(now - before), "missing": len(before - now)},
    }


@dataclass
class MetricRows:
    """Builds the rows of one run, window by window, from the column tasks' results."""

    settings: MonitorSettings
    specs: list[ColumnSpec]
    inference_columns: set[str]
    results: dict[str, ColumnResult]
    """Column name -> what its task kept."""
    quality: dict[int, dict]
    """id(group) -> quality metrics of a window's group (none for a group without labels)."""
    baseline: Baseline
    custom: object = field(default_factory=NoCustomValues)
    """custom.CustomValues, or NoCustomValues."""
    commit_version: int | None = None
    profile: list[dict] = field(default_factory=list, init=False)
    drift: list[dict] = field(default_factory=list, init=False)
    _table_rows: dict[int, dict[GroupKey, dict]] = field(default_factory=dict, init=False)
    """Plan index -> group key -> ':table' fields (a CONSECUTIVE comparison reads the previous
    window's)."""

    def __post_init__(self) -> None:
        self._inf_specs = [s for s in self.specs if s.name in self.inference_columns]
        self._data_types = {s.name: s.data_type for s in self.specs}

    def _profile_row(self, window, log_type, granularity, key: GroupKey, column, data_type, fields: dict) -> None:
        row = {
            "window": window,
            "log_type": log_type,
            "logging_table_commit_version": self.commit_version,
            "monitor_version": MONITOR_VERSION,
            "granularity": granularity,
            "slice_key": key[0],
            "slice_value": key[1],
            "column_name": column,
            self.settings.model_id_col: key[2],
            "data_type": data_type,
        }
        row.update(fields)
        for name in ("precision", "recall", "f1_score"):
            if row.get(name):  # map entries as (key, value) pairs, also after a JSON round trip
                row[name] = {**row[name], "one_vs_all": [tuple(kv) for kv in row[name]["one_vs_all"]]}
        self.profile.append(row)

    def add_baseline(self) -> None:
        """BASELINE profile rows (window null), the same for each granularity."""
        fields = self.custom.profile_fields
        for granularity in self.settings.granularities:
            for key, g in self.baseline.groups.items():
                ref = GroupRef.baseline(key)
                self._profile_row(None, BASELINE_LOG, granularity, key, TABLE_COLUMN, None,
                                  fields(ref, TABLE_COLUMN) | g.table_row)
                for name, state in g.states.items():
                    self._profile_row(None, BASELINE_LOG, granularity, key, name, self._data_types[name],
                                      fields(ref, name) | state.summary)

    def add_window(self, plan: WindowPlan) -> None:
        """INPUT profile rows and drift rows of one window (none for a window planned only as
        the CONSECUTIVE reference of the next; its ':table' fields are kept for it)."""
        rows_of = self._window_table_rows(plan)
        if not plan.wanted:
            return
        window = {"start": plan.start, "end": plan.end}
        fields = self.custom.profile_fields
        for g in plan.groups:
            ref = GroupRef.window(plan.index, g.key)
            self._profile_row(window, INPUT, plan.granularity, g.key, TABLE_COLUMN, None,
                              fields(ref, TABLE_COLUMN) | rows_of[g.key])
            for s in self._inf_specs:
                self._profile_row(window, INPUT, plan.granularity, g.key, s.name, s.data_type,
                                  fields(ref, s.name) | self.results[s.name].profiles[plan.index][g.key])
        self._add_drift(plan, window, rows_of)

    def _window_table_rows(self, plan: WindowPlan) -> dict[GroupKey, dict]:
        rows_of: dict[GroupKey, dict] = {}
        for g in plan.groups:
            if g.same_as is not None:
                rows_of[g.key] = rows_of[g.same_as]
                continue
            non_null = [s.name for s in self._inf_specs
                        if self.results[s.name].profiles[plan.index][g.key]["num_nulls"] < g.n]
            rows_of[g.key] = {"count": g.n, "non_null_columns": non_null, **self.quality.get(id(g), {})}
        self._table_rows[plan.index] = rows_of
        return rows_of

    def _add_drift(self, plan: WindowPlan, window: dict, rows_of: dict[GroupKey, dict]) -> None:
        previous = plan.previous
        window_cmp = None if previous is None else {"start": previous.start, "end": previous.end}
        for j, c in enumerate(plan.comparisons):
            if c.drift_type == BASELINE:
                ref_row = self.baseline.groups[c.ref_key].table_row if c.ref_key is not None else None
                cmp = None
            else:
                ref_row, cmp = self._table_rows[previous.index][c.ref_key], window_cmp
            fields = [(None, _table_delta(rows_of[c.group.key], ref_row))]
            fields += [(s, self.results[s.name].drift[(plan.index, j)]) for s in self._inf_specs]
            for spec, values in fields:
                row = {
                    "window": window,
                    "window_cmp": cmp,
                    "drift_type": c.drift_type,
                    "monitor_version": MONITOR_VERSION,
                    "granularity": plan.granularity,
                    "slice_key": c.group.key[0],
                    "slice_value": c.group.key[1],
                    "column_name": TABLE_COLUMN if spec is None else spec.name,
                    self.settings.model_id_col: c.group.key[2],
                    "data_type": None if spec is None else spec.data_type,
                }
                row.update(values)
                row.update(self.custom.drift_fields(plan.index, j, row["column_name"]))
                self.drift.append(row)

    def tables(self) -> MetricTables:
        mid, custom = self.settings.model_id_col, self.settings.custom_metrics
        return MetricTables(pa.Table.from_pylist(self.profile, schema=profile_metrics_schema(mid, custom)),
                            pa.Table.from_pylist(self.drift, schema=drift_metrics_schema(mid, custom)))
