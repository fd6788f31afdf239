"""The local alert destination: a loopback webhook receiver the run starts and stops.

It stands in for the generic-webhook notification destination of the env (`local_url` in
envs/dev.yml). Every POST is recorded in memory and appended to a JSON-lines file, so the run
can report what arrived and a user can read the alerts afterwards.

Port policy: the receiver listens on the port of `local_url`. If that port is busy, the run
fails with a clear message instead of silently moving: analyze-drift reads the destination URL
from the same env file, so an alert sent to a port we did not bind would go to a stranger.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from .loopback import BodyRejected, LoopbackHandler, LoopbackServer, read_body
from .processes import port_is_free

MAX_ALERT_BYTES = 1 << 20
"""An alert is a few kB of JSON; a larger body is answered 413 and not kept."""
MAX_KEPT_ALERTS = 1000
"""Alerts kept (in memory and in the record file) per receiver; later ones are answered 503 and
counted in `refused`. A run sends a handful; a flood must not grow memory without bound."""


@dataclass(frozen=True)
class ReceivedAlert:
    path: str
    received_at: str
    body: object
    """The JSON body, or the raw text when it was not JSON."""


class _Handler(LoopbackHandler):
    server_version = "lakemon-webhook/1"

    def do_POST(self) -> None:  # noqa: N802 (stdlib handler naming)
        receiver: WebhookReceiver = self.server.owner.receiver
        try:
            raw = read_body(self, MAX_ALERT_BYTES).decode("utf-8", errors="replace")
        except BodyRejected:
            return
        try:
            body: object = json.loads(raw)
        except json.JSONDecodeError:
            body = raw
        if self.path.split("?")[0] != receiver.path:
            self.send_response(404)
            self.end_headers()
            return
        if not receiver._record(ReceivedAlert(self.path, datetime.now(UTC).isoformat(), body)):
            self.close_connection = True
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            return
        payload = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # silence per-request stderr lines
        pass


class WebhookReceiver:
    """Context manager: receive webhook POSTs at `url` (a loopback http URL) until exit."""

    def __init__(self, url: str, *, record_file: Path | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"webhook receiver only listens on loopback http URLs, not {url!r}")
        self.url = url
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.record_file = record_file
        self._alerts: list[ReceivedAlert] = []
        self.refused = 0
        """POSTs answered 503: over MAX_KEPT_ALERTS, or arriving after the receiver stopped."""
        self._open = False
        self._lock = threading.Lock()
        self._server = LoopbackServer(_Handler, port=self.port, name="webhook receiver")
        self._server.receiver = self  # type: ignore[attr-defined]

    def __enter__(self) -> WebhookReceiver:
        if not port_is_free(self.port):
            raise RuntimeError(
                f"the local alert destination {self.url} cannot be started: port {self.port} is in use. "
                "Stop the process listening there (e.g. a previous run: `ss -ltnp | grep "
                f":{self.port}`), or set another local_url for the webhook destination in the env file."
            )
        self._server.start()
        self._open = True
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._open = False  # a handler still running keeps nothing from now on
        self._server.stop()

    def _record(self, alert: ReceivedAlert) -> bool:
        """Keep the alert; False (not kept) once stopped or full."""
        with self._lock:
            if not self._open or len(self._alerts) >= MAX_KEPT_ALERTS:
                self.refused += 1
                return False
            self._alerts.append(alert)
            if self.record_file is not None:
                self.record_file.parent.mkdir(parents=True, exist_ok=True)
                with open(self.record_file, "a", encoding="utf-8") as out:
                    out.write(json.dumps(alert.__dict__) + "\n")
            return True

    @property
    def alerts(self) -> list[ReceivedAlert]:
        with self._lock:
            return list(self._alerts)
