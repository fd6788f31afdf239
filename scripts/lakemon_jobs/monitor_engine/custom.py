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

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from lakemon.config import custom_metrics as cm

from .groups import count_rows
from .schema import CUSTOM_OUTPUT_TYPES, TABLE_COLUMN
from .settings import CustomMetricSpec, MonitorSettings, SettingsMismatch
from .sources import ColumnSource

DUCKDB_TYPES = {"double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INTEGER", "boolean": "BOOLEAN",
                "string": "VARCHAR"}

Key = tuple
"""("I", plan index, group key) for a window's group, ("B", group key) for a baseline group."""


def _column_name(input_column: str) -> str:
    return TABLE_COLUMN if input_column == cm.TABLE else input_column


def _rows_array(rows) -> np.ndarray:
    if isinstance(rows, slice):
        return np.arange(rows.start, rows.stop, dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


class CustomValues:
    """The custom metric values of one engine run, looked up by group and column."""

    def __init__(self, settings: MonitorSettings, inference: ColumnSource, plans: Sequence, baseline=None) -> None:
        self.settings = settings
        self.metrics = settings.custom_metrics
        self.values: dict[tuple[Key, str], dict] = {}
        self.alias: dict[Key, Key] = {}
        inf_groups = []
        for i, plan in enumerate(plans):
            for g in plan.groups:
                if g.same_as is not None:
                    self.alias[("I", i, g.key)] = ("I", i, g.same_as)
                else:
                    inf_groups.append((("I", i, g.key), g.rows))
        self._aggregate(inference, inf_groups)
        if baseline is not None:
            base_groups = []
            for g in baseline.groups.values():
                if g.same_as is not None:
                    self.alias[("B", g.key)] = ("B", g.same_as)
                else:
                    base_groups.append((("B", g.key), g.rows))
            self._aggregate(baseline.source, base_groups)
        self._derive()
        self.drift: dict[tuple[int, int, str], dict] = {}
        self._drift(plans)

    def _own(self, key: Key) -> Key:
        return self.alias.get(key, key)

    def profile_fields(self, key: Key, column: str) -> dict:
        """Aggregate and derived values of a profile row (empty when the column has none)."""
        return self.values.get((self._own(key), column), {})

    def drift_fields(self, i: int, j: int, column: str) -> dict:
        return self.drift.get((i, j, column), {})

    # --- aggregate ------------------------------------------------------------------------------

    def _render(self, m: CustomMetricSpec, input_column: str) -> str:
        s = self.settings
        values = {"input_column": input_column, "prediction_col": s.prediction_col or "",
                  "label_col": s.label_col or "", "current_df": "current_df", "base_df": "base_df"}
        return cm.render(m.definition, values)

    def _aggregate(self, source: ColumnSource, groups: list[tuple[Key, object]]) -> None:
        aggregates = [m for m in self.metrics if m.type == "aggregate"]
        if not aggregates or not groups:
            return
        import duckdb  # lazy: only for custom metrics (duckdb import: 0.1 s)

        present = set(source.column_names)
        membership_g = np.concatenate([np.full(count_rows(r), gid, dtype=np.int32) for gid, (_, r) in enumerate(groups)])
        membership_r = np.concatenate([_rows_array(r) for _, r in groups])
        con = duckdb.connect()
        try:
            con.register("lm_members", pa.table({"__lm_group": membership_g, "__lm_row": membership_r}))
            for m in aggregates:
                exprs, needed = [], set()
                for c in m.input_columns:
                    sql = self._render(m, c)
                    refs = {name for _, name in cm.referenced_columns(sql)}
                    names = {n for n in present if n.lower() in refs}
                    if len(names) < len(refs):  # a column this table lacks: no value, as for an absent column
                        exprs.append(f"CAST(NULL AS {DUCKDB_TYPES[m.output_data_type]})")
                        continue
                    needed |= names
                    exprs.append(f"CAST(({cm.to_duckdb(sql)}) AS {DUCKDB_TYPES[m.output_data_type]})")
                data = {n: source.column(n) for n in sorted(needed)}
                data["__lm_row"] = pa.array(np.arange(source.num_rows, dtype=np.int64))
                con.register("lm_data", pa.table(data))
                select = ", ".join(f'{e} AS "v{k}"' for k, e in enumerate(exprs))
                try:
                    result = con.execute(
                        f"SELECT __lm_group, {select} FROM lm_members JOIN lm_data USING (__lm_row) GROUP BY __lm_group"
                    ).to_arrow_table()
                except duckdb.Error as exc:
                    raise SettingsMismatch(f"custom metric {m.name!r} cannot be evaluated: {exc}") from None
                finally:
                    con.unregister("lm_data")
                gids = result.column("__lm_group").to_pylist()
                for k, c in enumerate(m.input_columns):
                    for gid, value in zip(gids, result.column(f"v{k}").to_pylist(), strict=True):
                        self.values.setdefault((groups[gid][0], _column_name(c)), {})[m.name] = value
        finally:
            con.close()

    # --- derived --------------------------------------------------------------------------------

    def _metric_table(self, rows: list[dict], names: set[str]) -> pa.Table:
        types = {m.name: CUSTOM_OUTPUT_TYPES[m.output_data_type] for m in self.metrics}
        return pa.table({n: pa.array([r.get(n) for r in rows], type=types[n]) for n in sorted(names)}
                        | {"__lm_i": pa.array(np.arange(len(rows), dtype=np.int64))})

    def _derive(self) -> None:
        ordered = cm.evaluation_order(self.metrics)
        if not ordered:
            return
        import duckdb  # lazy: only for custom metrics (duckdb import: 0.1 s)

        con = duckdb.connect()
        try:
            for m in ordered:
                for c in m.input_columns:
                    column = _column_name(c)
                    keys = [k for k in self.values if k[1] == column]
                    if not keys:
                        continue
                    sql = self._render(m, c)
                    refs = {name for _, name in cm.referenced_columns(sql)}
                    con.register("lm_values", self._metric_table([self.values[k] for k in keys], refs))
                    try:
                        out = con.execute(
                            f"SELECT CAST(({cm.to_duckdb(sql)}) AS {DUCKDB_TYPES[m.output_data_type]}) AS v "
                            "FROM lm_values ORDER BY __lm_i"
                        ).to_arrow_table().column("v").to_pylist()
                    except duckdb.Error as exc:
                        raise SettingsMismatch(f"custom metric {m.name!r} cannot be evaluated: {exc}") from None
                    finally:
                        con.unregister("lm_values")
                    for k, value in zip(keys, out, strict=True):
                        self.values[k][m.name] = value
        finally:
            con.close()

    # --- drift ----------------------------------------------------------------------------------

    def _drift(self, plans: Sequence) -> None:
        drifts = [m for m in self.metrics if m.type == "drift"]
        if not drifts:
            return
        pairs: list[tuple[int, int, Key, Key | None]] = []
        for i, plan in enumerate(plans):
            if not plan.wanted:
                continue
            for j, (drift_type, g, ref_key) in enumerate(plan.comparisons):
                if drift_type == "BASELINE":
                    base = None if ref_key is None else ("B", ref_key)
                else:
                    base = ("I", i - 1, ref_key)
                pairs.append((i, j, ("I", i, g.key), base))
        if not pairs:
            return
        import duckdb  # lazy: only for custom metrics (duckdb import: 0.1 s)

        con = duckdb.connect()
        try:
            for m in drifts:
                for c in m.input_columns:
                    column = _column_name(c)
                    sql = self._render(m, c)
                    refs = {name for _, name in cm.referenced_columns(sql)}
                    cur = [self.profile_fields(p[2], column) for p in pairs]
                    base = [self.profile_fields(p[3], column) if p[3] is not None else {} for p in pairs]
                    con.register("lm_current", self._metric_table(cur, refs))
                    con.register("lm_base", self._metric_table(base, refs))
                    try:
                        out = con.execute(
                            f"SELECT CAST(({cm.to_duckdb(sql)}) AS {DUCKDB_TYPES[m.output_data_type]}) AS v "
                            "FROM lm_current AS current_df JOIN lm_base AS base_df USING (__lm_i) "
                            "ORDER BY __lm_i"
                        ).to_arrow_table().column("v").to_pylist()
                    except duckdb.Error as exc:
                        raise SettingsMismatch(f"custom metric {m.name!r} cannot be evaluated: {exc}") from None
                    finally:
                        con.unregister("lm_current")
                        con.unregister("lm_base")
                    for (i, j, _, _), value in zip(pairs, out, strict=True):
                        self.drift.setdefault((i, j, column), {})[m.name] = value
        finally:
            con.close()
