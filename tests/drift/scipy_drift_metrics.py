"""Drift and profile metrics rows computed directly with scipy, in the monitor tables' schema.

An independent reference for the drift tests: the statistics are computed here the way
lakemon_jobs/monitor_engine/schema.py defines them, by calling scipy on the raw values, so the
analyze-drift tests do not depend on the engine (tests/drift/test_engine_roundtrip.py checks the
same acceptance through the engine when it is present). Data sets used here have fewer than 100
categories per column, so the engine's "other" bucket never applies.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lakemon_jobs.monitor_engine.schema import DRIFT_METRICS_SCHEMA, PROFILE_METRICS_SCHEMA

GRANULARITY = "1 day"


def _categories(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "\0null")


def categorical_row(base: pd.Series, cur: pd.Series) -> dict:
    b, c = _categories(base), _categories(cur)
    cats = sorted(set(b) | set(c))
    bc = b.value_counts().reindex(cats, fill_value=0).to_numpy(float)
    cc = c.value_counts().reindex(cats, fill_value=0).to_numpy(float)
    chi = stats.chi2_contingency(np.vstack([cc, bc]), correction=False)
    bp, cp = bc / bc.sum(), cc / cc.sum()
    return {
        "js_distance": float(jensenshannon(cp, bp, base=2)),
        "chi_squared_test": {"statistic": float(chi.statistic), "pvalue": float(chi.pvalue)},
        "tv_distance": float(0.5 * np.abs(cp - bp).sum()),
        "l_infinity_distance": float(np.abs(cp - bp).max()),
    }


def psi(base: np.ndarray, cur: np.ndarray) -> float:
    edges = np.unique(np.quantile(base, np.arange(1, 10) / 10))
    def props(x: np.ndarray) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
        return np.maximum(counts / x.size, 1e-4)
    b, c = props(base), props(cur)
    return float(np.sum((c - b) * np.log(c / b)))


def numeric_row(base: pd.Series, cur: pd.Series) -> dict:
    b = base.to_numpy(float)
    c = cur.to_numpy(float)
    b, c = b[np.isfinite(b)], c[np.isfinite(c)]
    ks = stats.ks_2samp(c, b)
    return {
        "ks_test": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "wasserstein_distance": float(stats.wasserstein_distance(c, b)),
        "population_stability_index": psi(b, c),
    }


def profile_row(values: pd.Series, kind: str) -> dict:
    row = {"count": int(values.size), "num_nulls": int(values.isna().sum())}
    if kind == "numeric":
        x = values.to_numpy(float)
        finite = x[np.isfinite(x)]
        row.update(num_nan=0, num_inf=int(np.isinf(x).sum()))
        row["quantiles"] = [float(q) for q in np.quantile(finite, np.arange(101) / 100)] if finite.size else None
        row["avg"] = float(finite.mean()) if finite.size else None
        row["stddev"] = float(finite.std(ddof=1)) if finite.size > 1 else None
    else:
        counts = values.dropna().value_counts()
        items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        row["frequent_items"] = [{"item": str(k), "count": int(v)} for k, v in items]
    return row


def build_tables(
    baseline: pd.DataFrame,
    windows: list[pd.DataFrame],
    features: dict[str, str],
    start: datetime,
    quality: list[dict] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(drift, profile) for daily windows starting at `start`; `features` maps name -> kind."""
    drift_rows, profile_rows = [], []
    key = {"granularity": GRANULARITY, "slice_key": None, "slice_value": None, "model_version": "*"}
    for name, kind in features.items():
        profile_rows.append({**key, "window": None, "log_type": "BASELINE", "column_name": name,
                             **profile_row(baseline[name], kind)})
    for i, frame in enumerate(windows):
        window = {"start": start + timedelta(days=i), "end": start + timedelta(days=i + 1)}
        table_row = {**key, "window": window, "log_type": "INPUT", "column_name": ":table", "count": len(frame)}
        if quality:
            table_row.update(quality[i])
        profile_rows.append(table_row)
        for name, kind in features.items():
            stats_row = numeric_row(baseline[name], frame[name]) if kind == "numeric" else categorical_row(baseline[name], frame[name])
            drift_rows.append({**key, "window": window, "window_cmp": None, "drift_type": "BASELINE", "column_name": name,
                               "count_delta": float(len(frame) - len(baseline)), **stats_row})
            profile_rows.append({**key, "window": window, "log_type": "INPUT", "column_name": name,
                                 **profile_row(frame[name], kind)})
    return (
        pa.Table.from_pylist(drift_rows, schema=DRIFT_METRICS_SCHEMA),
        pa.Table.from_pylist(profile_rows, schema=PROFILE_METRICS_SCHEMA),
    )
