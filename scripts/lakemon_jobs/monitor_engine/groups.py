"""The row groups the engine profiles, and one column's state in each of them.

A group is the rows of one slice value and one model id (the whole table is the group with no
slice and model id `*`), in one window of the inference log or in the baseline. The rows of
every group are found once, from the model-id and slicing codes (`prepare.Structure`); each
monitored column is then read once and profiled group by group (`ColumnValues.state`). A group
whose rows are its parent's (one model id in the window) shares the parent's state instead of
computing it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lakemon.contract.statistics import NUMERIC

from .columns import ColumnState, categorical_state, numeric_state
from .prepare import Structure, Vocabulary, categorical_codes, codes_for, numeric_column
from .schema import ALL_MODELS
from .settings import ColumnSpec
from .sources import ColumnSource

GroupKey = tuple[str | None, str | None, str]
"""(slice_key, slice_value, model_id)."""
WHOLE: GroupKey = (None, None, ALL_MODELS)
Rows = np.ndarray | slice
"""Row positions in a table: ascending indices, or a contiguous range (no gather needed)."""


def count_rows(rows: Rows) -> int:
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
            self.n = count_rows(self.rows)


def stable_order(keys: np.ndarray) -> np.ndarray | None:
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
    order = stable_order(sub)
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
            same = parent.key if count_rows(model_rows) == parent.n else None
            groups.append(Group(key, model_rows, same_as=same))

    with_models(None, None, rows)
    for expr in slicing:
        names = st.slice_names[expr]
        for code, slice_rows in _split(st.slice_codes[expr], rows):
            if code == -2:
                continue
            with_models(expr, names[code] if code >= 0 else None, slice_rows)
    return groups


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


def summaries_only(states: dict[GroupKey, ColumnState]) -> dict[GroupKey, ColumnState]:
    """The same states without their values (shared states stay shared)."""
    light: dict[int, ColumnState] = {}
    return {k: light.setdefault(id(st), ColumnState(st.kind, st.summary)) for k, st in states.items()}
