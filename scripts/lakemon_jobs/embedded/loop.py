"""`lakemon run-local`: the whole production loop on this machine, in one command.

The steps (steps.py, each with what it runs and what it produces) for a model with
`retraining:`: synthesize the stacks (in the background), train + register, deploy + serve,
traffic over simulated days, unpack, refresh, analyze drift (the synthesized alerts' SQL
notifies the local webhook), retrain on the confirmed drift, more days judged against the new
baseline, where everything is. Options leave steps out; the numbering follows the list.

This module only orchestrates: it builds the step list, runs it in order inside one ExitStack
(everything started is stopped on success, failure, Ctrl-C and SIGTERM), and maps how the run
ended to the exit code. Output goes through one Reporter (reporter.py). The run records facts
in a RunOutcome, written to <run>/outcome.json; whether they are what the rehearsal should
show (the DC windows drift, the Marvel ones do not, the alert names the newest window) is
judged by the tests (tests/e2e/acceptance.py), not here. See docs/embedded.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from urllib.parse import urlsplit

from lakemon.config import ConfigError

from ..arguments import RUN_LOCAL_EXIT, RUN_LOCAL_EXIT_CODES_HELP
from ..arguments import run_local as run_local_arguments
from ..context import JobContext, UnknownModel, missing_environment
from ..local.runs import mark_completed, new_run_folder, prune_runs
from ..local.runtime import HomeError, usable_home
from ..project_layout import find_app, stack_names
from .job_runner import StepFailed, job_output_for_the_run
from .processes import port_is_free, sigterm_as_interrupt
from .reporter import Reporter
from .run_context import DAILY_GRANULARITY, BadSetup, Run, RunOptions, RunOutcome, StepRecord
from .steps import Plan, plan_steps

EXIT_OK = RUN_LOCAL_EXIT["ok"]
"""Every step ran and every check of the run held."""
EXIT_STEP_FAILED = RUN_LOCAL_EXIT["step_failed"]
"""A step could not do its work (a job failed, a server did not start, a bug): the run stopped."""
EXIT_CONFIG = RUN_LOCAL_EXIT["config"]
"""Bad arguments, env file, model name or home folder: nothing was started (as in every job)."""
EXIT_CHECK_FAILED = RUN_LOCAL_EXIT["check_failed"]
"""Every step ran, but a check of the run did not hold (a request unanswered, a prediction not
unpacked or without its label, a port still bound, the days after a promotion not served by
the new champion); each is listed."""
EXIT_INTERRUPTED = RUN_LOCAL_EXIT["interrupted"]
"""Ctrl-C or SIGTERM; everything started was stopped."""

EXIT_CODES_HELP = RUN_LOCAL_EXIT_CODES_HELP

add_arguments = run_local_arguments
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    """The CLI entry: run the loop and map how it ended to the exit code."""
    options = RunOptions.from_args(args, os.environ.get("LAKEMON_HOME") or ".lakemon")
    problem = missing_environment(args.env, args.env_file) or options.problem()
    if problem:
        print(f"lakemon run-local: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    reporter = Reporter()
    try:
        with sigterm_as_interrupt():
            outcome = run_local(options, reporter)
    except KeyboardInterrupt:
        reporter.say("\nlakemon run-local: interrupted; every process it started has been stopped.")
        return EXIT_INTERRUPTED
    except BadSetup as exc:
        reporter.say(f"\nlakemon run-local: {exc}")
        return EXIT_CONFIG
    except StepFailed as exc:
        reporter.say(f"\nlakemon run-local FAILED {exc}")
        reporter.say("every process it started has been stopped.")
        return EXIT_STEP_FAILED
    except Exception as exc:  # a bug outside the steps: say so plainly, with the traceback on stderr
        traceback.print_exc()
        reporter.say(f"\nlakemon run-local FAILED (unexpected {type(exc).__name__}): {exc}")
        reporter.say("every process it started has been stopped.")
        return EXIT_STEP_FAILED
    reporter.print_timings()
    if outcome.failed_checks:
        reporter.say("\nlakemon run-local: every step ran, but these checks did not hold:")
        for check in outcome.failed_checks:
            reporter.say(f"  - {check}")
        return EXIT_CHECK_FAILED
    reporter.say(f"\nlakemon run-local: OK: every step ran and every check held. {found(outcome)}")
    return EXIT_OK


def found(outcome: RunOutcome) -> str:
    """One sentence of what the run found: drift per traffic source, the windows the alert
    named, the retrain's decision (facts; the tests judge them)."""
    by_source: dict[str, list[int]] = {}
    for day in outcome.judged_days:
        source = outcome.day_sources.get(day, "?")
        counts = by_source.setdefault(source, [0, 0])
        counts[0] += day in outcome.drifted
        counts[1] += 1
    drift = ", ".join(f"{source} {n}/{of}" for source, (n, of) in by_source.items()) or "none judged"
    named = ", ".join(map(str, sorted(outcome.alerted_windows))) or "none"
    text = f"Daily windows that drifted: {drift}; windows the drift alert's SQL named: {named}"
    if outcome.alert_deliveries:
        sent = sum(": sent" in d for d in outcome.alert_deliveries)
        text += f" (notifications sent {sent} of {len(outcome.alert_deliveries)})"
    r = outcome.retrain
    if r is not None and r.challenger_score is not None and r.champion_score is not None:
        text += f"; retrain: {r.status}, {r.metric} challenger {r.challenger_score:.4f} vs champion {r.champion_score:.4f}"
    elif r is not None:
        text += f"; retrain: {r.status}"
    return text + "."


