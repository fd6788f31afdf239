"""`lakemon analyze-drift`: judge drift, write the HTML/JSON report, alert the destinations.

Exit codes (also in --help and docs/drift.md):
  0  no drift (ok or warnings only, or no windows in the lookback period)
  3  drift found in at least one window and feature
  1  error (e.g. the metrics tables do not exist yet, a query failed)
  2  usage or configuration error
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..arguments import add_context_arguments, add_json_argument
from ..errors import EXIT_DRIFT, EXIT_FAILED, EXIT_OK, EXIT_USAGE, JobError
from ..run_lock import add_lock_argument

EPILOG = """\
exit codes:
  0  no drift (ok or warnings only, or no windows in the lookback period)
  3  drift found in at least one window and feature
  1  error (e.g. the metrics tables do not exist yet; run `lakemon refresh` first)
  2  usage or configuration error

Every run writes its verdicts to <model>_drift_verdicts (one commit; a rerun adds no
duplicates). The alerts read only that table: on Databricks the stack's SQL alerts notify the
destinations. Locally this command runs the same alert SQL on the local verdicts table (DuckDB,
via SQLGlot) and, when an alert fires, POSTs to webhook destinations with a local_url and writes
an .eml file per email destination to <reports>/outbox/. The decision rule is in docs/drift.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    add_context_arguments(parser, reads_a_run=True)
    add_lock_argument(parser)
    parser.add_argument("--output-dir", type=Path, help="where to write the report (default: <home>/reports)")
    parser.add_argument("--as-of", type=_timestamp, help="judge windows up to this UTC time, ISO 8601 (default: now)")
    parser.add_argument("--no-alerts", action="store_true", help="write the report and verdicts but do not notify destinations")
    parser.add_argument(
        "--stack-json", type=Path,
        help="embedded default: evaluate the alerts as declared in this synthesized stack "
        "(cdktf.out/stacks/<env>/cdk.tf.json; default: the alert SQL the constructs generate)",
    )
    parser.add_argument(
        "--drift-exit-code",
        type=int,
        default=EXIT_DRIFT,
        help=f"exit code when drift is found (default {EXIT_DRIFT}); the Databricks monitoring job passes 0, "
        "because its SQL alerts notify and a run that found drift did its work",
    )
    add_json_argument(parser, "the result (status, verdict counts, report paths, verdicts written, alerts)")


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_RESULT: dict = {}
"""What this run found, for --json (filled as the run goes; printed once at the end)."""


def _error(message: str) -> None:
    _RESULT["error"] = message
    print(f"lakemon analyze-drift: {message}", file=sys.stderr)


def _failed(error: JobError, doing: str = "") -> int:
    """One line for an expected failure (errors.JobError), with what the job was doing; its code."""
    _error(doing + str(error) + "".join(getattr(error, "__notes__", ())))
    return error.exit_code


