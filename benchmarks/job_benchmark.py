"""Job benchmark: unpack -> refresh -> analyze-drift on AI-gateway payloads, each step its own
process, against DuckDB reading the same payload table (the job speed and memory targets).

    .venv/bin/python benchmarks/job_benchmark.py                  # 10M rows: 100k requests x 100 rows, 30 days
    .venv/bin/python benchmarks/job_benchmark.py --requests 10000 # 1M rows (what the smoke test runs)

What it does:
1. Writes an embedded-default home under /tmp (benchmarks/job_data.py: the payload table in
   chunks, the four request formats, one failed request per 1,000, 30 days; the baseline
   table). Not timed. Deleted at the end unless --keep.
2. --repeat times (default 3): resets every table but the payload and baseline tables, then runs
   the floors and the three job steps, each as its own process:
   - floor "DuckDB scan": DuckDB reads every column of every row of the payload table's Parquet
     files (the Delta table's current files) and sums the text lengths: what reading the table
     costs;
   - floor "DuckDB scan + JSON": the same scan, and DuckDB parses every request and response
     JSON to count the rows each holds (all four formats): what reading and parsing costs in a
     vectorised C++ engine, without building rows;
   - floor "Python json.loads": one process reads the same files with pyarrow and json.loads
     every request and response: the least any parser that makes Python objects pays;
   - floor "DuckDB SQL unpack, no checks": DuckDB parses every good payload in the four formats,
     makes one row per prediction with the inference-log columns and writes them to a Parquet
     file (duckdb_unpack_sql): a vectorised unpack without unpack's checks, quarantine, dedup or
     Delta MERGE;
   - floor "DuckDB write of the unpacked rows": those rows, already in memory, written to Parquet
     again, timed inside the process: what writing the output alone costs;
   - `lakemon unpack`, `lakemon refresh`, `lakemon analyze-drift --no-alerts` (the job entry
     point, `python -m lakemon_jobs.cli`, on the home, as run-local runs them).
   Each process is measured from outside with os.wait4: wall time, CPU time (user + sys, its
   children included) and peak RSS; the 1-minute load average is read before each.
3. Checks what the job wrote (every request's rows in the inference log, every failed request in
   the quarantine, one profile window per day, verdicts for every day) and prints a markdown
   table: the median run per step with the range, the targets and whether they are met.

Exit code 0 when every check passed (targets missed are reported, not an error), 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV_FILE = ROOT / "envs" / "dev.yml"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "constructs"))

GB = 1024  # MB
STEP_TIMEOUT_S = 3600
UNPACK_FLOOR_RATIO = 3.0
"""Target: unpack takes at most this many times DuckDB's scan of the payload table."""
MONITOR_TARGET_S = 30.0
"""Target: refresh + analyze-drift over 30 daily windows of 10M rows, in seconds."""
MEMORY_TARGET_MB = 2 * GB


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float
    load: float
    output: str = ""
    error: str | None = None


@dataclass
class Step:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self) -> Run:
        ok = sorted((r for r in self.runs if r.error is None), key=lambda r: r.wall)
        return ok[len(ok) // 2] if ok else self.runs[-1]

    def wall_range(self) -> str:
        walls = [r.wall for r in self.runs if r.error is None]
        if len(walls) < 2:
            return "1 run"
        return f"{min(walls):.1f}-{max(walls):.1f}"


LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "cpu": usage.ru_utime + usage.ru_stime,
               "peak_mb": usage.ru_maxrss / 1024}, f)
"""
"""Starts the measured process and reads its rusage. Why a launcher: a child's ru_maxrss starts at
the RSS of the process that forked it (this benchmark holds hundreds of MB); the launcher's is ~10 MB."""


def measure(cmd: list[str], timeout: float = STEP_TIMEOUT_S, env: dict | None = None) -> Run:
    """Run one process; wall time here, CPU seconds (user + sys, its reaped children included) and
    peak RSS from os.wait4 in the launcher."""
    os.sync()  # the previous step's file writes are flushed now, not in the background of this one
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile(suffix=".json") as usage_file:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, usage_file.name, *cmd], stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            return Run(time.perf_counter() - start, 0.0, 0.0, load, error=f"timed out after {timeout:.0f} s")
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
        try:
            usage = json.loads(Path(usage_file.name).read_text())
        except ValueError:
            return Run(wall, 0.0, 0.0, load, text, error=f"the launcher failed: {text.strip()[-300:]}")
    run = Run(wall, usage["cpu"], usage["peak_mb"], load, text)
    if usage["code"] != 0:
        run.error = f"exit code {usage['code']}: " + " | ".join(text.strip().splitlines()[-3:])[:400]
    return run


