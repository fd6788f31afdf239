"""One base for the failures a job expects (lakemon_jobs.errors.JobError), with the exit code
docs/jobs.md gives; anything else a job raises is a bug and keeps its traceback."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import lakemon_jobs
from lakemon_jobs.context import JobConfigError, run_job
from lakemon_jobs.errors import EXIT_FAILED, EXIT_USAGE, JobError

REPO = Path(__file__).resolve().parents[2]
DEV_ENV = REPO / "envs" / "dev.yml"

INTERNAL = {
    "lakemon_jobs.table_engines.engine.ChangesUnavailable": "unpack catches it and reads a snapshot instead",
    "lakemon_jobs.payloads.PayloadError": "the quarantine reason of one payload; unpack catches it per payload",
    "lakemon_jobs.monitor_migration.MigrationError": "the preflight re-raises it as PreflightError",
    "lakemon_jobs.embedded.loopback.BodyRejected": "the loopback servers answer 400 and go on",
    "lakemon_jobs.embedded.logging_layer.BadRequestTime": "the logging layer answers 400 and goes on",
    "lakemon_jobs.embedded.payload_log.PayloadLogError": "the logging layer and the traffic step report it",
    "lakemon_jobs.embedded.processes.WaitTimeout": "run-local's step wrapper reports it as the step's failure",
}
"""Exception classes of lakemon_jobs that never end a job themselves, and who catches them."""

USAGE = {
    "lakemon_jobs.table_engines.engine.TableError",
    "lakemon_jobs.context.JobConfigError",
    "lakemon_jobs.context.UnknownModel",
    "lakemon_jobs.model_steps.TrainingColumnsError",
    "lakemon_jobs.datasets.TrainingDataError",
    "lakemon_jobs.drift.rule.RuleError",
    "lakemon_jobs.local.runtime.HomeError",
    "lakemon_jobs.stack_diff.DiffError",
    "lakemon_jobs.embedded.run_context.BadSetup",
    "lakemon_jobs.errors.UsageError",
    "lakemon_jobs.monitor_engine.settings.SettingsMismatch",
}
"""The errors that exit 2 (docs/jobs.md: bad input, config or usage; nothing was written).
Every other JobError exits 1 (the job could not do its work), TableError's subclasses too."""


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _job_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of lakemon_jobs (all modules imported)."""
    found = {}
    for info in pkgutil.walk_packages(lakemon_jobs.__path__, "lakemon_jobs."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("lakemon_jobs."):
                found[_name(value)] = value
    return [found[name] for name in sorted(found)]


CLASSES = _job_exception_classes()
JOB_ERRORS = [c for c in CLASSES if issubclass(c, JobError) and c is not JobError]


def test_every_exception_class_of_the_jobs_is_a_job_error_or_caught_inside():
    assert len(CLASSES) >= 25, [_name(c) for c in CLASSES]  # the walk found the package's classes
    outside = [_name(c) for c in CLASSES if not issubclass(c, JobError) and _name(c) not in INTERNAL]
    assert outside == [], "derive them from lakemon_jobs.errors.JobError, or say in INTERNAL who catches them"
    assert set(INTERNAL) <= {_name(c) for c in CLASSES}, "INTERNAL names a class that is gone"
    assert not [n for n in INTERNAL if issubclass(next(c for c in CLASSES if _name(c) == n), JobError)]


@pytest.mark.parametrize("cls", JOB_ERRORS, ids=_name)
def test_each_job_error_exits_with_the_code_of_the_table(cls, capsys):
    expected = EXIT_USAGE if _name(cls) in USAGE else EXIT_FAILED
    assert cls.exit_code == expected

    def work():
        raise cls(["first problem", "second problem"]) if issubclass(cls, JobConfigError) else cls("what went wrong")

    assert run_job("somejob", work) == expected
    out = capsys.readouterr()
    shown, silent = (out.err, out.out) if expected == EXIT_USAGE else (out.out, out.err)
    lines = shown.splitlines()
    assert silent == ""
    if issubclass(cls, JobConfigError):
        assert lines == ["lakemon somejob: first problem", "lakemon somejob: second problem"]
    else:
        assert lines == ["lakemon somejob: what went wrong"]


def test_the_usage_list_names_real_classes():
    assert USAGE <= {_name(c) for c in JOB_ERRORS}


def test_a_note_a_job_adds_follows_the_message(capsys):
    from lakemon_jobs.run_lock import RunInProgress

    def work():
        try:
            raise RunInProgress("lakemon refresh holds the lock")
        except RunInProgress as exc:
            exc.add_note(" (nothing was written)")
            raise

    assert run_job("unpack", work) == EXIT_FAILED
    assert capsys.readouterr().out == "lakemon unpack: lakemon refresh holds the lock (nothing was written)\n"


def test_run_job_lets_any_other_exception_through():
    def work():
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_job("train", work)


BUG = """
import sys
import {module} as job
def broken(*args, **kwargs):
    raise {error}("a bug in the job, not an expected failure")
job.{function} = broken
from lakemon_jobs.cli import main
sys.exit(main([{job!r}, "--env-file", {env!r}, "--home", {home!r}]))
"""


@pytest.mark.parametrize(
    ("job", "module", "function", "error"),
    [
        ("train", "lakemon_jobs.train", "train_model", "ValueError"),  # train took any ValueError as expected
        ("register", "lakemon_jobs.register", "register_model", "KeyError"),  # register took any LookupError
        ("analyze-drift", "lakemon_jobs.drift.sources", "read_tables", "KeyError"),  # analyze-drift took KeyError & co.
    ],
)
def test_an_unexpected_exception_in_a_job_keeps_its_traceback(tmp_path, job, module, function, error):
    code = BUG.format(module=module, function=function, error=error, job=job, env=str(DEV_ENV), home=str(tmp_path / "home"))
    env = {k: v for k, v in os.environ.items() if k not in ("LAKEMON_HOME", "DATABRICKS_RUNTIME_VERSION")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback (most recent call last)" in done.stderr
    assert f"{error}: " in done.stderr and "a bug in the job" in done.stderr
    assert "in broken" in done.stderr  # the frame that raised it
    assert f"lakemon {job}: " not in done.stdout + done.stderr.replace(f"lakemon {job} works on", "")
