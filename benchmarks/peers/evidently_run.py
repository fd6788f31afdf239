"""Peer: Evidently 0.7 default data-drift preset (own venv; prints JSON)."""

import json
import sys

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

base, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
cols = [c for c in base.columns if c not in ("model_version", "timestamp")]
num = [c for c in cols if c.startswith("num_")]
cat = [c for c in cols if c.startswith("cat_")]
definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
ref_ds = Dataset.from_pandas(base[cols], data_definition=definition)
cur_ds = Dataset.from_pandas(cur[cols], data_definition=definition)
result = Report([DataDriftPreset()]).run(cur_ds, ref_ds).dict()
out = {}
for m in result["metrics"]:
    config = m.get("config", {})
    if str(config.get("type", "")).endswith("ValueDrift"):
        out[config["column"]] = {"method": config["method"], "value": float(m["value"])}
print(json.dumps({"stats": out}))