# --- the floors (each runs in its own process: `job_benchmark.py --floor <name> <files...>`) -------------

DUCKDB_SCAN_SQL = """
SELECT COUNT(*) AS payloads,
       SUM(LENGTH(databricks_request_id) + LENGTH(client_request_id) + LENGTH(request) + LENGTH(response)
           + LENGTH(served_entity_id) + LENGTH(requester) + LEN(logging_error_codes)) AS text_chars,
       SUM(status_code) + SUM(execution_duration_ms) + SUM(sampling_fraction) AS numbers,
       MAX(request_time) AS last_time, MAX(request_date) AS last_date
FROM read_parquet($files)
"""
DUCKDB_JSON_SQL = """
WITH parsed AS (
  SELECT CAST(request AS JSON) AS q, CAST(response AS JSON) AS r FROM read_parquet($files)
)
SELECT COUNT(*) AS payloads,
       SUM(COALESCE(json_array_length(q, '$.dataframe_records'),
                    json_array_length(q, '$.dataframe_split.data'),
                    json_array_length(q, '$.instances'),
                    json_array_length(q, '$.inputs.' || json_keys(q, '$.inputs')[1]))) AS request_rows,
       SUM(json_array_length(r, '$.predictions')) AS predicted_rows
FROM parsed
"""


_DUCKDB_TYPES = {"string": "VARCHAR", "double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INTEGER",
                 "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "date": "DATE"}


def duckdb_unpack_sql(model) -> str:
    """The least an unpack does, in DuckDB SQL: parse every status-200 request and response in
    the four formats, one row per prediction with the inference-log columns, typed by casts.
    No checks at all (row counts, types, ranges, Unicode), no quarantine, no dedup, no Delta:
    a lower bound for a vectorised unpack, not a replacement for payloads.parse_payloads."""
    from lakemon.contract.tables import inference_log_columns, output_columns

    features, outputs = model.features, output_columns(model)

    def kind(c) -> str:
        return _DUCKDB_TYPES[c.type]

    records = "[{" + ", ".join(f'"{c.name}": "{kind(c)}"' for c in features) + "}]"
    by_column = "{" + ", ".join(f'"{c.name}": ["{kind(c)}"]' for c in features) + "}"
    predictions = "[{" + ", ".join(f'"{c.name}": "{kind(c)}"' for c in outputs) + "}]"
    ids = "databricks_request_id, client_request_id, request_time, served_entity_id"
    rows = "unnest(preds) AS y, unnest(range(len(preds))) AS row_index"

    def positional(i: int, c) -> str:
        return f"CAST(json_extract_string(x, '$[{i}]') AS {kind(c)}) AS \"{c.name}\""

    def select(values: str, source: str) -> str:
        outs = ", ".join(f'y."{c.name}" AS "{c.name}"' for c in outputs)
        return f"SELECT {ids}, row_index, {values}, {outs} FROM {source}"

    named = ", ".join(f'x."{c.name}" AS "{c.name}"' for c in features)
    placed = ", ".join(positional(i, c) for i, c in enumerate(features))
    unnested = ", ".join(f'unnest(c."{c.name}") AS "{c.name}"' for c in features)
    log = inference_log_columns(model)
    final = ", ".join(
        f'CAST(NULL AS {kind(c)}) AS "{c.name}"' if c.name == model.label.name
        else f'served_entity_id AS "{c.name}"' if c.name == model.model_id_column
        else f'request_time AS "{c.name}"' if c.name == model.timestamp_column
        else f'"{c.name}"' for c in log
    )
    return f"""
WITH p AS (
  SELECT {ids}, CAST(request AS JSON) AS q,
         from_json(json_extract(response, '$.predictions'), '{predictions}') AS preds
  FROM read_parquet($files) WHERE status_code = 200
),
recs AS (SELECT {ids}, unnest(from_json(q->'dataframe_records', '{records}')) AS x, {rows}
         FROM p WHERE json_exists(q, '$.dataframe_records')),
split AS (SELECT {ids}, unnest(from_json(q->'$.dataframe_split.data', '["JSON"]')) AS x, {rows}
          FROM p WHERE json_exists(q, '$.dataframe_split')),
inst AS (SELECT {ids}, unnest(from_json(q->'$.instances', '["JSON"]')) AS x, {rows}
         FROM p WHERE json_exists(q, '$.instances')),
cols AS (SELECT {ids}, from_json(q->'inputs', '{by_column}') AS c, preds FROM p WHERE json_exists(q, '$.inputs')),
colrows AS (SELECT {ids}, {unnested}, {rows} FROM cols),
unpacked AS (
  {select(named, "recs")}
  UNION ALL {select(placed, "split")}
  UNION ALL {select(placed, "inst")}
  UNION ALL {select(", ".join(f'"{c.name}"' for c in features), "colrows")}
)
SELECT {final} FROM unpacked
"""


def floor(name: str, files: list[str], out: str | None = None, sql_file: str | None = None) -> dict:
    if name == "python-json":
        import pyarrow.parquet as pq

        rows = 0
        payloads = 0
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=["request", "response"]):
                for request, response in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                    payloads += 1
                    body = json.loads(request)
                    reply = json.loads(response)
                    rows += len(reply["predictions"]) if isinstance(reply, dict) and "predictions" in reply else 0
                    del body
        return {"payloads": payloads, "predicted_rows": rows}
    import duckdb

    if name == "duckdb-unpack":  # parse and explode every payload, write the rows to one Parquet file
        con = duckdb.connect()
        con.execute(f"COPY ({Path(sql_file).read_text()}) TO '{out}' (FORMAT parquet)", {"files": files})
        return {"rows": con.execute(f"SELECT COUNT(*) FROM read_parquet('{out}')").fetchone()[0]}
    if name == "duckdb-write":  # the write alone: the unpacked rows, already in memory, to Parquet
        con = duckdb.connect()
        con.execute(f"CREATE TABLE unpacked AS SELECT * FROM read_parquet('{files[0]}')")
        start = time.perf_counter()
        con.execute(f"COPY unpacked TO '{out}' (FORMAT parquet)")
        return {"rows": con.execute("SELECT COUNT(*) FROM unpacked").fetchone()[0], "write_s": time.perf_counter() - start}
    sql = DUCKDB_SCAN_SQL if name == "duckdb-scan" else DUCKDB_JSON_SQL
    con = duckdb.connect()
    result = con.execute(sql, {"files": files}).fetchone()
    columns = [d[0] for d in con.description]
    return {k: (v if isinstance(v, int | float) or v is None else str(v)) for k, v in zip(columns, result, strict=True)}


