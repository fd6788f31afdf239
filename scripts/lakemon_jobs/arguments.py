"""The command line of every `lakemon` subcommand, defined without importing the jobs.

Why a module of its own: `lakemon <subcommand> --help` and a mistyped option must answer before
pandas, pydantic, MLflow or the monitor engine load (seconds on a busy machine). `cli.main`
parses the arguments with these functions and imports the job module only to run it. Only the
standard library is imported here; each job module's `add_arguments` is the function below, so
the options are written once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEPLOY_TIMEOUT_S = 45 * 60
"""`lakemon deploy --timeout` default: how long to wait for the endpoint update."""
REFRESH_TIMEOUT_S = 60 * 60
"""`lakemon refresh --timeout` default (Databricks)."""
REFRESH_POLL_S = 20
"""`lakemon refresh --poll` default (Databricks)."""

RUN_LOCAL_EXIT = {"ok": 0, "step_failed": 1, "config": 2, "check_failed": 3, "interrupted": 130}
"""run-local's exit codes (embedded/loop.py names them)."""
RUN_LOCAL_EXIT_CODES_HELP = (
    "Exit codes: 0 every step ran and every check held; 1 a step failed (the run stopped);\n"
    "2 bad arguments, configuration or home folder (nothing started); 3 every step ran\n"
    "but a check did not hold (a request unanswered, a prediction lost or unlabelled, a port still bound,\n"
    "the retrained champion not serving); 130 interrupted."
)


def add_context_arguments(parser: argparse.ArgumentParser, *, reads_a_run: bool = False) -> None:
    """The common options. `reads_a_run`: the subcommand works on data an earlier step wrote
    (unpack, refresh, analyze-drift, retrain), so without --home it may use the latest run-local folder."""
    parser.set_defaults(reads_a_run=reads_a_run)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", default="dev", help="environment name: reads envs/<env>.yml (default: dev)")
    where.add_argument("--env-file", type=Path, help="path of the environment file (overrides --env)")
    parser.add_argument("--model", help="model name from the env file (default: the first model)")
    parser.add_argument(
        "--home",
        type=Path,
        help="embedded default's root folder (default: $LAKEMON_HOME or ./.lakemon"
        + ("; after `lakemon run-local`, its latest run .lakemon/runs/latest" if reads_a_run else "")
        + ")",
    )


def add_json_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} as one JSON document on stdout (progress stays on stderr)"
    )


def train(parser: argparse.ArgumentParser) -> None:
    add_context_arguments(parser)
    parser.add_argument("--experiment", help="MLflow experiment (default: /Shared/lakemon/<env>/<model>)")


def register(parser: argparse.ArgumentParser) -> None:
    add_context_arguments(parser)
    parser.add_argument("--run-id", help="training run to register (default: the newest finished run)")


def deploy(parser: argparse.ArgumentParser) -> None:
    add_context_arguments(parser)
    parser.add_argument(
        "--timeout", type=float, default=DEPLOY_TIMEOUT_S, help=f"seconds to wait for the endpoint (default {DEPLOY_TIMEOUT_S})"
    )


def unpack(parser: argparse.ArgumentParser) -> None:
    from .run_lock import add_lock_argument  # lazy: only the commands with --wait-for-lock

    add_context_arguments(parser, reads_a_run=True)
    add_lock_argument(parser)
    parser.add_argument(
        "--full",
        action="store_true",
        help="read the whole payload table, not only the rows inserted since the last run (still idempotent)",
    )
    parser.add_argument(
        "--no-retention",
        action="store_true",
        help="skip deleting inference-log rows older than inference.retention_days (done by default)",
    )


def refresh(parser: argparse.ArgumentParser) -> None:
    from .run_lock import add_lock_argument  # lazy: only the commands with --wait-for-lock

    add_context_arguments(parser, reads_a_run=True)
    add_lock_argument(parser)
    parser.add_argument("--timeout", type=float, default=REFRESH_TIMEOUT_S, help="seconds to wait (Databricks)")
    parser.add_argument("--poll", type=float, default=REFRESH_POLL_S, help="seconds between status checks (Databricks)")


def retrain(parser: argparse.ArgumentParser) -> None:
    from .run_lock import add_lock_argument  # lazy: only the commands with --wait-for-lock

    add_context_arguments(parser, reads_a_run=True)
    add_lock_argument(parser)
    parser.add_argument("--force", action="store_true", help="retrain even if this drift was already acted on")


def doctor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", type=Path, default=Path("."), help="project folder (default: .)")
    parser.add_argument("--env-file", type=Path, help="check this env file only (default: every envs/*.yml)")
    parser.add_argument("--offline", action="store_true", help="skip the workspace reachability probe")
    add_json_argument(parser, "every check (name, status, detail, fix)")


def run_local(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Each run starts clean in <home>/runs/<timestamp>/ (<home>/runs/latest points to the newest completed run); the last\n"
        "--keep-runs runs are kept. What the run found (windows drifted, windows the alert named, the retrain's decision)\n"
        "is printed and written to <run>/outcome.json. Library warnings go to <run>/logs/warnings.log.\n"
        f"{RUN_LOCAL_EXIT_CODES_HELP}\n"
        "See docs/embedded.md."
    )
    add_context_arguments(parser)
    parser.add_argument("--rows-per-day", type=int, default=800, help="rows of traffic per simulated day (default 800)")
    parser.add_argument("--marvel-days", type=int, default=4, help="days of held-out Marvel traffic (default 4)")
    parser.add_argument("--dc-days", type=int, default=3, help="days of DC traffic that follow (default 3)")
    parser.add_argument("--batch-size", type=int, default=20, help="rows per request (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--keep-runs", type=int, default=3, help="run folders to keep under <home>/runs (default 3)")
    parser.add_argument(
        "--skip-synth", action="store_true", help="leave out the synthesis of the stacks (e.g. without Node)"
    )
    parser.add_argument(
        "--skip-retrain",
        action="store_true",
        help="stop after the drift analysis: no retrain, no traffic after it (models with `retraining:` only)",
    )
    parser.add_argument("--after-days", type=int, default=2, help="days of DC traffic after the retrain (default 2)")


def diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("env", nargs="?", default="dev", help="environment: its stack is diffed (default: dev)")
    parser.add_argument("--env-file", type=Path, help="path of the environment file (overrides ENV)")
    parser.add_argument(
        "--against", type=Path,
        help="stack JSON to compare with (default: tests/stacks/snapshots/<env>.json if the project has it, "
        "else the last synth cdktf.out/stacks/<env>/cdk.tf.json)",
    )
    add_json_argument(parser, "the added, removed and changed blocks")
