"""A loopback stand-in for MLflow's scoring server, shared by the logging-layer and unpack tests
(imported explicitly: pyproject's pytest `pythonpath` puts tests/shared on the path)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from lakemon_jobs.embedded.loopback import LoopbackServer

PREDICTION = {"prediction": 1, "prediction_proba": 0.9}
"""What it predicts for every row."""


class FakeScoring(BaseHTTPRequestHandler):
    """Answers 200 with one PREDICTION per `dataframe_records` row whatever the values (as a
    lenient scoring server answers 200 to a poison pill), 500 to a body with "boom", 400 to
    anything else (not JSON, too deeply nested, no dataframe_records). `received` records the
    bodies it could parse."""

    received: list = []

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            body = json.loads(raw)
            FakeScoring.received.append(body)
            if "boom" in body:
                status, out = 500, {"error_code": "INTERNAL_ERROR", "message": "boom"}
            else:
                status, out = 200, {"predictions": [PREDICTION] * len(body["dataframe_records"])}
        except (ValueError, KeyError, TypeError, RecursionError):
            status, out = 400, {"error_code": "BAD_REQUEST", "message": "not dataframe_records"}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_scoring_server() -> Iterator[LoopbackServer]:
    """A running FakeScoring on a free loopback port, with `received` emptied first."""
    FakeScoring.received = []
    with LoopbackServer(FakeScoring, name="fake scoring") as server:
        yield server