# --- the benchmark ----------------------------------------------------------------------------------------

FLOORS = (
    ("floor: DuckDB scan", "duckdb-scan"),
    ("floor: DuckDB scan + JSON", "duckdb-json"),
    ("floor: Python json.loads", "python-json"),
    ("floor: DuckDB SQL unpack, no checks", "duckdb-unpack"),
    ("floor: DuckDB write of the unpacked rows", "duckdb-write"),
)
"""(row name, --floor kind) of each floor, in the order they run. The write floor's wall time is
the write alone, timed inside its process (reading the rows into memory first is not)."""


def run_floors(steps: dict[str, Step], files: list[str], work: Path, sql_file: Path, data, env: dict) -> list[str]:
    """One run of every floor, appended to its step; returns the problems found. The two unpack
    floors must produce every inference row the good requests hold (data.rows)."""
    unpacked, rewritten = work / "floor-unpacked.parquet", work / "floor-rewritten.parquet"
    args = {
        "duckdb-unpack": ["--out", str(unpacked), "--sql-file", str(sql_file), *files],
        "duckdb-write": ["--out", str(rewritten), str(unpacked)],
    }
    problems = []
    try:
        for name, kind in FLOORS:
            run = measure([sys.executable, __file__, "--floor", kind, *args.get(kind, files)], env=env)
            steps[name].runs.append(run)
            if run.error:
                problems.append(f"{name} failed: {run.error}")
                continue
            result = json.loads(run.output.strip().splitlines()[-1])
            if kind in args and result["rows"] != data.rows:
                problems.append(f"{name} wrote {result['rows']} rows, expected {data.rows}")
            if kind == "duckdb-write":
                run.wall = result["write_s"]
    finally:
        unpacked.unlink(missing_ok=True)
        rewritten.unlink(missing_ok=True)
    return problems


KEEP_TABLES = ("payload", "baseline")


def reset(data, ctx) -> None:
    """Everything the job writes goes; the payload and baseline tables stay."""
    keep = {str(ctx.runtime.table_path(getattr(ctx.tables, t))) for t in KEEP_TABLES}
    tables_dir = ctx.runtime.root / "tables"
    for path in sorted(tables_dir.glob("*/*/*")):
        if str(path) not in keep:
            shutil.rmtree(path)
    for name in ("monitor_state", "reports"):
        shutil.rmtree(ctx.runtime.root / name, ignore_errors=True)
    for spill in ctx.runtime.root.glob("lakemon-spill-*"):
        shutil.rmtree(spill, ignore_errors=True)


