"""Seeded benchmark data: a 1M-row baseline and a 1M-row current table, 15 numeric and 5
categorical features, written once to benchmarks/.data/ as Parquet (and reused).

The current table drifts on purpose in some columns (shifted means, a new category), so the
statistics the peers compare are not all near zero. Timestamps cover 30 days of June 2024:
one "1 month" window, or 30 "1 day" windows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DATA_DIR = Path(__file__).resolve().parent / ".data"
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


def make_table(n: int, seed: int, drift: bool, with_time: bool) -> pa.Table:
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
        ts = JUNE_2024_US + np.sort(rng.integers(0, 30 * 86_400_000_000, n))
        cols["timestamp"] = pa.array(ts, pa.timestamp("us", tz="UTC"))
    return pa.table(cols)


def ensure(n: int) -> tuple[Path, Path]:
    """Paths of (baseline, current) Parquet files with n rows each, generated if missing."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    base, cur = DATA_DIR / f"baseline_{n}.parquet", DATA_DIR / f"current_{n}.parquet"
    if not base.exists():
        pq.write_table(make_table(n, 1, drift=False, with_time=False), base)
    if not cur.exists():
        pq.write_table(make_table(n, 2, drift=True, with_time=True), cur)
    return base, cur
