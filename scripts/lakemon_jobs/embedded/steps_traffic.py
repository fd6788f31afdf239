"""run-local's traffic steps: the simulated days before the analysis, and the days after a retrain.

Requests go through the logging layer to the scoring server that serves now (`run.layer`,
`run.scoring`); the labels follow, as a labelling process would deliver them later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lakemon.contract.tables import labels_columns

from .job_runner import StepFailed, run_job
from .rehearsal import day_views, table_lines
from .run_context import Run
from .steps_monitor import describe_report, record_report


def traffic_failure(result, scoring) -> str | None:
    """Why requests failed when the scoring server is the cause (it exited): named, not hidden
    behind a count of non-200 answers."""
    cause = scoring.died() if result.failed else None
    if cause is None:
        return None
    return f"{result.failed} of {result.requests_sent} requests failed because {cause}"


def _plan_days(run: Run, parts, *, first_day=None, seed: int | None = None):
    """The days of traffic for `parts` ((source, rows, days) in order), with the run's rows per
    day and batch size. By default the first day is far enough back that the first days, the
    after-retrain days and today fit, and the seed is the model's; a plan that cannot be made is
    the step's failure, in one line."""
    from .traffic import plan_days  # lazy: pandas, requests (0.4 s), after the env check

    options, training = run.options, run.job.model.training
    if first_day is None:
        today = datetime.now(UTC).date()
        first_day = today - timedelta(days=options.marvel_days + options.dc_days + run.after_days)
    try:
        return plan_days(
            parts,
            rows_per_day=options.rows_per_day,
            batch_size=options.batch_size,
            first_day=first_day,
            seed=training.seed if seed is None else seed,
        )
    except ValueError as exc:
        raise StepFailed(str(exc)) from None


def send_first_days(run: Run) -> None:
    """Held-out Marvel days, then DC days, ending so that the days after a retrain fit before today."""
    from ..datasets import load_comic, split_train_test  # lazy: pandas (0.3 s), after the env check
    from ..model_steps import load_training_data  # lazy: sklearn, pandas (1.3 s), after the env check

    ctx, options = run.job, run.options
    if ctx.model.training.source == "bundled:co2":
        send_forecast_days(run)
        return
    training, label = ctx.model.training, ctx.model.label.name
    # The test split train held out (same rows, same order), and the DC rows with a label.
    _, marvel_test = split_train_test(load_training_data(ctx), training.test_fraction, training.seed)
    dc = load_comic("dc").dropna(subset=[label]).reset_index(drop=True)
    plans = _plan_days(run, [("marvel", marvel_test, options.marvel_days), ("dc", dc, options.dc_days)])
    run.reporter.info(
        f"{len(marvel_test)} held-out Marvel rows (test split, seed {training.seed}, fraction "
        f"{training.test_fraction}), {len(dc)} DC rows; {options.rows_per_day} rows/day, "
        f"{options.batch_size} rows/request, 4 request formats, {options.workers} clients"
    )
    send_and_label(run, plans)


def send_forecast_days(run: Run) -> None:
    """The forecaster's days: the backtest period replayed (`--marvel-days` days of the test
    split's forecasts, the rows the baseline scored), then `--dc-days` days after a regime change
    (the same period of a series whose every move is REGIME_K times as large: lags, last year's
    values and actual values alike). The labels (actual values) follow as for every model."""
    import pandas as pd  # lazy: pandas (0.3 s), after the env check

    from ..datasets.co2 import (  # lazy: pandas (0.3 s), after the env check
        REGIME_K,
        load_co2_series,
        regime_change,
        supervised,
    )
    from ..model_steps import (  # lazy: sklearn, pandas (1.3 s), after the env check
        load_training_data,
        split_for,
    )

    ctx, options = run.job, run.options
    training = ctx.model.training
    _, backtest = split_for(training, load_training_data(ctx))
    series = load_co2_series()
    start = pd.Timestamp(backtest[training.time_column].min()) - pd.Timedelta(weeks=60)
    changed = supervised(regime_change(series, start, REGIME_K))
    changed = changed[changed[training.time_column] >= backtest[training.time_column].min()].reset_index(drop=True)
    plans = _plan_days(run, [("co2", backtest, options.marvel_days), ("regime", changed, options.dc_days)])
    run.reporter.info(
        f"{len(backtest)} backtest forecasts (origins from {backtest[training.time_column].min():%Y-%m-%d}), "
        f"{len(changed)} after a regime change (every move x{REGIME_K}); {options.rows_per_day} rows/day, "
        f"{options.batch_size} rows/request, 4 request formats, {options.workers} clients"
    )
    send_and_label(run, plans)


