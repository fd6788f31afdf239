"""`lakemon run-local`: the whole production loop on this machine, in one command.

1. synthesize the dev, aut and prod stacks (resources by type per stack);
2. train, register, promote the champion (local MLflow, SQLite);
3. deploy, then serve the champion for real: `mlflow models serve` behind the logging layer;
4. send real HTTP traffic over simulated days: held-out Marvel, then DC; write the labels;
5. unpack the payloads into the inference log and join the labels;
6. refresh the local monitor (profile and drift metrics tables);
7. analyze drift with the env's thresholds: verdicts table and report; the synthesized alerts'
   own SQL runs on the local verdicts table and notifies the local webhook when it fires;
8. for a model with `retraining:` (unless --skip-retrain): `lakemon retrain` on the confirmed
   drift, the gate's decision and both scores; the new champion serves (the logging layer's
   upstream swaps to its scoring server);
9. a few more DC days of traffic, judged against the new baseline; a before/after table of
   drift and quality per day (docs/retraining.md);
10. print where everything is, and stop every process and server it started.

Each run starts clean in its own folder (see runs.py); everything it starts is stopped on
success, failure, Ctrl-C and SIGTERM (an ExitStack of context managers). The exit code is 0
only when the loop behaved as production should: every request answered, every prediction
unpacked, the DC windows drifted, the Marvel windows did not, and the drift alert fired for
the newest (DC) window. See docs/embedded.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .processes import port_is_free, sigterm_as_interrupt

STEP_COUNT = 8
EXIT_OK, EXIT_UNEXPECTED, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERRUPTED = 0, 1, 1, 2, 130


class StepFailed(RuntimeError):
    pass


class BadSetup(RuntimeError):
    """The env file, the model name or the home folder cannot be used: nothing was started (exit 2)."""


class Progress:
    """Numbered steps with their wall time; indented detail lines; flushes every line."""

    def __init__(self, out=None, count: int = STEP_COUNT) -> None:
        self.out = out or sys.stdout
        self.count = count
        self.timings: list[tuple[int, str, float]] = []
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, number: int, title: str):
        self.say(f"\n[{number}/{self.count}] {title}")
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            self.timings.append((number, title, seconds))
        self.info(f"done in {seconds:.1f}s")

    def info(self, message: str) -> None:
        for line in str(message).splitlines():
            self.say(f"      {line}")

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started


@dataclass
class Outcome:
    """What the run found, for the closing summary and the exit code."""

    problems: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    day_sources: dict[date, str] = field(default_factory=dict)
    drifted: dict[date, list[str]] = field(default_factory=dict)
    alerted_windows: set[date] = field(default_factory=set)
    alerts_received: int = 0
    report_html: Path | None = None
    report_json: Path | None = None
    servers: list[tuple[str, int]] = field(default_factory=list)
    """(what, port) of every server started, to check each port is free after the stop."""
    sent_page_ids: set[int] = field(default_factory=set)
    """DC characters already sent (the days after the retrain send other ones)."""
    retrain: object | None = None
    """The RetrainResult of step 8, when it ran."""
    before_after: list[str] = field(default_factory=list)


# --- arguments -----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..context import add_context_arguments

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = (
        "Each run starts clean in <home>/runs/<timestamp>/ (<home>/runs/latest points to the newest completed run); the last\n"
        "--keep-runs runs are kept. Exit code 0: the loop behaved as expected (DC windows drifted,\n"
        "Marvel windows did not, the drift alert fired for the newest window; for a model with\n"
        "`retraining:`, the retrain ran and the champion served the days after it); 1: it did not, or a\n"
        "step failed; 2: bad configuration or home folder (nothing started); 130: interrupted.\n"
        "See docs/embedded.md."
    )
    add_context_arguments(parser)
    parser.add_argument(
        "--rows-per-day", type=int, default=800, help="rows of traffic per simulated day (default 800)"
    )
    parser.add_argument(
        "--marvel-days", type=int, default=4, help="days of held-out Marvel traffic (default 4)"
    )
    parser.add_argument("--dc-days", type=int, default=3, help="days of DC traffic that follow (default 3)")
    parser.add_argument("--batch-size", type=int, default=20, help="rows per request (default 20)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument(
        "--keep-runs", type=int, default=3, help="run folders to keep under <home>/runs (default 3)"
    )
    parser.add_argument(
        "--skip-synth", action="store_true", help="skip step 1 (synthesizing the stacks), e.g. without Node"
    )
    parser.add_argument(
        "--skip-retrain",
        action="store_true",
        help="stop after the drift analysis: no retrain, no traffic after it (models with `retraining:` only)",
    )
    parser.add_argument(
        "--after-days", type=int, default=2, help="days of DC traffic after the retrain (default 2)"
    )


def _validate(args: argparse.Namespace) -> str | None:
    for name in ("rows_per_day", "marvel_days", "dc_days", "batch_size", "workers", "keep_runs", "after_days"):
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be at least 1"
    return None


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    problem = _validate(args)
    if problem:
        print(f"lakemon run-local: {problem}", file=sys.stderr)
        return 2
    progress = Progress()
    try:
        with sigterm_as_interrupt():
            outcome = _run(args, progress)
    except KeyboardInterrupt:
        progress.say("\nlakemon run-local: interrupted; every process it started has been stopped.")
        return EXIT_INTERRUPTED
    except BadSetup as exc:
        progress.say(f"\nlakemon run-local: {exc}")
        return EXIT_CONFIG
    except StepFailed as exc:
        progress.say(f"\nlakemon run-local FAILED: {exc}")
        progress.say("every process it started has been stopped.")
        return EXIT_FAILED
    except Exception as exc:  # a bug: say so plainly, with the traceback on stderr
        import traceback

        traceback.print_exc()
        progress.say(f"\nlakemon run-local FAILED (unexpected {type(exc).__name__}): {exc}")
        progress.say("every process it started has been stopped.")
        return EXIT_FAILED
    _print_timings(progress)
    if outcome.problems:
        progress.say("\nlakemon run-local: the loop did NOT behave as expected:")
        for p in outcome.problems:
            progress.say(f"  - {p}")
        return EXIT_UNEXPECTED
    retrained = ""
    if outcome.retrain is not None:
        r = outcome.retrain
        retrained = f"; retrain: {r.status}, {r.metric} challenger {r.challenger_score:.4f} vs champion {r.champion_score:.4f}"
    progress.say(
        "\nlakemon run-local: OK: the loop behaved as expected (DC windows drifted, Marvel did not; "
        f"the drift alert's SQL fired for the newest window{retrained})."
    )
    return EXIT_OK


def _run(args: argparse.Namespace, progress: Progress) -> Outcome:
    from lakemon.config import ConfigError

    from ..context import JobContext
    from ..runtime import HomeError, usable_home
    from .runs import mark_completed, new_run_folder, prune_runs

    env_file = (args.env_file or Path("envs") / f"{args.env}.yml").resolve()
    home = Path(args.home or _default_home()).resolve()
    try:
        usable_home(home)
    except HomeError as exc:
        raise BadSetup(str(exc)) from None
    try:
        probe = JobContext.load(env_file, args.model, home)  # validates the config before any work
    except (ConfigError, KeyError) as exc:  # one clear line per problem
        raise BadSetup(f"cannot load {env_file}:\n{exc}") from None
    webhook_urls = _local_webhooks(probe.env)
    for url in webhook_urls:  # fail before a long run, not at step 7
        port = _port_of(url)
        if not port_is_free(port):
            raise StepFailed(
                f"port {port} of the local alert destination {url} is in use; stop what listens there "
                "or change local_url in the env file"
            )

    retraining = probe.model.retraining is not None and not args.skip_retrain
    progress.count = STEP_COUNT + 2 if retraining else STEP_COUNT
    root = new_run_folder(home)
    pruned = prune_runs(home, args.keep_runs, current=root)
    ctx = JobContext.load(env_file, args.model, root)
    job_args = ["--env-file", str(env_file), "--model", ctx.model.name, "--home", str(root)]
    progress.say(f"lakemon run-local: env {ctx.env.name}, model {ctx.model.name}, run folder {root}")
    if pruned:
        progress.say(f"(removed {len(pruned)} older run folder(s) beyond --keep-runs {args.keep_runs})")
    outcome = Outcome()

    with contextlib.ExitStack() as stack:
        synth = _start_synth(args, progress, env_file, root, stack)
        _step_train(progress, ctx, job_args)
        _finish_synth(progress, synth)
        layer, scoring = _step_serve(progress, ctx, job_args, stack, root, outcome)
        after_days = args.after_days if retraining else 0
        _step_traffic(args, progress, ctx, layer, scoring, outcome, days_after=after_days)
        _step_unpack(progress, ctx, job_args, outcome)
        _step_refresh(progress, ctx, job_args, outcome)
        _step_analyze(progress, ctx, stack, root, webhook_urls, outcome, job_args)
        if retraining:
            from .rehearsal import day_views

            before = day_views(ctx, outcome.day_sources)
            scoring = _step_retrain(progress, ctx, job_args, stack, root, layer, scoring, outcome)
            _step_after_retrain(args, progress, ctx, job_args, layer, scoring, outcome, before)
        _step_summary(progress, ctx, root, outcome)
        progress.say("\nstopping every process and server this run started ...")
    for what, port in outcome.servers:
        state = "free" if port_is_free(port) else "STILL BOUND"
        progress.info(f"stopped {what}: port {port} {state}")
        if state != "free":
            outcome.problems.append(f"port {port} ({what}) is still bound after stop")
    mark_completed(root)  # every step ran: runs/latest now points here
    return outcome


def _default_home() -> str:
    import os

    return os.environ.get("LAKEMON_HOME") or ".lakemon"


def _local_webhooks(env) -> list[str]:
    return [d.local_url for d in env.alerts.destinations if getattr(d, "local_url", None)]


def _port_of(url: str) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or 80


class _Indented:
    """A stdout stand-in that indents a job's own output under the step it belongs to."""

    def __init__(self, out, prefix: str = "      | ") -> None:
        self.out, self.prefix, self.at_line_start = out, prefix, True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.out.write(self.prefix)
            self.out.write(piece)
            self.at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


