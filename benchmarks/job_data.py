"""Seeded data for the job benchmark: an embedded-default home whose AI-gateway payload table
holds `requests` requests of `rows_per_request` rows each, spread over `days` days.

The requests rotate through the four request formats unpack parses (payloads.REQUEST_FORMATS):
`dataframe_records` (a list of records), `dataframe_split` (columns + positional rows),
`instances` (positional rows in the model's feature order) and `inputs` (one dict of columns).
Every 1,000th request is followed by a failed one (status 503, no predictions): unpack must
quarantine those, so the accounting has both kinds of rows. The second half of the days drifts
(more appearances, more villains), so analyze-drift has something to find.

The table is written in chunks (one Delta append per chunk, change data feed on, as the
logging layer writes it), so no more than one chunk's rows are ever in memory. The baseline
table (what `lakemon register` writes) is written too, with the same columns, undrifted.

Used by benchmarks/job_benchmark.py and by the smoke test tests/jobs/test_jobs_benchmark_smoke.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import write_deltalake

from lakemon.contract.payload import PAYLOAD_TABLE_PROPERTIES
from lakemon.contract.tables import baseline_columns
from lakemon_jobs.context import JobContext
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA
from lakemon_jobs.table_engines.local import LocalEngine

FORMATS = ("dataframe_records", "dataframe_split", "instances", "inputs")
FAILED_EVERY = 1000
"""One failed (status 503) request after every FAILED_EVERY requests: quarantined by unpack."""
CATEGORIES = {
    "id": ["Secret Identity", "Public Identity", "No Dual Identity", None],
    "align": ["Good Characters", "Bad Characters", "Neutral Characters", None],
    "eye": ["Blue Eyes", "Brown Eyes", "Green Eyes", "Black Eyes", "Red Eyes", None],
    "hair": ["Black Hair", "Brown Hair", "Blond Hair", "Red Hair", "No Hair", "White Hair", None],
    "sex": ["Male Characters", "Female Characters", "Agender Characters"],
    "gsm": [None, None, None, None, None, None, None, None, None, "Bisexual Characters"],
}
FEATURES = ["id", "align", "eye", "hair", "sex", "gsm", "appearances", "year"]
"""The features of envs/dev.yml's alive_classifier, in its order (positional rows use it)."""


@dataclass(frozen=True)
class JobData:
    home: Path
    env_file: Path
    requests: int
    """Good requests (status 200) written."""
    failed: int
    """Failed requests (status 503) written: each must become one quarantine row."""
    rows: int
    """Inference rows the good requests hold: the inference log must end with exactly these."""
    days: int
    first_day: dt.date
    payload_bytes: int
    """Size of the payload table's Parquet files."""


def _columns(rng: np.random.Generator, n: int, drifted: bool) -> dict[str, list]:
    """n rows of features as Python lists (JSON-ready: None for missing)."""
    out: dict[str, list] = {}
    for name, values in CATEGORIES.items():
        p = None
        if drifted and name == "align":
            p = [0.25, 0.55, 0.15, 0.05]  # more villains
        idx = rng.choice(len(values), size=n, p=p)
        out[name] = [values[i] for i in idx]
    scale = 1.6 if drifted else 1.0
    out["appearances"] = np.round(rng.lognormal(3.0, 1.2, n) * scale).tolist()
    out["year"] = rng.integers(1939, 2014, n).astype(float).tolist()
    return out


def request_body(fmt: str, cols: dict[str, list]) -> dict:
    """The request in one of the four formats, holding the rows of `cols`."""
    n = len(cols["id"])
    if fmt == "dataframe_records":
        return {"dataframe_records": [{k: cols[k][i] for k in FEATURES} for i in range(n)]}
    if fmt == "dataframe_split":
        return {"dataframe_split": {"columns": FEATURES, "data": [[cols[k][i] for k in FEATURES] for i in range(n)]}}
    if fmt == "instances":
        return {"instances": [[cols[k][i] for k in FEATURES] for i in range(n)]}
    return {"inputs": {k: cols[k] for k in FEATURES}}