def _say(message: str) -> None:  # progress (waiting for the run lock): stderr, not an error
    print(f"lakemon analyze-drift: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """The CLI entry. With --json, the human lines go to stderr and stdout gets one JSON
    document: status, windows, verdict counts, drifted features, report paths, what the
    windows were judged against, verdict rows written, alerts, and the exit code."""
    _RESULT.clear()
    if not getattr(args, "json", False):
        return _run(args)
    with contextlib.redirect_stdout(sys.stderr):
        code = _run(args)
    print(json.dumps({"status": "error", **_RESULT, "exit_code": code}, indent=2, default=str))
    return code


def _run(args: argparse.Namespace) -> int:
    from ..context import JobContext  # lazy: keeps analyze-drift --help fast

    try:
        ctx = JobContext.from_args(args)
    except SystemExit as exc:  # from_args exits with the config error's message
        _RESULT["error"] = exc.code if isinstance(exc.code, str) else "bad configuration or arguments (see stderr)"
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return EXIT_USAGE
    _RESULT.update({"env": ctx.env.name, "model": ctx.model.name})

    from .rule import RuleError  # lazy: keeps analyze-drift --help fast

    try:
        with ctx.run_lock("analyze-drift", args.wait_for_lock, progress=_say):
            return _analyze(ctx, args)
    except JobError as exc:  # another run holds the lock, a table is missing or damaged, ...
        return _failed(exc, "configuration error: " if isinstance(exc, RuleError) else "")


def _analyze(ctx, args: argparse.Namespace) -> int:
    """The run, under the model's run lock (run_lock): read, judge, report, write verdicts, alert."""
    from ..table_engines import engine_for  # lazy: keeps analyze-drift --help fast
    from .alerts import fire_local_alerts  # lazy: keeps analyze-drift --help fast
    from .report import add_alerts_to_summary, write_report  # lazy: keeps analyze-drift --help fast
    from .sources import (  # lazy: keeps analyze-drift --help fast
        judged_against,
        older_windows_sql,
        read_tables,
    )
    from .store import new_run_id, write_verdicts  # lazy: keeps analyze-drift --help fast
    from .verdicts import analyze  # lazy: keeps analyze-drift --help fast

    as_of = args.as_of or datetime.now(UTC)
    since = as_of - timedelta(days=ctx.env.monitoring.drift.lookback_days)
    started = time.perf_counter()

    def stage(message: str) -> None:  # progress of the slow stages, with elapsed seconds (stderr: stdout is the result)
        print(f"analyze-drift: {message}, {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)

    # one engine reads the metrics and writes the verdicts: Spark on Databricks, DuckDB +
    # deltalake on the embedded default. A missing or damaged table, drift settings that do not
    # fit the model: JobErrors, one line in _run; anything else is a bug and keeps its traceback.
    engine = engine_for(ctx)
    print(f"reading {ctx.tables.drift_metrics} and {ctx.tables.profile_metrics} ...", file=sys.stderr)
    drift, profile = read_tables(engine, ctx.tables, since)
    stage(f"read {drift.num_rows} drift rows and {0 if profile is None else profile.num_rows} profile rows")
    for older in engine.query_arrow(older_windows_sql(ctx.tables, since)).to_pylist():
        print(
            f"analyze-drift: {older['windows']} window(s) of {older['granularity']} with {older['rows'] or 0} rows end "
            f"before the lookback period ({ctx.env.monitoring.drift.lookback_days} days, from {since:%Y-%m-%d %H:%M} UTC): "
            "not judged (monitoring.drift.lookback_days or --as-of choose the period)",
            file=sys.stderr,
        )
    report = analyze(ctx.env, ctx.model, drift, profile, now=as_of)
    run_id = new_run_id()
    home = str(ctx.runtime.root) if ctx.runtime else None
    report.basis = judged_against(engine, ctx.tables, analysis_run=run_id, home=home)
    stage(f"judged {len(report.windows())} window(s): {len(report.judgements)} verdicts")

    out_dir = args.output_dir or (ctx.runtime.reports_dir if ctx.runtime else Path("reports"))
    try:
        paths = write_report(report, out_dir)
    except OSError as exc:
        _error(f"cannot write the report to {out_dir}: {exc}")
        return EXIT_FAILED
    stage("wrote the HTML and JSON report")
    counts = {}
    for j in report.judgements:
        counts[str(j.verdict)] = counts.get(str(j.verdict), 0) + 1
    print(f"status: {report.status}; {len(report.windows())} window(s); verdicts: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'}")
    if report.drifted:
        print(f"drifted features: {', '.join(report.drifted_features)}")
    print(f"report: {paths.html}\nsummary: {paths.json}")
    _RESULT.update({
        "status": report.status, "windows": len(report.windows()), "verdict_counts": counts,
        "drifted_features": report.drifted_features, "report_html": str(paths.html), "report_json": str(paths.json),
        "judged_against": report.basis,
    })  # fmt: skip

    try:
        rows = write_verdicts(engine, ctx.tables, report, run_id)
    except JobError as exc:
        return _failed(exc, f"cannot write the verdicts to {ctx.tables.drift_verdicts}: ")
    print(f"verdicts: {rows} row(s) written to {ctx.tables.drift_verdicts} (run {run_id})")
    _RESULT.update({"verdicts_written": rows, "verdicts_table": ctx.tables.drift_verdicts, "analysis_run": run_id})

    if ctx.runtime is None:
        print("alerts: on Databricks the stack's SQL alerts read the verdicts and notify the destinations")
    elif not args.no_alerts:
        try:
            fired = fire_local_alerts(
                engine, ctx.env, ctx.model, outbox_dir=Path(out_dir) / "outbox",
                synthesized=args.stack_json, report_path=str(paths.html),
            )
        except JobError as exc:  # AlertError, or the verdicts table cannot be read
            return _failed(exc, "cannot evaluate the alerts: ")
        for outcome, deliveries in fired:
            state = "FIRED" if outcome.fired else "ok"
            print(f"alert {outcome.spec.display_name!r}: {state} ({len(outcome.rows)} row(s))")
            for d in deliveries:
                print(f"alert {d.destination} ({d.type}): {'sent' if d.delivered else 'NOT sent'}: {d.detail}")
        try:
            _RESULT["alerts"] = add_alerts_to_summary(paths.json, fired)
        except OSError as exc:
            _error(f"cannot add the alerts to {paths.json}: {exc}")
            return EXIT_FAILED
    return args.drift_exit_code if report.drifted else EXIT_OK