@contextlib.contextmanager
def _job_output(progress: Progress):
    """A job's stdout indented under its step, without MLflow's advisory UserWarnings."""
    import os
    import warnings

    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is first imported
    shown = warnings.showwarning

    def show_unless_mlflow_advice(message, category, filename, lineno, file=None, line=None):
        # MLflow's advisory UserWarnings (type hints, pickle format) are noise in this output;
        # filters cannot do it, as libraries imported by the jobs reset the warning filters.
        if issubclass(category, UserWarning) and f"{os.sep}mlflow{os.sep}" in str(filename):
            return
        shown(message, category, filename, lineno, file, line)

    try:
        warnings.showwarning = show_unless_mlflow_advice
        with contextlib.redirect_stdout(_Indented(progress.out)):
            yield
    finally:
        warnings.showwarning = shown


def _job(progress: Progress, name: str, job_args: list[str], root: Path, *extra: str) -> None:
    """Run one `lakemon <name>` subcommand in process, exactly as the CLI would.

    Its output is indented under the step; MLflow's advisory UserWarnings and INFO logs are
    silenced. A crash becomes StepFailed with the traceback saved to logs/<name>.traceback.txt.
    """
    import traceback

    from ..cli import main

    progress.info(f"$ lakemon {name} {' '.join(extra)}".rstrip())
    try:
        with _job_output(progress):
            code = main([name, *job_args, *extra])
    except SystemExit as exc:  # a job ends with sys.exit(message) on bad config
        code = exc.code if isinstance(exc.code, int) else 1
        if isinstance(exc.code, str):
            progress.info(exc.code)
    except Exception as exc:
        trace = root / "logs" / f"{name}.traceback.txt"
        trace.parent.mkdir(parents=True, exist_ok=True)
        trace.write_text(traceback.format_exc())
        raise StepFailed(
            f"`lakemon {name}` crashed: {type(exc).__name__}: {exc} (traceback: {trace})"
        ) from None
    if code != 0:
        raise StepFailed(f"`lakemon {name}` exited with code {code}")


