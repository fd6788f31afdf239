"""The logging layer: what the AI gateway does in front of a Databricks serving endpoint.

Clients call `POST /serving-endpoints/<endpoint>/invocations` (or `/invocations`) here; the
layer forwards the body to the local MLflow scoring server and, for every request it forwards,
appends one row with the AI-gateway payload schema to the payload table:

- `databricks_request_id`: a fresh UUID (also returned in the `x-request-id` response header);
- `client_request_id`: the request JSON's top-level `client_request_id`, which is removed from
  the body before forwarding, as Databricks does (the model never sees it);
- `request`: the body as forwarded; `response`: the scoring server's body; both left null with a
  `logging_error_codes` entry when over 10 MiB, as Databricks does;
- `status_code`: the scoring server's status, so 4xx/5xx are logged too (503 when it is down);
- `request_time`/`request_date`: now, or the rehearsal clock (below);
- `sampling_fraction` 1.0, `execution_duration_ms`, `served_entity_id`, `requester` (OS user).

The rehearsal clock: a request may carry `X-Lakemon-Request-Time: <ISO-8601>` to set its
`request_time` (naive times are UTC). Only this embedded layer honours it; it is how the
rehearsal spreads traffic over simulated days so that the monitor's daily windows fill.
"""

from __future__ import annotations

import getpass
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from lakemon.contract.payload import REQUEST, REQUEST_TIME, RESPONSE, SERVED_ENTITY_ID, STATUS_CODE
from lakemon.contract.tables import CLIENT_REQUEST_ID, REQUEST_ID

from .loopback import BodyRejected, LoopbackHandler, LoopbackServer, read_body
from .payload_log import PayloadLog, PayloadLogError

REQUEST_TIME_HEADER = "X-Lakemon-Request-Time"
MAX_LOGGED_BYTES = 10 * 1024 * 1024
"""Payloads over 10 MiB are not logged (their column is null and an error code says why)."""
MAX_REQUEST_BYTES = 16 * 1024 * 1024
"""Larger requests are answered 413 without being read. Databricks Model Serving's limit is
16 MB per request ("Model Serving limits and regions", Azure Databricks docs,
https://learn.microsoft.com/azure/databricks/machine-learning/model-serving/model-serving-limits)."""


class BadRequestTime(ValueError):
    pass


def parse_request_time(value: str | None) -> datetime:
    """The request time: the rehearsal clock header if given (naive = UTC), else now (UTC)."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadRequestTime(f"{REQUEST_TIME_HEADER} must be an ISO-8601 date-time, got {value[:80]!r}") from exc
    try:  # 9999-12-31T23:59:59-05:00 is past the last UTC instant Python can hold
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        raise BadRequestTime(f"{REQUEST_TIME_HEADER} {value[:80]!r} is outside the years 1-9999 in UTC") from None


def strip_client_request_id(body: bytes) -> tuple[str | None, bytes]:
    """Split the body into (client_request_id, body to forward).

    Only a JSON object's top-level `client_request_id` is taken; anything else (not JSON, not an
    object) is forwarded unchanged and the scoring server decides what it makes of it.
    """
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):  # too deep: forwarded as is
        return None, body
    if not isinstance(parsed, dict) or CLIENT_REQUEST_ID not in parsed:
        return None, body
    client_id = parsed.pop(CLIENT_REQUEST_ID)
    if client_id is None:
        return None, json.dumps(parsed).encode()
    # a lone surrogate ("\ud800") is not UTF-8 and could not be logged: keep it as its escape
    client_text = str(client_id).encode("utf-8", "backslashreplace").decode("utf-8")
    return client_text, json.dumps(parsed).encode()


@dataclass(frozen=True)
class Upstream:
    """Where requests go and what the log says served them."""

    scoring_url: str
    """Base URL of the MLflow scoring server, e.g. http://127.0.0.1:5001."""
    endpoint: str
    served_entity_id: str
    timeout_s: float = 60.0


