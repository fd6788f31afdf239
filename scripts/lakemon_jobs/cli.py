"""`lakemon`: the command line for the job scripts.

Each subcommand is one module with `add_arguments(parser)` and `run(args) -> int`. The same
entry point runs on Databricks (python_wheel_task, entry point `lakemon`, parameters
`[<subcommand>, --env-file, ...]`) and on the embedded default. Modules load lazily so that
`lakemon --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .errors import EXIT_FAILED, EXIT_USAGE, JobError, report
from .jobs_extra import JOBS_EXTRA_MODULES, missing_jobs_modules

# subcommand -> (module, one-line help). Order is the order of the production loop.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("lakemon_jobs.train", "train the model on the training data and log the run to MLflow"),
    "register": (
        "lakemon_jobs.register",
        "register the run's model in Unity Catalog as 'challenger'; promote to 'champion' if it is better",
    ),
    "deploy": ("lakemon_jobs.deploy", "point the serving endpoint at the champion version and wait for it"),
    "unpack": (
        "lakemon_jobs.unpack",
        "unpack AI-gateway payloads into the inference-log table (idempotent), join late labels",
    ),
    "refresh": ("lakemon_jobs.refresh", "refresh the quality monitor: profile and drift metrics tables"),
    "analyze-drift": (
        "lakemon_jobs.drift.cli",
        "judge drift per window and feature, write the HTML/JSON report, alert the destinations",
    ),
    "retrain": (
        "lakemon_jobs.retrain",
        "retrain on confirmed drift (models that opt in): recent labels join training, the gate decides on recent rows",
    ),
    "preflight": (
        "lakemon_jobs.preflight",
        "before a deploy: adopt (import/moved) what the workspace has but Terraform state lacks; never drop a table",
    ),
    "run-local": (
        "lakemon_jobs.embedded.loop",
        "run the whole production loop on this machine (the embedded default), no workspace needed",
    ),
    "init": (
        "lakemon_jobs.project_init",
        "write a new project (env files, app.py, cdktf.json, package.json) that needs no clone of lakemon",
    ),
    "diff": (
        "lakemon_jobs.stack_diff",
        "offline review of a change: synthesize an environment's stack and compare it with the committed snapshot or last synth",
    ),
    "doctor": (
        "lakemon_jobs.doctor",
        "check Node, Terraform, the cdktf CLI, the Azure login and the state backend, and say how to fix each",
    ),
}

NEEDS_NO_JOBS_EXTRA = {"init", "doctor", "diff"}
"""Subcommands that run with the construct library alone (`pip install lakemon`)."""

EPILOG = """\
The job subcommands read names (catalog, schema, model, tables) from an environment file
(--env dev reads envs/dev.yml; --env-file PATH reads any file) and need the [jobs] extra.
Without a Databricks runtime, they run on the embedded default under $LAKEMON_HOME (default:
./.lakemon; after run-local, unpack/refresh/analyze-drift use its latest run).
New here? `lakemon init <folder>` writes a project, `lakemon doctor` checks the tools.
Run `lakemon <subcommand> --help` for its options.
"""


def installed_version() -> str:
    """lakemon's version: the wheel's, or, in a checkout, the one a wheel built now would carry.
    Imported only when asked for, so `lakemon --help` costs no git call."""
    from lakemon._version import __version__  # lazy: only for --version and job logs (may call git)

    return __version__


class _VersionAction(argparse.Action):
    """`--version`: prints `lakemon <version>` (argparse's own action would need the version
    string when the parser is built, i.e. on every `--help`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"lakemon {installed_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakemon",
        description="lakemon: Databricks model serving and monitoring as code. Job scripts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="print the installed lakemon version (the wheel's, tag or dev build) and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="<subcommand>", required=True)
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text, add_help=False)
    return parser


def missing_extra_hint(name: str, error: ModuleNotFoundError) -> str | None:
    """The install hint when `error` is a module of the [jobs] extra, else None (a real bug)."""
    top = (error.name or "").split(".")[0]
    distribution = JOBS_EXTRA_MODULES.get(top)
    if distribution is None:
        return None
    return (
        f"lakemon {name}: this subcommand needs the job scripts' dependencies, and {distribution} "
        f"(module {top!r}) is not installed.\n"
        f'Install lakemon with the [jobs] extra:  pip install "lakemon[jobs]=={installed_version()}"'
    )


def missing_extra_message(name: str, modules: list[str]) -> str:
    distributions = ", ".join(f"{JOBS_EXTRA_MODULES[m]} (module {m!r})" for m in modules)
    return (
        f"lakemon {name}: this subcommand needs the job scripts' dependencies, and {distributions} "
        f"{'is' if len(modules) == 1 else 'are'} not installed.\n"
        f'Install lakemon with the [jobs] extra:  pip install "lakemon[jobs]=={installed_version()}"'
    )


def databricks_error_message(name: str, error: Exception) -> str | None:
    """One line for a Databricks API error no job turned into its own message, else None.

    Why: the jobs translate the SDK errors they expect (a pending endpoint update, a missing
    endpoint, a refresh that cannot start) into their own errors; anything else the workspace
    answers (permission denied, a throttled or unavailable service, a wrong host) is a
    `databricks.sdk.errors.DatabricksError`, and the user gets its first line and what to check
    instead of a traceback: exit 1, the job could not do its work (docs/jobs.md)."""
    try:
        from databricks.sdk.errors import DatabricksError  # lazy: databricks-sdk (1 s), on failure only
    except ModuleNotFoundError:  # the [jobs] extra is missing: no SDK error can have been raised
        return None
    if not isinstance(error, DatabricksError):
        return None
    first_line = (str(error).strip().splitlines() or [""])[0]
    code = f" {error.error_code}" if getattr(error, "error_code", None) else ""
    return (
        f"lakemon {name}: the Databricks workspace refused a call ({type(error).__name__}{code}: {first_line}). "
        "Check the job identity's login and permissions on the objects named here, then rerun."
    )


def add_arguments_of(name: str, parser: argparse.ArgumentParser) -> None:
    """Define subcommand `name`'s options without importing its job (lakemon_jobs.arguments);
    the three light modules (analyze-drift, preflight, init) define their own."""
    from . import arguments  # lazy: only once a subcommand is named

    light = {"train": arguments.train, "register": arguments.register, "deploy": arguments.deploy,
             "unpack": arguments.unpack, "refresh": arguments.refresh, "retrain": arguments.retrain,
             "run-local": arguments.run_local, "doctor": arguments.doctor, "diff": arguments.diff}  # fmt: skip
    if name in light:
        light[name](parser)
    else:
        importlib.import_module(SUBCOMMANDS[name][0]).add_arguments(parser)


def unknown_subcommand(word: str) -> str:
    """One line for a word that is no subcommand, with the nearest ones (difflib)."""
    import difflib  # lazy: only for an unknown subcommand

    close = difflib.get_close_matches(word, list(SUBCOMMANDS), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"lakemon: unknown subcommand {word!r}{hint} (`lakemon --help` lists them: {', '.join(SUBCOMMANDS)})"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and not argv[0].startswith("-") and argv[0] not in SUBCOMMANDS:
        print(unknown_subcommand(argv[0]), file=sys.stderr)
        return EXIT_USAGE
    if not argv or argv[0] not in SUBCOMMANDS:
        parser.parse_args(argv)  # prints help or the error and exits
        return EXIT_USAGE
    name, rest = argv[0], argv[1:]
    module_name, help_text = SUBCOMMANDS[name]
    if name not in NEEDS_NO_JOBS_EXTRA and "DATABRICKS_RUNTIME_VERSION" in os.environ:
        # Every job run's log names the code it ran (the jobs install one exact wheel).
        print(f"lakemon {installed_version()}: {name}", file=sys.stderr)
    # Parse first, with nothing heavy imported: --help and a bad option answer at once.
    subparser = argparse.ArgumentParser(prog=f"lakemon {name}", description=help_text)
    add_arguments_of(name, subparser)
    args = subparser.parse_args(rest)
    args.command = name  # jobs say which model and run they use (context.JobContext.from_args)
    if name not in NEEDS_NO_JOBS_EXTRA:
        missing = missing_jobs_modules()
        if missing:
            print(missing_extra_message(name, missing), file=sys.stderr)
            return EXIT_USAGE
    try:
        module = importlib.import_module(module_name)
        return int(module.run(args) or 0)
    except JobError as exc:  # an expected failure outside the job's run_job: one line, its code
        return report(name, exc)
    except Exception as exc:
        # a missing extra is a usage error (2); a workspace refusal means the job could not work (1);
        # anything else is a bug and keeps its traceback
        hint = missing_extra_hint(name, exc) if isinstance(exc, ModuleNotFoundError) else None
        message, code = (hint, EXIT_USAGE) if hint is not None else (databricks_error_message(name, exc), EXIT_FAILED)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