def job_command(step: str, data, as_of: dt.datetime) -> list[str]:
    cmd = [sys.executable, "-m", "lakemon_jobs.cli", step, "--env-file", str(data.env_file), "--home", str(data.home)]
    if step == "analyze-drift":
        cmd += ["--no-alerts", "--drift-exit-code", "0", "--as-of", as_of.isoformat()]
    return cmd


def check(data, ctx, outputs: dict[str, str]) -> list[str]:
    """What the job must have written; returns the problems found."""
    import duckdb
    from deltalake import DeltaTable

    def table(name: str):
        return DeltaTable(str(ctx.runtime.table_path(name))).to_pyarrow_dataset()

    problems = []
    log_rows = table(ctx.tables.inference_log).count_rows()
    if log_rows != data.rows:
        problems.append(f"inference log has {log_rows} rows, expected {data.rows}")
    quarantined = table(ctx.tables.quarantine).count_rows()
    if quarantined != data.failed:
        problems.append(f"quarantine has {quarantined} rows, expected {data.failed} (one per failed request)")
    accounting = re.search(r"check: (\d+) payload rows in = (\d+) unpacked \+ (\d+) quarantined(.*)", outputs["unpack"])
    if not accounting or accounting.group(4).strip() or int(accounting.group(1)) != data.requests + data.failed:
        problems.append(f"unpack's accounting line is wrong or missing: {accounting.group(0) if accounting else 'none'}")
    con = duckdb.connect()
    con.register("profile", table(ctx.tables.profile_metrics))
    windows = con.execute(
        "SELECT COUNT(DISTINCT \"window\".start) FROM profile WHERE log_type = 'INPUT' AND column_name = ':table'"
    ).fetchone()[0]
    if windows != data.days:
        problems.append(f"profile metrics have {windows} daily windows, expected {data.days}")
    con.register("verdicts", table(ctx.tables.drift_verdicts))
    judged = con.execute("SELECT COUNT(DISTINCT window_start), COUNT(*) FROM verdicts").fetchone()
    if judged[0] != data.days or judged[1] == 0:
        problems.append(f"verdicts cover {judged[0]} windows ({judged[1]} rows), expected {data.days}")
    expected_progress = {"unpack": "unpack: parsed ", "refresh": "windows to recompute", "analyze-drift": "analyze-drift: judged "}
    for step, marker in expected_progress.items():
        if marker not in outputs[step]:
            problems.append(f"{step} printed no progress line ({marker!r}...)")
    return problems


def run_benchmark(
    *, requests: int, rows_per_request: int, days: int, repeat: int, work: Path, floors: bool = True,
    say=print, reuse: bool = False,
) -> tuple[dict[str, Step], list[str], object]:
    """Generate, run, check. Returns (steps by name, problems, the JobData)."""
    from deltalake import DeltaTable
    from job_data import job_data_of, write_job_data

    from lakemon_jobs.context import JobContext

    t0 = time.perf_counter()
    end = dt.datetime.now(dt.UTC).date()
    if reuse and (work / "tables").is_dir():
        data = job_data_of(work, ENV_FILE, requests=requests, rows_per_request=rows_per_request, days=days, end=end)
        say(f"reusing {data.rows:,} rows in {data.requests:,} requests (+{data.failed} failed) in {work}")
    else:
        data = write_job_data(work, ENV_FILE, requests=requests, rows_per_request=rows_per_request, days=days, end=end,
                              progress=lambda m: say(f"  {m}"))
        say(f"generated {data.rows:,} rows in {data.requests:,} requests (+{data.failed} failed), "
            f"{data.payload_bytes / 2**20:.0f} MB of Parquet, in {time.perf_counter() - t0:.0f}s")
    ctx = JobContext.load(data.env_file, home=data.home)
    files = DeltaTable(str(ctx.runtime.table_path(ctx.tables.payload))).file_uris()
    as_of = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    names = [name for name, _ in FLOORS] if floors else []
    names += ["unpack", "refresh", "analyze-drift"]
    steps = {n: Step(n) for n in names}
    problems: list[str] = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "constructs")])}
    sql_file = work / "floor-unpack.sql"
    if floors:
        sql_file.write_text(duckdb_unpack_sql(ctx.model))
    for i in range(repeat):
        reset(data, ctx)
        if floors:
            problems += [f"run {i + 1}: {p}" for p in run_floors(steps, files, work, sql_file, data, env)]
        outputs = {}
        for step in ("unpack", "refresh", "analyze-drift"):
            run = measure(job_command(step, data, as_of), env=env)
            steps[step].runs.append(run)
            outputs[step] = run.output
            say(f"  run {i + 1}: {step}: {run.wall:.1f}s wall, {run.cpu:.1f}s CPU, {run.peak_mb:.0f} MB, load {run.load:.1f}"
                + (f"  ERROR {run.error}" if run.error else ""))
            if run.error:
                problems.append(f"run {i + 1}: {step} failed: {run.error}")
                break
        else:
            problems += [f"run {i + 1}: {p}" for p in check(data, ctx, outputs)]
        for name, _ in FLOORS if floors else []:
            r = steps[name].runs[-1]
            say(f"  run {i + 1}: {name}: {r.wall:.1f}s wall, {r.cpu:.1f}s CPU, {r.peak_mb:.0f} MB"
                + (f"  ERROR {r.error}" if r.error else ""))
    return steps, problems, data


