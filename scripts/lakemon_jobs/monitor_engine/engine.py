"""The local monitor engine: inference log + baseline -> profile and drift metrics tables.

`compute_metrics` is the pure entry point. Internally the work is split so a refresh can reuse
a stored baseline profile (`BaselineProfile`) and recompute only some windows (`emit`).

Column at a time (bounded memory): the rows of each group (whole table, each slice value, each model
id) of each window are found once, from the timestamp, model-id and slicing columns. Then each
monitored column is one task: read its baseline and inference values, profile every group of
every window, compare each with the baseline and the previous window, keep only the resulting
rows' fields, release the values. Peak memory is therefore set by the columns in flight (one
per worker thread), not by the table; statistics stay exact because a column's full values
are in memory while it is computed. A group whose rows are its parent's (one model id in the
window) reuses the parent's results. Rows are written in the order the engine always wrote
them (tests/monitoring/golden).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakemon.contract.statistics import CATEGORICAL, NUMERIC

from .columns import ColumnState, categorical_state, numeric_state
from .prepare import (
    Structure,
    Vocabulary,
    categorical_codes,
    check_types,
    codes_for,
    monitored_columns,
    numeric_column,
    structure,
)
from .quality import classification_metrics, regression_metrics
from .schema import ALL_MODELS, TABLE_COLUMN, drift_metrics_schema, profile_metrics_schema
from .settings import ColumnSpec, MonitorSettings
from .sources import ColumnSource, is_text
from .stats import TOP_CATEGORIES, categorical_drift, numeric_drift, preload_slow_imports, statistic_fields
from .windows import timestamps_us, window_end, window_starts

GroupKey = tuple[str | None, str | None, str]
"""(slice_key, slice_value, model_id)."""
WHOLE: GroupKey = (None, None, ALL_MODELS)
Rows = np.ndarray | slice
"""Row positions in a table: ascending indices, or a contiguous range (no gather needed)."""


def _count(rows: Rows) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else int(rows.shape[0])


@dataclass
class Group:
    key: GroupKey
    rows: Rows | None
    """None for a stored profile's groups (their rows are not kept)."""
    states: dict[str, ColumnState] = field(default_factory=dict)
    table_row: dict = field(default_factory=dict)
    same_as: GroupKey | None = None
    """Set when this group has exactly the rows of another (its states are shared)."""
    n: int = -1

    def __post_init__(self) -> None:
        if self.rows is not None:
            self.n = _count(self.rows)


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

    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        return {key: g.states[spec.name] for key, g in self.groups.items() if spec.name in g.states}

    def release(self, name: str) -> None:
        """Drop the column's sorted values and counts (memory-mapped files of a stored profile)
        once a run has used them: the summaries stay. A profile serves one run."""
        for g in self.groups.values():
            st = g.states.get(name)
            if st is not None:
                st.sample, st.counts = None, None


def _pool_size() -> int:
    """Worker threads: LAKEMON_MONITOR_THREADS, else one per core (at most 4). Each works on
    one column at a time, so this also bounds how many columns are in memory at once."""
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


def _split(codes: np.ndarray, rows: Rows):
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
            yield int(sub[part[0]]), (part + rows.start if isinstance(rows, slice) else rows[part])


def enumerate_groups(st: Structure, rows: Rows, slicing) -> list[Group]:
    """Whole table, each model id, each slice value, and each slice value x model id."""
    groups: list[Group] = []

    def with_models(sk: str | None, sv: str | None, base_rows: Rows) -> None:
        parent = Group((sk, sv, ALL_MODELS), base_rows)
        groups.append(parent)
        parts = [(c, r) for c, r in _split(st.model_codes, base_rows) if c >= 0]
        for code, model_rows in parts:
            key = (sk, sv, st.model_names[code])
            same = parent.key if _count(model_rows) == parent.n else None
            groups.append(Group(key, model_rows, same_as=same))

    with_models(None, None, rows)
    for expr in slicing:
        names = st.slice_names[expr]
        for code, slice_rows in _split(st.slice_codes[expr], rows):
            if code == -2:
                continue
            with_models(expr, names[code] if code >= 0 else None, slice_rows)
    return groups


