"""Buffered writer of the local AI-gateway payload table (a Delta table, PAYLOAD_SCHEMA).

The logging layer records one row per request from many handler threads. Writing a Delta commit
per request would make thousands of tiny files and commits; the writer buffers rows and appends
them in batches (every `batch_rows` rows, and on flush/close), one Delta commit per batch.
Rows are validated against PAYLOAD_SCHEMA when the batch is built, so a wrong type fails loudly
in the layer instead of corrupting the table unpack reads. The table is created with change data
feed on, like the AI gateway's (unpack reads the rows inserted since its last run from the feed).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakemon.contract.payload import PAYLOAD_TABLE_PROPERTIES, REQUEST, RESPONSE

from ..payload_table import PAYLOAD_SCHEMA

BATCH_BYTES = 32 << 20
"""A batch is also written once its request and response texts reach this size: 30 buffered
9.5 MiB requests grew the layer by 419 MB before; memory now stays near one batch."""


MAX_BUFFER_BYTES = 4 * BATCH_BYTES
"""While batches cannot be written, at most this much request/response text waits in memory;
beyond it the layer answers new requests 503 instead of growing (nothing is dropped unsaid)."""


class PayloadLogError(RuntimeError):
    """Buffered rows could not be written to the payload table (said once, in one line)."""


class PayloadLog:
    """Append payload rows (dicts with the PAYLOAD_SCHEMA columns) to the Delta table at `path`."""

    def __init__(self, path: Path, *, batch_rows: int = 200, batch_bytes: int = BATCH_BYTES) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._buffer: list[dict] = []
        self._buffered_bytes = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.rows_written = 0
        self.failed_writes = 0
        self.last_error: str | None = None

    def append(self, row: dict) -> None:
        """Buffer one row; a row that does not fit PAYLOAD_SCHEMA fails here, alone, instead of
        making every later batch fail. A batch that cannot be written (a read-only or full
        disk) keeps its rows for the next attempt and is reported in one line on stderr the
        first time, not raised into every request's handler (122 stack traces before)."""
        pa.Table.from_pylist([row], schema=PAYLOAD_SCHEMA)
        size = sum(len(row.get(k) or "") for k in (REQUEST, RESPONSE))
        with self._lock:
            self._buffer.append(row)
            self._buffered_bytes += size
            full = len(self._buffer) >= self.batch_rows or self._buffered_bytes >= self.batch_bytes
        if full:
            try:
                self.flush()
            except PayloadLogError as exc:
                if self.failed_writes == 1:
                    print(f"logging layer: {exc}; the rows stay buffered and are retried", file=sys.stderr)

    def accepting(self) -> bool:
        """False while the last write failed and the buffer is over MAX_BUFFER_BYTES: the caller
        refuses the request (it would be neither logged nor bounded)."""
        with self._lock:
            return not (self.last_error and self._buffered_bytes >= MAX_BUFFER_BYTES)

    def flush(self) -> int:
        """Write the buffered rows as one Delta commit; return how many were written."""
        with self._write_lock:  # one writer at a time: Delta commits on a local path are serialized
            with self._lock:
                rows, self._buffer = self._buffer, []
                size, self._buffered_bytes = self._buffered_bytes, 0
            if not rows:
                return 0
            try:
                batch = pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # configuration only applies when this append creates the table
                write_deltalake(str(self.path), batch, mode="append", configuration=PAYLOAD_TABLE_PROPERTIES)
            except Exception as exc:
                with self._lock:  # keep the rows: a later flush may succeed; never drop logs silently
                    self._buffer[:0] = rows
                    self._buffered_bytes += size
                self.failed_writes += 1
                self.last_error = " ".join(str(exc).split())[:300] or type(exc).__name__
                raise PayloadLogError(
                    f"cannot append {len(rows)} row(s) to the payload table {self.path}: {type(exc).__name__}: "
                    f"{self.last_error}"
                ) from None
            self.rows_written += len(rows)
            self.last_error = None
            return len(rows)

    def close(self) -> None:
        self.flush()
