"""Buffered writer of the local AI-gateway payload table (a Delta table, PAYLOAD_SCHEMA).

The logging layer records one row per request from many handler threads. Writing a Delta commit
per request would make thousands of tiny files and commits; the writer buffers rows and appends
them in batches (every `batch_rows` rows, and on flush/close), one Delta commit per batch.
Rows are validated against PAYLOAD_SCHEMA when the batch is built, so a wrong type fails loudly
in the layer instead of corrupting the table unpack reads. The table is created with change data
feed on, like the AI gateway's (unpack reads the rows inserted since its last run from the feed).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from ..payload_table import PAYLOAD_SCHEMA, PAYLOAD_TABLE_PROPERTIES


class PayloadLog:
    """Append payload rows (dicts with the PAYLOAD_SCHEMA columns) to the Delta table at `path`."""

    def __init__(self, path: Path, *, batch_rows: int = 200) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self._buffer: list[dict] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.rows_written = 0

    def append(self, row: dict) -> None:
        """Buffer one row; a row that does not fit PAYLOAD_SCHEMA fails here, alone, instead of
        making every later batch fail."""
        pa.Table.from_pylist([row], schema=PAYLOAD_SCHEMA)
        with self._lock:
            self._buffer.append(row)
            full = len(self._buffer) >= self.batch_rows
        if full:
            self.flush()

    def flush(self) -> int:
        """Write the buffered rows as one Delta commit; return how many were written."""
        with self._write_lock:  # one writer at a time: Delta commits on a local path are serialized
            with self._lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return 0
            try:
                batch = pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                # configuration only applies when this append creates the table
                write_deltalake(str(self.path), batch, mode="append", configuration=PAYLOAD_TABLE_PROPERTIES)
            except Exception:
                with self._lock:  # keep the rows: a later flush may succeed; never drop logs silently
                    self._buffer[:0] = rows
                raise
            self.rows_written += len(rows)
            return len(rows)

    def close(self) -> None:
        self.flush()
