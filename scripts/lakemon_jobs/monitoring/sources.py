"""Where the engine reads its columns from, one column at a time.

The engine never needs a whole table in memory: it reads the timestamp, model-id and slicing
columns once, then each monitored column in turn (issue 16: peak memory is set by the largest
column pair, not by the table). A source is anything with `schema`, `num_rows`, `column_names`
and `column(name) -> pyarrow.ChunkedArray`:

- a `pyarrow.Table` already in memory (what `compute_metrics` takes);
- `ParquetColumns`: one Parquet file, each column read on demand (the benchmark);
- `DatasetColumns`: a `pyarrow.dataset.Dataset`, e.g. a local Delta table's files
  (`delta_columns`), each column read on demand (the refresh).

Every read of a source returns its rows in the same order (a file's row groups in order; a
dataset's fragments in listing order, each in order), so columns read one by one line up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa


class ColumnSource(Protocol):
    @property
    def schema(self) -> pa.Schema: ...

    @property
    def num_rows(self) -> int: ...

    @property
    def column_names(self) -> list[str]: ...

    def column(self, name: str) -> pa.ChunkedArray: ...


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
        import pyarrow.parquet as pq

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
        import pyarrow.parquet as pq

        text = [name] if is_text(self._schema.field(name).type) else []
        # one ParquetFile per read: reads run in worker threads, a ParquetFile is not shared
        with pq.ParquetFile(self.path, read_dictionary=text) as pf:
            return pf.read(columns=[name], use_threads=True).column(0)

    def scannable(self):
        """What DuckDB scans (slicing expressions): the file as a dataset, read lazily."""
        import pyarrow.dataset as ds

        return ds.dataset(self.path, format="parquet")


class DatasetColumns:
    """A `pyarrow.dataset.Dataset`, read a column at a time."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset
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

    def scannable(self):
        return self.dataset


def delta_columns(path: str | Path) -> tuple[DatasetColumns, str] | None:
    """(the Delta table at `path` as a column source, '<delta table id>@<version>'), or None when
    there is no Delta table. The files are the table's snapshot at that version."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        dt = DeltaTable(str(path))
    except TableNotFoundError:
        return None
    return DatasetColumns(dt.to_pyarrow_dataset()), f"{dt.metadata().id}@{dt.version()}"


def scannable(source: ColumnSource):
    """An object DuckDB can scan for `source` (a table in memory is scanned as it is)."""
    scan = getattr(source, "scannable", None)
    return scan() if scan is not None else source
