"""What every job script needs: the environment config, the model, its table names, the runtime.

Scripts call `add_context_arguments(parser)` and `JobContext.from_args(args)`; bad config ends
the job with the config error's message (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakemon.config import ConfigError, Environment, Model, load_environment
from lakemon.contract.tables import ModelTables

from .arguments import add_context_arguments  # noqa: F401  (re-exported: where jobs have always found it)
from .errors import EXIT_USAGE, JobError, UsageError, report
from .local.runs import is_completed, run_folders
from .local.runtime import LocalRuntime, on_databricks
from .run_lock import model_lock

DEFAULT_HOME = Path(".lakemon")


def latest_run_home(default: Path = DEFAULT_HOME) -> Path | None:
    """The run-local folder a follow-up command means when given no --home: `<default>/runs/latest`
    (else the newest completed run folder, else the newest one), provided the default root holds no tables of its own."""
    runs = default / "runs"
    if (default / "tables").exists() or not runs.is_dir():
        return None
    latest = runs / "latest"
    if latest.exists():
        return latest.resolve()
    folders = run_folders(default)
    completed = [p for p in folders if is_completed(p)]
    return (completed or folders or [None])[-1]


def resolve_home(home: Path | None, *, reads_a_run: bool) -> Path | None:
    """--home, else $LAKEMON_HOME, else (for commands that read a run) the latest run-local run,
    announced on stderr with the option that picks another, else None (./.lakemon)."""
    if home is not None or os.environ.get("LAKEMON_HOME") or on_databricks() or not reads_a_run:
        return home
    latest = latest_run_home()
    if latest is not None and ANNOUNCE:
        print(
            f"lakemon: using the latest run-local folder {latest} (pass --home <folder> to use another)",
            file=sys.stderr,
        )
    return latest


ANNOUNCE = True
"""Whether a subcommand run from the CLI says which model and run it uses (stderr). run-local
turns it off while it runs its steps in process: its own headings say it once."""


def run_model(folder: Path) -> str | None:
    """The model a run-local run folder was made for (its outcome.json), else None."""
    try:
        return str(json.loads((folder / "outcome.json").read_text(encoding="utf-8"))["model"]) or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def other_model_problem(folder: Path, env: Environment, asked: str | None, chosen: Model) -> str | None:
    """The one line to stop with when `folder`, the latest run-local run a follow-up command
    picked by itself, belongs to another model than the one the command would work on (its
    tables are not there, so every step would only point to the one before it)."""
    ran = run_model(folder)
    if ran is None or ran == chosen.name:
        return None
    which = f"--model {asked}" if asked else f"the first model of env {env.name}"
    known = {m.name for m in env.models}
    fix = f"pass --model {ran} to work on that run" if ran in known else f"model {ran} is not in env {env.name}"
    return (
        f"the latest run-local run {folder} is of model {ran}, not {chosen.name} ({which}): {fix}, "
        f"or --home <folder> of a run of {chosen.name}"
    )


def suggest(word: str, known: list[str]) -> str:
    """` (did you mean 'x'?)` for the nearest of `known` (difflib), else ''."""
    close = difflib.get_close_matches(word, known, n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def missing_environment(env: str, env_file: Path | None) -> str | None:
    """One line when `--env NAME` names no file in ./envs: the environments there and the
    nearest name; None when the file exists or an --env-file was given (its own error names it)."""
    if env_file is not None:
        return None
    path = Path("envs") / f"{env}.yml"
    if path.exists():
        return None
    known = sorted(p.stem for p in Path("envs").glob("*.yml"))
    if not known:
        return (
            f"no environment {env!r}: there is no envs/ folder with env files in {Path.cwd()}; run from a project "
            "folder (`lakemon init <folder>` writes one) or pass --env-file PATH"
        )
    return f"no environment {env!r}: no {path}{suggest(env, known)}; environments here: {', '.join(known)}"


def _exit_config(message: str) -> None:
    """Bad configuration exits 2 (EXIT_USAGE, docs/jobs.md; `sys.exit("text")` would exit 1)."""
    print(message, file=sys.stderr)
    sys.exit(EXIT_USAGE)


class UnknownModel(UsageError, KeyError):
    """--model names no model of the env file (the message names the nearest): exit 2. Also a
    KeyError, as `Environment.model` raises, for callers of `JobContext.load`."""

    def __str__(self) -> str:  # KeyError's own str() would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class JobContext:
    env: Environment
    model: Model
    tables: ModelTables
    runtime: LocalRuntime | None
    """None on Databricks; the embedded default's folders otherwise."""
    env_file: Path | None = None
    """The file the environment was read from: errors about a key name it (file, key path)."""

    @classmethod
    def load(cls, env_file: str | Path, model: str | None = None, home: str | Path | None = None) -> JobContext:
        """The context for Python callers (the end-to-end loop, tests). Raises ConfigError,
        UnknownModel or HomeError; `from_args` turns those into a clean exit for the CLI."""
        env = load_environment(Path(env_file))
        try:
            chosen = env.model(model)
        except KeyError as exc:  # only this call: a KeyError elsewhere is a bug, with its traceback
            raise UnknownModel(exc.args[0]) from None
        runtime = None if on_databricks() else LocalRuntime.from_env(home)
        return cls(env=env, model=chosen, tables=ModelTables(env, chosen), runtime=runtime, env_file=Path(env_file))

    def run_lock(self, job: str, wait_s: float = 0.0, progress: Callable[[str], None] = print):
        """The model's run lock (run_lock.model_lock): unpack, refresh and analyze-drift of one
        model never run at once on the embedded default; a no-op on Databricks."""
        root = self.runtime.root if self.runtime is not None else None
        return model_lock(root, self.tables.inference_log, job, wait_s=wait_s, progress=progress)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> JobContext:
        """The context of a CLI subcommand; a command run from the CLI (cli.main sets
        `args.command`) says on stderr which model, env and run or home it uses."""
        path = args.env_file or Path("envs") / f"{args.env}.yml"
        given_home = getattr(args, "home", None)
        command = getattr(args, "command", None)
        missing = missing_environment(args.env, args.env_file)
        if missing:
            _exit_config(f"lakemon {command or 'job'}: {missing}")
        try:
            home = resolve_home(given_home, reads_a_run=getattr(args, "reads_a_run", False))
            ctx = cls.load(path, args.model, home)
        except ConfigError as exc:
            _exit_config(f"lakemon: configuration error:\n{exc}")
        except UsageError as exc:  # UnknownModel, HomeError
            _exit_config(f"lakemon: {exc}")
        picked_run = home is not None and given_home is None and not os.environ.get("LAKEMON_HOME")
        if picked_run:
            problem = other_model_problem(home, ctx.env, args.model, ctx.model)
            if problem:
                _exit_config(f"lakemon {command or 'job'}: {problem}")
        if command and ANNOUNCE:
            if ctx.runtime is None:
                where = "on Databricks"
            elif (ctx.runtime.root / "outcome.json").exists():
                where = f"run-local run {ctx.runtime.root}"
            else:
                where = f"home {ctx.runtime.root}"
            # no colon after the command: "lakemon <command>:" starts the lines that report a problem
            print(f"lakemon {command} works on model {ctx.model.name} of env {ctx.env.name} ({path}), {where}", file=sys.stderr)
        return ctx


class JobConfigError(UsageError):
    """The configuration does not fit the data a job found (e.g. a feature the training data
    lacks): one line per problem naming the env file and key path; run_job exits 2 with it."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def run_job(job: str, work: Callable[[], object]) -> int:
    """Run a subcommand's work: exit 0 and print the line `work` returns (if it returns text), or,
    when it raises a JobError (a failure the job expects: bad input, a state it will not act on),
    print `lakemon <job>: <why>` and exit with the error's code (errors.py). Why: the user gets
    one line saying what to fix, not a traceback. Anything else is a bug and propagates with its
    traceback (cli.main only turns a Databricks workspace refusal into a line)."""
    try:
        done = work()
    except JobError as exc:
        return report(job, exc)
    if isinstance(done, str) and done:
        print(done)
    return 0
