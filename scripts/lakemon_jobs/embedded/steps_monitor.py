"""run-local's monitoring steps: unpack, refresh, analyze drift (with the alerts), and the summary.

They run the same `lakemon` subcommands the Databricks jobs run and report what the tables
hold. The analysis step records which windows drifted and which the alert named; whether
that is what the rehearsal should show is judged by the tests (tests/e2e/acceptance.py).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

from lakemon.contract.alert_queries import DRIFT_ALERT, QUALITY_ALERT
from lakemon.contract.verdicts import (
    DRIFT_SUBJECT,
    FEATURE,
    GRANULARITY,
    SUBJECT,
    VERDICT,
    WINDOW_START,
    Verdict,
)

from .job_runner import StepFailed, run_job
from .run_context import DAILY_GRANULARITY, Run


def count_rows(ctx, name: str) -> int | None:
    """Rows of the local table `name`, or None when it does not exist."""
    from deltalake import DeltaTable  # lazy: deltalake (12 ms), after the env check

    path = ctx.runtime.table_path(name)
    if not path.exists():
        return None
    return DeltaTable(str(path)).to_pyarrow_dataset().count_rows()


def unpack(run: Run) -> None:
    from deltalake import DeltaTable  # lazy: deltalake (12 ms), after the env check

    ctx, outcome, report = run.job, run.outcome, run.reporter
    run_job(report, "unpack", run.job_args, run.root)
    t = ctx.tables
    log_rows = count_rows(ctx, t.inference_log) or 0
    quarantined = count_rows(ctx, t.quarantine) or 0
    label = ctx.model.label.name
    unlabelled = (
        DeltaTable(str(ctx.runtime.table_path(t.inference_log)))
        .to_pyarrow_table(columns=[label])[label]
        .null_count
    )
    labelled = log_rows - unlabelled
    report.info(f"{t.payload}: {count_rows(ctx, t.payload)} requests")
    report.info(f"{t.inference_log}: {log_rows} rows, {labelled} with a label")
    report.info(f"{t.quarantine}: {quarantined} rows set aside")
    if log_rows != outcome.rows_sent:
        outcome.failed_checks.append(
            f"the inference log has {log_rows} rows, but {outcome.rows_sent} rows were sent"
        )
    if labelled != log_rows:
        outcome.failed_checks.append(f"{log_rows - labelled} inference-log rows have no label after unpack")


def refresh(run: Run) -> None:
    ctx = run.job
    run_job(run.reporter, "refresh", run.job_args, run.root)
    for name in (ctx.tables.profile_metrics, ctx.tables.drift_metrics):
        run.reporter.info(f"{name}: {count_rows(ctx, name)} rows")


def analyze_drift(run: Run) -> None:
    """`lakemon analyze-drift` as the Databricks monitoring job runs it: verdicts, the report, then
    the alerts' own SQL on the verdicts table, notifying the local webhook only when one fires."""
    from .webhook import WebhookReceiver  # lazy: http.server (12 ms), after the env check

    ctx, outcome, report = run.job, run.outcome, run.reporter
    receivers = []
    for url in run.webhook_urls:
        try:
            receiver = run.stack.enter_context(
                WebhookReceiver(url, record_file=run.root / "alerts" / "received.jsonl")
            )
        except RuntimeError as exc:
            raise StepFailed(str(exc)) from None
        receivers.append(receiver)
        outcome.servers.append(("webhook receiver", receiver.port))
        report.info(f"local alert destination listening at {url}")
    outcome.alert_destinations = len(receivers)
    stack_json = run.root / "cdktf.out" / "stacks" / ctx.env.name / "cdk.tf.json"
    extra = ["--drift-exit-code", "0"]
    if stack_json.exists():
        report.info(f"alerts: the databricks_alert_v2 queries of {stack_json}")
        extra += ["--stack-json", str(stack_json)]
    else:
        report.info("alerts: no synthesized stack; the alert SQL the constructs generate")
    run_job(report, "analyze-drift", run.job_args, run.root, *extra)
    summary = record_report(run, "analyze")
    for alert in (summary or {}).get("alerts", []):
        if not alert.get("fired"):
            continue
        if str(alert.get("alert", "")).endswith(DRIFT_ALERT):
            outcome.alerted_windows |= {datetime.fromisoformat(w).date() for w in alert.get("windows", [])}
        for d in alert.get("deliveries", []):
            state = "sent" if d.get("delivered") else "NOT sent"
            outcome.alert_deliveries.append(f"{alert['alert']} -> {d['destination']} ({d['type']}): {state}")

    outcome.drifted, outcome.judged_days = daily_drift(_verdicts(ctx))
    for day in outcome.judged_days:
        source = outcome.day_sources.get(day, "?")
        features = sorted(set(outcome.drifted.get(day, [])))
        verdict = f"DRIFT in {', '.join(features)}" if features else "no drift"
        report.info(f"window {day} ({source:<6}): {verdict}")
    for receiver in receivers:
        for alert in receiver.alerts:
            parsed = lakemon_alert(alert.body)
            if parsed is None:
                report.info(f"alerts: ignored a POST to {receiver.url} that is not a lakemon alert")
                continue
            kind, windows = parsed
            if kind == QUALITY_ALERT:
                days = ", ".join(str(d) for d in sorted(windows))
                report.info(f"alerts: model-quality alert received ({days}): quality below its threshold")
                continue
            outcome.alerts_received += 1
            if not windows <= outcome.alerted_windows:
                outcome.failed_checks.append(
                    f"the webhook received drift windows {sorted(map(str, windows))} the alert's SQL did not name"
                )