class _Handler(LoopbackHandler):
    server_version = "lakemon-gateway/1"
    protocol_version = "HTTP/1.1"  # keep-alive: the traffic generator reuses connections

    def do_GET(self) -> None:  # noqa: N802
        layer: LoggingLayer = self.server.owner.layer
        if self.path.split("?")[0] in ("/ping", "/health"):
            try:
                upstream = layer._session().get(f"{layer.upstream.scoring_url}/ping", timeout=5)
                self._reply(upstream.status_code, upstream.content, upstream.headers.get("Content-Type"))
            except requests.RequestException as exc:
                self._reply_json(503, {"error_code": "SERVICE_UNAVAILABLE", "message": str(exc)})
            return
        self._reply_json(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no route {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        layer: LoggingLayer = self.server.owner.layer
        try:
            body = read_body(self, MAX_REQUEST_BYTES)
        except BodyRejected:
            return
        if self.path.split("?")[0] not in layer.routes:
            self._reply_json(
                404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no endpoint at {self.path}"}
            )
            return
        try:
            request_time = parse_request_time(self.headers.get(REQUEST_TIME_HEADER))
        except BadRequestTime as exc:
            self._reply_json(400, {"error_code": "BAD_REQUEST", "message": str(exc)})
            return
        status, content, content_type, request_id = layer.forward(
            body, self.headers.get("Content-Type") or "application/json", request_time
        )
        self._reply(status, content, content_type, {"x-request-id": request_id})

    def _reply_json(self, status: int, payload: dict) -> None:
        self._reply(status, json.dumps(payload).encode(), "application/json")

    def _reply(
        self, status: int, content: bytes, content_type: str | None, extra: dict | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(content)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:  # the payload table is the log
        pass


class LoggingLayer:
    """Context manager: the gateway on a loopback port; flushes the payload log on exit."""

    def __init__(self, upstream: Upstream, payload_log: PayloadLog, *, port: int = 0) -> None:
        self.upstream = upstream
        self.payload_log = payload_log
        self.routes = (f"/serving-endpoints/{upstream.endpoint}/invocations", "/invocations")
        self.requester = getpass.getuser()
        self._local = threading.local()
        self._server = LoopbackServer(_Handler, port=port, name="logging layer")
        self._server.layer = self  # type: ignore[attr-defined]

    def __enter__(self) -> LoggingLayer:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._server.stop()
        finally:
            try:
                self.payload_log.close()
            except PayloadLogError as error:  # said in one line; the run already failed or reports it
                print(f"logging layer: {error}", file=sys.stderr)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def invocations_url(self) -> str:
        """The endpoint's URL as a Databricks client would call it."""
        return f"{self._server.base_url}/serving-endpoints/{self.upstream.endpoint}/invocations"

    def _session(self) -> requests.Session:
        """One requests.Session per handler thread (Session is not documented as thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def forward(self, body: bytes, content_type: str, request_time: datetime) -> tuple[int, bytes, str, str]:
        """Forward one request, log it, return (status, body, content type, databricks_request_id)."""
        request_id = str(uuid.uuid4())
        if not self.payload_log.accepting():  # the payload table cannot be written and the buffer is full
            message = f"the payload log cannot be written ({self.payload_log.last_error}); request not served"
            return 503, json.dumps({"error_code": "SERVICE_UNAVAILABLE", "message": message}).encode(), "application/json", request_id
        client_request_id, forwarded = strip_client_request_id(body)
        started = time.perf_counter()
        try:
            upstream = self._session().post(
                f"{self.upstream.scoring_url}/invocations",
                data=forwarded,
                headers={"Content-Type": content_type},
                timeout=self.upstream.timeout_s,
            )
            status, content = upstream.status_code, upstream.content
            out_type = upstream.headers.get("Content-Type") or "application/json"
        except requests.RequestException as exc:
            status, out_type = 503, "application/json"
            content = json.dumps(
                {"error_code": "SERVICE_UNAVAILABLE", "message": f"scoring server: {exc}"}
            ).encode()
        duration_ms = int(round((time.perf_counter() - started) * 1000))
        errors: list[str] = []
        logged_request = _loggable(forwarded, "MAX_REQUEST_SIZE_EXCEEDED", errors)
        logged_response = _loggable(content, "MAX_RESPONSE_SIZE_EXCEEDED", errors)
        row = {
            REQUEST_ID: request_id,
            CLIENT_REQUEST_ID: client_request_id,
            "request_date": request_time.date(),
            REQUEST_TIME: request_time,
            STATUS_CODE: status,
            "sampling_fraction": 1.0,
            "execution_duration_ms": duration_ms,
            REQUEST: logged_request,
            RESPONSE: logged_response,
            "logging_error_codes": errors,
            SERVED_ENTITY_ID: self.upstream.served_entity_id,
            "requester": self.requester,
        }
        try:
            self.payload_log.append(row)
        except Exception as exc:  # noqa: BLE001 - a row that cannot be logged must not cost the client its answer
            print(f"logging layer: request {request_id} was answered but not logged: {type(exc).__name__}: "
                  f"{' '.join(str(exc).split())[:200]}", file=sys.stderr)
        return status, content, out_type, request_id


def _loggable(content: bytes, error_code: str, errors: list[str]) -> str | None:
    if len(content) > MAX_LOGGED_BYTES:
        errors.append(error_code)
        return None
    return content.decode("utf-8", errors="replace")