def table(steps: dict[str, Step], data) -> str:
    """The markdown table of the median runs, with the targets."""
    lines = [
        "| step | wall s (median) | range s | CPU s | peak MB | load avg | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    scan = steps.get("floor: DuckDB scan")
    for name, step in steps.items():
        if not step.runs:
            continue
        m = step.median()
        target, met = "", ""
        if name == "unpack":
            target = f"≤ {UNPACK_FLOOR_RATIO:.0f}x DuckDB scan, ≤ 2 GB"
            if scan is not None and scan.median().error is None:
                ratio = m.wall / scan.median().wall
                target += f" (is {ratio:.1f}x)"
                met = "yes" if ratio <= UNPACK_FLOOR_RATIO and m.peak_mb <= MEMORY_TARGET_MB else "NO"
        elif name.startswith("floor: ") and step is not scan and scan is not None and scan.median().error is None:
            target = f"({m.wall / scan.median().wall:.1f}x the scan)"
        if m.error:
            met = f"FAILED: {m.error[:80]}"
        lines.append(f"| {name} | {m.wall:.1f} | {step.wall_range()} | {m.cpu:.1f} | {m.peak_mb:.0f} | {m.load:.1f} | {target} | {met} |")
    if "refresh" in steps and "analyze-drift" in steps:
        pairs = [(a, b) for a, b in zip(steps["refresh"].runs, steps["analyze-drift"].runs, strict=False)
                 if a.error is None and b.error is None]
        if pairs:
            walls = sorted(a.wall + b.wall for a, b in pairs)
            cpu = statistics.median(a.cpu + b.cpu for a, b in pairs)
            peak = max(max(a.peak_mb, b.peak_mb) for a, b in pairs)
            wall = walls[len(walls) // 2]
            met = "yes" if wall <= MONITOR_TARGET_S and peak <= MEMORY_TARGET_MB else "NO"
            lines.append(f"| refresh + analyze-drift | {wall:.1f} | {walls[0]:.1f}-{walls[-1]:.1f} | {cpu:.1f} | {peak:.0f} | "
                         f"| ≤ {MONITOR_TARGET_S:.0f} s, ≤ 2 GB | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="good requests (default 100,000)")
    parser.add_argument("--rows-per-request", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, help="folder for the generated home (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the generated home")
    parser.add_argument("--reuse", action="store_true",
                        help="use the payload and baseline tables already in --work (written by a --keep run with the same sizes, today)")
    parser.add_argument("--no-floors", action="store_true", help="run only the job steps")
    parser.add_argument("--floor", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--sql-file", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        print(json.dumps(floor(args.floor, args.files, args.out, args.sql_file)))
        return 0
    started = time.perf_counter()
    work = args.work or Path(tempfile.mkdtemp(prefix="lakemon-job-bench-", dir="/tmp"))
    print(f"job benchmark: {args.requests * args.rows_per_request:,} rows over {args.days} days, "
          f"{args.repeat} run(s), work folder {work}", flush=True)
    try:
        steps, problems, data = run_benchmark(
            requests=args.requests, rows_per_request=args.rows_per_request, days=args.days, repeat=args.repeat,
            work=work, floors=not args.no_floors, say=lambda m: print(m, flush=True), reuse=args.reuse,
        )
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{data.rows:,} rows in {data.requests:,} requests (+{data.failed} failed) over {data.days} days; "
          f"{os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
          f"benchmark took {time.perf_counter() - started:.0f}s")
    print()
    print(table(steps, data))
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