# --- steps ---------------------------------------------------------------------------------------


def _start_synth(args, progress: Progress, env_file: Path, root: Path, stack: contextlib.ExitStack):
    """Step 1 starts synthesis in the background; `_finish_synth` prints its summary after step 2."""
    from .synth import BackgroundSynth, find_app

    with progress.step(
        1, "Synthesize the dev, aut and prod stacks (in the background, while the model trains)"
    ):
        app = find_app(env_file)
        if args.skip_synth or app is None:
            progress.info(
                "skipped (--skip-synth)"
                if args.skip_synth
                else f"skipped: no stacks/app.py next to {env_file.parent}"
            )
            return None
        synth = stack.enter_context(BackgroundSynth(app, root / "cdktf.out", root / "logs" / "synth.log"))
        progress.info(
            f"started `{Path(sys.executable).name} {app}` (pid {synth.process.pid}), CDKTF_OUTDIR={synth.outdir}"
        )
        return synth


def _finish_synth(progress: Progress, synth) -> None:
    from .synth import format_summary

    if synth is None:
        return
    progress.say("\n[1/8] Synthesize the dev, aut and prod stacks: collecting the result")
    try:
        stacks = synth.wait(progress=progress.info)
    except (RuntimeError, TimeoutError) as exc:
        raise StepFailed(f"step 1 (synthesize): {exc}") from None
    for line in format_summary(stacks):
        progress.info(line)
    progress.info(f"Terraform JSON: {synth.outdir / 'stacks'}")
    progress.info(f"synthesized in {synth.seconds:.1f}s (wall time of the background process)")
    number, title, _ = progress.timings[0]
    progress.timings[0] = (number, title + " [background]", synth.seconds)


