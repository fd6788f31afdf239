"""`lakemon retrain`: retrain on confirmed drift, gate on recent labels, serve the winner.

For a model that opts in (`models[].retraining`, docs/retraining.md). The same function runs in
the Databricks retraining job (started by a table-update trigger on the verdicts table that
analyze-drift writes) and in `lakemon run-local`:

1. Evidence: the drift verdicts (analyze-drift's `<model>_drift_verdicts`) of the windows that
   ended within `window_days` of the newest judged window. None: nothing to do (exit 0). The
   verdict ids are the reason, tagged on every MLflow record this run writes. A drift already
   acted on (a finished retrain run tagged with the same newest drifted window) is not retrained
   twice, so the trigger firing again on the same verdicts is harmless.
2. Recent labelled rows: inference-log rows of those days whose label has arrived. Fewer than
   `min_labelled_rows`: RetrainError saying how many there are and how many are needed.
3. Split them reproducibly (`holdout_fraction`, the training seed): one part joins the original
   training split, the other is held out for the gate.
4. Train the challenger (`train.train_model`, the run tagged with the reason).
5. Gate: champion and challenger scored on the held-out RECENT rows with
   `promotion.metric`; the challenger must win by more than `min_improvement`. Either model not
   scorable: RetrainError, nothing promoted.
6. Register the challenger (alias `challenger`, tagged). If it won: alias `champion`, deploy
   (`deploy.deploy_champion`); a failed deploy moves the alias back, so the old champion keeps
   serving and its baseline stays. After a successful deploy the baseline is rewritten: the
   challenger's training rows (original split + recent rows) scored by the new champion.

Any failure before step 6's alias move changes nothing the endpoint serves: the champion keeps
serving (a failing retrain leaves the champion serving).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    FEATURE,
    GRANULARITY,
    RUN_ID,
    STATISTIC,
    SUBJECT,
    VERDICT,
    WINDOW_END,
    WINDOW_START,
    Verdict,
)

from . import arguments, deploy
from .context import JobContext, run_job
from .datasets import split_train_test
from .errors import JobError
from .gateway_apply import GatewayError
from .model_steps import CHALLENGER, CHAMPION, load_training_data
from .register import is_better, promotion_score, score, write_baseline
from .table_engines import engine_for
from .tracking import configure_mlflow, experiment_name
from .train import train_model

TAG_TRIGGER = "lakemon.retrain.trigger"
TAG_REASON = "lakemon.retrain.reason"
"""Comma-separated drift verdict ids: `<analyze-drift run_id>:<granularity>:<window start>:<feature>:<statistic>`."""
TAG_VERDICT_COUNT = "lakemon.retrain.verdicts"
TAG_NEWEST_WINDOW = "lakemon.retrain.newest_drift_window"
TAG_DECISION = "lakemon.retrain.decision"
TAG_DEPLOYED = "lakemon.retrain.deployed_version"
ACTED_ON = ("promoted", "kept")
"""Decisions after which the same drift is not retrained again (without --force)."""
MAX_TAG_CHARS = 5000
"""MLflow tag values are limited (8000 characters in MLflow 3's file and SQL stores); keep well under."""


class RetrainError(JobError):
    """The retrain cannot go on; the champion keeps serving and its baseline is unchanged."""


@dataclass(frozen=True)
class DriftEvidence:
    verdict_ids: list[str]
    newest_window: datetime
    """Start of the newest window judged drift (what a retrain acts on, once)."""
    since: datetime
    until: datetime
    """The recent period: [since, until), until = end of the newest judged window."""

    @property
    def reason(self) -> str:
        text = ",".join(self.verdict_ids)
        if len(text) <= MAX_TAG_CHARS:
            return text
        cut = text[: MAX_TAG_CHARS - 40].rsplit(",", 1)[0]
        return f"{cut},... ({len(self.verdict_ids)} verdicts in all)"


@dataclass
class RetrainResult:
    status: str
    """no_drift | already_done | promoted | kept"""
    message: str
    evidence: DriftEvidence | None = None
    run_id: str | None = None
    version: str | None = None
    champion_version: str | None = None
    metric: str | None = None
    challenger_score: float | None = None
    champion_score: float | None = None
    recent_rows: int = 0
    holdout_rows: int = 0
    deployed_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)


def verdict_id(row: pd.Series | dict) -> str:
    start = pd.Timestamp(row[WINDOW_START])
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    return f"{row[RUN_ID]}:{row[GRANULARITY]}:{start.strftime('%Y-%m-%dT%H:%M:%SZ')}:{row[FEATURE]}:{row[STATISTIC]}"


