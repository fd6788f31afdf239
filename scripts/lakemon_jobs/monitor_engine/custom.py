"""Custom metrics on the local engine: the Databricks definitions, evaluated by DuckDB.

Each definition is rendered and parsed by `lakemon.config.custom_metrics` (the same functions
that checked it at config load), transpiled from Databricks SQL to DuckDB by SQLGlot, and run
over exactly the row groups the engine profiles (each window x slice x model id, and the
baseline's groups), so a custom metric lands in the same profile or drift row as the built-in
metrics of that group and column:

- aggregate: one DuckDB query per metric, `GROUP BY` a group id over a (group, row) membership
  table joined to the columns the definition reads; one value per group and input column;
- derived: per input column, over a table of that column's metric values (one row per group),
  in dependency order;
- drift: per drift row of the engine, the current group's values as `current_df` and the
  comparison's (baseline group, or the previous window's group) as `base_df`, positionally joined.
A value is cast to the metric's output type, as Databricks stores it in the declared type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from lakemon.config import custom_metrics as cm

from .groups import Group, GroupKey, Rows, count_rows
from .schema import CUSTOM_OUTPUT_TYPES, TABLE_COLUMN
from .settings import CustomMetricSpec, MonitorSettings, SettingsMismatch
from .sources import ColumnSource

DUCKDB_TYPES = {"double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN",
                "string": "VARCHAR"}


class GroupRef(NamedTuple):
    """Which profiled group a custom metric value belongs to. Group keys repeat across windows
    and the baseline, so the plan says whose: a window's group (`plan`: its index among the
    run's plans, `window`) or the baseline's (`plan` None, `baseline`)."""

    plan: int | None
    key: GroupKey

    @classmethod
    def window(cls, plan: int, key: GroupKey) -> GroupRef:
        return cls(plan, key)

    @classmethod
    def baseline(cls, key: GroupKey) -> GroupRef:
        return cls(None, key)


class Cell(NamedTuple):
    """Where aggregate and derived values land: one profile row, a group's row of one column
    (':table' for the table)."""

    group: GroupRef
    column: str


class Members(NamedTuple):
    """A group with rows of its own and those rows, what an aggregate is computed over."""

    ref: GroupRef
    rows: Rows


class DriftPair(NamedTuple):
    """One drift row group of the engine (its plan and comparison index) and the two groups
    whose values the definition reads: `current` as `current_df`, `base` as `base_df` (None:
    the baseline has no such group, so `base_df` is all null)."""

    plan: int
    comparison: int
    current: GroupRef
    base: GroupRef | None


def _column_name(input_column: str) -> str:
    return TABLE_COLUMN if input_column == cm.TABLE else input_column


def _rows_array(rows) -> np.ndarray:
    if isinstance(rows, slice):
        return np.arange(rows.start, rows.stop, dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


@contextmanager
def _duckdb() -> Iterator:
    """A DuckDB connection for one kind of metric, closed on the way out."""
    import duckdb  # lazy: only for custom metrics (duckdb import: 0.1 s)

    con = duckdb.connect()
    try:
        yield con
    finally:
        con.close()


def _query(con, m: CustomMetricSpec, sql: str, tables: dict[str, pa.Table]) -> pa.Table:
    """Run `sql` with `tables` registered for it (unregistered after): a definition DuckDB
    cannot evaluate is the config's fault, so it fails as SettingsMismatch naming the metric."""
    import duckdb  # lazy: only for custom metrics (duckdb import: 0.1 s)

    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise SettingsMismatch(f"custom metric {m.name!r} cannot be evaluated: {exc}") from None
    finally:
        for name in tables:
            con.unregister(name)