def _step_train(progress: Progress, ctx, job_args: list[str]) -> None:
    with progress.step(2, "Train on the Marvel characters, register, promote the champion"):
        _job(progress, "train", job_args, ctx.runtime.root)
        _job(progress, "register", job_args, ctx.runtime.root)
        import mlflow

        client = mlflow.MlflowClient(
            tracking_uri=ctx.runtime.tracking_uri, registry_uri=ctx.runtime.tracking_uri
        )
        try:
            champion = client.get_model_version_by_alias(ctx.tables.registered_model, "champion")
        except Exception as exc:
            raise StepFailed(f"step 2: no champion after register: {exc}") from None
        run = client.get_run(champion.run_id)
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(run.data.metrics.items()))
        progress.info(f"champion: {ctx.tables.registered_model} version {champion.version} ({metrics})")


def _step_serve(
    progress: Progress, ctx, job_args: list[str], stack: contextlib.ExitStack, root: Path, outcome: Outcome
):
    from lakemon.tables import ModelTables

    from .logging_layer import LoggingLayer, Upstream
    from .payload_log import PayloadLog

    with progress.step(3, "Deploy the champion and serve it: MLflow scoring server behind the logging layer"):
        _job(progress, "deploy", job_args, ctx.runtime.root)
        endpoint = ctx.model.endpoint(ctx.env.name)
        deployment, scoring = _serve_deployment(
            progress, ctx, stack, outcome, step=3, log_name="scoring-server.log", label="scoring server"
        )
        progress.info(f"scoring server: {scoring.url} (pid {scoring.process.pid}), answering /ping")
        payload_path = ctx.runtime.table_path(ModelTables(ctx.env, ctx.model).payload)
        layer = LoggingLayer(
            Upstream(scoring.url, endpoint, deployment.served_entity_id),
            PayloadLog(payload_path, batch_rows=100),
        )
        stack.enter_context(layer)
        outcome.servers.append(("logging layer", layer.port))
        progress.info(f"endpoint {endpoint}: POST {layer.invocations_url}")
        progress.info(
            f"serving {deployment.served_entity_id}; every request is logged to {ctx.tables.payload}"
        )
        return layer, scoring