def _utc(value) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def confirmed_drift(ctx: JobContext, engine) -> DriftEvidence | None:
    """The drift verdicts of the recent windows (module docstring, step 1), or None."""
    settings = ctx.model.retraining
    assert settings is not None
    table = ctx.tables.drift_verdicts
    if not engine.exists(table):
        return None
    granularity = ctx.env.monitoring.granularities[0]
    rows = engine.query(
        f"SELECT {RUN_ID}, {SUBJECT}, {GRANULARITY}, {WINDOW_START}, {WINDOW_END}, {FEATURE}, {STATISTIC}, {VERDICT} "
        f"FROM {table} WHERE {GRANULARITY} = '{granularity}'"
    )
    if rows.empty:
        return None
    until = max(_utc(v) for v in rows[WINDOW_END])
    since = until - timedelta(days=settings.window_days)
    drift = rows[(rows[SUBJECT] == DRIFT_SUBJECT) & (rows[VERDICT] == Verdict.DRIFT.value)]
    drift = drift[[_utc(v) > since for v in drift[WINDOW_END]]]
    if drift.empty:
        return None
    drift = drift.sort_values([WINDOW_START, FEATURE, STATISTIC])
    newest = max(_utc(v) for v in drift[WINDOW_START])
    return DriftEvidence([verdict_id(r) for _, r in drift.iterrows()], newest, since, until)


