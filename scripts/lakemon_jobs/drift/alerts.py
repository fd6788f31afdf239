"""The alerts of the embedded default: the production alert SQL, evaluated on the local tables.

On Databricks the stack's `databricks_alert_v2` (DriftAlert, QualityAlert) run their query on the
verdicts table that analyze-drift wrote, and notify the destinations with their secrets from
sensitive Terraform variables; analyze-drift sends nothing itself there. Locally the SAME query
text (read back from the synthesized stack when there is one, else from
`lakemon.contract.alert_queries`, the functions the constructs call) runs on the local verdicts table,
transpiled to DuckDB by SQLGlot through the LocalEngine, and the alert's `evaluation` (source
column, aggregation, operator, threshold, empty-result state) is applied as Databricks applies it.
Only an alert that fires notifies:
- webhook, slack, microsoft_teams, pagerduty destinations with a `local_url` get one JSON POST
  (requests + urllib3 Retry: retried with backoff on connection errors and 429/5xx, with a
  timeout on every try). A destination that stays down is reported in the result, not raised.
  Destinations without `local_url` are skipped (reported as such).
- email destinations: the message is written as an .eml file to `<reports>/outbox/` (no SMTP
  server on a laptop or CI; any mail client opens it).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lakemon.config.model import EmailDestination, Environment, Model
from lakemon.contract.alert_queries import (
    LABELLED_ROWS,
    METRIC,
    AlertSpec,
    drift_alert_spec,
    quality_alert_spec,
)
from lakemon.contract.verdicts import (
    ADJUSTED,
    FEATURE,
    PVALUE,
    ROW_COUNT,
    STATISTIC,
    THRESHOLD,
    VALUE,
    WINDOW_START,
)

from ..errors import JobError

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Delivery:
    destination: str
    type: str
    delivered: bool
    detail: str
    """Where it went (URL or file), or why it did not."""


# --- evaluating an alert --------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertOutcome:
    spec: AlertSpec
    fired: bool
    value: float | None
    """The aggregated source column (None for an empty result)."""
    rows: list[dict[str, Any]]


class AlertError(JobError):
    """An alert cannot be evaluated as declared (the stack JSON given lacks it or cannot be
    read, its query lacks the source column, an aggregation this evaluator lacks): exit 1."""


def _aggregate(values: list[Any], aggregation: str) -> float | None:
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if aggregation == "COUNT":
        return float(len(present))
    if aggregation == "COUNT_DISTINCT":
        return float(len(set(present)))
    if not present:
        return None
    numbers = [float(v) for v in present]
    if aggregation == "MAX":
        return max(numbers)
    if aggregation == "MIN":
        return min(numbers)
    if aggregation == "SUM":
        return sum(numbers)
    if aggregation == "AVG":
        return sum(numbers) / len(numbers)
    if aggregation == "MEDIAN":
        ordered = sorted(numbers)
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    raise AlertError(f"alert aggregation {aggregation!r} is not supported locally")


_OPERATORS = {
    "GREATER_THAN": lambda a, b: a > b,
    "GREATER_THAN_OR_EQUAL": lambda a, b: a >= b,
    "LESS_THAN": lambda a, b: a < b,
    "LESS_THAN_OR_EQUAL": lambda a, b: a <= b,
    "EQUAL": lambda a, b: a == b,
    "NOT_EQUAL": lambda a, b: a != b,
}


def evaluate_alert(engine, spec: AlertSpec, *, as_of_window: datetime | None = None) -> AlertOutcome:
    """Run the alert's query on the local tables (LocalEngine: SQLGlot to DuckDB) and apply its
    evaluation: aggregate the source column, compare with the threshold; an empty result takes
    `empty_result_state` (TRIGGERED fires). `as_of_window`: evaluate as the alert would have
    right after that window was judged (verdict rows of later windows are hidden), which is how
    tests and the measurements replay a schedule."""
    hide = None if as_of_window is None else (WINDOW_START, as_of_window)
    frame = engine.query(spec.query_text, hide_after=hide, materialize=True)  # verdict tables are small
    rows = [{k: _plain(v) for k, v in r.items()} for r in frame.to_dict("records")]
    if not rows:
        return AlertOutcome(spec, spec.empty_result_state == "TRIGGERED", None, rows)
    if spec.source_column not in frame.columns:
        raise AlertError(f"alert {spec.display_name!r}: its query returns no column {spec.source_column!r}")
    value = _aggregate([r[spec.source_column] for r in rows], spec.aggregation)
    if value is None:
        return AlertOutcome(spec, spec.empty_result_state == "TRIGGERED", None, rows)
    return AlertOutcome(spec, bool(_OPERATORS[spec.operator](value, spec.threshold)), value, rows)


def _plain(value: Any) -> Any:
    """JSON-friendly: timestamps as ISO text (UTC), NaN/NaT as None."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            value = value.to_pydatetime()
        except ValueError:
            return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def local_alert_specs(env: Environment, model: Model, synthesized: Path | None = None) -> list[AlertSpec]:
    """The model's alerts as the stack declares them. From the synthesized stack JSON
    (`cdktf.out/stacks/<env>/cdk.tf.json`) when given and present, so the embedded default runs
    the very text Terraform deploys; else from the same functions the constructs call."""
    expected = [drift_alert_spec(env, model)]
    if model.label is not None:
        expected.append(quality_alert_spec(env, model))
    if synthesized is None or not synthesized.exists():
        return expected
    try:
        resources = json.loads(synthesized.read_text()).get("resource", {}).get("databricks_alert_v2", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise AlertError(f"cannot read the alerts of {synthesized}: {exc}") from None
    by_name = {r.get("display_name"): r for r in resources.values()}
    specs = []
    for want in expected:
        found = by_name.get(want.display_name)
        if found is None:
            raise AlertError(f"{synthesized} declares no alert {want.display_name!r}")
        try:
            evaluation = found["evaluation"]
            specs.append(AlertSpec(
                display_name=found["display_name"],
                query_text=found["query_text"],
                source_column=evaluation["source"]["name"],
                aggregation=evaluation["source"].get("aggregation", "MAX"),
                operator=evaluation["comparison_operator"],
                threshold=float(evaluation["threshold"]["value"]["double_value"]),
                empty_result_state=evaluation.get("empty_result_state", "UNKNOWN"),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise AlertError(
                f"alert {want.display_name!r} of {synthesized} has no usable evaluation ({type(exc).__name__}: {exc})"
            ) from None
    return specs


def alert_message(outcome: AlertOutcome, env: Environment, model: Model, report_path: str | None = None) -> dict[str, Any]:
    """The notification of a fired alert: the alert's own query rows (which name the windows
    and features), plus a readable `text` for Slack/Teams-style incoming webhooks."""
    rows = outcome.rows
    windows = sorted({r[WINDOW_START] for r in rows if r.get(WINDOW_START)})
    features = sorted({r[FEATURE] for r in rows if r.get(FEATURE)})
    if features:
        lines = [f"- {r[WINDOW_START]} {r[FEATURE]}: {r[STATISTIC]} {r[VALUE]:.4g} "
                 f"(adjusted {r[ADJUSTED]:.4g}) >= {r[THRESHOLD]:g}, p={r[PVALUE]:.2g}, {r[ROW_COUNT]} rows"
                 for r in rows if r.get(FEATURE)]
        head = f"drift in model {model.name} (env {env.name}): features {', '.join(features)}"
    else:
        lines = [f"- {r[WINDOW_START]} {r.get(METRIC)}: {r.get(VALUE)} < {r.get(THRESHOLD)}, "
                 f"{r.get(LABELLED_ROWS)} labelled rows" for r in rows]
        head = f"model quality of {model.name} (env {env.name}) below the threshold"
    return {
        "source": "lakemon alert",
        "alert": outcome.spec.display_name,
        "env": env.name,
        "model": model.name,
        "windows": windows,
        "features": features,
        "rows": rows,
        "report": report_path,
        "text": f"lakemon: {head} in {len(windows)} window(s)\n" + "\n".join(lines),
    }


def _session(retries: int, backoff: float) -> requests.Session:
    retry = Retry(
        total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"POST"}), raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _post(session: requests.Session, url: str, message: dict, timeout: float) -> tuple[bool, str]:
    try:
        response = session.post(url, json=message, timeout=timeout)
    except requests.RequestException as exc:
        return False, f"{url}: {type(exc).__name__}: {exc}"
    if response.ok:
        return True, f"{url}: HTTP {response.status_code}"
    return False, f"{url}: HTTP {response.status_code} after retries"


def _write_email(dest: EmailDestination, message: dict, outbox: Path) -> str:
    mail = EmailMessage()
    mail["To"] = ", ".join(dest.addresses)
    mail["From"] = "lakemon@localhost"
    mail["Subject"] = f"[lakemon] {message['alert']}: {', '.join(message['features']) or 'see the message'}"
    mail.set_content(message["text"] + "\n")
    mail.add_attachment(json.dumps(message, indent=2).encode(), maintype="application", subtype="json",
                        filename="drift.json")
    outbox.mkdir(parents=True, exist_ok=True)
    # A destination name is free text ("ml/platform"); the file name keeps only safe characters.
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", dest.name).strip("._") or "destination"
    path = outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}_{safe[:80]}.eml"
    path.write_bytes(bytes(mail))
    return str(path)


def deliver(
    message: dict[str, Any],
    env: Environment,
    *,
    outbox_dir: str | Path,
    timeout: float = 5.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> list[Delivery]:
    """Send one message to every configured destination (local_url webhooks, email outbox)."""
    results = []
    with _session(retries, backoff) as session:
        for dest in env.alerts.destinations:
            if isinstance(dest, EmailDestination):
                try:  # one destination failing never stops the others
                    results.append(Delivery(dest.name, dest.type, True, _write_email(dest, message, Path(outbox_dir))))
                except OSError as exc:
                    results.append(Delivery(dest.name, dest.type, False, f"outbox {outbox_dir}: {exc.strerror or exc}"))
            elif dest.local_url:
                ok, detail = _post(session, dest.local_url, message, timeout)
                results.append(Delivery(dest.name, dest.type, ok, detail))
            else:
                results.append(Delivery(dest.name, dest.type, False,
                                        "skipped: no local_url (on Databricks the SQL alert notifies this destination)"))
    return results


def fire_local_alerts(
    engine,
    env: Environment,
    model: Model,
    *,
    outbox_dir: str | Path,
    synthesized: Path | None = None,
    report_path: str | None = None,
    **delivery: Any,
) -> list[tuple[AlertOutcome, list[Delivery]]]:
    """Evaluate every alert of the model on the local tables; notify the destinations of those
    that fire. Returns each alert's outcome with its deliveries ([] when it did not fire)."""
    out = []
    for spec in local_alert_specs(env, model, synthesized):
        outcome = evaluate_alert(engine, spec)
        deliveries = (
            deliver(alert_message(outcome, env, model, report_path), env, outbox_dir=outbox_dir, **delivery)
            if outcome.fired else []
        )
        out.append((outcome, deliveries))
    return out