def _serve_deployment(progress: Progress, ctx, stack: contextlib.ExitStack, outcome: Outcome, *, step: int,
                      log_name: str, label: str):
    """Start `mlflow models serve` for the deployment recorded for the model's endpoint (steps 3
    and 8 serve the first and the retrained champion the same way); stopped by `stack`."""
    from ..deploy import Deployment
    from .scoring import ScoringServer

    deployment = Deployment.read(ctx.runtime.deployment_path(ctx.model.endpoint(ctx.env.name)))
    progress.info(f"starting `mlflow models serve -m {deployment.model_uri} --env-manager local` ...")
    scoring = ScoringServer(
        deployment.model_uri,
        tracking_uri=ctx.runtime.tracking_uri,
        log_path=ctx.runtime.root / "logs" / log_name,
        progress=progress.info,
    )
    try:
        stack.enter_context(scoring)
    except (RuntimeError, TimeoutError) as exc:
        raise StepFailed(f"step {step}: {exc}") from None
    outcome.servers.append((label, scoring.port))
    return deployment, scoring


def traffic_failure(result, scoring) -> str | None:
    """Why requests failed when the scoring server is the cause (it exited): named, not hidden
    behind a count of non-200 answers."""
    cause = scoring.died() if result.failed else None
    if cause is None:
        return None
    return f"step 4: {result.failed} of {result.requests_sent} requests failed because {cause}"


def _step_traffic(args, progress: Progress, ctx, layer, scoring, outcome: Outcome, days_after: int = 0):
    from ..datasets import load_comic, split_train_test
    from ..model_steps import load_training_data
    from .traffic import plan_days

    with progress.step(4, "Send traffic over simulated days: held-out Marvel, then DC"):
        training, label = ctx.model.training, ctx.model.label.name
        # The test split train held out (same rows, same order), and the DC rows with a label.
        _, marvel_test = split_train_test(load_training_data(ctx), training.test_fraction, training.seed)
        dc = load_comic("dc").dropna(subset=[label]).reset_index(drop=True)
        today = datetime.now(UTC).date()
        # Room for the days sent after the retrain: every simulated day is in the past.
        first_day = today - timedelta(days=args.marvel_days + args.dc_days + days_after)
        try:
            plans = plan_days(
                [("marvel", marvel_test, args.marvel_days), ("dc", dc, args.dc_days)],
                rows_per_day=args.rows_per_day,
                batch_size=args.batch_size,
                first_day=first_day,
                seed=training.seed,
            )
        except ValueError as exc:
            raise StepFailed(f"step 4: {exc}") from None
        progress.info(
            f"{len(marvel_test)} held-out Marvel rows (test split, seed {training.seed}, fraction "
            f"{training.test_fraction}), {len(dc)} DC rows; {args.rows_per_day} rows/day, "
            f"{args.batch_size} rows/request, 4 request formats, {args.workers} clients"
        )
        _send_and_label(args, progress, ctx, layer, scoring, outcome, plans)
        return plans


def _send_and_label(args, progress: Progress, ctx, layer, scoring, outcome: Outcome, plans) -> None:
    """Send the planned days through the logging layer, then write their labels (as a labelling
    process would deliver them later)."""
    from deltalake import write_deltalake

    from lakemon.tables import labels_columns

    from ..tables.schemas import to_arrow
    from .traffic import label_rows, send_traffic

    label = ctx.model.label.name
    result = send_traffic(
        layer.invocations_url,
        plans,
        ctx.model.feature_names(),
        workers=args.workers,
        progress=progress.info,
    )
    layer.payload_log.flush()
    failure = traffic_failure(result, scoring)
    if failure:
        raise StepFailed(failure)
    progress.info(
        f"{result.requests_sent} requests, {result.rows_sent} rows in {result.seconds:.1f}s "
        f"({result.requests_sent / max(result.seconds, 1e-9):.0f} requests/s); statuses {dict(sorted(result.status_counts.items()))}"
    )
    if result.failed:
        outcome.problems.append(
            f"{result.failed} of {result.requests_sent} requests did not get HTTP 200"
        )
    labels = label_rows(plans, label)
    columns = labels_columns(ctx.model)
    path = ctx.runtime.table_path(ctx.tables.labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), to_arrow(labels, columns), mode="append")
    progress.info(f"labels: {len(labels)} known {label} values written to {ctx.tables.labels}")
    outcome.day_sources.update({p.day: p.source for p in plans})
    outcome.table_rows["rows_sent"] = outcome.table_rows.get("rows_sent", 0) + result.rows_sent
    for plan in plans:
        if plan.source == "dc":
            for request in plan.requests:
                outcome.sent_page_ids.update(int(v) for v in request.rows["page_id"])


