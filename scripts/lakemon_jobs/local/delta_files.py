"""When a local Delta table's snapshot can be read as plain Parquet files.

DuckDB's own `read_parquet` streams a table's files (a row group at a time, on every core);
a pyarrow dataset handed to DuckDB is converted batch by batch into DuckDB vectors, and its
scan reads whole column chunks ahead: at 3M inference rows, hashing every column took 4.2 CPU s
and 1.2 GB that way against 0.3 CPU s and 0.3 GB with `read_parquet` (docs/monitoring.md,
"Job benchmark"). Reading the files directly is only right when Delta applies nothing on top
of them, which this module decides, kept apart from the table engine so the monitor engine can
use it without importing pandas and SQLGlot.
"""

from __future__ import annotations

from deltalake import DeltaTable

NOT_PLAIN_READER_FEATURES = ("deletionVectors", "columnMapping", "typeWidening", "typeWidening-preview")
"""Reader features under which a file's rows or values are not the table's: deleted rows,
physical column names, column types widened after the file was written (the Delta protocol,
github.com/delta-io/delta PROTOCOL.md, sections "Deletion Vectors", "Column Mapping" and
"Type Widening"; the preview name is the one Delta 3.2 wrote)."""


def plain_parquet_files(table: DeltaTable) -> list[str] | None:
    """The table's current data files when reading them as plain Parquet gives exactly its rows
    (no partition columns, column mapping, deletion vectors or widened types, all of which
    Delta applies on top of the files), else None."""
    metadata, protocol = table.metadata(), table.protocol()
    if metadata.partition_columns or metadata.configuration.get("delta.columnMapping.mode", "none") != "none":
        return None
    if any(f in (protocol.reader_features or []) for f in NOT_PLAIN_READER_FEATURES):
        return None
    return list(table.file_uris()) or None


def read_parquet_view_sql(view: str, files: list[str], columns: list[str]) -> str:
    """DuckDB SQL making temp view `view` of these columns over `files` with DuckDB's own
    `read_parquet` (columns matched by name, files in the order given): the one statement the
    table engine's snapshots and the monitor's scans both use."""
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    quoted = '"' + view.replace('"', '""') + '"'
    return f"CREATE OR REPLACE TEMP VIEW {quoted} AS SELECT {names} FROM read_parquet([{listed}], union_by_name = true)"
