"""Every process the run starts is stopped: on success, on an exception, with its grandchildren."""

from __future__ import annotations

import os
import sys
import time

import pytest

from lakemon_jobs.embedded import processes
from lakemon_jobs.embedded.processes import (
    ManagedProcess,
    WaitTimeout,
    free_port,
    group_members,
    port_is_free,
    sigterm_as_interrupt,
    wait_until,
)

# A parent that starts a child (both listen on nothing; the child binds a port) and ignores
# SIGTERM, to prove the stop escalates to SIGKILL and reaches the whole process group.
STUBBORN_TREE = r"""
import signal, socket, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
port = int(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c",
    "import socket, time, sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
    "open(sys.argv[2], 'w').write(str(__import__('os').getpid())); time.sleep(600)", str(port), sys.argv[2]])
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_exception_inside_the_block_stops_the_whole_tree_and_frees_its_port(tmp_path):
    port = free_port()
    pid_file = tmp_path / "child.pid"
    proc = ManagedProcess(
        [sys.executable, "-c", STUBBORN_TREE, str(port), str(pid_file)],
        name="stubborn",
        log_path=tmp_path / "log.txt",
        stop_timeout=1.0,
    )
    with pytest.raises(ZeroDivisionError):
        with proc:
            wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=20, what="child")
            wait_until(lambda: not port_is_free(port), timeout=20, what="child's port")
            child_pid = int(pid_file.read_text())
            assert alive(proc.pid) and alive(child_pid)
            raise ZeroDivisionError("a failure inside the run")
    wait_until(lambda: not alive(child_pid), timeout=5, what="the grandchild to die")
    assert not alive(proc.pid)
    assert proc.exit_code() is not None
    assert port_is_free(port)


def test_stop_is_idempotent_and_reports_exit_code(tmp_path):
    with ManagedProcess(
        [sys.executable, "-c", "import sys; sys.exit(3)"], name="x", log_path=tmp_path / "l"
    ) as p:
        wait_until(lambda: p.exit_code() is not None, timeout=10, what="exit")
    assert p.exit_code() == 3
    p.stop()


class FakeClock:
    """Stands in for the `time` module in `processes`: sleeping advances `now` by exactly that much."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_until_aborts_early_and_times_out(monkeypatch):
    with pytest.raises(RuntimeError, match="server died"):
        wait_until(lambda: False, timeout=30, what="x", abort=lambda: "server died")
    # A fake clock, not the wall clock: on a loaded machine a real sleep may take any time, so the
    # test fixes what "1 s" means and checks the polls, progress calls and give-up time exactly.
    clock = FakeClock()
    monkeypatch.setattr(processes, "time", clock)
    seen: list[float] = []
    with pytest.raises(WaitTimeout, match="timed out after 1s waiting for nothing"):
        wait_until(
            lambda: False, timeout=1, what="nothing", interval=0.25, progress=seen.append, progress_every=0.25
        )
    assert seen == [0.25, 0.5, 0.75]  # every progress_every, never after the timeout
    assert clock.now == 1.0  # gave up at the first poll at or past the timeout, not later


def test_sigterm_becomes_keyboard_interrupt_inside_the_block():
    import signal

    with pytest.raises(KeyboardInterrupt):
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) is not None


# A stand-in for run-local's supervision: servers and a process group on one ExitStack under
# sigterm_as_interrupt; SIGTERM must unwind it all, as Ctrl-C does.
SUPERVISED_RUN = r"""
import contextlib, sys, time
from pathlib import Path
from lakemon_jobs.embedded.processes import ManagedProcess, sigterm_as_interrupt
from lakemon_jobs.embedded.webhook import WebhookReceiver
webhook_port, child_port, pid_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
try:
    with sigterm_as_interrupt(), contextlib.ExitStack() as stack:
        stack.enter_context(WebhookReceiver(f"http://127.0.0.1:{webhook_port}/alerts"))
        proc = stack.enter_context(ManagedProcess(
            [sys.executable, "-c", "import socket, time, sys; s = socket.socket(); "
             "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(600)", str(child_port)],
            name="child", log_path=Path(pid_file + ".log")))
        Path(pid_file).write_text(str(proc.pid))
        time.sleep(600)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_sigterm_stops_every_server_and_process_of_a_supervised_run(tmp_path):
    import signal
    import subprocess

    webhook_port, child_port = free_port(), free_port()
    pid_file = tmp_path / "child.pid"
    run = subprocess.Popen(
        [sys.executable, "-c", SUPERVISED_RUN, str(webhook_port), str(child_port), str(pid_file)]
    )
    try:
        wait_until(
            lambda: pid_file.exists() and not port_is_free(child_port), timeout=30, what="the run to start"
        )
        assert not port_is_free(webhook_port)
        child_pid = int(pid_file.read_text())
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=20) == 130
    finally:
        run.kill()
    wait_until(lambda: not alive(child_pid), timeout=5, what="the child to die")
    assert port_is_free(webhook_port) and port_is_free(child_port)


# Like `mlflow models serve`: the leader exits at once on SIGTERM, while its child (uvicorn)
# takes a moment to shut down and holds the port until then.
SLOW_CHILD_TREE = r"""
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, socket, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1.0), sys.exit(0)))\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "open(sys.argv[2], 'w').write('up')\n"
    "time.sleep(600)", sys.argv[1], sys.argv[2]])
time.sleep(600)
"""


def test_stop_returns_only_when_every_group_member_is_gone(tmp_path):
    port = free_port()
    up = tmp_path / "up"
    proc = ManagedProcess(
        [sys.executable, "-c", SLOW_CHILD_TREE, str(port), str(up)], name="tree", log_path=tmp_path / "log"
    )
    with proc:
        wait_until(lambda: up.exists() and not port_is_free(port), timeout=20, what="the child's port")
        assert len(group_members(proc.pid)) == 2
    assert group_members(proc.pid) == []
    assert port_is_free(port)  # immediately: no grace period needed by the caller


def test_a_scoring_server_that_died_is_named_as_the_cause_of_failed_traffic(tmp_path):
    """When the scoring server is killed mid-traffic, step 4 says so (exit code and the
    end of its log), instead of only counting non-200 answers."""
    from types import SimpleNamespace

    from lakemon_jobs.embedded.scoring import ScoringServer
    from lakemon_jobs.embedded.steps_traffic import traffic_failure

    scoring = ScoringServer.__new__(ScoringServer)  # the real class, with a process that gets killed
    scoring.process = ManagedProcess(
        [sys.executable, "-c", "print('serving', flush=True); import time; time.sleep(600)"],
        name="mlflow scoring server", log_path=tmp_path / "scoring-server.log",
    )
    with scoring.process:
        wait_until(lambda: "serving" in (tmp_path / "scoring-server.log").read_text(), timeout=20, what="start")
        failed = SimpleNamespace(failed=7, requests_sent=40)
        assert traffic_failure(failed, scoring) is None  # still running: not the cause
        os.kill(scoring.process.pid, 9)
        wait_until(lambda: scoring.process.exit_code() is not None, timeout=10, what="exit")
        message = traffic_failure(failed, scoring)
        assert message.startswith("7 of 40 requests failed because the scoring server exited with code -9")
        assert "scoring-server.log" in message and "serving" in message
        assert traffic_failure(SimpleNamespace(failed=0, requests_sent=40), scoring) is None
