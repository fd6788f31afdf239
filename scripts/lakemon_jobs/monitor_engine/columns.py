"""One column of one window, slice and model id: its profile values and what drift needs.

A `ColumnState` holds the profile row fields and either the sorted finite values (numeric) or
the category counts (categorical), so the same state serves the profile table, the BASELINE
comparison and, one window later, the CONSECUTIVE comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lakemon.contract.statistics import CATEGORICAL, NUMERIC

from .stats import PSI_QUANTILES, TOP_CATEGORIES, SortedSample, sorted_quantiles

QUANTILES = np.linspace(0.0, 1.0, 101)
_WITH_DECILES = np.concatenate((QUANTILES, PSI_QUANTILES))
"""The profile's quantiles and the PSI deciles, computed in one numpy.quantile call: each state
becomes a reference (of the next window, or the baseline's) that PSI cuts at its deciles."""


@dataclass
class ColumnState:
    kind: str
    summary: dict
    sample: SortedSample | None = None
    counts: np.ndarray | None = None
    """Categorical: counts per code of the column's vocabulary, the LAST entry counts nulls."""


def _pct(num: float, den: float) -> float | None:
    return 100.0 * num / den if den else None


def numeric_state(values: np.ndarray, nulls: np.ndarray) -> ColumnState:
    """Profile of numeric values (nulls are NaN in `values` and True in `nulls`)."""
    count = int(values.shape[0])
    num_nulls = int(np.count_nonzero(nulls))
    nan = np.isnan(values)
    num_nan = int(np.count_nonzero(nan)) - num_nulls
    sample = SortedSample.from_unsorted(values)
    v = sample.values
    k = v.shape[0]
    num_inf = count - num_nulls - num_nan - k
    pos_inf = bool(num_inf) and bool(np.any(values == np.inf))
    neg_inf = bool(num_inf) and bool(np.any(values == -np.inf))
    distinct = (int(np.count_nonzero(v[1:] != v[:-1])) + 1 if k else 0) + (num_nan > 0) + pos_inf + neg_inf
    num_zeros = int(np.searchsorted(v, 0.0, "right") - np.searchsorted(v, 0.0, "left"))
    non_null = count - num_nulls
    summary = {
        "count": count,
        "num_nulls": num_nulls,
        "num_nan": num_nan,
        "num_inf": num_inf,
        "num_zeros": num_zeros,
        "distinct_count": distinct,
        "percent_null": _pct(num_nulls, count),
        "percent_nan": _pct(num_nan, count),
        "percent_zeros": _pct(num_zeros, count),
        "percent_distinct": _pct(distinct, non_null),
    }
    if k:
        both = sorted_quantiles(v, _WITH_DECILES)
        qs = both[: QUANTILES.shape[0]]
        sample.set_deciles(both[QUANTILES.shape[0]:])
        mean = float(np.mean(v))
        summary.update(
            avg=mean,
            stddev=_sample_std(v, mean) if k >= 2 else None,
            min=float(v[0]),
            max=float(v[-1]),
            median=float(qs[50]),
            quantiles=[float(q) for q in qs],
        )
    return ColumnState(NUMERIC, summary, sample=sample)


def _sample_std(v: np.ndarray, mean: float) -> float:
    """np.std(v, ddof=1), reusing the mean already computed (no BLAS: its thread start-up
    costs more than the sum on window-sized arrays)."""
    d = v - mean
    np.multiply(d, d, out=d)
    return float(np.sqrt(np.sum(d) / (v.shape[0] - 1)))


def _top_codes(values: np.ndarray, present: np.ndarray, vocab: list[str]) -> np.ndarray:
    """The TOP_CATEGORIES most frequent codes; at the cut, equal counts are taken in order of
    their VALUE (as documented: "ties by value"), so the choice never depends on the order in
    which rows, and therefore codes, arrived."""
    if present.shape[0] <= TOP_CATEGORIES:
        return present
    counts = values[present]
    cut = -np.partition(-counts, TOP_CATEGORIES - 1)[TOP_CATEGORIES - 1]  # the 100th largest count
    above = present[counts > cut]
    tied = sorted(present[counts == cut].tolist(), key=lambda i: vocab[i])
    return np.concatenate((above, np.asarray(tied[: TOP_CATEGORIES - above.shape[0]], dtype=present.dtype)))


def categorical_state(counts: np.ndarray, vocab: list[str], lengths: np.ndarray | None) -> ColumnState:
    """Profile from counts per vocabulary code (last entry = nulls). `lengths[i]` is the string
    length of vocab[i] (None for non-string columns such as booleans)."""
    count = int(counts.sum())
    num_nulls = int(counts[-1])
    values = counts[:-1]
    present = np.flatnonzero(values)
    distinct = int(present.shape[0])
    ranked = sorted(_top_codes(values, present, vocab).tolist(), key=lambda i: (-int(values[i]), vocab[i]))
    summary = {
        "count": count,
        "num_nulls": num_nulls,
        "distinct_count": distinct,
        "percent_null": _pct(num_nulls, count),
        "percent_distinct": _pct(distinct, count - num_nulls),
        "frequent_items": [{"item": vocab[i], "count": int(values[i])} for i in ranked],
    }
    if lengths is not None and distinct:
        lens = lengths[present]
        summary.update(
            min_length=int(lens.min()),
            max_length=int(lens.max()),
            avg_length=float(np.dot(lens, values[present]) / (count - num_nulls)),
        )
    return ColumnState(CATEGORICAL, summary, counts=counts)
