"""The baseline a run compares with, in either of its two kinds, behind one interface.

- `BaselineTable`: the baseline table itself, profiled column by column alongside the inference
  log (`compute_metrics`, and a refresh whose stored profile is stale);
- `BaselineProfile`: a profile stored by an earlier refresh (state.py), whose sorted values and
  counts are memory-mapped: a steady-state refresh neither reads nor sorts the baseline.

`run` asks both the same things (`Baseline`): their groups, each column's states per group,
and to start before and finish after the column tasks; the table does its work there, the
stored profile has none to do. A run without a baseline gets `NoBaseline`, which answers the
same questions with nothing (no groups, no columns, no BASELINE comparisons), so the engine
never asks whether there is a baseline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .columns import ColumnState
from .groups import WHOLE, ColumnValues, Group, GroupKey, enumerate_groups, group_states, summaries_only
from .prepare import Vocabulary, check_types, ensure_vocabs, structure
from .quality import quality_rows
from .scheduling import Progress, columns_at_once, pool_size, run_columns
from .schema import ALL_MODELS
from .settings import ColumnSpec, MonitorSettings
from .sources import ColumnSource
from .stats import preload_slow_imports


class Baseline(ABC):
    """What a run needs of its baseline: its groups (each with its states and table row once
    the run is finished), the columns it has, and each column's states per group."""

    groups: dict[GroupKey, Group]
    present: set[str]

    def for_group(self, key: GroupKey) -> Group | None:
        """Baseline rows of the same slice and model id, else of the same slice, all models."""
        return self.groups.get(key) or self.groups.get((key[0], key[1], ALL_MODELS))

    def references(self, key: GroupKey) -> list[GroupKey | None]:
        """The baseline groups a window's group gets a BASELINE drift row against: the one of
        `for_group`, or None when the baseline has no rows of that slice (the row is still
        written, with null statistics)."""
        ref = self.for_group(key)
        return [None if ref is None else ref.key]

    @property
    def num_rows(self) -> int:
        whole = self.groups.get(WHOLE)
        return whole.n if whole is not None else 0

    @abstractmethod
    def start(self, pool: ThreadPoolExecutor, settings: MonitorSettings, specs: list[ColumnSpec],
              vocabs: dict[str, Vocabulary]) -> None:
        """Before the column tasks: vocabularies for its categorical columns, and its quality
        metrics queued on `pool`."""

    @abstractmethod
    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        """The column's state in each group, with the values drift needs (called in a worker
        thread, one column at a time)."""

    @abstractmethod
    def release(self, name: str) -> None:
        """The run is done with the column's values: drop what need not stay in memory."""

    @abstractmethod
    def finish(self, specs: list[ColumnSpec]) -> None:
        """After the column tasks: each group's states (summaries) and table row in place."""

    @abstractmethod
    def with_rows(self, settings: MonitorSettings) -> BaselineTable | None:
        """The baseline with its groups' rows (custom metrics aggregate over them), or None
        when its table is not at hand."""


@dataclass
class BaselineProfile(Baseline):
    """Profile of the baseline table per group, computed once and reused by every window."""

    specs: list[ColumnSpec]
    vocabs: dict[str, Vocabulary]
    groups: dict[GroupKey, Group]
    present: set[str]
    source: ColumnSource | None = None
    """The baseline table behind the profile, read only when the settings have custom metrics
    (their aggregates need the baseline's rows, which a profile does not keep)."""

    def start(self, pool, settings, specs, vocabs) -> None:
        pass  # the vocabularies came with the profile, its quality metrics are in its table rows

    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        return {key: g.states[spec.name] for key, g in self.groups.items() if spec.name in g.states}

    def release(self, name: str) -> None:
        """Drop the column's sorted values and counts (memory-mapped files of a stored profile)
        once a run has used them: the summaries stay. A profile serves one run."""
        for g in self.groups.values():
            st = g.states.get(name)
            if st is not None:
                st.sample, st.counts = None, None

    def finish(self, specs: list[ColumnSpec]) -> None:
        pass  # stored finished

    def with_rows(self, settings: MonitorSettings) -> BaselineTable | None:
        return None if self.source is None else BaselineTable(self.source, settings)


