"""One run at a time per model on the embedded default: an OS file lock per model.

Why: two `lakemon refresh` runs meeting at the table write kept both sets of rows (two
`write_deltalake(mode="overwrite")` that both create a table can both commit), and two unpacks
meeting at the MERGE ended in a raw commit-conflict traceback. unpack, refresh and
analyze-drift of one model therefore take the same exclusive lock before they read anything;
a second run stops at once with one line naming the run that holds it, or, with
`--wait-for-lock SECONDS`, waits that long (printing progress) and then runs or stops.

Why `fcntl.flock` and not a lock file that exists or not: the kernel releases a flock when the
process holding it ends, however it ends (kill -9 included), so a killed run never leaves a
stale lock behind and nothing has to guess whether a recorded process id is still alive.
The file stays; only its lock matters. Its content (job, pid, host, start time) is written by
the holder after it has the lock and is only read to name the run in progress. flock is
advisory and local: it does not hold across machines sharing a network folder (a home on NFS);
docs/reliability.md says so.

On Databricks (no local runtime) there is nothing to lock here: the job's `max_concurrent_runs
= 1` with queueing keeps two runs of one job apart, and Delta's optimistic concurrency refuses a
conflicting commit (tables.conflicts turns that into a retry or one line).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import JobError

PROGRESS_EVERY_S = 10.0
POLL_S = 0.2


class RunInProgress(JobError):
    """Another run of a job for the same model holds the lock (and did not let go in time)."""


def lock_path(root: Path, inference_log: str) -> Path:
    """`<home>/locks/<catalog.schema.table>.lock`: one lock per model (its inference log names it)."""
    return root / "locks" / (re.sub(r"[^\w.-]", "_", inference_log) + ".lock")


def holder(path: Path) -> str:
    """Who holds the lock at `path`, as the holder wrote it ("another lakemon run" if unreadable)."""
    try:
        info = json.loads(path.read_text() or "{}")
        return (
            f"lakemon {info['job']} (pid {info['pid']} on {info['host']}, started {info['started']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another lakemon run"


@contextmanager
def model_lock(
    root: Path | None,
    inference_log: str,
    job: str,
    *,
    wait_s: float = 0.0,
    progress: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the model's lock for the `with` block; RunInProgress if another run holds it after
    `wait_s` seconds (0: do not wait). `root` None (Databricks): no lock."""
    if root is None:
        yield
        return
    path = lock_path(root, inference_log)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, job, inference_log, wait_s, progress)
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        note = json.dumps({"job": job, "pid": os.getpid(), "host": socket.gethostname(), "started": started})
        os.ftruncate(fd, 0)
        os.pwrite(fd, note.encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


def _acquire(fd: int, path: Path, job: str, inference_log: str, wait_s: float, progress: Callable[[str], None]) -> None:
    deadline = time.monotonic() + max(0.0, wait_s)
    next_note = time.monotonic()
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        if now >= deadline:
            waited = f" after waiting {wait_s:g}s" if wait_s > 0 else ""
            raise RunInProgress(
                f"{holder(path)} is running for {inference_log}{waited}; it holds {path}. "
                f"Run again when it has finished, or pass --wait-for-lock SECONDS to wait for it"
            )
        if now >= next_note:
            progress(f"{job}: waiting for {holder(path)} to finish ({deadline - now:.0f}s left)")
            next_note = now + PROGRESS_EVERY_S
        time.sleep(min(POLL_S, deadline - now))


MAX_WAIT_S = 24 * 3600


def _wait_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT_S:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 to {MAX_WAIT_S} seconds")
    return value


def add_lock_argument(parser) -> None:
    parser.add_argument(
        "--wait-for-lock",
        type=_wait_seconds,
        default=0.0,
        metavar="SECONDS",
        help="embedded default: if another unpack/refresh/analyze-drift/retrain of this model is running, wait up to "
        "SECONDS for it (default 0: stop at once with one line naming it)",
    )
