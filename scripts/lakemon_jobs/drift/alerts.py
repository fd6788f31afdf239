"""Alert the configured destinations when a report found drift (the embedded default).

On Databricks the stack's SQL alerts (databricks_alert_v2 on the drift metrics table) notify
the destinations, with their secrets from sensitive Terraform variables; analyze-drift only
reports there. Locally:
- webhook, slack, microsoft_teams, pagerduty destinations with a `local_url` get one JSON POST
  (requests + urllib3 Retry: retried with backoff on connection errors and 429/5xx, with a
  timeout on every try). A destination that stays down is reported in the result, not raised.
  Destinations without `local_url` are skipped (reported as such).
- email destinations: the message is written as an .eml file to `<reports>/outbox/` (no SMTP
  server on a laptop or CI; any mail client opens it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lakemon.config.model import EmailDestination, Environment

from .verdicts import DriftReport

RETRY_STATUSES = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Delivery:
    destination: str
    type: str
    delivered: bool
    detail: str
    """Where it went (URL or file), or why it did not."""


def alert_message(report: DriftReport, report_path: str | None = None) -> dict[str, Any]:
    """The alert payload: names model, env, windows, features, statistics and values.
    `text` makes it readable as is by Slack/Teams-style incoming webhooks."""
    drifts = [
        {
            "granularity": j.granularity,
            "window_start": j.window_start.isoformat(),
            "window_end": j.window_end.isoformat(),
            "feature": j.feature,
            "statistic": j.statistic,
            "value": j.value,
            "adjusted": j.adjusted,
            "threshold": j.threshold,
            "pvalue": j.pvalue,
            "count": j.count,
        }
        for j in report.drifted
    ]
    windows = sorted({d["window_start"] for d in drifts})
    lines = [f"- {d['window_start']} {d['feature']}: {d['statistic']} {d['value']:.4g} "
             f"(adjusted {d['adjusted']:.4g}) >= {d['threshold']:g}, p={d['pvalue']:.2g}, {d['count']} rows"
             for d in drifts]
    text = (f"lakemon: drift in model {report.model} (env {report.env}): features "
            f"{', '.join(report.drifted_features)} in {len(windows)} window(s)\n" + "\n".join(lines))
    return {
        "source": "lakemon analyze-drift",
        "env": report.env,
        "model": report.model,
        "status": report.status,
        "windows": windows,
        "features": report.drifted_features,
        "drifts": drifts,
        "report": report_path,
        "text": text,
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
    mail["Subject"] = f"[lakemon] drift in {message['model']} ({message['env']}): {', '.join(message['features'])}"
    mail.set_content(message["text"] + "\n")
    mail.add_attachment(json.dumps(message, indent=2).encode(), maintype="application", subtype="json",
                        filename="drift.json")
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}_{dest.name}.eml"
    path.write_bytes(bytes(mail))
    return str(path)


def send_alerts(
    report: DriftReport,
    env: Environment,
    *,
    outbox_dir: str | Path | None = None,
    report_path: str | None = None,
    timeout: float = 5.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> list[Delivery]:
    """One message per configured destination when the report found drift; [] otherwise.
    `outbox_dir`: where email messages go (default: `<LocalRuntime reports>/outbox`)."""
    if not report.drifted:
        return []
    message = alert_message(report, report_path)
    if outbox_dir is None:
        from ..runtime import LocalRuntime

        outbox_dir = LocalRuntime.from_env().reports_dir / "outbox"
    results = []
    with _session(retries, backoff) as session:
        for dest in env.alerts.destinations:
            if isinstance(dest, EmailDestination):
                results.append(Delivery(dest.name, dest.type, True, _write_email(dest, message, Path(outbox_dir))))
            elif dest.local_url:
                ok, detail = _post(session, dest.local_url, message, timeout)
                results.append(Delivery(dest.name, dest.type, ok, detail))
            else:
                results.append(Delivery(dest.name, dest.type, False,
                                        "skipped: no local_url (on Databricks the SQL alert notifies this destination)"))
    return results
