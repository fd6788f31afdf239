"""Peer: NannyML univariate drift with all its methods (own venv; prints JSON)."""

import json
import sys

import nannyml as nml
import pandas as pd

base, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
cols = [c for c in base.columns if c not in ("model_version", "timestamp")]
cat = [c for c in cols if c.startswith("cat_")]
calc = nml.UnivariateDriftCalculator(
    column_names=cols,
    treat_as_categorical=cat,
    continuous_methods=["kolmogorov_smirnov", "jensen_shannon", "wasserstein", "hellinger"],
    categorical_methods=["chi2", "jensen_shannon", "l_infinity", "hellinger"],
    chunk_number=1,
)
calc.fit(base[cols])
df = calc.calculate(cur[cols]).filter(period="analysis").to_df()
out = {}
for col in cols:
    out[col] = {}
    for method in ("kolmogorov_smirnov", "jensen_shannon", "wasserstein", "chi2", "l_infinity"):
        key = (col, method, "value")
        if key in df.columns:
            out[col][method] = float(df[key].iloc[-1])
print(json.dumps({"stats": out}))