def run_local(options: RunOptions, reporter: Reporter) -> RunOutcome:
    """Run every step of the plan; return what the run found (also in <run>/outcome.json).

    Raises BadSetup before anything starts, StepFailed when a step cannot do its work (with the
    step's number and name), KeyboardInterrupt on Ctrl-C/SIGTERM; every server and process
    started is stopped in all cases."""
    probe = _load(options, options.home)
    _check_daily_windows(probe, options.env_file)
    _check_training_columns(probe)
    webhook_urls = [d.local_url for d in probe.env.alerts.destinations if getattr(d, "local_url", None)]
    for url in webhook_urls:  # fail before a long run, not at the analysis
        port = _port_of(url)
        if not port_is_free(port):
            raise StepFailed(
                f"before any step: port {port} of the local alert destination {url} is in use; stop what listens "
                "there or change local_url in the env file"
            )
    app = find_app(options.env_file)
    plan = plan_steps(
        skip_synth=options.skip_synth,
        has_app=app is not None,
        retraining=probe.model.retraining is not None,
        skip_retrain=options.skip_retrain,
        stacks=tuple(stack_names(app)) if app is not None else (),
        training_source=probe.model.training.source,
    )
    root = new_run_folder(options.home)
    pruned = prune_runs(options.home, options.keep_runs, current=root)
    ctx = JobContext.load(options.env_file, options.model, root)
    outcome = RunOutcome(
        env=ctx.env.name, model=ctx.model.name, run_folder=str(root), skipped=dict(plan.skipped)
    )
    reporter.say(f"lakemon run-local: env {ctx.env.name}, model {ctx.model.name}, run folder {root}")
    if pruned:
        reporter.say(f"(removed {len(pruned)} older run folder(s) beyond --keep-runs {options.keep_runs})")
    for name, why in plan.skipped.items():
        reporter.say(f"(left out: step {name}, {why})")

    try:
        # Installed before the first thread or process starts, removed after the last one stopped.
        with job_output_for_the_run(reporter, root / "logs"), contextlib.ExitStack() as stack:
            run = Run(
                options=options, job=ctx, root=root, reporter=reporter, stack=stack, webhook_urls=webhook_urls,
                outcome=outcome, after_days=options.after_days if "after-retrain" in plan else 0,
            )  # fmt: skip
            _run_steps(plan, run)
            reporter.say("\nstopping every process and server this run started ...")
    except StepFailed as exc:
        outcome.failure = str(exc)
        outcome.write(root)
        raise
    for what, port in outcome.servers:
        state = "free" if port_is_free(port) else "STILL BOUND"
        reporter.info(f"stopped {what}: port {port} {state}")
        if state != "free":
            outcome.failed_checks.append(f"port {port} ({what}) is still bound after stop")
    outcome.write(root)
    mark_completed(root)  # every step ran: runs/latest now points here
    return outcome


