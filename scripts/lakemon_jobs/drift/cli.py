"""`lakemon analyze-drift`: judge drift, write the HTML/JSON report, alert the destinations.

Exit codes (also in --help and docs/drift.md):
  0  no drift (ok or warnings only, or no windows in the lookback period)
  3  drift found in at least one window and feature
  1  error (e.g. the metrics tables do not exist yet, the warehouse query failed)
  2  usage or configuration error
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3

EPILOG = """\
exit codes:
  0  no drift (ok or warnings only, or no windows in the lookback period)
  3  drift found in at least one window and feature
  1  error (e.g. the metrics tables do not exist yet; run `lakemon refresh` first)
  2  usage or configuration error

Locally the tables are read from the embedded default's Delta tables, webhook destinations with
a local_url get a JSON POST and email destinations an .eml file in <reports>/outbox/. On
Databricks the tables are read through a SQL warehouse and the stack's SQL alerts notify the
destinations; this command only reports there. The decision rule is in docs/drift.md.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..context import add_context_arguments

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    add_context_arguments(parser, reads_a_run=True)
    parser.add_argument("--output-dir", type=Path, help="where to write the report (default: <home>/reports)")
    parser.add_argument("--warehouse-id", help="SQL warehouse to read the tables on Databricks (default: workspace.warehouse_id)")
    parser.add_argument("--as-of", type=_timestamp, help="judge windows up to this UTC time, ISO 8601 (default: now)")
    parser.add_argument("--no-alerts", action="store_true", help="write the report but do not notify destinations")
    parser.add_argument(
        "--drift-exit-code",
        type=int,
        default=EXIT_DRIFT,
        help=f"exit code when drift is found (default {EXIT_DRIFT}); the Databricks monitoring job passes 0, "
        "because its SQL alerts notify and a run that found drift did its work",
    )


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _error(message: str) -> None:
    print(f"lakemon analyze-drift: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..context import JobContext
    from .rule import RuleError

    try:
        ctx = JobContext.from_args(args)
    except SystemExit as exc:  # from_args exits with the config error's message
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return EXIT_USAGE

    from .alerts import send_alerts
    from .report import write_report
    from .sources import TablesMissing, read_tables
    from .verdicts import analyze

    as_of = args.as_of or datetime.now(UTC)
    since = as_of - timedelta(days=ctx.env.monitoring.drift.lookback_days)
    warehouse_id = args.warehouse_id or ctx.env.workspace.warehouse_id
    if ctx.runtime is None and not warehouse_id:
        _error("on Databricks a SQL warehouse is needed: set workspace.warehouse_id or pass --warehouse-id")
        return EXIT_USAGE
    try:
        print(f"reading {ctx.tables.drift_metrics} and {ctx.tables.profile_metrics} ...", file=sys.stderr)
        drift, profile = read_tables(ctx.tables, ctx.runtime, warehouse_id, since)
        report = analyze(ctx.env, ctx.model, drift, profile, now=as_of)
    except RuleError as exc:
        _error(f"configuration error: {exc}")
        return EXIT_USAGE
    except (TablesMissing, TimeoutError, RuntimeError, OSError, KeyError, ValueError) as exc:
        _error(str(exc))
        return EXIT_ERROR

    out_dir = args.output_dir or (ctx.runtime.reports_dir if ctx.runtime else Path("reports"))
    try:
        paths = write_report(report, out_dir)
    except OSError as exc:
        _error(f"cannot write the report to {out_dir}: {exc}")
        return EXIT_ERROR
    counts = {}
    for j in report.judgements:
        counts[str(j.verdict)] = counts.get(str(j.verdict), 0) + 1
    print(f"status: {report.status}; {len(report.windows())} window(s); verdicts: "
          f"{', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'}")
    if report.drifted:
        print(f"drifted features: {', '.join(report.drifted_features)}")
    print(f"report: {paths.html}\nsummary: {paths.json}")

    if report.drifted and not args.no_alerts:
        if ctx.runtime is None:
            print("alerts: on Databricks the stack's SQL alerts notify the destinations")
        else:
            outbox = Path(out_dir) / "outbox"
            for d in send_alerts(report, ctx.env, outbox_dir=outbox, report_path=str(paths.html)):
                print(f"alert {d.destination} ({d.type}): {'sent' if d.delivered else 'NOT sent'}: {d.detail}")
    return args.drift_exit_code if report.drifted else EXIT_OK