def _count(ctx, name: str) -> int | None:
    from deltalake import DeltaTable

    path = ctx.runtime.table_path(name)
    if not path.exists():
        return None
    return DeltaTable(str(path)).to_pyarrow_dataset().count_rows()


def _step_unpack(progress: Progress, ctx, job_args: list[str], outcome: Outcome) -> None:
    from deltalake import DeltaTable

    with progress.step(5, "Unpack the payloads into the inference log and join the labels"):
        _job(progress, "unpack", job_args, ctx.runtime.root)
        t = ctx.tables
        log_rows = _count(ctx, t.inference_log) or 0
        quarantined = _count(ctx, t.quarantine) or 0
        label = ctx.model.label.name
        labelled = (
            DeltaTable(str(ctx.runtime.table_path(t.inference_log)))
            .to_pyarrow_table(columns=[label])[label]
            .null_count
        )
        labelled = log_rows - labelled
        progress.info(f"{t.payload}: {_count(ctx, t.payload)} requests")
        progress.info(f"{t.inference_log}: {log_rows} rows, {labelled} with a label")
        progress.info(f"{t.quarantine}: {quarantined} rows set aside")
        sent = outcome.table_rows["rows_sent"]
        if log_rows != sent:
            outcome.problems.append(f"the inference log has {log_rows} rows, but {sent} rows were sent")
        if labelled != log_rows:
            outcome.problems.append(f"{log_rows - labelled} inference-log rows have no label after unpack")


def _step_refresh(progress: Progress, ctx, job_args: list[str], outcome: Outcome) -> None:
    with progress.step(6, "Refresh the local monitor: profile and drift metrics"):
        _job(progress, "refresh", job_args, ctx.runtime.root)
        for name in (ctx.tables.profile_metrics, ctx.tables.drift_metrics):
            progress.info(f"{name}: {_count(ctx, name)} rows")


def _step_analyze(progress, ctx, stack, root: Path, webhook_urls, outcome: Outcome, job_args: list[str]) -> None:
    from .webhook import WebhookReceiver

    with progress.step(7, "Analyze drift: verdicts table, report; the synthesized alerts' SQL alerts the local webhook"):
        receivers = []
        for url in webhook_urls:
            try:
                receiver = stack.enter_context(
                    WebhookReceiver(url, record_file=root / "alerts" / "received.jsonl")
                )
            except RuntimeError as exc:
                raise StepFailed(f"step 7: {exc}") from None
            receivers.append(receiver)
            outcome.servers.append(("webhook receiver", receiver.port))
            progress.info(f"local alert destination listening at {url}")
        stack_json = root / "cdktf.out" / "stacks" / ctx.env.name / "cdk.tf.json"
        extra = ["--drift-exit-code", "0"]
        if stack_json.exists():
            progress.info(f"alerts: the databricks_alert_v2 queries of {stack_json}")
            extra += ["--stack-json", str(stack_json)]
        else:
            progress.info("alerts: no synthesized stack; the alert SQL the constructs generate")
        # The same subcommand the Databricks monitoring job runs: it judges, writes the verdicts
        # table, then evaluates the alerts' own SQL on it and notifies only when one fires.
        _job(progress, "analyze-drift", job_args, ctx.runtime.root, *extra)
        reports = sorted(ctx.runtime.reports_dir.glob("drift_*.html"))
        outcome.report_html = reports[-1] if reports else None
        outcome.report_json = reports[-1].with_suffix(".json") if reports else None

        for row in _verdicts(ctx):
            if row["subject"] == "drift" and row["granularity"] == "1 day" and row["verdict"] == "drift":
                outcome.drifted.setdefault(row["window_start"].date(), []).append(row["feature"])
        days = sorted({r["window_start"].date() for r in _verdicts(ctx) if r["granularity"] == "1 day"})
        for day in days:
            source = outcome.day_sources.get(day, "?")
            features = sorted(set(outcome.drifted.get(day, [])))
            verdict = f"DRIFT in {', '.join(features)}" if features else "no drift"
            progress.info(f"window {day} ({source:<6}): {verdict}")
        for receiver in receivers:
            for alert in receiver.alerts:
                windows = drift_alert_windows(alert.body)
                if windows is None:
                    progress.info(f"alerts: ignored a POST to {receiver.url} that is not a lakemon drift alert")
                    continue
                outcome.alerts_received += 1
                outcome.alerted_windows |= windows
        _judge(outcome, bool(receivers))


