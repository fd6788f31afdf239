"""Peer: a straightforward Polars pass with exact KS and Wasserstein (own venv; prints JSON)."""

import json
import sys

import numpy as np
import polars as pl

base, cur = pl.read_parquet(sys.argv[1]), pl.read_parquet(sys.argv[2])
out = {}
for name in base.columns:
    if name in ("model_version", "timestamp"):
        continue
    if name.startswith("num_"):
        a = base[name].drop_nulls().sort()
        b = cur[name].drop_nulls().sort()
        both = pl.concat([a, b]).sort()
        ca = a.search_sorted(both, side="right").cast(pl.Float64) / a.len()
        cb = b.search_sorted(both, side="right").cast(pl.Float64) / b.len()
        diff = (ca - cb).abs()
        w = (diff.head(both.len() - 1) * both.diff().slice(1)).sum()
        edges = sorted(set(a.quantile(q / 10, "linear") for q in range(1, 10)))
        def props(s, edges=edges):
            idx = pl.Series(edges).search_sorted(s, side="right")
            counts = idx.value_counts().sort(idx.name)
            full = np.zeros(len(edges) + 1)
            full[counts[idx.name].to_numpy()] = counts["count"].to_numpy()
            return np.maximum(full / s.len(), 1e-4)
        pb, pa_ = props(b), props(a)
        out[name] = {"ks_statistic": float(diff.max()), "wasserstein": float(w),
                     "psi": float(np.sum((pb - pa_) * np.log(pb / pa_)))}
    else:
        vb = base[name].value_counts().rename({"count": "ref"})
        vc = cur[name].value_counts().rename({"count": "cur"})
        j = vb.join(vc, on=name, how="full", coalesce=True).fill_null(0)
        p = j["cur"].to_numpy() / j["cur"].sum()
        q = j["ref"].to_numpy() / j["ref"].sum()
        m = (p + q) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl_p = np.sum(np.where(p > 0, p * np.log(p / m), 0.0))
            kl_q = np.sum(np.where(q > 0, q * np.log(q / m), 0.0))
        out[name] = {"js_base2": float(np.sqrt((kl_p + kl_q) / 2 / np.log(2)))}
print(json.dumps({"stats": out}))
