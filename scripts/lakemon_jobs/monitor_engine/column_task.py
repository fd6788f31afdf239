"""One monitored column's task: read it, profile every group of every window, compare each
with the baseline and the previous window, and keep only the rows' fields.

The column's values (baseline and inference) are in memory only while its task runs, so peak
memory is set by the columns in flight, not by the table, and every statistic stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lakemon.contract.statistics import CATEGORICAL, NUMERIC

from .baselines import Baseline
from .columns import ColumnState
from .groups import ColumnValues, GroupKey, group_states
from .plans import BASELINE, WindowPlan
from .prepare import Vocabulary
from .settings import ColumnSpec
from .sources import ColumnSource
from .stats import TOP_CATEGORIES, categorical_drift, numeric_drift, statistic_fields


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


def _delta(cur: dict, ref: dict, name: str) -> float | None:
    a, b = cur.get(name), ref.get(name)
    return None if a is None or b is None else float(a - b)


def column_drift(cur: ColumnState, ref: ColumnState | None, rank: np.ndarray | None = None) -> dict:
    """Drift fields of one column of one group against its reference (empty without one)."""
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


@dataclass
class ColumnResult:
    """What one column contributes to the tables: summaries and drift fields, no values."""

    profiles: dict[int, dict[GroupKey, dict]] = field(default_factory=dict)
    """Plan index -> group key -> profile fields (no entry when the column is not in the
    inference log)."""
    drift: dict[tuple[int, int], dict] = field(default_factory=dict)
    """(plan index, comparison index) -> drift fields."""


@dataclass
class ColumnTask:
    """Everything the tables need from one column (called with its spec, in a worker thread)."""

    inference: ColumnSource
    present: set[str]
    """The inference log's columns."""
    baseline: Baseline
    plans: list[WindowPlan]
    vocabs: dict[str, Vocabulary]
    ranks: ValueRanks = field(init=False)

    def __post_init__(self) -> None:
        self.ranks = ValueRanks(self.vocabs)

    def __call__(self, spec: ColumnSpec) -> ColumnResult:
        name, base = spec.name, self.baseline
        base_states = base.column_states(spec, self.vocabs.get(name)) if name in base.present else {}
        out = ColumnResult()
        if name in self.present:
            self._windows(spec, base_states, out)
        base.release(name)
        return out

    def _windows(self, spec: ColumnSpec, base_states: dict[GroupKey, ColumnState], out: ColumnResult) -> None:
        """Profile and drift fields of every window; the column's values are released on return."""
        vocab = self.vocabs.get(spec.name)
        values = ColumnValues(self.inference, spec, vocab)  # after the baseline: its values come first in vocab
        rank = None
        if spec.kind != NUMERIC:
            _pad_counts(base_states.values(), len(vocab.values))
            rank = self.ranks.of(spec.name)
        prev_states: dict[GroupKey, ColumnState] = {}
        for plan in self.plans:
            states = group_states(values, plan.groups)
            if plan.index == len(self.plans) - 1:
                values = None  # every window profiled: release the column before the drift work
            out.profiles[plan.index] = {k: st.summary for k, st in states.items()}
            if plan.wanted:
                cache: dict = {}
                for j, c in enumerate(plan.comparisons):
                    cur = states[c.group.key]
                    refs = base_states if c.drift_type == BASELINE else prev_states
                    ref = refs.get(c.ref_key) if c.ref_key is not None else None
                    key = (id(cur), id(ref))
                    if key not in cache:
                        cache[key] = column_drift(cur, ref, rank)
                    out.drift[(plan.index, j)] = cache[key]
            prev_states = states
