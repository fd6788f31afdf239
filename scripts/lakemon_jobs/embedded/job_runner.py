"""Running `lakemon <job>` in process, as run-local's steps do, with its output under the step.

Why in process and not as subprocesses: each job would import MLflow, pandas and pyarrow again
(seconds per job, nine jobs per run); in process they run once, through the same `cli.main` a
user or the Databricks wheel task calls.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

from .. import context
from ..cli import main
from ..errors import JobError
from .reporter import JobOutput, Reporter


class StepFailed(JobError):
    """A step could not do its work; the message says what and where to look (exit code 1)."""


WARNINGS_LOG = "warnings.log"
"""<run>/logs/warnings.log: every library warning and MLflow log record of the in-process jobs."""


@contextlib.contextmanager
def job_output_for_the_run(reporter: Reporter, log_dir: Path | None = None) -> Iterator[None]:
    """For the whole run: the jobs' stdout indented under their step; library warnings (e.g.
    scikit-learn's "single label" on a window with one class, MLflow's pickle and type-hint
    advice) and MLflow's log records written to `<log_dir>/warnings.log` instead of the console,
    with one line at the end saying how many there were and where (without a `log_dir`:
    MLflow's advice dropped, other warnings shown as usual); MLflow's INFO logs off unless
    MLFLOW_LOGGING_LEVEL says otherwise.

    This changes interpreter-wide state (sys.stdout, warnings.showwarning, the `mlflow`
    logger's level and handlers), which is why it is entered ONCE, before the first step starts
    any thread or process, and left after every server thread and process has stopped: nothing
    is swapped while threads run. It cannot be an argument instead, because the jobs are the
    CLI's own functions, which print to stdout on Databricks too. The reporter writes to the
    stream it was given (the real stdout), so only the jobs' output is indented.

    Why a `showwarning` hook and not a warnings filter: the libraries the jobs import reset
    the warning filters, so a filter set here would not last; the hook does. Why the logger
    and not MLFLOW_LOGGING_LEVEL in os.environ: MLflow reads that variable once, when it is
    imported; importing it here and setting its logger's level is the same effect without
    writing the process environment (the scoring server subprocess gets the variable in its
    own environment, scoring.py).
    """
    try:
        import mlflow  # noqa: F401  # lazy: optional here; configures its loggers on import, adjusted after
    except ModuleNotFoundError:  # no [jobs] extra: the first job says so, with the install command
        pass
    mlflow_logger = logging.getLogger("mlflow")
    level, handlers, propagate = mlflow_logger.level, list(mlflow_logger.handlers), mlflow_logger.propagate
    if "MLFLOW_LOGGING_LEVEL" not in os.environ:
        mlflow_logger.setLevel(logging.WARNING)
    shown = warnings.showwarning
    log_file = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(log_dir / WARNINGS_LOG, "a", encoding="utf-8")  # noqa: SIM115 - closed below
        handler = logging.StreamHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        mlflow_logger.handlers = [handler]
        mlflow_logger.propagate = False
    count = [0]

    def to_the_log(message, category, filename, lineno, file=None, line=None):
        if log_file is not None:
            count[0] += 1
            log_file.write(warnings.formatwarning(message, category, filename, lineno, line))
            log_file.flush()
            return
        # no log folder: MLflow's advisory UserWarnings (type hints, pickle format) are dropped
        if issubclass(category, UserWarning) and f"{os.sep}mlflow{os.sep}" in str(filename):
            return
        shown(message, category, filename, lineno, file, line)

    stdout = sys.stdout
    announce = context.ANNOUNCE
    warnings.showwarning = to_the_log
    sys.stdout = JobOutput(reporter.out)
    context.ANNOUNCE = False  # the run's headings already name the model and the run folder
    try:
        yield
    finally:
        context.ANNOUNCE = announce
        sys.stdout = stdout
        warnings.showwarning = shown
        mlflow_logger.setLevel(level)
        mlflow_logger.handlers, mlflow_logger.propagate = handlers, propagate
        if log_file is not None:
            log_file.close()
            if count[0]:
                reporter.say(f"({count[0]} library warning(s) written to {log_dir / WARNINGS_LOG}, not shown here)")


def run_job(reporter: Reporter, name: str, job_args: list[str], root: Path, *extra: str) -> None:
    """Run one `lakemon <name>` subcommand in process, exactly as the CLI would.

    A non-zero exit becomes StepFailed; a crash becomes StepFailed with the traceback saved to
    <root>/logs/<name>.traceback.txt.
    """
    reporter.info(f"$ lakemon {name} {' '.join(extra)}".rstrip())
    try:
        code = main([name, *job_args, *extra])
    except SystemExit as exc:  # a job ends with sys.exit(message) on bad config
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            reporter.info(exc.code)
    except Exception as exc:
        trace = root / "logs" / f"{name}.traceback.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_text(traceback.format_exc())
        raise StepFailed(
            f"`lakemon {name}` crashed: {type(exc).__name__}: {exc} (traceback: {trace})"
        ) from None
    if code != 0:
        raise StepFailed(f"`lakemon {name}` exited with code {code}")
