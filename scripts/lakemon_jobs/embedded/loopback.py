"""A loopback HTTP server running in a background thread, stopped for sure on exit.

Both in-process servers of the embedded run (the logging layer and the webhook receiver) use the
standard library's ThreadingHTTPServer. Why not starlette/uvicorn: these servers route two
paths and forward bytes; the stdlib server binds synchronously (port 0 gives a free port we can
read back at once), `shutdown()` + `server_close()` stop it deterministically and release the
port before the `with` block ends, and there is no event loop to drive from a thread.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDLE_TIMEOUT_S = 30.0
"""A connection that sends nothing for this long is closed (its handler thread ends): 200 idle
connections held 200 threads for ever. Generous next to the traffic generator's gaps."""


class BodyRejected(Exception):
    """The request body was refused; the answer (400, 411 or 413) has already been sent, or the
    request was incomplete and the connection is closed without one."""


class _LineTracker:
    """rfile as parse_headers reads it, remembering the last line: b"" means the client hung up
    before the blank line that ends the headers."""

    def __init__(self, raw) -> None:
        self.raw, self.last = raw, b"\r\n"

    def readline(self, *args):
        self.last = self.raw.readline(*args)
        return self.last

    def __getattr__(self, name):
        return getattr(self.raw, name)


class LoopbackHandler(BaseHTTPRequestHandler):
    """The loopback servers' handler base: idle connections time out (`timeout`, the socket
    timeout StreamRequestHandler sets), and a request whose headers end because the client hung
    up is dropped (connection closed, no answer, nothing recorded) instead of being handled as a
    request without the rest of its headers."""

    timeout = IDLE_TIMEOUT_S

    def parse_request(self) -> bool:
        raw = self.rfile
        self.rfile = tracker = _LineTracker(raw)
        try:
            ok = super().parse_request()
        finally:
            self.rfile = raw
        if ok and tracker.last == b"":
            self.close_connection = True
            return False
        return ok


def read_body(handler: BaseHTTPRequestHandler, limit: int) -> bytes:
    """The request body, or BodyRejected after answering 400 (a Content-Length that is not a
    non-negative integer, or a chunked body) or 413 (more than `limit` bytes).

    Both loopback servers read bodies through this, so neither waits forever on a body that
    never comes nor holds a 200 MB body in memory. The connection is closed after a refusal:
    the unread body would otherwise be taken for the next request.
    """
    raw = handler.headers.get("Content-Length")
    if handler.headers.get("Transfer-Encoding"):
        _refuse(handler, 400, "chunked bodies are not accepted; send Content-Length")
    if raw is None or raw.strip() == "":
        _refuse(handler, 411, "a POST needs a Content-Length header")
    if not raw.strip().isdigit():
        _refuse(handler, 400, f"Content-Length {raw[:40]!r} is not a non-negative integer")
    length = int(raw)
    if length > limit:
        _refuse(handler, 413, f"body of {length} bytes is over the limit of {limit} bytes")
    try:
        body = handler.rfile.read(length)
    except TimeoutError:  # the client stopped sending half-way: socket timeout
        body = b""
    if len(body) != length:  # the client hung up (or went idle) before the whole body came
        handler.close_connection = True
        raise BodyRejected(f"incomplete body: {len(body)} of {length} bytes")
    return body


def _refuse(handler: BaseHTTPRequestHandler, status: int, message: str) -> None:
    code = {400: "BAD_REQUEST", 411: "LENGTH_REQUIRED", 413: "REQUEST_TOO_LARGE"}[status]
    content = json.dumps({"error_code": code, "message": message})
    handler.close_connection = True
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(content)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(content.encode())
    raise BodyRejected(message)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client connection never blocks interpreter exit
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up or went idle is not an error worth a stack trace on stderr
        (the connection is closed either way); anything else still prints one."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Context manager: serve `handler` on 127.0.0.1:`port` (0 = any free port) until exit."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, port: int = 0, name: str = "server") -> None:
        self.handler = handler
        self.requested_port = port
        self.name = name
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __enter__(self) -> LoopbackServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        try:
            self._server = _Server(("127.0.0.1", self.requested_port), self.handler)
        except OSError as exc:
            raise RuntimeError(
                f"{self.name}: cannot listen on 127.0.0.1:{self.requested_port} ({exc.strerror}); "
                "is another process using that port?"
            ) from exc
        self._port = self._server.server_address[1]
        self._server.owner = self  # handlers reach their owner as self.server.owner
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The bound port (still known after stop, for the closing summary)."""
        if self._port is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
