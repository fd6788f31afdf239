"""Peer: whylogs profiles and its drift scores (own venv; prints JSON)."""

import json
import sys

import pandas as pd
import whylogs as why
from whylogs.viz.drift.column_drift_algorithms import calculate_drift_scores

base, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
cols = [c for c in base.columns if c not in ("model_version", "timestamp")]
ref_view = why.log(pandas=base[cols]).view()
cur_view = why.log(pandas=cur[cols]).view()
scores = calculate_drift_scores(target_view=cur_view, reference_view=ref_view, with_thresholds=True)
out = {}
for col, s in scores.items():
    if s:
        out[col] = {"algorithm": s.get("algorithm"), "statistic": s.get("statistic"), "pvalue": s.get("pvalue")}
print(json.dumps({"stats": out}))
