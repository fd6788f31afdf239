"""Where the engine reads its columns from, one column at a time.

The engine never needs a whole table in memory: it reads the timestamp, model-id and slicing
columns once, then each monitored column in turn (bounded memory: the peak is set by the largest
column pair, not by the table). A source is anything with `schema`, `num_rows`, `column_names`
and `column(name) -> pyarrow.ChunkedArray`:

- a `pyarrow.Table` already in memory (what `compute_metrics` takes);
- `ParquetColumns`: one Parquet file, each column read on demand (the benchmark);
- `DatasetColumns`: a `pyarrow.dataset.Dataset`, e.g. a local Delta table's files
  (`delta_columns`), each column read on demand (the refresh).

Every read of a source returns its rows in the same order (a file's row groups in order; a
dataset's fragments in listing order, each in order), so columns read one by one line up.

DuckDB scans a source (the refresh's row fingerprints, slicing expressions) with `scan_view`:
its own `read_parquet` over the source's files when they are plain Parquet in that same order
(`parquet_files`), which streams them on every core; else the Arrow object itself, which DuckDB
converts batch by batch (13x the CPU and 4x the memory for a whole-row hash of 3M rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from ..local.delta_files import plain_parquet_files, read_parquet_view_sql


class ColumnSource(Protocol):
    @property
    def schema(self) -> pa.Schema: ...

    @property
    def num_rows(self) -> int: ...

    @property
    def column_names(self) -> list[str]: ...

    def column(self, name: str) -> pa.ChunkedArray: ...


def text_column(source: ColumnSource, name: str) -> pa.ChunkedArray:
    """`source.text_column(name)` where the source has a cheaper read of text columns for
    encoding (possibly as dictionaries), else `source.column(name)`."""
    read = getattr(source, "text_column", None)
    return read(name) if read is not None else source.column(name)


def is_text(t: pa.DataType) -> bool:
    """String, large string, or a dictionary of them (strings read as dictionaries)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


class ParquetColumns:
    """One Parquet file, read a column at a time: Arrow's threads on every core, string columns
    as dictionaries (a categorical column never becomes a million Python or Arrow strings).
    `pyarrow.parquet.ParquetFile`, not `pyarrow.dataset`: the dataset module imports pandas
    (0.3 s) for nothing."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        with pq.ParquetFile(self.path) as pf:
            self._schema = pf.schema_arrow
            self._rows = pf.metadata.num_rows

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int:
        return self._rows

    @property
    def column_names(self) -> list[str]:
        return self._schema.names

    def column(self, name: str) -> pa.ChunkedArray:
        text = [name] if is_text(self._schema.field(name).type) else []
        # one ParquetFile per read: reads run in worker threads, a ParquetFile is not shared
        with pq.ParquetFile(self.path, read_dictionary=text) as pf:
            return pf.read(columns=[name], use_threads=True).column(0)

    def scannable(self):
        """What DuckDB scans (slicing expressions): the file as a dataset, read lazily."""
        import pyarrow.dataset as ds  # lazy: pyarrow.dataset imports pandas (0.3 s); only DuckDB slicing needs it

        return ds.dataset(self.path, format="parquet")

    @property
    def parquet_files(self) -> list[str]:
        return [self.path]


class DatasetColumns:
    """A `pyarrow.dataset.Dataset`, read a column at a time. `parquet_files`: the dataset's
    files in fragment order, when reading them as plain Parquet gives exactly its rows."""

    def __init__(self, dataset, parquet_files: list[str] | None = None) -> None:
        self.dataset = dataset
        self.parquet_files = parquet_files
        self._rows: int | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema

    @property
    def num_rows(self) -> int:
        if self._rows is None:
            self._rows = self.dataset.count_rows()
        return self._rows

    @property
    def column_names(self) -> list[str]:
        return self.dataset.schema.names

    def column(self, name: str) -> pa.ChunkedArray:
        return self.dataset.to_table(columns=[name]).column(0)

    def text_column(self, name: str) -> pa.ChunkedArray:
        """A text column for encoding (prepare.Vocabulary): read from the plain Parquet files as
        dictionaries (the values Parquet already stores once per row group, no string per row:
        6-8x less CPU than reading and hashing the strings), else `column(name)`."""
        if not self.parquet_files or not is_text(self.schema.field(name).type):
            return self.column(name)
        chunks = []
        for path in self.parquet_files:
            with pq.ParquetFile(path, read_dictionary=[name]) as pf:
                if name not in pf.schema_arrow.names:
                    return self.column(name)  # a file older than the column: the dataset fills nulls
                part = pf.read(columns=[name], use_threads=True).column(0)
            if not pa.types.is_dictionary(part.type) or (chunks and part.type != chunks[0].type):
                return self.column(name)
            chunks.extend(part.chunks)
        return pa.chunked_array(chunks, type=chunks[0].type) if chunks else self.column(name)

    def scannable(self):
        return self.dataset


def delta_columns(path: str | Path) -> tuple[DatasetColumns, str] | None:
    """(the Delta table at `path` as a column source, '<delta table id>@<version>'), or None when
    there is no Delta table. The files are the table's snapshot at that version."""
    try:
        dt = DeltaTable(str(path))
    except TableNotFoundError:
        return None
    dataset = dt.to_pyarrow_dataset()
    return DatasetColumns(dataset, _in_fragment_order(dataset, plain_parquet_files(dt))), f"{dt.metadata().id}@{dt.version()}"


def _in_fragment_order(dataset, files: list[str] | None) -> list[str] | None:
    """`files` when they are the dataset's fragments in the same order (each fragment's path,
    relative to the table, ends one file's path), else None: rows DuckDB reads from the files
    must line up with the columns read from the dataset."""
    if not files:
        return None
    fragments = [f.path for f in dataset.get_fragments()]
    if len(fragments) != len(files):
        return None
    local = [f.removeprefix("file://") for f in files]
    if any(not path.endswith("/" + frag.lstrip("/")) for path, frag in zip(local, fragments, strict=True)):
        return None
    return local


def scan_view(con, name: str, source: ColumnSource) -> None:
    """Make `name` a DuckDB view of `source`'s rows, in the order its columns are read:
    `read_parquet` over its plain Parquet files, else the Arrow object (see the module doc)."""
    files = getattr(source, "parquet_files", None)
    if not files:
        con.register(name, scannable(source))
        return
    import duckdb  # lazy: only to scan plain Parquet files (duckdb import: 0.1 s)

    try:
        con.execute(read_parquet_view_sql(name, files, source.column_names))
    except duckdb.Error:  # e.g. a column of the table's schema that no file has yet
        con.register(name, scannable(source))


def scannable(source: ColumnSource):
    """An object DuckDB can scan for `source` (a table in memory is scanned as it is)."""
    scan = getattr(source, "scannable", None)
    return scan() if scan is not None else source
