"""Process and port supervision for the embedded run.

Every process the run starts is a `ManagedProcess`: a context manager that starts the command in
its own process group (so a Ctrl-C in the terminal reaches only lakemon, which then stops the
group in order: SIGTERM, wait, SIGKILL), and whose exit always runs, on success, on an exception
and on KeyboardInterrupt. A group kill also reaches grandchildren (`mlflow models serve` runs
its scoring server through a shell), which a plain `Popen.terminate()` would orphan.

`sigterm_as_interrupt()` turns SIGTERM into KeyboardInterrupt for the duration of a run, so that
`kill <pid>` unwinds the same context managers as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path


class WaitTimeout(RuntimeError):
    """A wait ran out of time; the message says what was awaited and for how long."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free right now on `host` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if nothing listens on (or holds) host:port, so a server could bind it now.

    SO_REUSEADDR, as servers set it: connections of a stopped server lingering in TIME_WAIT do
    not count as the port being in use; a live listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    progress: Callable[[float], None] | None = None,
    progress_every: float = 2.0,
    abort: Callable[[], str | None] | None = None,
) -> float:
    """Poll `predicate` until it is true; return the seconds waited.

    `abort` is asked on every poll and ends the wait early with its message (e.g. "the server
    exited with code 1"), so a dead process fails fast instead of waiting out the timeout.
    `progress(elapsed)` is called every `progress_every` seconds so long waits are visible.
    """
    start = time.monotonic()
    last_progress = start
    while True:
        if predicate():
            return time.monotonic() - start
        if abort is not None and (reason := abort()):
            raise RuntimeError(f"gave up waiting for {what}: {reason}")
        now = time.monotonic()
        if now - start >= timeout:
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}")
        if progress is not None and now - last_progress >= progress_every:
            progress(now - start)
            last_progress = now
        time.sleep(interval)


class ManagedProcess:
    """A subprocess in its own process group that is always stopped on exit of the `with` block.

    Output goes to `log_path` (kept for diagnosis; its tail is shown when the process fails).
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        name: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.args = list(args)
        self.name = name
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # own process group: we signal the whole tree ourselves
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.pid

    def exit_code(self) -> int | None:
        """None while running, the exit code once it has exited."""
        return None if self.process is None else self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the process group; wait up to `stop_timeout` for the leader and every member
        to exit; SIGKILL whatever is left and wait for it to be gone. Idempotent.

        Waiting for the members, not only the leader, matters: `mlflow models serve` exits at
        once on SIGTERM while its uvicorn child is still shutting down and holding the port.
        """
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the group id is the leader's pid
        if self.process.poll() is None or group_members(pgid):
            _signal_group(pgid, signal.SIGTERM)
            if not self._wait_gone(pgid, self.stop_timeout):
                _signal_group(pgid, signal.SIGKILL)
                self._wait_gone(pgid, self.stop_timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=self.stop_timeout)

    def _wait_gone(self, pgid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None:
                self.process.poll()  # reap the leader if it has exited
            if (self.process is None or self.process.returncode is not None) and not group_members(pgid):
                return True
            time.sleep(0.05)
        return False


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`, read from /proc (Linux)."""
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (as Ctrl-C does), so cleanup runs."""

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"received signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