def _run_steps(plan: Plan, run: Run) -> None:
    """Each step under its numbered heading; a background step's result is collected (and its
    real wall time recorded) after the step that follows it."""
    pending: list[tuple[int, object]] = []
    for number, step in enumerate(plan.steps, start=1):
        with run.reporter.step(number, plan.total, step.title), _named(number, plan.total, step.name):
            step.action(run)
        run.outcome.steps.append(StepRecord(number, step.name, step.title, run.reporter.timings[-1].seconds))
        for earlier_number, earlier in pending:
            _collect(plan, run, earlier_number, earlier)
        pending = [(number, step)] if step.collect is not None else []
    for earlier_number, earlier in pending:
        _collect(plan, run, earlier_number, earlier)


def _collect(plan: Plan, run: Run, number: int, step) -> None:
    short_title = step.title.partition(" (")[0]  # without "(in the background, ...)"
    run.reporter.resume(number, plan.total, short_title, "collecting the result")
    with _named(number, plan.total, step.name):
        seconds = step.collect(run)
    run.reporter.retime(number, seconds, "[background]")
    run.outcome.steps = [
        StepRecord(s.number, s.name, s.title, seconds) if s.number == number else s for s in run.outcome.steps
    ]


@contextlib.contextmanager
def _named(number: int, total: int, name: str):
    """StepFailed and crashes inside a step name it: `at step 4/10 (traffic): ...`."""
    try:
        yield
    except StepFailed as exc:
        raise StepFailed(f"at step {number}/{total} ({name}): {exc}") from None
    except (KeyboardInterrupt, BadSetup):
        raise
    except Exception as exc:  # a bug: say so plainly, with the traceback on stderr
        traceback.print_exc()
        raise StepFailed(
            f"at step {number}/{total} ({name}) (unexpected {type(exc).__name__}): {exc}"
        ) from None


def _load(options: RunOptions, home: Path):
    """The job context for validation before any work; BadSetup with one clear line per problem."""
    try:
        usable_home(home)
    except HomeError as exc:
        raise BadSetup(str(exc)) from None
    try:
        return JobContext.load(options.env_file, options.model, home)
    except (ConfigError, UnknownModel) as exc:
        raise BadSetup(f"cannot load {options.env_file}:\n{exc}") from None


def _check_daily_windows(ctx, env_file: Path) -> None:
    """BadSetup before any step when the env file's monitor has no daily windows: the run's
    outcome is read per simulated day (run_context.DAILY_GRANULARITY), and without them every
    step would run and the closing line would say OK with no window judged."""
    granularities = ctx.env.monitoring.granularities
    if DAILY_GRANULARITY not in granularities:
        raise BadSetup(
            f"{env_file}: monitoring.granularities: run-local judges its simulated traffic day by day and needs "
            f"{json.dumps(DAILY_GRANULARITY)} among them (got {json.dumps(list(granularities))}); add it, e.g. "
            f"{json.dumps([*granularities, DAILY_GRANULARITY])}"
        )


def _check_training_columns(ctx) -> None:
    """BadSetup before any step when the model's features or label are not columns of its
    training data (each line names the env file, the key path and the nearest columns).

    Only a source readable before the run is checked here (bundled data, a table in the home
    folder); anything else is checked by `lakemon train` itself, before it fits."""
    from ..model_steps import (  # lazy: sklearn, pandas (1.3 s), after the env check
        TrainingColumnsError,
        load_training_data,
    )
    from ..table_engines import TableError  # lazy: pandas, pyarrow (0.4 s), after the env check

    try:
        load_training_data(ctx)
    except TrainingColumnsError as exc:  # printed after "lakemon run-local: ", one line per problem
        raise BadSetup("\nlakemon run-local: ".join(exc.problems)) from None
    except (TableError, OSError, ValueError):
        return


def _port_of(url: str) -> int:
    return urlsplit(url).port or 80
