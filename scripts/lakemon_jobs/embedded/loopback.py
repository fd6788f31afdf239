"""A loopback HTTP server running in a background thread, stopped for sure on exit.

Both in-process servers of the embedded run (the logging layer and the webhook receiver) use the
standard library's ThreadingHTTPServer. Why not starlette/uvicorn: these servers route two
paths and forward bytes; the stdlib server binds synchronously (port 0 gives a free port we can
read back at once), `shutdown()` + `server_close()` stop it deterministically and release the
port before the `with` block ends, and there is no event loop to drive from a thread.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class BodyRejected(Exception):
    """The request body was refused; the answer (400 or 413) has already been sent."""


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
        return b""
    if not raw.strip().isdigit():
        _refuse(handler, 400, f"Content-Length {raw[:40]!r} is not a non-negative integer")
    length = int(raw)
    if length > limit:
        _refuse(handler, 413, f"body of {length} bytes is over the limit of {limit} bytes")
    return handler.rfile.read(length)


def _refuse(handler: BaseHTTPRequestHandler, status: int, message: str) -> None:
    content = json.dumps({"error_code": "BAD_REQUEST" if status == 400 else "REQUEST_TOO_LARGE", "message": message})
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