def drift_alert_windows(body: object) -> set | None:
    """The window days a drift alert names, or None when `body` is not a lakemon drift alert.

    Anything can POST to the loopback receiver; a body of the wrong shape is reported and
    ignored, never a crash of step 7."""
    if not isinstance(body, dict) or not str(body.get("alert", "")).endswith("feature drift"):
        return None
    windows = body.get("windows", [])
    if not isinstance(windows, list):
        return None
    days = set()
    for w in windows:
        try:
            days.add(datetime.fromisoformat(w).date())
        except (TypeError, ValueError):
            return None
    return days


def _verdicts(ctx) -> list[dict]:
    from deltalake import DeltaTable

    path = ctx.runtime.table_path(ctx.tables.drift_verdicts)
    if not path.exists():
        raise StepFailed(f"step 7: analyze-drift wrote no verdicts table at {path}")
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


def _judge(outcome: Outcome, expect_alerts: bool) -> None:
    """The rehearsal's acceptance: DC windows drift, Marvel windows do not; the drift alert (the
    production SQL on the verdicts table) fires for the newest window, a DC day, and names it."""
    marvel = {d for d, s in outcome.day_sources.items() if s == "marvel"}
    dc = {d for d, s in outcome.day_sources.items() if s == "dc"}
    drifted = set(outcome.drifted)
    if marvel & drifted:
        outcome.problems.append(f"Marvel windows drifted: {', '.join(map(str, sorted(marvel & drifted)))}")
    if dc - drifted:
        outcome.problems.append(f"DC windows did not drift: {', '.join(map(str, sorted(dc - drifted)))}")
    if expect_alerts:
        newest = max(outcome.day_sources) if outcome.day_sources else None
        if not outcome.alerts_received:
            outcome.problems.append("the drift alert did not reach the local webhook receiver")
        if outcome.alerted_windows & marvel:
            outcome.problems.append(
                f"alerts named Marvel windows: {', '.join(map(str, sorted(outcome.alerted_windows & marvel)))}"
            )
        if newest in dc and newest not in outcome.alerted_windows:
            outcome.problems.append(f"the drift alert did not name the newest window, {newest} (DC)")


def _step_retrain(progress: Progress, ctx, job_args, stack, root: Path, layer, scoring, outcome: Outcome):
    """Step 8: `lakemon retrain` (in process, as the Databricks retraining job runs it); when the
    challenger wins, the logging layer's upstream swaps to a scoring server of the new champion
    (started first, so no request goes unanswered) and the old server stops. Returns the
    scoring server that serves now."""
    from ..retrain import RetrainError, retrain
    from .logging_layer import Upstream

    with progress.step(8, "Retrain on confirmed drift: recent DC labels join training, the gate decides on held-out recent rows"):
        progress.info("$ lakemon retrain")
        try:
            with _job_output(progress):
                result = retrain(ctx)
        except RetrainError as exc:
            raise StepFailed(f"step 8: lakemon retrain: {exc}") from None
        outcome.retrain = result
        if result.status not in ("promoted", "kept"):
            outcome.problems.append(f"the retrain did not run after the DC days drifted: {result.message}")
            return scoring
        progress.info(
            f"gate ({result.metric} on {result.holdout_rows} held-out recent rows): challenger v{result.version} "
            f"{result.challenger_score:.4f}, champion v{result.champion_version} {result.champion_score:.4f}: "
            + ("challenger PROMOTED and deployed" if result.status == "promoted" else "champion KEPT")
        )
        if result.status != "promoted":
            return scoring
        endpoint = ctx.model.endpoint(ctx.env.name)
        deployment, new = _serve_deployment(
            progress, ctx, stack, outcome, step=8, log_name="scoring-server-retrained.log",
            label="scoring server (new champion)",
        )
        layer.upstream = Upstream(new.url, endpoint, deployment.served_entity_id)
        scoring.__exit__(None, None, None)  # idempotent: the exit stack's stop later is a no-op
        progress.info(f"endpoint {endpoint} now serves {deployment.served_entity_id} from {new.url}; the old scoring server stopped")
        return new


