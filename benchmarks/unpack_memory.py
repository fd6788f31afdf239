"""Peak memory of `lakemon unpack` on one big request (memory must stay linear in the request's size).

Writes one payload row holding a request of N records (default 100,000, `dataframe_records`,
the Marvel features) and its response into a fresh embedded home, then runs `lakemon unpack`
in a child process and reports the child's peak RSS and wall time. Also runs the same request
with a malformed response (so it is quarantined: the raw payload path). Target: < 1 GB each.

    .venv/bin/python benchmarks/unpack_memory.py [--records 100000] [--home DIR]

Prints one JSON line per scenario; exits 1 if a scenario misses the target or the inference
log does not have one row per record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

REPO = Path(__file__).resolve().parents[1]
ENV = REPO / "envs" / "dev.yml"
TARGET_BYTES = 1 << 30

sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "constructs"))
from lakemon.contract.payload import PAYLOAD_TABLE_PROPERTIES  # noqa: E402
from lakemon_jobs.context import JobContext  # noqa: E402
from lakemon_jobs.payload_table import PAYLOAD_SCHEMA  # noqa: E402


def request_and_response(n: int, seed: int = 7) -> tuple[str, str]:
    rng = random.Random(seed)
    aligns = ["Good Characters", "Bad Characters", "Neutral Characters", None]
    records = [
        {
            "id": rng.choice(["Secret Identity", "Public Identity", None]),
            "align": rng.choice(aligns),
            "eye": rng.choice(["Blue Eyes", "Brown Eyes", None]),
            "hair": rng.choice(["Black Hair", "Brown Hair", "Blond Hair", None]),
            "sex": rng.choice(["Male Characters", "Female Characters"]),
            "gsm": None,
            "appearances": rng.randint(1, 4000),
            "year": float(rng.randint(1939, 2013)),
        }
        for _ in range(n)
    ]
    probas = [rng.random() for _ in range(n)]
    predictions = [{"prediction": int(p >= 0.5), "prediction_proba": p} for p in probas]
    return json.dumps({"dataframe_records": records}), json.dumps({"predictions": predictions})


def write_payload(ctx: JobContext, request: str, response: str) -> None:
    row = {
        "databricks_request_id": "big-1", "client_request_id": "big-client-1",
        "request_date": dt.date(2026, 1, 1), "request_time": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "status_code": 200, "sampling_fraction": 1.0, "execution_duration_ms": 900,
        "request": request, "response": response, "logging_error_codes": [],
        "served_entity_id": "alive_classifier-1", "requester": "benchmark",
    }
    path = str(ctx.runtime.table_path(ctx.tables.payload))
    write_deltalake(path, pa.Table.from_pylist([row], schema=PAYLOAD_SCHEMA), mode="append",
                    configuration=PAYLOAD_TABLE_PROPERTIES)


def run_unpack(home: Path) -> tuple[int, float, str]:
    """(peak RSS bytes of the child, wall seconds, output). ru_maxrss is in KiB on Linux."""
    cmd = [sys.executable, "-m", "lakemon_jobs.cli", "unpack", "--env-file", str(ENV), "--home", str(home), "--no-retention"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    if done.returncode != 0:
        raise SystemExit(f"unpack exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return peak, seconds, done.stdout


def scenario(name: str, records: int, root: Path, malformed: bool) -> dict:
    """One child process per scenario: RUSAGE_CHILDREN is the max over children so far, so
    each scenario runs in its own grandchild via this script (see main)."""
    home = root / name
    ctx = JobContext.load(ENV, home=home)
    request, response = request_and_response(records)
    if malformed:
        response = response[:-1]  # cut the closing brace: invalid JSON, so the payload is quarantined
    write_payload(ctx, request, response)
    peak, seconds, out = run_unpack(home)
    log_rows = DeltaTable(str(ctx.runtime.table_path(ctx.tables.inference_log))).to_pyarrow_dataset().count_rows()
    quarantined = DeltaTable(str(ctx.runtime.table_path(ctx.tables.quarantine))).to_pyarrow_dataset().count_rows()
    return {
        "scenario": name, "records": records, "request_mb": round(len(request) / 1e6, 1),
        "peak_rss_mb": round(peak / 2**20), "seconds": round(seconds, 1),
        "inference_rows": log_rows, "quarantined": quarantined,
        "ok": peak < TARGET_BYTES and (log_rows == (0 if malformed else records)) and quarantined == (1 if malformed else 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--scenario", choices=["unpacked", "quarantined"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:  # the per-scenario child: print its result
        print(json.dumps(scenario(args.scenario, args.records, args.home, args.scenario == "quarantined")))
        return 0
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        root = args.home or Path(tmp)
        for name in ("unpacked", "quarantined"):
            cmd = [sys.executable, __file__, "--records", str(args.records), "--home", str(root), "--scenario", name]
            line = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=True).stdout.strip().splitlines()[-1]
            print(line, flush=True)
            failed |= not json.loads(line)["ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
