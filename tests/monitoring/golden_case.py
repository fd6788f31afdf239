"""The inputs of tests/monitoring/golden/engine_rows.json: rows the engine wrote before it
became column-at-a-time (bounded memory), so the rewrite is checked row for row, in order.

The golden file holds, per table and row, the row's key fields and a digest of its full
content (`row_digest`): small enough to keep in the repository, and a difference names the row."""

from __future__ import annotations

import datetime
import hashlib
import json

import numpy as np
import pyarrow as pa
from monitor_fixtures import baseline, settings, table


def _with_nulls(t: pa.Table, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    for name in ("x", "color"):
        values = t[name].to_pylist()
        for i in np.flatnonzero(rng.random(len(values)) < 0.1).tolist():
            values[i] = None
        t = t.set_column(t.schema.get_field_index(name), name, pa.array(values, t.schema.field(name).type))
    return t


def golden_case() -> dict[str, tuple[pa.Table, pa.Table | None, object]]:
    """name -> (inference log, baseline, settings)."""
    inf = _with_nulls(table(400, seed=3, shift=0.4, days=3, models=("1", "2")), seed=4)
    base = _with_nulls(baseline(500, seed=5), seed=6)
    wide = settings(granularities=("1 day", "1 week"), slicing_exprs=("x > 0.5",))
    one_model = table(300, seed=8, days=2)
    return {
        "slices_models_two_granularities": (inf, base, wide),
        "one_model_one_window": (one_model, baseline(200, seed=9), settings(granularities=("1 month",))),
        "no_baseline": (one_model, None, settings()),
    }


KEY_FIELDS = ("window", "window_cmp", "log_type", "drift_type", "granularity", "slice_key", "slice_value",
              "model_version", "column_name")


def _plain(v):
    """JSON-able form that keeps every float bit (repr) and timestamps as ISO text."""
    if isinstance(v, float):
        return {"f": repr(v)}
    if isinstance(v, datetime.datetime):
        return {"t": v.isoformat()}
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _key_text(v) -> str:
    if isinstance(v, dict):  # a window: its start says which
        return v["start"].strftime("%Y-%m-%d")
    return "-" if v is None else str(v)


def row_digest(row: dict) -> str:
    """'key | key | ... | sha256 of the whole row's canonical JSON (first 20 hex digits)'."""
    text = json.dumps(_plain(row), sort_keys=True, separators=(",", ":"))
    keys = [_key_text(row[k]) for k in KEY_FIELDS if k in row]
    return " | ".join([*keys, hashlib.sha256(text.encode()).hexdigest()[:20]])
