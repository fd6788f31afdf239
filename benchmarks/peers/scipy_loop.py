"""Peer: a plain scipy loop over the columns (runs in its own venv; prints JSON)."""

import json
import sys

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial.distance import jensenshannon

base, cur = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
out = {}
for name in base.column_names:
    if name in ("model_version", "timestamp"):
        continue
    if name.startswith("num_"):
        a = base[name].drop_null().to_numpy()
        b = cur[name].drop_null().to_numpy()
        ks = stats.ks_2samp(b, a)
        edges = np.unique(np.quantile(a, np.arange(1, 10) / 10))
        pc_ = np.maximum(np.bincount(np.searchsorted(edges, b, "right"), minlength=edges.size + 1) / b.size, 1e-4)
        pr = np.maximum(np.bincount(np.searchsorted(edges, a, "right"), minlength=edges.size + 1) / a.size, 1e-4)
        out[name] = {"ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
                     "wasserstein": float(stats.wasserstein_distance(b, a)),
                     "psi": float(np.sum((pc_ - pr) * np.log(pc_ / pr)))}
    else:
        vb = {r["values"]: r["counts"] for r in pc.value_counts(base[name]).to_pylist()}
        vc = {r["values"]: r["counts"] for r in pc.value_counts(cur[name]).to_pylist()}
        keys = sorted(set(vb) | set(vc), key=str)
        t = np.array([[vc.get(k, 0) for k in keys], [vb.get(k, 0) for k in keys]], dtype=float)
        chi = stats.chi2_contingency(t, correction=False)
        out[name] = {"chi2_statistic": float(chi.statistic), "chi2_pvalue": float(chi.pvalue),
                     "js_base2": float(jensenshannon(t[0] / t[0].sum(), t[1] / t[1].sum(), base=2))}
print(json.dumps({"stats": out}))
