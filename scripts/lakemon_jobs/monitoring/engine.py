"""The local monitor engine: inference log + baseline -> profile and drift metrics tables.

`compute_metrics` is the pure entry point. Internally the work is split so a refresh can reuse
a stored baseline profile (`BaselineProfile`) and recompute only some windows (`emit`).

Work per window: the rows of each group (whole table, each slice value, each model id) are
profiled column by column in a thread pool (numpy's sorts release the GIL); a group whose rows
are the same as its parent's (one model id in the window) reuses the parent's results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from lakemon.statistics import (
    CHI_SQUARED_TEST,
    JS_DISTANCE,
    KS_TEST,
    L_INFINITY_DISTANCE,
    NUMERIC,
    POPULATION_STABILITY_INDEX,
    TV_DISTANCE,
    WASSERSTEIN_DISTANCE,
)

from .columns import ColumnState, categorical_state, numeric_state
from .prepare import Prepared, Vocabulary, monitored_columns, prepare
from .quality import classification_metrics, regression_metrics
from .schema import ALL_MODELS, TABLE_COLUMN, drift_metrics_schema, profile_metrics_schema
from .settings import ColumnSpec, MonitorSettings
from .stats import TOP_CATEGORIES, categorical_drift, numeric_drift, preload_slow_imports
from .windows import timestamps_us, window_end, window_starts

GroupKey = tuple[str | None, str | None, str]
"""(slice_key, slice_value, model_id)."""
WHOLE: GroupKey = (None, None, ALL_MODELS)


@dataclass
class Group:
    key: GroupKey
    rows: np.ndarray
    states: dict[str, ColumnState] = field(default_factory=dict)
    table_row: dict = field(default_factory=dict)
    same_as: GroupKey | None = None
    """Set when this group has exactly the rows of another (its states are shared)."""


@dataclass
class BaselineProfile:
    """Profile of the baseline table per group, computed once and reused by every window."""

    specs: list[ColumnSpec]
    vocabs: dict[str, Vocabulary]
    groups: dict[GroupKey, Group]
    present: set[str]

    def for_group(self, key: GroupKey) -> Group | None:
        """Baseline rows of the same slice and model id, else of the same slice, all models."""
        return self.groups.get(key) or self.groups.get((key[0], key[1], ALL_MODELS))


def _pool_size() -> int:
    """Worker threads: LAKEMON_MONITOR_THREADS, else one per core (at most 4)."""
    configured = os.environ.get("LAKEMON_MONITOR_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(4, os.cpu_count() or 1))


def _stable_order(keys: np.ndarray) -> np.ndarray | None:
    """argsort(keys, kind='stable'), or None when keys are already in order: inference logs
    usually arrive in time order, and sorting a million keys costs about 60 ms."""
    if keys.shape[0] < 2 or not np.any(keys[1:] < keys[:-1]):
        return None
    return np.argsort(keys, kind="stable")


def _split(codes: np.ndarray, rows: np.ndarray) -> Iterable[tuple[int, np.ndarray]]:
    """(code, rows with that code) for each code present among `rows`, rows kept in order."""
    sub = codes[rows]
    if sub.shape[0] and not np.any(sub != sub[0]):  # one code (one model id): no sort
        yield int(sub[0]), rows
        return
    order = _stable_order(sub)
    if order is None:
        order = np.arange(sub.shape[0])
    sorted_codes = sub[order]
    cuts = np.flatnonzero(np.diff(sorted_codes)) + 1
    for part in np.split(order, cuts):
        if part.shape[0]:
            yield int(sub[part[0]]), rows[part]


def enumerate_groups(prep: Prepared, rows: np.ndarray, slicing: Iterable[str]) -> list[Group]:
    """Whole table, each model id, each slice value, and each slice value x model id."""
    groups: list[Group] = []

    def with_models(sk: str | None, sv: str | None, base_rows: np.ndarray) -> None:
        parent = Group((sk, sv, ALL_MODELS), base_rows)
        groups.append(parent)
        parts = [(c, r) for c, r in _split(prep.model_codes, base_rows) if c >= 0]
        for code, model_rows in parts:
            key = (sk, sv, prep.model_names[code])
            same = parent.key if model_rows.shape[0] == base_rows.shape[0] else None
            groups.append(Group(key, model_rows, same_as=same))

    with_models(None, None, rows)
    for expr in slicing:
        names = prep.slice_names[expr]
        for code, slice_rows in _split(prep.slice_codes[expr], rows):
            if code == -2:
                continue
            with_models(expr, names[code] if code >= 0 else None, slice_rows)
    return groups


class Engine:
    def __init__(self, settings: MonitorSettings, pool: ThreadPoolExecutor) -> None:
        self.settings = settings
        self.pool = pool

    # --- profiling --------------------------------------------------------------------------

    def profile_groups(self, prep: Prepared, groups: list[Group], specs: list[ColumnSpec], vocabs) -> None:
        """Fill `states` and `table_row` of each group (shared states for same_as groups)."""
        by_key = {g.key: g for g in groups}
        own = [g for g in groups if g.same_as is None]
        tasks = []
        for g in own:
            for spec in specs:
                if spec.name in prep.present:
                    tasks.append((g, spec, self.pool.submit(self._state, prep, g.rows, spec, vocabs)))
        for g, spec, fut in tasks:
            g.states[spec.name] = fut.result()
        for g in own:
            g.table_row = self._table_row(prep, g, specs)
        for g in groups:
            if g.same_as is not None:
                parent = by_key[g.same_as]
                g.states, g.table_row = parent.states, parent.table_row

    @staticmethod
    def _state(prep: Prepared, rows: np.ndarray, spec: ColumnSpec, vocabs: dict[str, Vocabulary]) -> ColumnState:
        whole = rows.shape[0] == prep.n  # rows are sorted and distinct: all rows, no gather needed
        if spec.kind == NUMERIC:
            values, nulls = prep.numeric[spec.name]
            return numeric_state(values, nulls) if whole else numeric_state(values[rows], nulls[rows])
        vocab = vocabs[spec.name]
        size = len(vocab.values)
        counts = np.bincount(prep.codes_for(spec.name, size, None if whole else rows), minlength=size + 1)
        return categorical_state(counts, vocab.values, vocab.lengths())

    def _table_row(self, prep: Prepared, g: Group, specs: list[ColumnSpec]) -> dict:
        non_null = [s.name for s in specs if s.name in g.states and g.states[s.name].summary["num_nulls"] < g.rows.shape[0]]
        row = {"count": int(g.rows.shape[0]), "non_null_columns": non_null}
        row.update(self._quality(prep, g.rows))
        return row

    def _quality(self, prep: Prepared, rows: np.ndarray) -> dict:
        s = self.settings
        table = prep.table
        if not s.label_col or not s.prediction_col:
            return {}
        if s.label_col not in table.column_names or s.prediction_col not in table.column_names:
            return {}
        idx = pa.array(rows)
        label = table.column(s.label_col).take(idx)
        pred = table.column(s.prediction_col).take(idx)
        ok = np.asarray(label.is_valid().to_numpy(zero_copy_only=False) & pred.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if not ok.any():
            return {}
        if s.problem_type == "regression":
            y = np.asarray(label.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            p = np.asarray(pred.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            return regression_metrics(y, p)
        y = np.asarray(label.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
        p = np.asarray(pred.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
        proba = None
        if s.prediction_proba_col and s.prediction_proba_col in table.column_names:
            pr = table.column(s.prediction_proba_col).take(idx).cast(pa.float64())
            proba = np.asarray(pr.to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
        return classification_metrics(y, p, proba)

    # --- drift --------------------------------------------------------------------------------

    def drift_rows(
        self, cur: Group, ref: Group | None, specs: list[ColumnSpec], cache: dict, ranks: ValueRanks | None = None
    ) -> list[tuple]:
        """(column spec or None for ':table', delta/statistic fields) for cur against ref."""
        out: list[tuple] = [(None, self._table_delta(cur, ref))]
        pending = []
        for spec in specs:
            c = cur.states.get(spec.name)
            if c is None:
                continue
            r = ref.states.get(spec.name) if ref is not None else None
            key = (id(c), id(r))
            if key not in cache:
                rank = ranks.of(spec.name) if ranks is not None and c.counts is not None else None
                cache[key] = self.pool.submit(_column_drift, c, r, rank)
            pending.append((spec, key))
        out.extend((spec, cache[key]) for spec, key in pending)
        return out

    @staticmethod
    def _table_delta(cur: Group, ref: Group | None) -> dict:
        if ref is None:
            return {}
        now, before = set(cur.table_row["non_null_columns"]), set(ref.table_row["non_null_columns"])
        return {
            "count_delta": float(cur.table_row["count"] - ref.table_row["count"]),
            "non_null_columns_delta": {"added": len(now - before), "missing": len(before - now)},
        }


def _delta(cur: dict, ref: dict, name: str) -> float | None:
    a, b = cur.get(name), ref.get(name)
    return None if a is None or b is None else float(a - b)


class ValueRanks:
    """Rank of each categorical code's value in value order, computed once per column and run,
    and only for columns with more categories than the "other" cut (below it there are no ties
    to break)."""

    def __init__(self, vocabs: dict[str, Vocabulary]) -> None:
        self.vocabs = vocabs
        self._ranks: dict[str, np.ndarray | None] = {}

    def of(self, name: str) -> np.ndarray | None:
        if name not in self._ranks:
            vocab = self.vocabs.get(name)
            if vocab is None or len(vocab.values) <= TOP_CATEGORIES:
                self._ranks[name] = None
            else:
                order = np.argsort(np.asarray(vocab.values, dtype=object), kind="stable")
                rank = np.empty(order.shape[0], dtype=np.int64)
                rank[order] = np.arange(order.shape[0])
                self._ranks[name] = rank
        return self._ranks[name]


def _column_drift(cur: ColumnState, ref: ColumnState | None, rank: np.ndarray | None = None) -> dict:
    if ref is None:
        return {}
    out = {
        name: _delta(cur.summary, ref.summary, src)
        for name, src in (
            ("count_delta", "count"),
            ("avg_delta", "avg"),
            ("percent_null_delta", "percent_null"),
            ("percent_zeros_delta", "percent_zeros"),
            ("percent_distinct_delta", "percent_distinct"),
        )
    }
    if cur.kind != ref.kind:
        return out
    if cur.kind == NUMERIC:
        d = numeric_drift(cur.sample, ref.sample)
        if d is not None:
            out.update({
                KS_TEST.name: {"statistic": d.ks_statistic, "pvalue": d.ks_pvalue},
                WASSERSTEIN_DISTANCE.name: d.wasserstein,
                POPULATION_STABILITY_INDEX.name: d.psi,
            })
    else:
        d = categorical_drift(cur.counts, ref.counts, rank)
        if d is not None:
            out.update({
                JS_DISTANCE.name: d.js,
                CHI_SQUARED_TEST.name: {"statistic": d.chi2_statistic, "pvalue": d.chi2_pvalue},
                TV_DISTANCE.name: d.tv,
                L_INFINITY_DISTANCE.name: d.l_infinity,
            })
    return out


# --- building the tables ---------------------------------------------------------------------------


def build_baseline(
    baseline: pa.Table, settings: MonitorSettings, specs: list[ColumnSpec], vocabs: dict[str, Vocabulary],
    pool: ThreadPoolExecutor,
) -> BaselineProfile:
    prep = prepare(baseline, specs, settings, vocabs)
    groups = enumerate_groups(prep, np.arange(prep.n, dtype=np.int64), settings.slicing_exprs)
    Engine(settings, pool).profile_groups(prep, groups, specs, vocabs)
    return BaselineProfile(specs, vocabs, {g.key: g for g in groups}, prep.present)


def align_counts(profile: BaselineProfile, vocabs: dict[str, Vocabulary]) -> None:
    """Pad baseline category counts to `vocabs`, the vocabularies the inference log extended
    (new values are appended, null stays last). The run's vocabularies, not the profile's own:
    a stored profile is loaded with copies that the inference log then extends."""
    for g in profile.groups.values():
        for name, state in g.states.items():
            if state.counts is None:
                continue
            size = len(vocabs[name].values)
            if state.counts.shape[0] != size + 1:
                counts = np.zeros(size + 1, dtype=np.int64)
                counts[: state.counts.shape[0] - 1] = state.counts[:-1]
                counts[-1] = state.counts[-1]
                state.counts = counts


MONITOR_VERSION = 0
"""`monitor_version` of every local row: the local monitor has one configuration (a changed one
makes the refresh recompute every window, see refresh.py)."""


def _profile_row(
    window, log_type, granularity, key: GroupKey, column, data_type, fields: dict, model_id_col: str,
    commit_version: int | None = None,
) -> dict:
    row = {
        "window": window,
        "log_type": log_type,
        "logging_table_commit_version": commit_version,
        "monitor_version": MONITOR_VERSION,
        "granularity": granularity,
        "slice_key": key[0],
        "slice_value": key[1],
        "column_name": column,
        model_id_col: key[2],
        "data_type": data_type,
    }
    row.update(fields)
    for name in ("precision", "recall", "f1_score"):
        if row.get(name):  # map entries as (key, value) pairs, also after a JSON round trip
            row[name] = {**row[name], "one_vs_all": [tuple(kv) for kv in row[name]["one_vs_all"]]}
    return row


def run(
    inference: pa.Table,
    baseline_profile: BaselineProfile | None,
    settings: MonitorSettings,
    specs: list[ColumnSpec],
    vocabs: dict[str, Vocabulary],
    pool: ThreadPoolExecutor,
    emit: Callable[[str, int], bool] | None = None,
    emit_baseline: bool = True,
    progress: Callable[[str], None] | None = None,
    commit_version: int | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Profile and drift rows for the windows `emit(granularity, start_us)` accepts (all if None)."""
    preload_slow_imports()  # usually started earlier, before any reading
    engine = Engine(settings, pool)
    prep = prepare(inference, specs, settings, vocabs)
    if baseline_profile is not None:
        align_counts(baseline_profile, vocabs)
    ts, valid = (
        timestamps_us(inference.column(settings.timestamp_col), settings.timestamp_col)
        if settings.timestamp_col in inference.column_names
        else (np.zeros(prep.n, np.int64), np.zeros(prep.n, bool))
    )
    if settings.timestamp_col not in inference.column_names and inference.num_rows:
        raise ValueError(f"inference table has no timestamp column {settings.timestamp_col!r}")
    spec_by_name = {s.name: s for s in specs}
    ranks = ValueRanks(vocabs)  # after prepare: the vocabularies no longer grow in this run
    mid = settings.model_id_col
    profile_rows: list[dict] = []
    drift_rows: list[dict] = []

    if baseline_profile is not None and emit_baseline:
        for granularity in settings.granularities:
            for key, g in baseline_profile.groups.items():
                profile_rows.append(_profile_row(None, "BASELINE", granularity, key, TABLE_COLUMN, None, g.table_row, mid, commit_version))
                for name, state in g.states.items():
                    profile_rows.append(
                        _profile_row(None, "BASELINE", granularity, key, name, spec_by_name[name].data_type, state.summary, mid, commit_version)
                    )

    all_valid = bool(valid.all())
    valid_rows = np.arange(prep.n, dtype=np.int64) if all_valid else np.flatnonzero(valid)
    valid_ts = ts if all_valid else ts[valid_rows]
    for granularity in settings.granularities:
        starts = window_starts(valid_ts, granularity)
        order = _stable_order(starts)
        sorted_starts = starts if order is None else starts[order]
        rows_in_order = valid_rows if order is None else valid_rows[order]
        cuts = np.flatnonzero(np.diff(sorted_starts)) + 1
        unique_starts = sorted_starts[np.concatenate(([0], cuts))] if sorted_starts.shape[0] else sorted_starts
        parts = np.split(rows_in_order, cuts) if sorted_starts.shape[0] else []
        prev: tuple[int, dict[GroupKey, Group]] | None = None
        for i, (start, rows) in enumerate(zip(unique_starts.tolist(), parts, strict=True)):
            end = window_end(start, granularity)
            wanted = emit is None or emit(granularity, start)
            nxt_wanted = i + 1 < len(parts) and (emit is None or emit(granularity, int(unique_starts[i + 1])))
            if not wanted and not nxt_wanted:
                prev = None
                continue
            if progress:
                progress(f"{granularity} window {np.datetime64(start, 'us')} ({rows.shape[0]} rows)")
            # rows are ascending: valid_rows is, and a stable sort by window keeps that order
            groups = enumerate_groups(prep, rows, settings.slicing_exprs)
            engine.profile_groups(prep, groups, specs, vocabs)
            current = {g.key: g for g in groups}
            if wanted:
                window = {"start": start, "end": end}
                for g in groups:
                    profile_rows.append(_profile_row(window, "INPUT", granularity, g.key, TABLE_COLUMN, None, g.table_row, mid, commit_version))
                    for name, state in g.states.items():
                        profile_rows.append(
                            _profile_row(window, "INPUT", granularity, g.key, name, spec_by_name[name].data_type, state.summary, mid, commit_version)
                        )
                cache: dict = {}
                comparisons = []
                for g in groups:
                    if baseline_profile is not None:
                        comparisons.append(("BASELINE", None, g, baseline_profile.for_group(g.key)))
                    if prev is not None and prev[0] == start:
                        ref = prev[1].get(g.key)
                        if ref is not None:
                            comparisons.append(("CONSECUTIVE", prev[2], g, ref))
                for drift_type, window_cmp, g, ref in comparisons:
                    for spec, fields in engine.drift_rows(g, ref, specs, cache, ranks):
                        drift_rows.append((window, window_cmp, drift_type, granularity, g.key, spec, fields))
            prev = (end, current, {"start": start, "end": end})

    drift_dicts = []
    for window, window_cmp, drift_type, granularity, key, spec, fields in drift_rows:
        values = fields.result() if hasattr(fields, "result") else fields
        row = {
            "window": window,
            "window_cmp": window_cmp,
            "drift_type": drift_type,
            "monitor_version": MONITOR_VERSION,
            "granularity": granularity,
            "slice_key": key[0],
            "slice_value": key[1],
            "column_name": TABLE_COLUMN if spec is None else spec.name,
            mid: key[2],
            "data_type": None if spec is None else spec.data_type,
        }
        row.update(values)
        drift_dicts.append(row)
    return (
        pa.Table.from_pylist(profile_rows, schema=profile_metrics_schema(mid)),
        pa.Table.from_pylist(drift_dicts, schema=drift_metrics_schema(mid)),
    )


def compute_metrics(inference: pa.Table, baseline: pa.Table, settings: MonitorSettings) -> tuple[pa.Table, pa.Table]:
    """Profile and drift metrics tables (`profile_metrics_schema(settings.model_id_col)`,
    `drift_metrics_schema(...)`: the model-id column is named after model_id_col) for every
    window of the inference log against the baseline. Pure: reads nothing, writes nothing."""
    preload_slow_imports()
    specs = monitored_columns(settings, *(t for t in (inference, baseline) if t is not None))
    vocabs: dict[str, Vocabulary] = {}
    with ThreadPoolExecutor(_pool_size()) as pool:
        base = build_baseline(baseline, settings, specs, vocabs, pool) if baseline is not None else None
        return run(inference, base, settings, specs, vocabs, pool)