# --- one column ------------------------------------------------------------------------------------


class ColumnValues:
    """One column of one table as numpy: (values, nulls) if numeric, else codes in `vocab`."""

    def __init__(self, source: ColumnSource, spec: ColumnSpec, vocab: Vocabulary | None) -> None:
        self.kind = spec.kind
        self.vocab = vocab
        if spec.kind == NUMERIC:
            self.values, self.nulls = numeric_column(source, spec.name)
        else:
            # null -> the code after the last one, once for the column (the vocabulary is complete
            # for this table once its column is encoded), not once per group
            self.codes = codes_for(categorical_codes(source, spec.name, vocab), len(vocab.values))

    def state(self, rows: Rows) -> ColumnState:
        if self.kind == NUMERIC:
            return numeric_state(self.values[rows], self.nulls[rows])
        size = len(self.vocab.values)
        counts = np.bincount(self.codes[rows], minlength=size + 1)
        return categorical_state(counts, self.vocab.values, self.vocab.lengths())


def group_states(values: ColumnValues, groups) -> dict[GroupKey, ColumnState]:
    """State of the column for each group (a same_as group shares its parent's state)."""
    out: dict[GroupKey, ColumnState] = {}
    for g in groups:
        out[g.key] = out[g.same_as] if g.same_as is not None else values.state(g.rows)
    return out


def _pad_counts(states, size: int) -> None:
    """Pad baseline category counts to the vocabulary the inference log extended (new values
    are appended, null stays last)."""
    seen: set[int] = set()
    for state in states:
        if state.counts is None or id(state) in seen:
            continue
        seen.add(id(state))
        if state.counts.shape[0] != size + 1:
            counts = np.zeros(size + 1, dtype=np.int64)
            counts[: state.counts.shape[0] - 1] = state.counts[:-1]
            counts[-1] = state.counts[-1]
            state.counts = counts


def _summaries_only(states: dict[GroupKey, ColumnState]) -> dict[GroupKey, ColumnState]:
    """The same states without their values (shared states stay shared)."""
    light: dict[int, ColumnState] = {}
    return {k: light.setdefault(id(st), ColumnState(st.kind, st.summary)) for k, st in states.items()}


class BaselineTable:
    """A baseline still to profile: its groups now, each column's states when asked."""

    def __init__(self, source: ColumnSource, settings: MonitorSettings) -> None:
        self.source = source
        st = structure(source, settings)
        self.present = st.present
        self.groups = {g.key: g for g in enumerate_groups(st, slice(0, st.n), settings.slicing_exprs)}

    def for_group(self, key: GroupKey) -> Group | None:
        return self.groups.get(key) or self.groups.get((key[0], key[1], ALL_MODELS))

    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        return group_states(ColumnValues(self.source, spec, vocab), self.groups.values())

    def release(self, name: str) -> None:
        pass


# --- quality -------------------------------------------------------------------------------------


def _take(column: pa.ChunkedArray, rows: Rows) -> pa.ChunkedArray:
    if isinstance(rows, slice):
        return column.slice(rows.start, rows.stop - rows.start)
    return column.take(pa.array(rows))