def send_and_label(run: Run, plans) -> None:
    """Send the planned days through the logging layer, then write their labels."""
    from deltalake import write_deltalake  # lazy: deltalake (12 ms), after the env check

    from ..table_engines.schemas import to_arrow  # lazy: pandas, pyarrow (0.4 s), after the env check
    from .traffic import label_rows, send_traffic  # lazy: pandas, requests (0.4 s), after the env check

    ctx, outcome = run.job, run.outcome
    label = ctx.model.label.name
    result = send_traffic(
        run.layer.invocations_url,
        plans,
        ctx.model.feature_names(),
        workers=run.options.workers,
        progress=run.reporter.info,
    )
    from .payload_log import PayloadLogError  # lazy: deltalake, pyarrow (0.3 s), after the env check

    try:
        run.layer.payload_log.flush()
    except PayloadLogError as exc:  # e.g. the payload table became read-only mid-traffic
        raise StepFailed(f"{exc}; fix the folder and run again") from None
    failure = traffic_failure(result, run.scoring)
    if failure:
        raise StepFailed(failure)
    run.reporter.info(
        f"{result.requests_sent} requests, {result.rows_sent} rows in {result.seconds:.1f}s "
        f"({result.requests_sent / max(result.seconds, 1e-9):.0f} requests/s); statuses {dict(sorted(result.status_counts.items()))}"
    )
    if result.failed:
        outcome.failed_checks.append(
            f"{result.failed} of {result.requests_sent} requests did not get HTTP 200"
        )
    labels = label_rows(plans, label)
    path = ctx.runtime.table_path(ctx.tables.labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_deltalake(str(path), to_arrow(labels, labels_columns(ctx.model)), mode="append")
    run.reporter.info(f"labels: {len(labels)} known {label} values written to {ctx.tables.labels}")
    outcome.day_sources.update({p.day: p.source for p in plans})
    outcome.rows_sent += result.rows_sent
    outcome.requests_sent += result.requests_sent
    for status, n in result.status_counts.items():
        outcome.status_counts[status] = outcome.status_counts.get(status, 0) + n
    for plan in plans:
        if plan.source == "dc":
            for request in plan.requests:
                outcome.sent_page_ids.update(int(v) for v in request.rows["page_id"])


def after_retrain(run: Run) -> None:
    """More DC days (characters not sent before) through the champion that serves now, unpacked,
    monitored and judged against the new baseline; the before/after table."""
    from ..datasets import load_comic  # lazy: pandas (0.3 s), after the env check

    ctx, options, outcome = run.job, run.options, run.outcome
    dc = load_comic("dc").dropna(subset=[ctx.model.label.name])
    rest = dc[~dc["page_id"].isin(outcome.sent_page_ids)].reset_index(drop=True)
    first_day = max(outcome.day_sources) + timedelta(days=1)
    plans = _plan_days(run, [("dc", rest, options.after_days)], first_day=first_day, seed=ctx.model.training.seed + 1)
    run.reporter.info(f"{len(rest)} DC rows not sent before; {options.after_days} day(s) from {first_day}")
    send_and_label(run, plans)
    run_job(run.reporter, "unpack", run.job_args, run.root)
    run_job(run.reporter, "refresh", run.job_args, run.root)
    # The alerts were rehearsed by the first analysis; this one writes verdicts and the report only.
    run_job(run.reporter, "analyze-drift", run.job_args, run.root, "--drift-exit-code", "0", "--no-alerts")
    record_report(run, "after-retrain")
    if run.outcome.reports:
        run.reporter.info(f"report {run.outcome.reports[-1]['html']}: {describe_report(run.outcome.reports[-1])}")
    new_days = {p.day for p in plans}
    after = {d: v for d, v in day_views(ctx, outcome.day_sources).items() if d in new_days}
    before = run.before_retrain or {}
    evidence = getattr(run.retrain_result, "evidence", None)
    retrained_on = set()
    if evidence is not None:
        since, until = evidence.since.date(), evidence.until.date()
        retrained_on = {d for d in before if since <= d < until}
    outcome.before_after = table_lines(before, after, retrained_on)
    outcome.served_after_retrain = {d: v.served_by for d, v in after.items()}
    run.reporter.table(
        "drift and quality per day (before: judged against the first baseline; after: against the new one):",
        outcome.before_after,
    )
    retrain = outcome.retrain
    if retrain is not None and retrain.status == "promoted":
        expected = f"{ctx.model.name}-{retrain.challenger_version}"
        wrong = sorted(d for d, served in outcome.served_after_retrain.items() if served != expected)
        if wrong:
            outcome.failed_checks.append(
                f"days after the retrain not served by the new champion {expected}: {', '.join(map(str, wrong))}"
            )