class NoBaseline(Baseline):
    """The baseline of a monitor without one (or whose table does not exist yet): no groups and
    no columns, so a run writes no BASELINE profile rows, compares no window with it (no
    BASELINE drift rows) and counts no baseline rows in its memory budget."""

    def __init__(self) -> None:
        self.groups = {}
        self.present = set()

    def references(self, key: GroupKey) -> list[GroupKey | None]:
        return []  # no BASELINE drift rows at all, not rows with null statistics

    def start(self, pool, settings, specs, vocabs) -> None:
        pass  # no vocabulary to seed, no quality metrics to compute

    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        return {}

    def release(self, name: str) -> None:
        pass

    def finish(self, specs: list[ColumnSpec]) -> None:
        pass

    def with_rows(self, settings: MonitorSettings) -> None:
        return None


class BaselineTable(Baseline):
    """A baseline still to profile: its groups now, each column's states when asked, each
    group's summaries and table row when finished."""

    def __init__(self, source: ColumnSource, settings: MonitorSettings) -> None:
        self.source = source
        st = structure(source, settings)
        self.present = st.present
        self.groups = {g.key: g for g in enumerate_groups(st, slice(0, st.n), settings.slicing_exprs)}
        self._summaries: dict[str, dict[GroupKey, ColumnState]] = {}
        self._quality: Future | None = None

    @classmethod
    def checked(cls, source: ColumnSource, settings: MonitorSettings, specs: list[ColumnSpec]) -> BaselineTable:
        """The baseline table, after checking its column types against `specs`."""
        check_types(source, specs)
        return cls(source, settings)

    def _own_groups(self) -> list[Group]:
        return [g for g in self.groups.values() if g.same_as is None]

    def start(self, pool, settings, specs, vocabs) -> None:
        ensure_vocabs(vocabs, specs, self.source)
        self._quality = pool.submit(quality_rows, settings, self.source, self._own_groups())

    def column_states(self, spec: ColumnSpec, vocab: Vocabulary | None) -> dict[GroupKey, ColumnState]:
        states = group_states(ColumnValues(self.source, spec, vocab), self.groups.values())
        self._summaries[spec.name] = summaries_only(states)  # what the profile keeps (one thread per column)
        return states

    def release(self, name: str) -> None:
        pass  # the values belong to the column task: they go when it returns

    def finish(self, specs: list[ColumnSpec]) -> None:
        """Fill each group's states (spec order) and table row (a same_as group shares its
        parent's)."""
        own = self._own_groups()
        for g in own:
            g.states = {s.name: self._summaries[s.name][g.key] for s in specs if s.name in self.present}
        for g, q in zip(own, self._quality.result(), strict=True):
            g.table_row = table_row(g, specs, q)
        for g in self.groups.values():
            if g.same_as is not None:
                parent = self.groups[g.same_as]
                g.states, g.table_row = parent.states, parent.table_row

    def with_rows(self, settings: MonitorSettings) -> BaselineTable:
        return self


def table_row(g: Group, specs: list[ColumnSpec], quality: dict) -> dict:
    """The ':table' fields of a baseline group: its row count, columns with values, quality."""
    non_null = [s.name for s in specs if s.name in g.states and g.states[s.name].summary["num_nulls"] < g.n]
    row = {"count": g.n, "non_null_columns": non_null}
    row.update(quality)
    return row


def build_baseline(
    baseline: ColumnSource, settings: MonitorSettings, specs: list[ColumnSpec], pool: ThreadPoolExecutor,
    sink: Callable[[str, dict[GroupKey, ColumnState]], None], progress: Callable[[str], None] | None = None,
) -> BaselineProfile:
    """Profile of the baseline, a column at a time: each column's states are handed to `sink`
    (which stores them, see state.BaselineWriter) and only the summaries are kept."""
    preload_slow_imports()
    table = BaselineTable.checked(baseline, settings, specs)
    vocabs: dict[str, Vocabulary] = {}
    table.start(pool, settings, specs, vocabs)
    wanted = [s for s in specs if s.name in table.present]

    def task(spec: ColumnSpec) -> None:
        sink(spec.name, table.column_states(spec, vocabs.get(spec.name)))

    run_columns(pool, wanted, task, Progress(progress, len(wanted)), columns_at_once(baseline.num_rows, pool_size()))
    table.finish(specs)
    return BaselineProfile(specs, vocabs, table.groups, table.present)
