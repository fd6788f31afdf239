"""The pieces that keep runs apart and clean up after killed ones: commit-conflict retries,
spill folders of killed runs, the run lock's own rules, reserved model versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from deltalake.exceptions import CommitFailedError
from unpack_helpers import REC, payload, response, write_payloads

from lakemon_jobs.local.runtime import LocalRuntime
from lakemon_jobs.run_lock import RunInProgress, model_lock
from lakemon_jobs.table_engines.conflicts import (
    ATTEMPTS,
    CommitConflict,
    is_commit_conflict,
    retry_on_conflict,
)
from lakemon_jobs.table_engines.engine import TableError
from lakemon_jobs.table_engines.local import SPILL_PREFIX, LocalEngine, remove_stale_spills
from lakemon_jobs.unpack import unpack_payloads


class _Flaky:
    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    @retry_on_conflict
    def write(self, name: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "written"


def test_a_commit_conflict_is_retried_then_the_write_succeeds(monkeypatch):
    monkeypatch.setattr("lakemon_jobs.table_engines.conflicts.BACKOFF_S", 0.0)
    flaky = _Flaky(ATTEMPTS - 1, CommitFailedError("Failed to commit transaction: conflict"))
    assert flaky.write("c.s.t") == "written" and flaky.calls == ATTEMPTS


def test_a_commit_conflict_that_persists_is_one_line_naming_the_table(monkeypatch):
    monkeypatch.setattr("lakemon_jobs.table_engines.conflicts.BACKOFF_S", 0.0)
    flaky = _Flaky(ATTEMPTS, CommitFailedError("Failed to commit transaction: 17\nmore"))
    with pytest.raises(CommitConflict) as caught:
        flaky.write("c.s.t")
    message = str(caught.value)
    assert "\n" not in message and "c.s.t" in message and "nothing of this write was committed" in message
    assert isinstance(caught.value, TableError) and flaky.calls == ATTEMPTS


def test_other_errors_are_not_retried():
    flaky = _Flaky(1, ValueError("bad value"))
    with pytest.raises(ValueError):
        flaky.write("c.s.t")
    assert flaky.calls == 1


def test_spark_conflicts_are_recognised_by_class_or_error_class():
    class ConcurrentAppendException(Exception):
        pass

    assert is_commit_conflict(ConcurrentAppendException("files were added"))
    assert is_commit_conflict(RuntimeError("[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: ..."))
    assert not is_commit_conflict(RuntimeError("[TABLE_OR_VIEW_NOT_FOUND] t"))


# --- spill folders ------------------------------------------------------------------------------

_HOLD_SPILL = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lakemon_jobs.local.runtime import LocalRuntime
    from lakemon_jobs.table_engines.local import LocalEngine
    engine = LocalEngine(LocalRuntime(Path(sys.argv[1])))
    print(engine._spill_dir(), flush=True)
    time.sleep(300)
""")


def test_a_killed_runs_spill_folder_is_removed_by_the_next_run_a_live_one_is_kept(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", _HOLD_SPILL, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        spill = child.stdout.readline().strip()
        assert spill and os.path.isdir(spill)
        LocalEngine(LocalRuntime(tmp_path))  # a run starting while the other is alive
        assert os.path.isdir(spill)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert os.path.isdir(spill)  # kill -9: nothing in the dead process removed it
    LocalEngine(LocalRuntime(tmp_path))
    assert not os.path.exists(spill)


def test_an_old_spill_folder_without_a_marker_is_removed_a_fresh_one_is_kept(tmp_path):
    old, fresh = tmp_path / f"{SPILL_PREFIX}old", tmp_path / f"{SPILL_PREFIX}fresh"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "x.parquet").write_bytes(b"x")
    long_ago = time.time() - 3600
    os.utime(old, (long_ago, long_ago))
    assert remove_stale_spills(tmp_path) == [old]
    assert fresh.is_dir()


# --- the run lock -------------------------------------------------------------------------------

def test_the_lock_waits_with_progress_then_names_the_holder(tmp_path, monkeypatch):
    monkeypatch.setattr("lakemon_jobs.run_lock.PROGRESS_EVERY_S", 0.1)
    lines: list[str] = []
    with model_lock(tmp_path, "c.s.log", "refresh"):
        with pytest.raises(RunInProgress) as caught:
            with model_lock(tmp_path, "c.s.log", "unpack", wait_s=0.5, progress=lines.append):
                pass
    assert lines and all("waiting for lakemon refresh (pid" in line for line in lines)
    assert f"pid {os.getpid()}" in str(caught.value) and "after waiting 0.5s" in str(caught.value)
    with model_lock(tmp_path, "c.s.log", "unpack"):  # released on leaving the block
        pass


def test_another_model_is_not_blocked(tmp_path):
    with model_lock(tmp_path, "c.s.a_log", "refresh"), model_lock(tmp_path, "c.s.b_log", "refresh"):
        pass


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e9", "soon"])
def test_wait_for_lock_refuses_odd_values(value, tmp_path, capsys):
    from lakemon_jobs.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["unpack", "--home", str(tmp_path), "--wait-for-lock", value])
    assert caught.value.code == 2
    assert "--wait-for-lock" in capsys.readouterr().err


# --- reserved values ----------------------------------------------------------------------------

@pytest.mark.parametrize("served", ["*", " * "])
def test_a_model_version_that_is_the_all_models_sentinel_is_quarantined(uctx, served):
    write_payloads(uctx, [payload(1, {"dataframe_records": [REC]}, response(0.7), served=served),
                          payload(2, {"dataframe_records": [REC]}, response(0.7))])
    result = unpack_payloads(uctx, progress=lambda _m: None)
    assert result.inserted == 1 and result.quarantined == 1
    (reason,) = result.reasons
    assert "reserved" in reason and "'*'" in reason


def test_a_model_version_star_from_the_request_params_is_quarantined(uctx):
    write_payloads(uctx, [payload(1, {"dataframe_records": [REC], "params": {"model_version": "*"}}, response(0.7),
                                  served=None)])
    assert unpack_payloads(uctx, progress=lambda _m: None).quarantined == 1


def test_retrain_takes_the_model_lock_too(tmp_path, capsys):
    """retrain rewrites the baseline a refresh reads: it refuses to run beside another job."""
    from jobs_helpers import DEV_ENV

    from lakemon_jobs.cli import main
    from lakemon_jobs.context import JobContext

    ctx = JobContext.load(DEV_ENV, home=tmp_path)
    with model_lock(tmp_path, ctx.tables.inference_log, "refresh"):
        code = main(["retrain", "--env-file", str(DEV_ENV), "--home", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and f"lakemon retrain: lakemon refresh (pid {os.getpid()}" in out, out
