"""A damaged local Delta table is one line, never a traceback or a silently different result.

Two checks, both on the embedded default's Delta tables:

1. **Versions never go backwards.** Delta calls a table whose newest commit file was removed
   simply the previous version (a reader cannot tell), so rows written by lakemon would vanish
   without a word. Every time lakemon opens a table it records the (Delta table id, version) it
   saw in `<table>/_lakemon/version.json` (a folder Delta ignores: names starting with `_` are
   not data, and VACUUM leaves them alone), and refuses a table of the same id at a lower version.
   A table re-created with a new id starts a new record. Delta's own RESTORE writes a *new*
   commit, so restoring never trips this check.
2. **Storage errors are one line** naming the table, its version and how to recover: a log that
   cannot be parsed (truncated, garbled, a gap in the versions), a data file that cannot be read
   (truncated, or a flipped byte that breaks decompression or the Parquet encoding).

What cannot be detected (docs/reliability.md, "A damaged table"): a flipped byte that still
decodes, e.g. inside a Snappy literal run of an uncompressed value, gives a different value.
Parquet page checksums would catch it, but the table writer (deltalake 1.6, delta-rs on the
Rust parquet crate) writes none: its `WriterProperties` has no such option, and the Rust reader
verifies page CRCs only when built with its non-default `crc` feature (apache/arrow-rs #6290).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, TypeVar

import pyarrow as pa

from ..errors import EXIT_FAILED
from .engine import TableError

RECORD = Path("_lakemon") / "version.json"
T = TypeVar("T")


class TableDamaged(TableError):
    """A table's log or data cannot be read, or its version went backwards (exit 1: the table
    must be restored, the config is not at fault)."""

    exit_code: ClassVar[int] = EXIT_FAILED


def record_path(table_path: str | Path) -> Path:
    return Path(table_path) / RECORD


def check_version(table_path: str | Path, name: str, table_id: str, version: int) -> None:
    """Refuse (TableDamaged) a table whose version is lower than the one lakemon last saw of the
    same table id; otherwise record this version as the newest seen (never lowering it)."""
    path = record_path(table_path)
    seen = _read(path)
    if seen.get("table_id") == table_id and isinstance(seen.get("version"), int):
        if version < seen["version"]:
            raise TableDamaged(
                f"table {name} is at version {version}, but lakemon already saw version {seen['version']} of it: "
                f"its newest commit(s) in _delta_log were removed or the table was rolled back outside lakemon, "
                f"so rows would be missing without a word. Restore the missing _delta_log files from a backup; "
                f"if the rollback was intended, delete {path} and run again"
            )
        if version == seen["version"]:
            return
    _write(path, {"table_id": table_id, "version": version})


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict) -> None:
    """Atomically, best effort: a read-only table folder must not stop a read (the record is a
    safety net, not the data)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass


def storage_errors() -> tuple[type[BaseException], ...]:
    """The exception types a damaged table surfaces as: deltalake's, Arrow's, DuckDB's, the OS's."""
    import duckdb  # lazy: the local engine's libraries, embedded default only
    from deltalake.exceptions import DeltaError  # lazy: the local engine's libraries, embedded default only

    return (DeltaError, pa.ArrowException, duckdb.Error, OSError)


def first_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


def damaged(name: str, version: int | None, exc: BaseException, doing: str) -> TableDamaged:
    at = f" (version {version})" if version is not None else ""
    return TableDamaged(
        f"{doing} table {name}{at} failed: {type(exc).__name__}: {first_line(exc)}. A file of the table may be "
        "damaged or unreadable: check the folder's permissions and free space, then restore the table to an "
        "earlier version (deltalake: DeltaTable(path).restore(version); Databricks: RESTORE TABLE) or from a backup"
    )


def guarded(name: str, version: int | None, doing: str, work: Callable[[], T]) -> T:
    """`work()`, with a storage error turned into TableDamaged naming the table."""
    try:
        return work()
    except TableError:
        raise
    except storage_errors() as exc:
        raise damaged(name, version, exc, doing) from None
