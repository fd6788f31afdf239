"""The one base of the failures a job expects, and the exit codes of every `lakemon` subcommand.

Why one base: a job stops on an expected condition (bad input, a state it will not act on)
with one line saying what to fix and the exit code docs/jobs.md gives for it; anything else is
a bug and keeps its traceback. `run_job` (context.py) and `cli.main` catch `JobError` only,
so an error class says itself which code it ends a job with (`exit_code`), and a job cannot
turn a bug into a one-line message by listing a builtin exception as "expected".

This module imports nothing of lakemon_jobs: every layer (the local runtime, the table engines,
the jobs, the rehearsal) raises its errors from here.
"""

from __future__ import annotations

import sys
from typing import ClassVar

EXIT_OK = 0
"""The job did its work (analyze-drift: and found no drift)."""
EXIT_FAILED = 1
"""The job could not do its work: a state it will not act on (another run holds the lock, a
table an earlier step writes is not there yet, a damaged table, a failed rollout or refresh,
too few rows), or the workspace refused a call. Rerun once the state is fixed."""
EXIT_USAGE = 2
"""The command cannot run as given: a bad option, a config error, a config that does not fit the
data (a feature the training data lacks, a table without the columns the model needs), a
missing [jobs] extra. Nothing was written: fix the command, the env file or the table."""
EXIT_DRIFT = 3
"""analyze-drift only: drift found (`--drift-exit-code` changes it). Not an error."""


class JobError(Exception):
    """A failure a job expects: `lakemon <job>: <message>` and exit `exit_code`, no traceback.

    Subclasses set `exit_code` (EXIT_FAILED unless the input is at fault: EXIT_USAGE). A job may
    add what the failure means for it with `add_note` (PEP 678) before re-raising; the notes are
    written after the message, each starting with its own separator (" (nothing was written)")."""

    exit_code: ClassVar[int] = EXIT_FAILED


class UsageError(JobError):
    """The command, its config or its input does not fit: exit 2, nothing was written."""

    exit_code: ClassVar[int] = EXIT_USAGE


def report(job: str, error: JobError) -> int:
    """Print `error` as `lakemon <job>: ...` lines and return its exit code.

    Where: a usage error on stderr, as argparse and the config errors print theirs; a failure of
    the job's work on stdout, after the job's progress lines (run-local shows them under the
    step). A message of several lines (one per problem) gets the prefix on each line."""
    text = str(error) + "".join(getattr(error, "__notes__", ()))
    stream = sys.stderr if error.exit_code == EXIT_USAGE else sys.stdout
    for line in text.splitlines() or [type(error).__name__]:
        print(f"lakemon {job}: {line}", file=stream)
    return error.exit_code
