"""run-local's steps that build and serve the model: synthesize, train, serve, retrain.

Each step takes the typed `Run` and records what it did in `run.outcome` (and hands the live
services on in `run`); it reports through `run.reporter` only. A step that cannot do its work
raises StepFailed; the loop adds the step's number and name to the message.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..local.endpoints import LocalServingEndpoints
from ..project_layout import find_app
from .job_runner import StepFailed, run_job
from .rehearsal import day_views
from .run_context import RetrainFacts, Run
from .synth import BackgroundSynth, format_summary


def start_synth(run: Run) -> None:
    """Start `stacks/app.py` in the background (it needs no model; training overlaps it)."""
    app = find_app(run.options.env_file)
    if app is None:  # the step list leaves the step out then (steps.plan_steps); a race is a bug
        raise StepFailed(f"no stacks/app.py next to {run.options.env_file.parent}")
    synth = run.stack.enter_context(
        BackgroundSynth(app, run.root / "cdktf.out", run.root / "logs" / "synth.log")
    )
    run.synth = synth
    run.reporter.info(
        f"started `{Path(sys.executable).name} {app}` (pid {synth.process.pid}), CDKTF_OUTDIR={synth.outdir}"
    )


def collect_synth(run: Run) -> float:
    """Wait for the background synthesis, report the stacks' resources; return its wall time."""
    synth = run.synth
    if synth is None:
        raise StepFailed("synthesis was not started")
    try:
        stacks = synth.wait(progress=run.reporter.info)
    except (RuntimeError, TimeoutError) as exc:
        raise StepFailed(str(exc)) from None
    for line in format_summary(stacks):
        run.reporter.info(line)
    run.reporter.info(f"Terraform JSON: {synth.outdir / 'stacks'}")
    run.reporter.info(f"synthesized in {synth.seconds:.1f}s (wall time of the background process)")
    return synth.seconds


def train_and_register(run: Run) -> None:
    import mlflow  # lazy: mlflow (1.4 s), after the env check

    ctx = run.job
    run_job(run.reporter, "train", run.job_args, run.root)
    run_job(run.reporter, "register", run.job_args, run.root)
    client = mlflow.MlflowClient(tracking_uri=ctx.runtime.tracking_uri, registry_uri=ctx.runtime.tracking_uri)
    try:
        champion = client.get_model_version_by_alias(ctx.tables.registered_model, "champion")
    except Exception as exc:
        raise StepFailed(f"no champion after register: {exc}") from None
    metrics = ", ".join(
        f"{k} {v:.3f}" for k, v in sorted(client.get_run(champion.run_id).data.metrics.items())
    )
    run.reporter.info(f"champion: {ctx.tables.registered_model} version {champion.version} ({metrics})")


def deploy_and_serve(run: Run) -> None:
    """`lakemon deploy`, the champion's scoring server, the logging layer in front of it."""
    from .logging_layer import LoggingLayer, Upstream  # lazy: requests, pyarrow (0.4 s), after the env check
    from .payload_log import PayloadLog  # lazy: deltalake, pyarrow (0.3 s), after the env check

    ctx = run.job
    run_job(run.reporter, "deploy", run.job_args, run.root)
    endpoint = ctx.model.endpoint(ctx.env.name)
    deployment, scoring = serve_deployment(run, log_name="scoring-server.log", label="scoring server")
    run.reporter.info(f"scoring server: {scoring.url} (pid {scoring.process.pid}), answering /ping")
    # Where the AI gateway that `lakemon deploy` put on the local endpoint logs (as on Databricks).
    try:
        payload_table = LocalServingEndpoints(ctx.runtime).payload_table(endpoint)
    except ValueError as exc:
        raise StepFailed(str(exc)) from None
    payload_path = ctx.runtime.table_path(payload_table)
    layer = LoggingLayer(
        Upstream(scoring.url, endpoint, deployment.served_entity_id), PayloadLog(payload_path, batch_rows=100)
    )
    run.stack.enter_context(layer)
    run.outcome.servers.append(("logging layer", layer.port))
    run.layer, run.scoring = layer, scoring
    run.reporter.info(f"endpoint {endpoint}: POST {layer.invocations_url}")
    run.reporter.info(
        f"serving {deployment.served_entity_id}; every request is logged to {payload_table}"
    )


def serve_deployment(run: Run, *, log_name: str, label: str):
    """Start `mlflow models serve` for the deployment recorded for the model's endpoint (the
    first and the retrained champion are served the same way); stopped by the run's exit stack."""
    from ..deploy import Deployment  # lazy: mlflow, databricks-sdk (1.8 s), after the env check
    from .scoring import ScoringServer  # lazy: requests (40 ms), after the env check

    ctx = run.job
    deployment = Deployment.read(ctx.runtime.deployment_path(ctx.model.endpoint(ctx.env.name)))
    run.reporter.info(f"starting `mlflow models serve -m {deployment.model_uri} --env-manager local` ...")
    scoring = ScoringServer(
        deployment.model_uri,
        tracking_uri=ctx.runtime.tracking_uri,
        log_path=ctx.runtime.root / "logs" / log_name,
        progress=run.reporter.info,
    )
    try:
        run.stack.enter_context(scoring)
    except (RuntimeError, TimeoutError) as exc:
        raise StepFailed(str(exc)) from None
    run.outcome.servers.append((label, scoring.port))
    return deployment, scoring


def retrain_on_drift(run: Run) -> None:
    """`lakemon retrain` (in process, as the Databricks retraining job runs it); when the
    challenger wins, the logging layer's upstream swaps to a scoring server of the new champion
    (started first, so no request goes unanswered) and the old server stops."""
    from ..retrain import RetrainError, retrain  # lazy: mlflow, sklearn (2 s), after the env check
    from .logging_layer import Upstream  # lazy: requests, pyarrow (0.4 s), after the env check

    ctx = run.job
    run.before_retrain = day_views(ctx, run.outcome.day_sources)
    run.reporter.info("$ lakemon retrain")
    try:
        result = retrain(ctx)
    except RetrainError as exc:
        raise StepFailed(f"lakemon retrain: {exc}") from None
    run.retrain_result = result
    run.outcome.retrain = RetrainFacts(
        status=result.status,
        message=result.message,
        metric=result.metric,
        challenger_version=result.version,
        challenger_score=result.challenger_score,
        champion_version=result.champion_version,
        champion_score=result.champion_score,
        holdout_rows=result.holdout_rows,
    )
    if result.status not in ("promoted", "kept"):
        run.reporter.info(f"no retrain: {result.message}")
        return
    run.reporter.info(
        f"gate ({result.metric} on {result.holdout_rows} held-out recent rows): challenger v{result.version} "
        f"{result.challenger_score:.4f}, champion v{result.champion_version} {result.champion_score:.4f}: "
        + ("challenger PROMOTED and deployed" if result.status == "promoted" else "champion KEPT")
    )
    if result.status != "promoted":
        return
    endpoint = ctx.model.endpoint(ctx.env.name)
    deployment, new = serve_deployment(
        run, log_name="scoring-server-retrained.log", label="scoring server (new champion)"
    )
    run.layer.upstream = Upstream(new.url, endpoint, deployment.served_entity_id)
    run.scoring.__exit__(None, None, None)  # idempotent: the exit stack's stop later is a no-op
    run.scoring = new
    run.reporter.info(
        f"endpoint {endpoint} now serves {deployment.served_entity_id} from {new.url}; the old scoring server stopped"
    )
