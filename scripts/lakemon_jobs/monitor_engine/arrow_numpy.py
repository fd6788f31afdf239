"""Arrow columns to numpy through their buffers, without `to_numpy()`.

Why not `to_numpy()`: pyarrow imports pandas (about 0.5 s of one core) the first time any array
is converted, and every later conversion waits for that import. Reading the value and
validity buffers directly needs nothing but numpy, so the engine can start sorting while
pandas is imported in the background (`stats.preload_slow_imports`). Only fixed-width
primitive types go through here (float64, int32, int64); callers cast first with pyarrow.compute.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def _chunks(column: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _valid(chunk: pa.Array) -> np.ndarray | None:
    """Validity of each slot (True = not null), or None when the chunk has no nulls."""
    if chunk.null_count == 0:
        return None
    bits = np.frombuffer(chunk.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, count=chunk.offset + len(chunk), bitorder="little")[chunk.offset:].view(bool)


def _data(chunk: pa.Array, dtype) -> np.ndarray:
    """The values buffer of a primitive chunk (null slots hold arbitrary values)."""
    buf = chunk.buffers()[1]
    if buf is None:
        return np.zeros(len(chunk), dtype=dtype)
    view = np.frombuffer(buf, dtype=dtype, count=chunk.offset + len(chunk))[chunk.offset:]
    view.flags.writeable = False  # Arrow's memory: never written through
    return view


def float_values(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(values with NaN at nulls, null mask) of a float64 column.

    Zero-copy (a read-only view of Arrow's memory) when the column is one chunk without nulls."""
    chunks = _chunks(column)
    n = sum(len(c) for c in chunks)
    if len(chunks) == 1 and chunks[0].null_count == 0:
        return _data(chunks[0], np.float64), np.zeros(n, dtype=bool)
    values = np.empty(n, dtype=np.float64)
    nulls = np.zeros(n, dtype=bool)
    at = 0
    for chunk in chunks:
        k = len(chunk)
        values[at:at + k] = _data(chunk, np.float64)
        valid = _valid(chunk)
        if valid is not None:
            np.logical_not(valid, out=nulls[at:at + k])
        at += k
    values[nulls] = np.nan
    return values, nulls


def int_values(column: pa.ChunkedArray | pa.Array, dtype, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """(values with `fill` at nulls, valid mask) of an integer column of numpy type `dtype`."""
    chunks = _chunks(column)
    parts, masks = [], []
    for chunk in chunks:
        data = _data(chunk, dtype)
        valid = _valid(chunk)
        if valid is None:
            valid = np.ones(len(chunk), dtype=bool)
        else:
            data = np.where(valid, data, fill).astype(dtype, copy=False)
        parts.append(data)
        masks.append(valid)
    if not parts:
        return np.empty(0, dtype=dtype), np.empty(0, dtype=bool)
    if len(parts) == 1:
        return parts[0], masks[0]
    return np.concatenate(parts), np.concatenate(masks)
