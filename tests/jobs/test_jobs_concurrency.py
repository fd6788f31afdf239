"""Two real `lakemon` processes on the same model: unpack, refresh and analyze-drift.

The interleavings are forced, not timed: the first process (A) is frozen with SIGSTOP at a
point it has reached (it holds the model's lock: the lock file names its pid; or it printed the
line that comes right before its table writes), the second (B) runs against it, then A is
resumed (SIGCONT) or killed (SIGKILL). Each case then checks the tables against a run that
never met another one: the same rows, no duplicate keys, every payload accounted for, no
traceback in either process's output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from jobs_helpers import DEV_ENV
from unpack_helpers import REC, REC2, payload, response, write_payloads

from lakemon_jobs.cli import main
from lakemon_jobs.context import JobContext
from lakemon_jobs.run_lock import lock_path
from lakemon_jobs.table_engines import engine_for

TIMEOUT_S = 120
AS_OF = "2026-01-04T00:00:00+00:00"
JOB_ARGS = {
    "unpack": ["--no-retention"],
    "refresh": [],
    "analyze-drift": ["--as-of", AS_OF, "--no-alerts"],
}
BEFORE_WRITE = {
    "unpack": "new payloads,",  # "unpack: N new payloads, M unusable", printed before the MERGEs
    "refresh": "writing both tables",
    "analyze-drift": "status:",  # printed after the report, before the verdicts are written
}
"""A line each job prints right before its first table write."""


def _payloads() -> list[dict]:
    """300 payloads over three days, two records each; every 25th unusable (quarantined)."""
    rows = []
    for i in range(300):
        rec = REC if i % 3 else REC2
        text = response(0.8, 0.3) if i % 25 else "not json"
        rows.append(payload(i, {"dataframe_records": [rec, {**rec, "appearances": i}]}, text, minutes=i * 14))
    return rows


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    """Homes at the start of each job: payloads only; + unpacked; + refreshed."""
    base = tmp_path_factory.mktemp("concurrency")
    homes = {}
    home = base / "unpack"
    ctx = JobContext.load(DEV_ENV, home=home)
    write_payloads(ctx, _payloads()[:150])
    write_payloads(ctx, _payloads()[150:])
    homes["unpack"] = home
    homes["refresh"] = base / "refresh"
    shutil.copytree(home, homes["refresh"])
    assert _lakemon_inprocess("unpack", homes["refresh"]) == 0
    homes["analyze-drift"] = base / "analyze-drift"
    shutil.copytree(homes["refresh"], homes["analyze-drift"])
    assert _lakemon_inprocess("refresh", homes["analyze-drift"]) == 0
    return homes


def _lakemon_inprocess(job: str, home: Path) -> int:
    return main([job, "--env-file", str(DEV_ENV), "--home", str(home), *JOB_ARGS[job]])


def _start(job: str, home: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABRICKS_RUNTIME_VERSION", None)
    return subprocess.Popen(
        [sys.executable, "-m", "lakemon_jobs.cli", job, "--env-file", str(DEV_ENV), "--home", str(home),
         *JOB_ARGS[job], *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=home.parent,
    )


def _read_until(proc: subprocess.Popen, marker: str, seen: list[str]) -> None:
    """Read proc's output lines into `seen` until one contains `marker` (fails on EOF/timeout)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"process ended before printing {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return
    pytest.fail(f"no {marker!r} within {TIMEOUT_S}s")


def _wait_for_lock_holder(home: Path, pid: int) -> None:
    path = lock_path(home, JobContext.load(DEV_ENV, home=home).tables.inference_log)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if json.loads(path.read_text() or "{}").get("pid") == pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    pytest.fail(f"process {pid} never held the lock {path}")