def write_job_data(
    home: Path,
    env_file: Path,
    *,
    requests: int = 100_000,
    rows_per_request: int = 100,
    days: int = 30,
    end: dt.date | None = None,
    chunk_requests: int = 2_000,
    baseline_rows: int = 100_000,
    seed: int = 16,
    progress: Callable[[str], None] | None = None,
) -> JobData:
    """Write the payload and baseline tables of `env_file`'s first model under `home`.
    The requests cover the `days` whole UTC days before `end` (default: today), in time order."""
    say = progress or (lambda _m: None)
    ctx = JobContext.load(env_file, home=home)
    model = ctx.model
    if [f.name for f in model.features] != FEATURES:
        raise ValueError(f"the job data is made for the features {FEATURES}; {env_file} has {model.feature_names()}")
    rng = np.random.default_rng(seed)
    end = end or dt.datetime.now(dt.UTC).date()
    first_day = end - dt.timedelta(days=days)
    start_us = int(pd.Timestamp(first_day, tz="UTC").value // 1000)
    span_us = days * 86_400_000_000
    payload_path = str(ctx.runtime.table_path(ctx.tables.payload))
    failed = 0
    for first in range(0, requests, chunk_requests):
        rows = []
        for i in range(first, min(requests, first + chunk_requests)):
            when_us = start_us + (i * span_us) // requests + int(rng.integers(0, max(1, span_us // requests)))
            drifted = (when_us - start_us) >= span_us // 2
            cols = _columns(rng, rows_per_request, drifted)
            proba = rng.random(rows_per_request)
            predictions = [{"prediction": int(p >= 0.5), "prediction_proba": float(p)} for p in proba]
            fmt = FORMATS[i % len(FORMATS)]
            rows.append(_payload(i, when_us, 200, json.dumps(request_body(fmt, cols)), json.dumps({"predictions": predictions}), model.name))
            if (i + 1) % FAILED_EVERY == 0:
                rows.append(_payload(f"{i}-failed", when_us, 503, json.dumps(request_body(fmt, cols)),
                                     '{"error_code": "TEMPORARILY_UNAVAILABLE"}', model.name))
                failed += 1
        write_deltalake(payload_path, pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA), mode="append",
                        configuration=PAYLOAD_TABLE_PROPERTIES)
        done = min(requests, first + chunk_requests)
        if done == requests or (done // chunk_requests) % 10 == 0:
            say(f"payload table: {done} of {requests} requests written")

    cols = _columns(rng, baseline_rows, drifted=False)
    baseline = pd.DataFrame(cols)
    proba = rng.random(baseline_rows)
    baseline[model.prediction.name] = (proba >= 0.5).astype(int)
    baseline[model.prediction_proba] = proba
    baseline[model.label.name] = rng.integers(0, 2, baseline_rows)
    baseline[model.model_id_column] = f"{model.name}-1"
    columns = baseline_columns(model)
    LocalEngine(ctx.runtime).overwrite(ctx.tables.baseline, baseline[[c.name for c in columns]], columns)
    size = sum(p.stat().st_size for p in Path(payload_path).glob("*.parquet"))
    return JobData(home=ctx.runtime.root, env_file=env_file, requests=requests, failed=failed,
                   rows=requests * rows_per_request, days=days, first_day=first_day, payload_bytes=size)


def job_data_of(home: Path, env_file: Path, *, requests: int, rows_per_request: int, days: int, end: dt.date) -> JobData:
    """The JobData of tables write_job_data wrote earlier with these arguments (not re-read: the
    counts follow from the arguments)."""
    ctx = JobContext.load(env_file, home=home)
    payload_path = Path(ctx.runtime.table_path(ctx.tables.payload))
    size = sum(p.stat().st_size for p in payload_path.glob("*.parquet"))
    return JobData(home=ctx.runtime.root, env_file=env_file, requests=requests, failed=requests // FAILED_EVERY,
                   rows=requests * rows_per_request, days=days, first_day=end - dt.timedelta(days=days), payload_bytes=size)


def _payload(i, when_us: int, status: int, request: str, response: str, model_name: str) -> dict:
    when = dt.datetime.fromtimestamp(when_us / 1e6, dt.UTC)
    return {
        "databricks_request_id": f"bench-{i}", "client_request_id": f"client-{i}",
        "request_date": when.date(), "request_time": when, "status_code": status,
        "sampling_fraction": 1.0, "execution_duration_ms": 40, "request": request, "response": response,
        "logging_error_codes": [], "served_entity_id": f"{model_name}-1", "requester": "job-benchmark",
    }