def _step_after_retrain(args, progress: Progress, ctx, job_args, layer, scoring, outcome: Outcome, before) -> None:
    """Step 9: more DC days (characters not sent before) through the new champion, unpacked,
    monitored and judged against the new baseline; the before/after table."""
    from ..datasets import load_comic
    from .rehearsal import day_views, table_lines
    from .traffic import plan_days

    with progress.step(9, "More DC days, served by the champion, judged against the new baseline"):
        label = ctx.model.label.name
        dc = load_comic("dc").dropna(subset=[label])
        rest = dc[~dc["page_id"].isin(outcome.sent_page_ids)].reset_index(drop=True)
        first_day = max(outcome.day_sources) + timedelta(days=1)
        try:
            plans = plan_days(
                [("dc", rest, args.after_days)],
                rows_per_day=args.rows_per_day,
                batch_size=args.batch_size,
                first_day=first_day,
                seed=ctx.model.training.seed + 1,
            )
        except ValueError as exc:
            raise StepFailed(f"step 9: {exc}") from None
        progress.info(f"{len(rest)} DC rows not sent before; {args.after_days} day(s) from {first_day}")
        _send_and_label(args, progress, ctx, layer, scoring, outcome, plans)
        _job(progress, "unpack", job_args, ctx.runtime.root)
        _job(progress, "refresh", job_args, ctx.runtime.root)
        # The alerts were rehearsed in step 7; this analysis writes verdicts and the report only.
        _job(progress, "analyze-drift", job_args, ctx.runtime.root, "--drift-exit-code", "0", "--no-alerts")
        new_days = {p.day for p in plans}
        after = {d: v for d, v in day_views(ctx, outcome.day_sources).items() if d in new_days}
        result = outcome.retrain
        retrained_on = set()
        if result is not None and result.evidence is not None:
            since, until = result.evidence.since.date(), result.evidence.until.date()
            retrained_on = {d for d in before if since <= d < until}
        outcome.before_after = table_lines(before, after, retrained_on)
        progress.info("drift and quality per day (before: judged against the first baseline; after: against the new one):")
        for line in outcome.before_after:
            progress.info(line)
        if result is not None and result.status == "promoted":
            expected = f"{ctx.model.name}-{result.version}"
            wrong = sorted(d for d, v in after.items() if v.served_by != expected)
            if wrong:
                outcome.problems.append(
                    f"days after the retrain not served by the new champion {expected}: {', '.join(map(str, wrong))}"
                )


def _step_summary(progress: Progress, ctx, root: Path, outcome: Outcome) -> None:
    with progress.step(progress.count, "Where everything is"):
        mlflow_bin = Path(sys.executable).parent / "mlflow"
        progress.info(f"run folder:   {root}")
        progress.info(f"MLflow UI:    {mlflow_bin} ui --backend-store-uri {ctx.runtime.tracking_uri}")
        t = ctx.tables
        for name in (
            t.payload,
            t.labels,
            t.inference_log,
            t.quarantine,
            t.baseline,
            t.profile_metrics,
            t.drift_metrics,
            t.drift_verdicts,
        ):
            rows = _count(ctx, name)
            outcome.table_rows[name] = -1 if rows is None else rows
            where = ctx.runtime.table_path(name)
            progress.info(f"table:        {name} ({'absent' if rows is None else f'{rows} rows'}) at {where}")
        progress.info(f"report:       {outcome.report_html}")
        progress.info(f"summary:      {outcome.report_json}")
        progress.info(
            f"alerts:       {outcome.alerts_received} received at the local webhook ({root / 'alerts' / 'received.jsonl'})"
        )
        if outcome.alerted_windows:
            progress.info(
                f"              windows named: {', '.join(map(str, sorted(outcome.alerted_windows)))}"
            )
        progress.info(f"logs:         {root / 'logs'}")


def _print_timings(progress: Progress) -> None:
    progress.say("\nwall time per step:")
    for number, title, seconds in progress.timings:
        progress.say(f"  [{number}] {seconds:6.1f}s  {title}")
    progress.say(f"  total {progress.total:.1f}s")