def _finish(proc: subprocess.Popen, seen: list[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=TIMEOUT_S)
    return proc.returncode, "".join(seen) + out


def _snapshot(job: str, home: Path) -> dict[str, pd.DataFrame]:
    """The tables the job writes, as sorted frames without the columns that differ per run."""
    ctx = JobContext.load(DEV_ENV, home=home)
    engine = engine_for(ctx)
    names = {
        "unpack": [ctx.tables.inference_log, ctx.tables.quarantine],
        "refresh": [ctx.tables.profile_metrics, ctx.tables.drift_metrics],
        "analyze-drift": [ctx.tables.drift_verdicts],
    }[job]
    volatile = {"quarantined_at", "run_id", "judged_at"}
    out = {}
    for name in names:
        frame = engine.read_table(name)
        keep = [c for c in frame.columns if c not in volatile]
        frame = frame[keep].astype(str)
        out[name] = frame.sort_values(keep).reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def reference(seeds, tmp_path_factory) -> dict[str, dict[str, pd.DataFrame]]:
    """Each job's tables after one run that met no other run."""
    refs = {}
    for job, seed in seeds.items():
        home = tmp_path_factory.mktemp("ref") / job
        shutil.copytree(seed, home)
        assert _lakemon_inprocess(job, home) == 0
        refs[job] = _snapshot(job, home)
    return refs


def _check_tables(job: str, home: Path, reference: dict) -> None:
    got = _snapshot(job, home)
    for name, frame in reference[job].items():
        pd.testing.assert_frame_equal(got[name], frame, obj=name)
    if job == "unpack":
        ctx = JobContext.load(DEV_ENV, home=home)
        log = engine_for(ctx).read_table(ctx.tables.inference_log)
        quarantine = engine_for(ctx).read_table(ctx.tables.quarantine)
        assert not log.duplicated(["databricks_request_id", "row_index"]).any()
        ids = set(log["databricks_request_id"]) | set(quarantine["databricks_request_id"])
        assert ids == {f"req-{i}" for i in range(300)}  # every payload accounted for, once


def _no_traceback(*outputs: str) -> None:
    for out in outputs:
        assert "Traceback" not in out, out


JOBS = ["unpack", "refresh", "analyze-drift"]


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize("where", ["lock taken", "before the write"])
def test_a_second_run_stops_at_once_naming_the_first(job, where, seeds, reference, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(seeds[job], home)
    a, seen = _start(job, home), []
    try:
        if where == "lock taken":
            _wait_for_lock_holder(home, a.pid)
        else:
            _read_until(a, BEFORE_WRITE[job], seen)
        a.send_signal(signal.SIGSTOP)
        _wait_for_lock_holder(home, a.pid)
        b = subprocess.run(
            [sys.executable, "-m", "lakemon_jobs.cli", job, "--env-file", str(DEV_ENV), "--home", str(home), *JOB_ARGS[job]],
            capture_output=True, text=True, timeout=TIMEOUT_S, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        a.send_signal(signal.SIGCONT)
    code_a, out_a = _finish(a, seen)
    b_out = b.stdout + b.stderr
    assert b.returncode == 1, b_out
    refusal = [line for line in b_out.splitlines() if f"pid {a.pid}" in line]
    assert len(refusal) == 1 and f"lakemon {job}" in refusal[0] and "--wait-for-lock" in refusal[0], b_out
    assert code_a in (0, 3), out_a  # analyze-drift exits 3 when it finds drift
    _no_traceback(out_a, b_out)
    _check_tables(job, home, reference)


@pytest.mark.parametrize("job", JOBS)
def test_a_second_run_told_to_wait_runs_after_the_first(job, seeds, reference, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(seeds[job], home)
    a, seen_a = _start(job, home), []
    _read_until(a, BEFORE_WRITE[job], seen_a)
    a.send_signal(signal.SIGSTOP)
    try:
        b, seen_b = _start(job, home, "--wait-for-lock", "100"), []
        _read_until(b, "waiting for lakemon", seen_b)
    finally:
        a.send_signal(signal.SIGCONT)
    code_a, out_a = _finish(a, seen_a)
    code_b, out_b = _finish(b, seen_b)
    assert code_a in (0, 3) and code_b in (0, 3), out_a + out_b
    _no_traceback(out_a, out_b)
    _check_tables(job, home, reference)


@pytest.mark.parametrize("job", JOBS)
def test_a_killed_run_does_not_block_the_next(job, seeds, reference, tmp_path):
    """kill -9 at the write: the kernel drops the lock; the next run completes the work and
    leaves no spill folder behind (nor the killed run's)."""
    home = tmp_path / "home"
    shutil.copytree(seeds[job], home)
    a, seen = _start(job, home), []
    _read_until(a, BEFORE_WRITE[job], seen)
    a.kill()
    a.wait(timeout=TIMEOUT_S)
    b, seen_b = _start(job, home), []
    code_b, out_b = _finish(b, seen_b)
    assert code_b in (0, 3), out_b
    _no_traceback(out_b)
    _check_tables(job, home, reference)
    assert not list(home.glob("lakemon-spill-*"))


def test_two_runs_one_after_the_other_change_nothing(seeds, reference, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(seeds["unpack"], home)
    for _ in range(2):
        code, out = _finish(_start("unpack", home), [])
        assert code == 0 and "Traceback" not in out, out
    _check_tables("unpack", home, reference)
