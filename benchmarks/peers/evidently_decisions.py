"""Peer for drift_decisions.py: Evidently 0.7 DataDriftPreset with its defaults (own venv).

argv: folder with baseline.parquet and windows.parquet (windows of `size` rows, concatenated),
size, comma-separated categorical columns. Prints {"flags": [{column: drifted}, ...]} per window.
Evidently picks each column's method and threshold; a p-value method flags value < threshold,
a distance flags value >= threshold (as Evidently's own column drift decision)."""

import json
import sys
import warnings

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

warnings.filterwarnings("ignore")
folder, size, cat = sys.argv[1], int(sys.argv[2]), [c for c in sys.argv[3].split(",") if c]
base = pd.read_parquet(f"{folder}/baseline.parquet")
cur = pd.read_parquet(f"{folder}/windows.parquet")
cols = list(base.columns)
definition = DataDefinition(numerical_columns=[c for c in cols if c not in cat], categorical_columns=cat)
ref_ds = Dataset.from_pandas(base, data_definition=definition)
flags = []
for start in range(0, len(cur), size):
    window = Dataset.from_pandas(cur.iloc[start:start + size].reset_index(drop=True), data_definition=definition)
    result = Report([DataDriftPreset()]).run(window, ref_ds).dict()
    row = {}
    for m in result["metrics"]:
        config = m.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            value, threshold = float(m["value"]), float(config["threshold"])
            row[config["column"]] = value < threshold if "p_value" in config["method"] else value >= threshold
    flags.append(row)
print(json.dumps({"flags": flags}))