def quality_rows(settings: MonitorSettings, source: ColumnSource, groups: list[Group]) -> list[dict]:
    """Quality metrics of each group (label and prediction columns read once), in order."""
    s = settings
    names = source.column_names
    if not s.label_col or not s.prediction_col or s.label_col not in names or s.prediction_col not in names:
        return [{} for _ in groups]
    label_all, pred_all = source.column(s.label_col), source.column(s.prediction_col)
    # Rows with both a label and a prediction, once for the table: an inference log is mostly
    # unlabelled (labels arrive later, if at all), and a group without such rows has no metrics.
    labelled = pc.and_(label_all.is_valid(), pred_all.is_valid())
    if not pc.any(labelled).as_py():
        return [{} for _ in groups]
    labelled = np.asarray(labelled.to_numpy(zero_copy_only=False), dtype=bool)
    proba_all = source.column(s.prediction_proba_col) if s.prediction_proba_col and s.prediction_proba_col in names else None
    out = []
    for g in groups:
        if not labelled[g.rows].any():
            out.append({})
            continue
        label, pred = _take(label_all, g.rows), _take(pred_all, g.rows)
        ok = np.asarray(label.is_valid().to_numpy(zero_copy_only=False) & pred.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if s.problem_type == "regression":
            y = np.asarray(label.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            p = np.asarray(pred.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            out.append(regression_metrics(y, p))
        else:
            y = np.asarray(label.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
            p = np.asarray(pred.cast(pa.string()).to_numpy(zero_copy_only=False), dtype=object)[ok].astype(str)
            proba = None
            if proba_all is not None:
                pr = _take(proba_all, g.rows).cast(pa.float64())
                proba = np.asarray(pr.to_numpy(zero_copy_only=False), dtype=np.float64)[ok]
            out.append(classification_metrics(y, p, proba))
    return out


def _table_row(g: Group, specs: list[ColumnSpec], quality: dict) -> dict:
    non_null = [s.name for s in specs if s.name in g.states and g.states[s.name].summary["num_nulls"] < g.n]
    row = {"count": g.n, "non_null_columns": non_null}
    row.update(quality)
    return row


def _table_delta(cur: dict, ref: dict | None) -> dict:
    if ref is None:
        return {}
    now, before = set(cur["non_null_columns"]), set(ref["non_null_columns"])
    return {
        "count_delta": float(cur["count"] - ref["count"]),
        "non_null_columns_delta": {"added": len(now - before), "missing": len(before - now)},
    }


# --- windows -------------------------------------------------------------------------------------


@dataclass
class WindowPlan:
    """One window to profile: its groups, and what each group is compared with."""

    granularity: str
    start: int
    end: int
    wanted: bool
    """False for a window profiled only as the CONSECUTIVE reference of the next one."""
    groups: list[Group]
    previous: WindowPlan | None = None
    comparisons: list[tuple[str, Group, GroupKey | None]] = field(default_factory=list)
    """(drift type, group, reference group key in the baseline or the previous window)."""


def plan_windows(inference: ColumnSource, st: Structure, settings: MonitorSettings, side, emit) -> list[WindowPlan]:
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
        starts = window_starts(valid_ts, granularity)
        order = _stable_order(starts)
        sorted_starts = starts if order is None else starts[order]
        del starts
        cuts = np.flatnonzero(np.diff(sorted_starts)) + 1
        unique_starts = sorted_starts[np.concatenate(([0], cuts))].tolist() if sorted_starts.shape[0] else []
        bounds = [0, *cuts.tolist(), sorted_starts.shape[0]] if sorted_starts.shape[0] else [0]
        del sorted_starts
        if order is None and valid_rows is None:  # in time order: each window is a range of rows
            parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        else:
            # rows ascending within each window: valid_rows is, and a stable sort keeps that order
            rows_in_order = (np.arange(st.n, dtype=np.int64) if valid_rows is None else valid_rows)
            if order is not None:
                rows_in_order = rows_in_order[order]
            parts = [rows_in_order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        prev: WindowPlan | None = None
        for i, (start, rows) in enumerate(zip(unique_starts, parts, strict=True)):
            wanted = emit is None or emit(granularity, start)
            nxt_wanted = i + 1 < len(parts) and (emit is None or emit(granularity, int(unique_starts[i + 1])))
            if not wanted and not nxt_wanted:
                prev = None
                continue
            end = window_end(start, granularity)
            plan = WindowPlan(granularity, start, end, wanted, enumerate_groups(st, rows, settings.slicing_exprs))
            plan.previous = prev if prev is not None and prev.end == start else None
            if wanted:
                before = {g.key for g in plan.previous.groups} if plan.previous is not None else set()
                for g in plan.groups:
                    if side is not None:
                        ref = side.for_group(g.key)
                        plan.comparisons.append(("BASELINE", g, None if ref is None else ref.key))
                    if g.key in before:
                        plan.comparisons.append(("CONSECUTIVE", g, g.key))
            plans.append(plan)
            prev = plan
    return plans


@dataclass
class ColumnResult:
    """What one column contributes to the tables: summaries and drift fields, no values."""

    baseline: dict[GroupKey, ColumnState] = field(default_factory=dict)
    windows: list[dict[GroupKey, dict] | None] = field(default_factory=list)
    """Per plan: group key -> profile fields (None when the column is not in the inference log)."""
    drift: dict[tuple[int, int], dict] = field(default_factory=dict)
    """(plan index, comparison index) -> drift fields."""


def column_task(spec: ColumnSpec, inference: ColumnSource, present: set[str], side, plans: list[WindowPlan],
                vocab: Vocabulary | None, ranks: ValueRanks) -> ColumnResult:
    """Everything the tables need from one column; its values are released on return."""
    name = spec.name
    out = ColumnResult(windows=[None] * len(plans))
    base_states = side.column_states(spec, vocab) if side is not None and name in side.present else {}
    if isinstance(side, BaselineTable):
        out.baseline = _summaries_only(base_states)
    if name in present:
        values = ColumnValues(inference, spec, vocab)  # after the baseline: its values come first in vocab
        rank = None
        if spec.kind != NUMERIC:
            _pad_counts(base_states.values(), len(vocab.values))
            rank = ranks.of(name)
        prev_states: dict[GroupKey, ColumnState] = {}
        for i, plan in enumerate(plans):
            states = group_states(values, plan.groups)
            if i == len(plans) - 1:
                values = None  # every window profiled: release the column before the drift work
            out.windows[i] = {k: st.summary for k, st in states.items()}
            if plan.wanted:
                cache: dict = {}
                for j, (drift_type, g, ref_key) in enumerate(plan.comparisons):
                    c = states[g.key]
                    refs = base_states if drift_type == "BASELINE" else prev_states
                    r = refs.get(ref_key) if ref_key is not None else None
                    key = (id(c), id(r))
                    if key not in cache:
                        cache[key] = _column_drift(c, r, rank)
                    out.drift[(i, j)] = cache[key]
            prev_states = states
        del prev_states
    if side is not None:
        side.release(name)
    return out


class _Progress:
    """Progress lines while columns complete: at most one every few seconds, and the last."""

    def __init__(self, say: Callable[[str], None] | None, total: int, every: float = 3.0) -> None:
        self.say, self.total, self.every = say, total, every
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def column_done(self, name: str) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.say and (now - self.last >= self.every or (self.done == self.total and now - self.t0 >= self.every)):
            self.say(f"columns profiled: {self.done}/{self.total} (last: {name}, {now - self.t0:.0f} s)")
            self.last = now


BYTES_PER_ROW = 30
"""Peak bytes per row (baseline + inference) of a numeric column pair being computed: both
sides' values and sorted copies, numpy.quantile's copy, the KS/Wasserstein merge. Measured:
1.2-1.4 GB peak for 10M + 10M rows with two columns in flight."""


def memory_budget() -> int:
    """Bytes the column tasks may use together: LAKEMON_MONITOR_MEMORY_GB, else three quarters
    of the memory the system has available now (Linux /proc/meminfo), else 4 GB."""
    configured = os.environ.get("LAKEMON_MONITOR_MEMORY_GB", "")
    try:
        if configured and float(configured) > 0:
            return int(float(configured) * 2**30)
    except ValueError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 * 3 // 4
    except OSError:
        pass
    return 4 * 2**30


def columns_at_once(rows: int, threads: int, budget: int | None = None) -> int:
    """How many column tasks run at once: one per thread, fewer when that many column pairs of
    `rows` rows (baseline + inference) would not fit the memory budget; never fewer than one."""
    per_column = BYTES_PER_ROW * rows
    budget = memory_budget() if budget is None else budget
    return max(1, min(threads, budget // max(per_column, 1)))


def _run_columns(pool: ThreadPoolExecutor, specs: list[ColumnSpec], task, progress: _Progress,
                 at_once: int | None = None) -> dict[str, ColumnResult]:
    """One task per column, in spec order, at most `at_once` submitted at a time (default: one
    per worker thread), so at most that many columns are in memory."""
    at_once = at_once or _pool_size()
    futures: list[tuple[str, Future]] = []
    out = {}
    pending = list(specs)
    while pending or futures:
        while pending and len(futures) < at_once:
            spec = pending.pop(0)
            futures.append((spec.name, pool.submit(task, spec)))
        name, fut = futures.pop(0)
        out[name] = fut.result()
        progress.column_done(name)
    return out


def _ensure_vocabs(vocabs: dict[str, Vocabulary], specs: list[ColumnSpec], *sources) -> None:
    """A vocabulary for every categorical column, created before the column tasks run (in
    threads): string-ness from the first table that has the column."""
    for spec in specs:
        if spec.kind == NUMERIC:
            continue
        for source in sources:
            if source is not None and spec.name in source.column_names:
                vocabs.setdefault(spec.name, Vocabulary(is_string=is_text(source.schema.field(spec.name).type)))
                break


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
            out.update(statistic_fields(d, NUMERIC))
    else:
        d = categorical_drift(cur.counts, ref.counts, rank)
        if d is not None:
            out.update(statistic_fields(d, CATEGORICAL))
    return out


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


# --- building the tables ---------------------------------------------------------------------------


def _finish_baseline(table: BaselineTable, specs: list[ColumnSpec], states: dict[str, dict[GroupKey, ColumnState]],
                     quality: list[dict]) -> None:
    """Fill each baseline group's states (spec order) and table row (a same_as group shares its
    parent's)."""
    own = [g for g in table.groups.values() if g.same_as is None]
    for g in own:
        g.states = {s.name: states[s.name][g.key] for s in specs if s.name in table.present}
    for g, q in zip(own, quality, strict=True):
        g.table_row = _table_row(g, specs, q)
    for g in table.groups.values():
        if g.same_as is not None:
            parent = table.groups[g.same_as]
            g.states, g.table_row = parent.states, parent.table_row


def build_baseline(
    baseline: ColumnSource, settings: MonitorSettings, specs: list[ColumnSpec], vocabs: dict[str, Vocabulary],
    pool: ThreadPoolExecutor, sink: Callable[[str, dict[GroupKey, ColumnState]], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> BaselineProfile:
    """Profile of the baseline, a column at a time. Without `sink` every column's sorted values
    and counts stay in the profile; with it, each column's states are handed to `sink` (which
    stores them, see state.BaselineWriter) and only the summaries are kept."""
    preload_slow_imports()
    check_types(baseline, specs)
    table = BaselineTable(baseline, settings)
    _ensure_vocabs(vocabs, specs, baseline)
    own = [g for g in table.groups.values() if g.same_as is None]
    quality = pool.submit(quality_rows, settings, baseline, own)
    wanted = [s for s in specs if s.name in table.present]

    def task(spec: ColumnSpec) -> dict[GroupKey, ColumnState]:
        states = table.column_states(spec, vocabs.get(spec.name))
        if sink is None:
            return states
        sink(spec.name, states)
        return _summaries_only(states)

    states = _run_columns(pool, wanted, task, _Progress(progress, len(wanted)),
                          columns_at_once(baseline.num_rows, _pool_size()))
    _finish_baseline(table, specs, states, quality.result())
    return BaselineProfile(specs, vocabs, table.groups, table.present)


def run(
    inference: ColumnSource,
    baseline: BaselineProfile | ColumnSource | None,
    settings: MonitorSettings,
    specs: list[ColumnSpec],
    vocabs: dict[str, Vocabulary],
    pool: ThreadPoolExecutor,
    emit: Callable[[str, int], bool] | None = None,
    emit_baseline: bool = True,
    progress: Callable[[str], None] | None = None,
    commit_version: int | None = None,
    baseline_source: ColumnSource | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Profile and drift rows for the windows `emit(granularity, start_us)` accepts (all if None).

    `baseline`: a stored profile (its arrays are released column by column: it serves one run),
    or the baseline table itself, profiled column by column alongside the inference log.
    `baseline_source`: the baseline table behind a stored profile, read only when the settings
    have custom metrics (their aggregates need the baseline's rows, which a profile does not keep)."""
    preload_slow_imports()  # usually started earlier, before any reading
    side = baseline
    if baseline is not None and not isinstance(baseline, BaselineProfile):
        check_types(baseline, specs)
    check_types(inference, specs)
    if settings.timestamp_col not in inference.column_names and inference.num_rows:
        raise ValueError(f"inference table has no timestamp column {settings.timestamp_col!r}")
    if baseline is not None and not isinstance(baseline, BaselineProfile):
        side = BaselineTable(baseline, settings)
    st = structure(inference, settings)
    plans = plan_windows(inference, st, settings, side, emit)
    present = st.present
    del st  # the model-id and slice codes: the plans hold each group's rows
    _ensure_vocabs(vocabs, specs, baseline if isinstance(side, BaselineTable) else None, inference)
    n_rows = sum(g.n for p in plans for g in p.groups if g.key == WHOLE)
    if progress:
        progress(f"{sum(p.wanted for p in plans)} window(s) to profile ({n_rows} rows), "
                 f"{len(specs)} columns, one column at a time")

    wanted_groups = [g for p in plans if p.wanted for g in p.groups if g.same_as is None]
    inf_quality = pool.submit(quality_rows, settings, inference, wanted_groups)
    base_quality = None
    if isinstance(side, BaselineTable):
        base_own = [g for g in side.groups.values() if g.same_as is None]
        base_quality = pool.submit(quality_rows, settings, side.source, base_own)
    ranks = ValueRanks(vocabs)
    in_any = [s for s in specs if s.name in present or (side is not None and s.name in side.present)]
    base_rows = side.groups[WHOLE].n if side is not None and WHOLE in side.groups else 0
    at_once = columns_at_once(inference.num_rows + base_rows, _pool_size())
    if progress and at_once < _pool_size():
        progress(f"{at_once} column(s) at a time: {_pool_size()} would not fit in "
                 f"{memory_budget() / 2**30:.1f} GB (LAKEMON_MONITOR_MEMORY_GB)")
    results = _run_columns(
        pool, in_any,
        lambda spec: column_task(spec, inference, present, side, plans, vocabs.get(spec.name), ranks),
        _Progress(progress, len(in_any)), at_once,
    )
    if isinstance(side, BaselineTable):
        _finish_baseline(side, specs, {k: r.baseline for k, r in results.items()}, base_quality.result())
    quality = dict(zip(map(id, wanted_groups), inf_quality.result(), strict=True))
    custom = _custom_values(settings, inference, plans, side, baseline_source)

    spec_by_name = {s.name: s for s in specs}
    mid = settings.model_id_col
    profile_rows: list[dict] = []
    drift_dicts: list[dict] = []

    if side is not None and emit_baseline:
        for granularity in settings.granularities:
            for key, g in side.groups.items():
                profile_rows.append(_profile_row(None, "BASELINE", granularity, key, TABLE_COLUMN, None,
                                                 custom.profile_fields(("B", key), TABLE_COLUMN) | g.table_row, mid, commit_version))
                for name, state in g.states.items():
                    profile_rows.append(
                        _profile_row(None, "BASELINE", granularity, key, name, spec_by_name[name].data_type,
                                     custom.profile_fields(("B", key), name) | state.summary, mid, commit_version)
                    )

    inf_specs = [s for s in specs if s.name in present]
    table_rows: list[dict[GroupKey, dict]] = []
    for i, plan in enumerate(plans):
        rows_of: dict[GroupKey, dict] = {}
        for g in plan.groups:
            if g.same_as is not None:
                rows_of[g.key] = rows_of[g.same_as]
                continue
            non_null = [s.name for s in inf_specs if results[s.name].windows[i][g.key]["num_nulls"] < g.n]
            rows_of[g.key] = {"count": g.n, "non_null_columns": non_null, **quality.get(id(g), {})}
        table_rows.append(rows_of)
        if not plan.wanted:
            continue
        window = {"start": plan.start, "end": plan.end}
        for g in plan.groups:
            profile_rows.append(_profile_row(window, "INPUT", plan.granularity, g.key, TABLE_COLUMN, None,
                                             custom.profile_fields(("I", i, g.key), TABLE_COLUMN) | rows_of[g.key],
                                             mid, commit_version))
            for s in inf_specs:
                profile_rows.append(
                    _profile_row(window, "INPUT", plan.granularity, g.key, s.name, s.data_type,
                                 custom.profile_fields(("I", i, g.key), s.name) | results[s.name].windows[i][g.key],
                                 mid, commit_version)
                )
        window_cmp = None
        if plan.previous is not None:
            window_cmp = {"start": plan.previous.start, "end": plan.previous.end}
        for j, (drift_type, g, ref_key) in enumerate(plan.comparisons):
            if drift_type == "BASELINE":
                ref_row = side.groups[ref_key].table_row if ref_key is not None else None
                cmp = None
            else:
                ref_row, cmp = table_rows[i - 1][ref_key], window_cmp
            fields = [(None, _table_delta(rows_of[g.key], ref_row))]
            fields += [(s, results[s.name].drift[(i, j)]) for s in inf_specs]
            for spec, values in fields:
                row = {
                    "window": window,
                    "window_cmp": cmp,
                    "drift_type": drift_type,
                    "monitor_version": MONITOR_VERSION,
                    "granularity": plan.granularity,
                    "slice_key": g.key[0],
                    "slice_value": g.key[1],
                    "column_name": TABLE_COLUMN if spec is None else spec.name,
                    mid: g.key[2],
                    "data_type": None if spec is None else spec.data_type,
                }
                row.update(values)
                row.update(custom.drift_fields(i, j, row["column_name"]))
                drift_dicts.append(row)
    return (
        pa.Table.from_pylist(profile_rows, schema=profile_metrics_schema(mid, settings.custom_metrics)),
        pa.Table.from_pylist(drift_dicts, schema=drift_metrics_schema(mid, settings.custom_metrics)),
    )


class _NoCustomValues:
    """Stands in for CustomValues when the monitor has no custom metrics: every lookup is empty."""

    def profile_fields(self, key, column: str) -> dict:
        return {}

    def drift_fields(self, i: int, j: int, column: str) -> dict:
        return {}


def _custom_values(settings: MonitorSettings, inference: ColumnSource, plans: list[WindowPlan], side,
                   baseline_source: ColumnSource | None):
    """The custom metrics of every planned group (custom.py), or an empty lookup without any."""
    if not settings.custom_metrics:
        return _NoCustomValues()
    from .custom import CustomValues

    base = side if isinstance(side, BaselineTable) else None
    if base is None and side is not None and baseline_source is not None:
        base = BaselineTable(baseline_source, settings)  # the groups' rows: a stored profile has none
    return CustomValues(settings, inference, plans, base)


def compute_metrics(inference: ColumnSource, baseline: ColumnSource | None, settings: MonitorSettings) -> tuple[pa.Table, pa.Table]:
    """Profile and drift metrics tables (`profile_metrics_schema(settings.model_id_col)`,
    `drift_metrics_schema(...)`: the model-id column is named after model_id_col) for every
    window of the inference log against the baseline. Pure: reads nothing, writes nothing.
    `inference` and `baseline` are Arrow tables or column sources (sources.py): the engine
    takes one column of each at a time."""
    preload_slow_imports()
    specs = monitored_columns(settings, *(t for t in (inference, baseline) if t is not None))
    vocabs: dict[str, Vocabulary] = {}
    with ThreadPoolExecutor(_pool_size()) as pool:
        return run(inference, baseline, settings, specs, vocabs, pool)
