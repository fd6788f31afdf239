"""Peer for drift_decisions.py: NannyML 0.13 univariate drift with its defaults (own venv).

argv: folder with baseline.parquet and windows.parquet (windows of `size` rows, concatenated),
size, comma-separated categorical columns. Prints {"flags": [{column: alert}, ...]} per window.
Defaults kept: Jensen-Shannon for both kinds, threshold = mean + 3 sd of the metric over the
reference's own chunks (StandardDeviationThreshold); chunks of `size` rows = the windows."""

import json
import sys
import warnings

import nannyml as nml
import pandas as pd

warnings.filterwarnings("ignore")
folder, size, cat = sys.argv[1], int(sys.argv[2]), [c for c in sys.argv[3].split(",") if c]
base = pd.read_parquet(f"{folder}/baseline.parquet")
cur = pd.read_parquet(f"{folder}/windows.parquet")
cols = list(base.columns)
calc = nml.UnivariateDriftCalculator(column_names=cols, treat_as_categorical=cat, chunk_size=size)
calc.fit(base)
df = calc.calculate(cur).filter(period="analysis").to_df()
flags = []
for i in range(len(df)):
    flags.append({c: bool(df[(c, "jensen_shannon", "alert")].iloc[i]) for c in cols})
print(json.dumps({"flags": flags}))