class CustomValues:
    """The custom metric values of one engine run, looked up by group and column."""

    def __init__(self, settings: MonitorSettings, inference: ColumnSource, plans: Sequence, baseline=None) -> None:
        self.settings = settings
        self.metrics = settings.custom_metrics
        self.values: dict[Cell, dict] = {}
        self.alias: dict[GroupRef, GroupRef] = {}
        inf_groups: list[Members] = []
        for i, plan in enumerate(plans):
            inf_groups += self._with_own_rows(plan.groups, partial(GroupRef.window, i))
        self._aggregate(inference, inf_groups)
        if baseline is not None:
            self._aggregate(baseline.source, self._with_own_rows(baseline.groups.values(), GroupRef.baseline))
        self._derive()
        self.drift: dict[tuple[int, int, str], dict] = {}
        self._drift(plans)

    def _with_own_rows(self, groups: Iterable[Group], ref: Callable[[GroupKey], GroupRef]) -> list[Members]:
        """The groups that have rows of their own; a group with exactly its parent's rows
        (`same_as`) is recorded as an alias of the parent, whose values it shares."""
        own = []
        for g in groups:
            if g.same_as is not None:
                self.alias[ref(g.key)] = ref(g.same_as)
            else:
                own.append(Members(ref(g.key), g.rows))
        return own

    def _own(self, ref: GroupRef) -> GroupRef:
        return self.alias.get(ref, ref)

    def profile_fields(self, ref: GroupRef, column: str) -> dict:
        """Aggregate and derived values of a profile row (empty when the column has none)."""
        return self.values.get(Cell(self._own(ref), column), {})

    def drift_fields(self, i: int, j: int, column: str) -> dict:
        return self.drift.get((i, j, column), {})

    def _render(self, m: CustomMetricSpec, input_column: str) -> str:
        s = self.settings
        values = {"input_column": input_column, "prediction_col": s.prediction_col or "",
                  "label_col": s.label_col or "", "current_df": "current_df", "base_df": "base_df"}
        return cm.render(m.definition, values)

    def _definition(self, m: CustomMetricSpec, input_column: str) -> tuple[str, set[str]]:
        """The metric rendered for one input column, and the (lower-case) columns it reads."""
        sql = self._render(m, input_column)
        return sql, {name for _, name in cm.referenced_columns(sql)}

    # --- aggregate ------------------------------------------------------------------------------

    def _aggregate(self, source: ColumnSource, groups: list[Members]) -> None:
        aggregates = [m for m in self.metrics if m.type == "aggregate"]
        if not aggregates or not groups:
            return
        present = set(source.column_names)
        membership_g = np.concatenate([np.full(count_rows(g.rows), gid, dtype=np.int32) for gid, g in enumerate(groups)])
        membership_r = np.concatenate([_rows_array(g.rows) for g in groups])
        with _duckdb() as con:
            con.register("lm_members", pa.table({"__lm_group": membership_g, "__lm_row": membership_r}))
            for m in aggregates:
                exprs, needed = [], set()
                for c in m.input_columns:
                    sql, refs = self._definition(m, c)
                    names = {n for n in present if n.lower() in refs}
                    if len(names) < len(refs):  # a column this table lacks: no value, as for an absent column
                        exprs.append(f"CAST(NULL AS {DUCKDB_TYPES[m.output_data_type]})")
                        continue
                    needed |= names
                    exprs.append(f"CAST(({cm.to_duckdb(sql)}) AS {DUCKDB_TYPES[m.output_data_type]})")
                data = {n: source.column(n) for n in sorted(needed)}
                data["__lm_row"] = pa.array(np.arange(source.num_rows, dtype=np.int64))
                select = ", ".join(f'{e} AS "v{k}"' for k, e in enumerate(exprs))
                result = _query(
                    con, m,
                    f"SELECT __lm_group, {select} FROM lm_members JOIN lm_data USING (__lm_row) GROUP BY __lm_group",
                    {"lm_data": pa.table(data)},
                )
                gids = result.column("__lm_group").to_pylist()
                for k, c in enumerate(m.input_columns):
                    for gid, value in zip(gids, result.column(f"v{k}").to_pylist(), strict=True):
                        self.values.setdefault(Cell(groups[gid].ref, _column_name(c)), {})[m.name] = value

    # --- derived and drift: one value per row of metric values ------------------------------------

    def _metric_table(self, rows: list[dict], names: set[str]) -> pa.Table:
        types = {m.name: CUSTOM_OUTPUT_TYPES[m.output_data_type] for m in self.metrics}
        return pa.table({n: pa.array([r.get(n) for r in rows], type=types[n]) for n in sorted(names)}
                        | {"__lm_i": pa.array(np.arange(len(rows), dtype=np.int64))})

    def _per_row(self, con, m: CustomMetricSpec, sql: str, from_sql: str, tables: dict[str, pa.Table]) -> list:
        """The definition evaluated on each row of the metric-value tables (joined by row
        number), in row order, cast to the metric's output type."""
        return _query(
            con, m,
            f"SELECT CAST(({cm.to_duckdb(sql)}) AS {DUCKDB_TYPES[m.output_data_type]}) AS v "
            f"FROM {from_sql} ORDER BY __lm_i",
            tables,
        ).column("v").to_pylist()

    def _derive(self) -> None:
        """Derived metrics over each column's aggregate (and earlier derived) values, one row
        per group, in dependency order."""
        ordered = cm.evaluation_order(self.metrics)
        if not ordered:
            return
        with _duckdb() as con:
            for m in ordered:
                for c in m.input_columns:
                    column = _column_name(c)
                    cells = [k for k in self.values if k.column == column]
                    if not cells:
                        continue
                    sql, refs = self._definition(m, c)
                    table = self._metric_table([self.values[k] for k in cells], refs)
                    out = self._per_row(con, m, sql, "lm_values", {"lm_values": table})
                    for k, value in zip(cells, out, strict=True):
                        self.values[k][m.name] = value

    def _drift_pairs(self, plans: Sequence) -> list[DriftPair]:
        """Every drift row group of the wanted windows, with the groups it compares."""
        pairs = []
        for i, plan in enumerate(plans):
            if not plan.wanted:
                continue
            for j, (drift_type, g, ref_key) in enumerate(plan.comparisons):
                if drift_type == "BASELINE":
                    base = None if ref_key is None else GroupRef.baseline(ref_key)
                else:
                    base = GroupRef.window(i - 1, ref_key)
                pairs.append(DriftPair(i, j, GroupRef.window(i, g.key), base))
        return pairs

    def _drift(self, plans: Sequence) -> None:
        """Drift metrics per drift row: the current group's values as `current_df`, the
        comparison's as `base_df`."""
        drifts = [m for m in self.metrics if m.type == "drift"]
        pairs = self._drift_pairs(plans) if drifts else []
        if not pairs:
            return
        with _duckdb() as con:
            for m in drifts:
                for c in m.input_columns:
                    column = _column_name(c)
                    sql, refs = self._definition(m, c)
                    cur = [self.profile_fields(p.current, column) for p in pairs]
                    base = [self.profile_fields(p.base, column) if p.base is not None else {} for p in pairs]
                    tables = {"lm_current": self._metric_table(cur, refs), "lm_base": self._metric_table(base, refs)}
                    out = self._per_row(con, m, sql, "lm_current AS current_df JOIN lm_base AS base_df USING (__lm_i)",
                                        tables)
                    for p, value in zip(pairs, out, strict=True):
                        self.drift.setdefault((p.plan, p.comparison, column), {})[m.name] = value