def recent_labelled_rows(ctx: JobContext, engine, evidence: DriftEvidence) -> pd.DataFrame:
    """Inference-log rows of [since, until) whose label has arrived: features + label."""
    model = ctx.model
    ts, label = model.timestamp_column, model.label.name
    columns = ", ".join(f"`{c}`" for c in [*model.feature_names(), label, ts])
    # A day of slack in SQL (engines differ in session time zones), the exact cut in pandas.
    lower = (evidence.since - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    frame = engine.query(
        f"SELECT {columns} FROM {ctx.tables.inference_log} "
        f"WHERE `{label}` IS NOT NULL AND `{ts}` >= TIMESTAMP '{lower}'"
    )
    if frame.empty:
        return frame
    stamps = pd.to_datetime(frame[ts], utc=True)
    keep = (stamps >= pd.Timestamp(evidence.since)) & (stamps < pd.Timestamp(evidence.until))
    return frame[keep.to_numpy()].sort_values([ts, *model.feature_names()], kind="stable").reset_index(drop=True)


def _already_done(ctx: JobContext, evidence: DriftEvidence) -> str | None:
    """The finished retrain run that already acted on this newest drifted window, if any."""
    experiment = mlflow.get_experiment_by_name(experiment_name(ctx))
    if experiment is None:
        return None
    newest = evidence.newest_window.strftime("%Y-%m-%dT%H:%M:%SZ")
    runs = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string=(
            f"tags.`lakemon.model` = '{ctx.model.name}' and tags.`{TAG_NEWEST_WINDOW}` = '{newest}' "
            "and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=100,
        output_format="list",
    )
    # A gate or deploy that failed did not act on the drift: the next trigger tries again.
    done = [r for r in runs if r.data.tags.get(TAG_DECISION) in ACTED_ON]
    return done[0].info.run_id if done else None


def gate_scores(ctx: JobContext, challenger_uri: str, champion_uri: str, holdout: pd.DataFrame) -> tuple[float, float]:
    """(challenger, champion) `promotion.metric` on the held-out recent rows; RetrainError when
    either model cannot be scored there (load or predict fails, the metric is undefined)."""
    model = ctx.model
    scores, problems = {}, []
    for role, uri in (("challenger", challenger_uri), ("champion", champion_uri)):
        try:
            value = promotion_score(model, holdout, score(model, mlflow.pyfunc.load_model(uri), holdout))
            if not math.isfinite(value):
                raise ValueError(f"{model.promotion.metric} is {value}")
            scores[role] = value
        except Exception as exc:  # any failure means: this model cannot be judged here
            problems.append(f"{role} ({uri}): {type(exc).__name__}: {exc}")
    if problems:
        raise RetrainError(
            f"the gate cannot score {'either model' if len(problems) == 2 else 'both models'} on "
            f"{len(holdout)} held-out recent labelled rows with {model.promotion.metric}: "
            + "; ".join(problems)
            + "; nothing was promoted"
        )
    return scores["challenger"], scores["champion"]


def promote_and_deploy(ctx: JobContext, client, run_id: str, version: str, champion_version: str, progress):
    """Move the champion alias to `version` and deploy it. A failed rollout (DeployError) moves
    the alias back and raises RetrainError: the old champion serves. A refused AI gateway
    (GatewayError) comes after the rollout, so `version` serves: its alias stays, and the error is
    returned for the caller to raise once the baseline matches the served version."""
    name = ctx.tables.registered_model
    client.set_registered_model_alias(name, CHAMPION, version)
    try:
        deploy.deploy_champion(ctx, progress=progress)
    except GatewayError as exc:
        return exc
    except deploy.DeployError as exc:
        client.set_registered_model_alias(name, CHAMPION, champion_version)
        client.set_tag(run_id, TAG_DECISION, "deploy_failed")
        raise RetrainError(
            f"deploying version {version} failed ({exc}); alias '{CHAMPION}' is back on version "
            f"{champion_version}, which keeps serving with its baseline"
        ) from None
    return None


def _retraining(model):
    """The model's `retraining` settings; RetrainError when it does not opt in."""
    if model.retraining is None:
        raise RetrainError(f"{model.name} does not opt in to retraining: add `retraining:` to the model in the env file")
    return model.retraining


def _champion_version(ctx: JobContext, client) -> str:
    """The version the `champion` alias names: the one the challenger must beat."""
    name = ctx.tables.registered_model
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        raise RetrainError(f"{name} has no '{CHAMPION}' version to retrain against; run `lakemon train` and `lakemon register` first") from None


def _enough_recent_rows(ctx: JobContext, engine, evidence: DriftEvidence, champion_version: str) -> pd.DataFrame:
    """Step 2: the recent labelled rows; RetrainError when fewer than `min_labelled_rows`."""
    settings = ctx.model.retraining
    recent = recent_labelled_rows(ctx, engine, evidence)
    if len(recent) < settings.min_labelled_rows:
        raise RetrainError(
            f"too few labelled rows to retrain: {len(recent)} labelled inference-log rows in "
            f"{evidence.since:%Y-%m-%d} .. {evidence.until:%Y-%m-%d}, min_labelled_rows needs "
            f"{settings.min_labelled_rows}; the champion (version {champion_version}) keeps serving"
        )
    return recent


def _drift_tags(ctx: JobContext, evidence: DriftEvidence) -> dict[str, str]:
    """Why this retrain runs, tagged on its MLflow run and on the version it registers."""
    return {
        TAG_TRIGGER: ctx.model.retraining.on,
        TAG_REASON: evidence.reason,
        TAG_VERDICT_COUNT: str(len(evidence.verdict_ids)),
        TAG_NEWEST_WINDOW: evidence.newest_window.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _train_challenger(ctx: JobContext, extra: pd.DataFrame, tags: dict[str, str], champion_version: str,
                      progress: Callable[[str], None]):
    """Step 4 (train.train_model with the recent rows); any failure: nothing registered."""
    try:
        return train_model(ctx, progress=progress, extra_rows=extra, tags=tags)
    except Exception as exc:  # any training failure: nothing registered, the champion serves on
        raise RetrainError(
            f"training the challenger failed ({type(exc).__name__}: {exc}); the champion (version "
            f"{champion_version}) keeps serving"
        ) from None


class GateDecision(NamedTuple):
    """Step 5's outcome: both scores on `promotion.metric`, and whether the challenger won."""

    metric: str
    challenger_score: float
    champion_score: float
    promoted: bool


def _gate(ctx: JobContext, client, trained, champion_version: str, holdout: pd.DataFrame,
          progress: Callable[[str], None]) -> GateDecision:
    """Step 5: both models scored on the held-out recent rows, logged on the challenger's run."""
    metric, margin = ctx.model.promotion.metric, ctx.model.promotion.min_improvement
    name = ctx.tables.registered_model
    try:
        challenger_score, champion_score = gate_scores(ctx, trained.model_uri, f"models:/{name}/{champion_version}", holdout)
    except RetrainError as exc:
        client.set_tag(trained.run_id, TAG_DECISION, "gate_failed")
        raise RetrainError(f"{exc}; the champion (version {champion_version}) keeps serving") from None
    promoted = is_better(metric, challenger_score, champion_score, margin)
    for key, value in ((f"gate_challenger_{metric}", challenger_score), (f"gate_champion_{metric}", champion_score), ("gate_rows", len(holdout))):
        client.log_metric(trained.run_id, key, float(value))
    progress(
        f"retrain: gate on {len(holdout)} held-out recent rows, {metric}: challenger {challenger_score:.4f} vs "
        f"champion v{champion_version} {champion_score:.4f} (needs > {margin} better): "
        + ("challenger PROMOTED" if promoted else "champion KEPT")
    )
    return GateDecision(metric, challenger_score, champion_score, promoted)


def _register_challenger(ctx: JobContext, client, trained, tags: dict[str, str], gate: GateDecision) -> str:
    """Step 6, first half: the challenger registered, aliased `challenger` and tagged; its version."""
    name = ctx.tables.registered_model
    version = str(mlflow.register_model(trained.model_uri, name).version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    decision = "promoted" if gate.promoted else "kept"
    for key, value in {**tags, TAG_DECISION: decision, "lakemon.retrain.run_id": trained.run_id}.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_model_version_tag(name, version, f"lakemon.gate_{gate.metric}", f"{gate.challenger_score:.6f}")
    return version


def _serve_and_rebaseline(ctx: JobContext, client, result: RetrainResult, extra: pd.DataFrame,
                          progress: Callable[[str], None]) -> RetrainResult:
    """Step 6, second half: the winner becomes champion and serves, then the baseline is its
    training rows (original split + recent rows) scored by it."""
    model, name, version = ctx.model, ctx.tables.registered_model, result.version
    gateway_problem = promote_and_deploy(ctx, client, result.run_id, version, result.champion_version, progress)
    train_split, _ = split_train_test(load_training_data(ctx), model.training.test_fraction, model.training.seed)
    columns = [*model.feature_names(), model.label.name]
    rows = pd.concat([train_split[columns], extra[columns]], ignore_index=True)
    challenger = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    written = write_baseline(ctx, rows, score(model, challenger, rows), version)
    client.set_tag(result.run_id, TAG_DECISION, "promoted")
    client.set_tag(result.run_id, TAG_DEPLOYED, version)
    result.deployed_version = version
    result.message = (
        f"retrain: version {version} is champion and serves; baseline {ctx.tables.baseline} rewritten "
        f"({written} rows: training split + {len(extra)} recent rows)"
    )
    progress(result.message)
    if gateway_problem is not None:
        raise RetrainError(f"version {version} serves and its baseline is rewritten, but {gateway_problem}")
    return result


def _nothing_to_do(progress: Callable[[str], None], status: str, message: str, **found) -> RetrainResult:
    progress(message)
    return RetrainResult(status, message, **found)


def retrain(ctx: JobContext, progress: Callable[[str], None] = print, force: bool = False) -> RetrainResult:
    """Steps 1-6 of the module docstring. RetrainError leaves the champion serving."""
    settings = _retraining(ctx.model)
    engine = engine_for(ctx)
    evidence = confirmed_drift(ctx, engine)
    if evidence is None:
        return _nothing_to_do(progress, "no_drift", f"retrain: no drift verdict in the last {settings.window_days} days of {ctx.tables.drift_verdicts}; nothing to retrain")
    progress(
        f"retrain: {len(evidence.verdict_ids)} drift verdict(s) in windows {evidence.since:%Y-%m-%d} .. "
        f"{evidence.until:%Y-%m-%d}, newest drifted window {evidence.newest_window:%Y-%m-%d}"
    )
    client = configure_mlflow(ctx)
    done = None if force else _already_done(ctx, evidence)
    if done:
        return _nothing_to_do(progress, "already_done", f"retrain: drift up to window {evidence.newest_window:%Y-%m-%d} was already acted on by run {done}; nothing to do",
                              evidence=evidence, run_id=done)
    champion_version = _champion_version(ctx, client)
    recent = _enough_recent_rows(ctx, engine, evidence, champion_version)
    extra, holdout = split_train_test(recent, settings.holdout_fraction, ctx.model.training.seed)
    progress(
        f"retrain: {len(recent)} recent labelled rows: {len(extra)} join the training data, "
        f"{len(holdout)} are held out for the gate"
    )
    tags = _drift_tags(ctx, evidence)
    trained = _train_challenger(ctx, extra, tags, champion_version, progress)
    gate = _gate(ctx, client, trained, champion_version, holdout, progress)
    version = _register_challenger(ctx, client, trained, tags, gate)
    result = RetrainResult(
        "promoted" if gate.promoted else "kept", "", evidence, trained.run_id, version, champion_version, gate.metric,
        gate.challenger_score, gate.champion_score, len(recent), len(holdout),
    )
    if gate.promoted:
        return _serve_and_rebaseline(ctx, client, result, extra, progress)
    client.set_tag(trained.run_id, TAG_DECISION, "kept")
    result.message = f"retrain: version {version} stays challenger; version {champion_version} remains champion"
    progress(result.message)
    return result


add_arguments = arguments.retrain
"""The command line (lakemon_jobs.arguments: parsed before this module is imported)."""


def run(args: argparse.Namespace) -> int:
    ctx = JobContext.from_args(args)

    def work():
        # under the model's run lock: retrain rewrites the baseline a refresh reads
        with ctx.run_lock("retrain", args.wait_for_lock):
            return retrain(ctx, force=args.force)

    return run_job("retrain", work)