def daily_drift(verdicts: list[dict]) -> tuple[dict[date, list[str]], list[date]]:
    """(day -> features judged drift, the days judged) from the verdict rows of the daily
    windows (DAILY_GRANULARITY) only: a day's hourly or weekly windows are other windows."""
    daily = [row for row in verdicts if row[GRANULARITY] == DAILY_GRANULARITY]
    drifted: dict[date, list[str]] = {}
    for row in daily:
        if row[SUBJECT] == DRIFT_SUBJECT and row[VERDICT] == Verdict.DRIFT:
            drifted.setdefault(row[WINDOW_START].date(), []).append(row[FEATURE])
    return drifted, sorted({row[WINDOW_START].date() for row in daily})


ALERT_KINDS = (DRIFT_ALERT, QUALITY_ALERT)


def lakemon_alert(body: object) -> tuple[str, set] | None:
    """(kind, window days) of a lakemon alert, or None when `body` is not one.

    Anything can POST to the loopback receiver; a body of the wrong shape is reported and
    ignored, never a crash of the analysis step."""
    if not isinstance(body, dict):
        return None
    kind = next((k for k in ALERT_KINDS if str(body.get("alert", "")).endswith(k)), None)
    windows = body.get("windows", [])
    if kind is None or not isinstance(windows, list):
        return None
    days = set()
    for w in windows:
        try:
            days.add(datetime.fromisoformat(w).date())
        except (TypeError, ValueError):
            return None
    return kind, days


def record_report(run: Run, step: str) -> dict | None:
    """Record the report analyze-drift just wrote (the newest JSON summary in the reports
    folder): which windows it covers and what it judged against. Returns the summary."""
    outcome, reports_dir = run.outcome, run.job.runtime.reports_dir
    summaries = sorted(reports_dir.glob("drift_*.json"))
    if not summaries:
        return None
    path = summaries[-1]
    summary = json.loads(path.read_text(encoding="utf-8"))
    starts = sorted({j["window_start"][:10] for j in summary.get("judgements", [])})
    basis = summary.get("judged_against") or {}
    outcome.report_json, outcome.report_html = path, path.with_suffix(".html")
    outcome.reports.append(
        {
            "step": step,
            "html": str(outcome.report_html),
            "json": str(path),
            "first_window": starts[0] if starts else None,
            "last_window": starts[-1] if starts else None,
            "baseline_version": basis.get("baseline_version"),
            "champion": basis.get("champion"),
        }
    )
    return summary


def describe_report(entry: dict) -> str:
    """`windows 2026-11-20 to 2026-11-28, against the baseline of alive_classifier-2 (Delta version 3)`."""
    span = f"windows {entry['first_window']} to {entry['last_window']}" if entry["first_window"] else "no windows"
    version = "" if entry.get("baseline_version") is None else f" (Delta version {entry['baseline_version']})"
    return f"{span}, judged against the baseline of {entry.get('champion') or 'an unknown model version'}{version}"


def _verdicts(ctx) -> list[dict]:
    from deltalake import DeltaTable  # lazy: deltalake (12 ms), after the env check

    path = ctx.runtime.table_path(ctx.tables.drift_verdicts)
    if not path.exists():
        raise StepFailed(f"analyze-drift wrote no verdicts table at {path}")
    return DeltaTable(str(path)).to_pyarrow_table().to_pylist()


def where_everything_is(run: Run) -> None:
    ctx, outcome, report, root = run.job, run.outcome, run.reporter, run.root
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    report.info(f"run folder:   {root}")
    report.info(f"MLflow UI:    {mlflow_bin} ui --backend-store-uri {ctx.runtime.tracking_uri}")
    t = ctx.tables
    for name in (
        t.payload, t.labels, t.inference_log, t.quarantine, t.baseline, t.profile_metrics, t.drift_metrics,
        t.drift_verdicts,
    ):  # fmt: skip
        rows = count_rows(ctx, name)
        outcome.table_rows[name] = -1 if rows is None else rows
        report.info(
            f"table:        {name} ({'absent' if rows is None else f'{rows} rows'}) at {ctx.runtime.table_path(name)}"
        )
    newest_first = list(reversed(outcome.reports))
    for i, entry in enumerate(newest_first):
        label = "report:      " if i == 0 else "earlier:     "
        report.info(f"{label} {entry['html']}")
        report.info(f"              {'newest; ' if i == 0 and len(newest_first) > 1 else ''}{describe_report(entry)}")
    if not outcome.reports:
        report.info("report:       none written")
    report.info(f"summary:      {outcome.report_json}")
    named = ", ".join(map(str, sorted(outcome.alerted_windows))) or "none (it did not fire)"
    report.info(f"drift alert:  windows its SQL named: {named}")
    for delivery in outcome.alert_deliveries:
        report.info(f"              {delivery}")
    report.info(
        f"alerts:       {outcome.alerts_received} received at the local webhook ({root / 'alerts' / 'received.jsonl'})"
    )
    report.info(f"logs:         {root / 'logs'}")
    report.info(f"outcome:      {root / 'outcome.json'}")
