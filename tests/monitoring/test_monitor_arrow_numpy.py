"""Buffer-level Arrow -> numpy conversion equals pyarrow's own to_numpy (nulls, offsets, chunks)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lakemon_jobs.monitor_engine.arrow_numpy import float_values, int_values


def _float_column():
    a = pa.array([1.0, None, np.nan, 4.0, None, -np.inf, 7.0, 8.0, 9.0, None, 11.0])
    return pa.chunked_array([a.slice(3, 7), a.slice(0, 3), pa.array([], pa.float64()), pa.array([2.5, 3.5])])


def test_float_values_match_to_numpy_with_nulls_offsets_and_chunks():
    col = _float_column()
    values, nulls = float_values(col)
    want_nulls = col.is_null().to_numpy(zero_copy_only=False)
    want = col.to_numpy(zero_copy_only=False)
    assert nulls.tolist() == want_nulls.tolist()
    assert np.array_equal(values, want, equal_nan=True)
    assert np.isnan(values[nulls]).all()


def test_float_values_single_chunk_without_nulls_is_zero_copy():
    arr = pa.array(np.arange(5.0))
    values, nulls = float_values(pa.chunked_array([arr]))
    assert values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and not nulls.any()
    assert not values.flags.writeable  # a view of Arrow's buffer, not a copy


def test_int_values_fill_nulls_and_keep_offsets():
    a = pa.array([5, None, 7, 8, None, 10], pa.int64())
    col = pa.chunked_array([a.slice(1, 4), a.slice(4, 2)])
    values, valid = int_values(col, np.int64, fill=-1)
    assert values.tolist() == [-1, 7, 8, -1, -1, 10]
    assert valid.tolist() == [False, True, True, False, False, True]
    empty_values, empty_valid = int_values(pa.chunked_array([], pa.int32()), np.int32, fill=0)
    assert empty_values.shape == (0,) and empty_valid.shape == (0,)
