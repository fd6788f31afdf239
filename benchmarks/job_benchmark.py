"""Job benchmark: unpack -> refresh -> analyze-drift on AI-gateway payloads, each step its own
process, against DuckDB reading the same payload table (issue 16).

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


def floor(name: str, files: list[str]) -> dict:
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

    sql = DUCKDB_SCAN_SQL if name == "duckdb-scan" else DUCKDB_JSON_SQL
    con = duckdb.connect()
    result = con.execute(sql, {"files": files}).fetchone()
    columns = [d[0] for d in con.description]
    return {k: (v if isinstance(v, int | float) or v is None else str(v)) for k, v in zip(columns, result, strict=True)}


# --- the benchmark ----------------------------------------------------------------------------------------

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
    names = (["floor: DuckDB scan", "floor: DuckDB scan + JSON", "floor: Python json.loads"] if floors else [])
    names += ["unpack", "refresh", "analyze-drift"]
    steps = {n: Step(n) for n in names}
    problems: list[str] = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT / "constructs")])}
    for i in range(repeat):
        reset(data, ctx)
        if floors:
            for name, kind in zip(names[:3], ("duckdb-scan", "duckdb-json", "python-json"), strict=True):
                steps[name].runs.append(measure([sys.executable, __file__, "--floor", kind, *files], env=env))
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
        for name in names[:3] if floors else []:
            r = steps[name].runs[-1]
            say(f"  run {i + 1}: {name}: {r.wall:.1f}s wall, {r.cpu:.1f}s CPU, {r.peak_mb:.0f} MB"
                + (f"  ERROR {r.error}" if r.error else ""))
            if r.error:
                problems.append(f"run {i + 1}: {name} failed: {r.error}")
    return steps, problems, data


def table(steps: dict[str, Step], data) -> str:
    """The markdown table of the median runs, with the targets."""
    lines = [
        "| step | wall s (median) | range s | CPU s | peak MB | load avg | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    scan = steps.get("floor: DuckDB scan")
    for name, step in steps.items():
        m = step.median()
        target, met = "", ""
        if name == "unpack":
            target = f"≤ {UNPACK_FLOOR_RATIO:.0f}x DuckDB scan, ≤ 2 GB"
            if scan is not None and scan.median().error is None:
                ratio = m.wall / scan.median().wall
                target += f" (is {ratio:.1f}x)"
                met = "yes" if ratio <= UNPACK_FLOOR_RATIO and m.peak_mb <= MEMORY_TARGET_MB else "NO"
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
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        print(json.dumps(floor(args.floor, args.files)))
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
