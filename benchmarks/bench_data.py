"""Seeded benchmark data: a baseline and a current table of n rows each, 15 numeric and 5
categorical features, written once as Parquet (and reused).

The current table drifts on purpose in some columns (shifted means, a new category), so the
statistics the peers compare are not all near zero. Timestamps cover 30 days of June 2024:
one "1 month" window, or 30 "1 day" windows.

Tables up to 1M rows go to benchmarks/.data/. Larger ones (10M, 100M) are written in 1M-row
chunks straight to Parquet, never whole in memory, under $LAKEMON_BENCH_DATA (default
/tmp/lakemon-bench): 10M rows take about 2.2 GB of disk, 100M about 22 GB; the benchmark
deletes them after use unless --keep-data. Chunk i draws from its own seeded generator and
covers the i-th of k equal parts of the 30 days, so timestamps stay in time order.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA_DIR = Path(__file__).resolve().parent / ".data"
LARGE_DIR = Path(os.environ.get("LAKEMON_BENCH_DATA", "/tmp/lakemon-bench"))
CHUNK = 1_000_000
SPAN_US = 30 * 86_400_000_000
NUMERIC = [f"num_{i:02d}" for i in range(15)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
CARDINALITY = [3, 5, 12, 30, 200]
JUNE_2024_US = 1_717_200_000_000_000  # 2024-06-01T00:00:00Z


def _numeric(rng: np.random.Generator, i: int, n: int, drift: bool) -> np.ndarray:
    shift = 0.1 * (i % 3) if drift else 0.0
    kind = i % 5
    if kind == 0:
        x = rng.normal(shift, 1.0, n)
    elif kind == 1:
        x = rng.lognormal(shift, 0.7, n)
    elif kind == 2:
        x = np.round(rng.normal(50 + 10 * shift, 10, n))  # integer-valued: many ties
    elif kind == 3:
        x = rng.uniform(0, 1 + shift, n)
    else:
        x = rng.exponential(1 + shift, n)
    return x


def _categorical(rng: np.random.Generator, k: int, n: int, drift: bool) -> pa.Array:
    p = 1.0 / np.arange(1, k + 1)
    if drift:
        p = p[::-1].copy() * 0.2 + p * 0.8
    p /= p.sum()
    codes = rng.choice(k + (1 if drift else 0), n, p=np.append(p * 0.99, 0.01) if drift else p)
    names = np.array([f"v{j}" for j in range(k)] + ["new"])
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names)).cast(pa.string())


def make_table(n: int, seed, drift: bool, with_time: bool, time_from: int = 0, time_span: int = SPAN_US) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    for i, name in enumerate(NUMERIC):
        x = _numeric(rng, i, n, drift)
        mask = rng.random(n) < 0.01 if i % 4 == 0 else None  # 1% nulls in some columns
        cols[name] = pa.array(x, mask=mask)
    for name, k in zip(CATEGORICAL, CARDINALITY, strict=True):
        cols[name] = _categorical(rng, k, n, drift)
    cols["model_version"] = pa.array(np.full(n, "1"))
    if with_time:
        ts = JUNE_2024_US + time_from + np.sort(rng.integers(0, time_span, n))
        cols["timestamp"] = pa.array(ts, pa.timestamp("us", tz="UTC"))
    return pa.table(cols)


def _write_chunked(path: Path, n: int, seed: int, drift: bool, with_time: bool) -> None:
    """n rows in 1M-row chunks, each appended to the file as it is made (bounded memory)."""
    k = -(-n // CHUNK)
    tmp = path.with_name(f".{path.name}.partial")
    t0 = time.perf_counter()
    writer = None
    try:
        for i in range(k):
            rows = min(CHUNK, n - i * CHUNK)
            span = SPAN_US // k
            chunk = make_table(rows, (seed, i), drift, with_time, time_from=i * span, time_span=span)
            if writer is None:
                writer = pq.ParquetWriter(tmp, chunk.schema)
            writer.write_table(chunk)
            if (i + 1) % 10 == 0 or i + 1 == k:
                print(f"[bench] {path.name}: {(i + 1) * CHUNK / 1e6:.0f}M of {n / 1e6:.0f}M rows written "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)


def ensure(n: int) -> tuple[Path, Path]:
    """Paths of (baseline, current) Parquet files with n rows each, generated if missing."""
    folder = DATA_DIR if n <= CHUNK else LARGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    base, cur = folder / f"baseline_{n}.parquet", folder / f"current_{n}.parquet"
    if n <= CHUNK:  # one table in memory, as always (the 1M data stay what they were)
        if not base.exists():
            pq.write_table(make_table(n, 1, drift=False, with_time=False), base)
        if not cur.exists():
            pq.write_table(make_table(n, 2, drift=True, with_time=True), cur)
        return base, cur
    if not base.exists():
        _write_chunked(base, n, 1, drift=False, with_time=False)
    if not cur.exists():
        _write_chunked(cur, n, 2, drift=True, with_time=True)
    return base, cur


def remove(n: int) -> None:
    """Delete the generated tables of n rows (the large ones fill gigabytes of /tmp)."""
    folder = DATA_DIR if n <= CHUNK else LARGE_DIR
    for name in (f"baseline_{n}.parquet", f"current_{n}.parquet"):
        (folder / name).unlink(missing_ok=True)
