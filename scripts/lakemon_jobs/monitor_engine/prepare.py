"""Turn a table's columns into the numpy form the engine works on, one column at a time.

Categorical columns become integer codes in one vocabulary shared by baseline and inference
(the baseline's values first, new values appended), so counting a window is one `bincount`.
Slicing expressions are evaluated by DuckDB, so any SQL expression over the table's columns
works (`sex`, `year > 1990`, `lower(eye)`), with SQL's null semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakemon.contract.statistics import CATEGORICAL, NUMERIC

from .arrow_numpy import float_values, int_values
from .settings import ColumnSpec, MonitorSettings, SettingsMismatch
from .sources import ColumnSource, is_text, scan_view, text_column

MAX_SLICE_VALUES = 100
"""Per slicing expression, only the 100 most frequent values become slices (as Databricks)."""


@dataclass
class Vocabulary:
    """Values of one categorical column: code i <-> values[i]; code len(values) is null."""

    values: list[str] = field(default_factory=list)
    is_string: bool = True
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {v: i for i, v in enumerate(self.values)}

    def encode(self, column: pa.ChunkedArray) -> np.ndarray:
        """Codes of a column in this vocabulary, extending it with unseen values.

        Dictionary-typed columns (how `read_parquet` reads strings) are mapped dictionary entry
        by dictionary entry: no string is materialised per row. Unseen values get codes in the
        order they first occur in the column, whatever order a dictionary lists them in (a
        Parquet dictionary may list values in another order, or values no row uses): the codes,
        and so the order of slices and categories, depend only on the rows."""
        parts = []
        for values, indices, in_order in _dictionary_chunks(column):
            mapping = np.full(len(values) + 1, -1, dtype=np.int32)
            for i in range(len(values)) if in_order else _first_occurrences(indices, len(values)):
                value = values[i]
                code = self._index.get(value)
                if code is None:
                    code = len(self.values)
                    self.values.append(value)
                    self._index[value] = code
                mapping[i] = code
            mapping[-1] = -1  # null, mapped after the last code by `codes_for`
            parts.append(mapping[indices])
        if not parts:
            return np.empty(0, dtype=np.int32)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def lengths(self) -> np.ndarray | None:
        if not self.is_string:
            return None
        return np.fromiter((len(v) for v in self.values), dtype=np.int64, count=len(self.values))


@dataclass
class Structure:
    """What every column of one table shares: each row's model id and slice values (codes).

    Built once per table from the model-id column and the slicing expressions; the monitored
    columns are then read one at a time (`numeric_column`, `categorical_codes`)."""

    n: int
    present: set[str]
    model_codes: np.ndarray
    model_names: list[str]
    slice_codes: dict[str, np.ndarray]
    slice_names: dict[str, list[str]]


def codes_for(codes: np.ndarray, vocab_size: int) -> np.ndarray:
    """The codes with null (-1) mapped to `vocab_size`, after the last code."""
    return np.where(codes < 0, vocab_size, codes)


def monitored_columns(settings: MonitorSettings, *tables: ColumnSource) -> list[ColumnSpec]:
    """Configured columns first, then columns found in either table that config does not name
    (a column added to the table is still profiled; kind from its Arrow type)."""
    specs = list(settings.columns)
    known = {s.name for s in specs} | set(settings.ignored_columns)
    known |= {settings.timestamp_col, settings.model_id_col}
    for table in tables:
        for f in table.schema:
            if f.name in known:
                continue
            known.add(f.name)
            t = f.type
            if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
                specs.append(ColumnSpec(f.name, NUMERIC, str(t)))
            elif is_text(t) or pa.types.is_boolean(t):
                specs.append(ColumnSpec(f.name, CATEGORICAL, str(t)))
    return specs


def check_types(source: ColumnSource, specs: list[ColumnSpec]) -> None:
    """A column configured numeric must be numeric in the table: one clear error, before any work."""
    for spec in specs:
        if spec.kind == NUMERIC and spec.name in source.column_names:
            t = source.schema.field(spec.name).type
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
                raise SettingsMismatch(f"column {spec.name!r} is configured numeric but has type {t}")


def ensure_vocabs(vocabs: dict[str, Vocabulary], specs: list[ColumnSpec], *sources: ColumnSource) -> None:
    """A vocabulary for every categorical column, created before the column tasks run (in
    threads): string-ness from the first table that has the column."""
    for spec in specs:
        if spec.kind == NUMERIC:
            continue
        for source in sources:
            if spec.name in source.column_names:
                vocabs.setdefault(spec.name, Vocabulary(is_string=is_text(source.schema.field(spec.name).type)))
                break


def structure(source: ColumnSource, settings: MonitorSettings) -> Structure:
    """Model-id codes and slice codes of every row of `source` (reads those columns only)."""
    model_codes, model_names = _codes(source, settings.model_id_col)
    slice_codes: dict[str, np.ndarray] = {}
    slice_names: dict[str, list[str]] = {}
    for expr in settings.slicing_exprs:
        slice_codes[expr], slice_names[expr] = _slice(source, expr)
    return Structure(source.num_rows, set(source.column_names), model_codes, model_names, slice_codes, slice_names)


def numeric_column(source: ColumnSource, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values as float64 with NaN at nulls, null mask); `nulls` tells nulls from real NaN."""
    col = source.column(name)
    return float_values(col if col.type == pa.float64() else pc.cast(col, pa.float64()))


def categorical_codes(source: ColumnSource, name: str, vocab: Vocabulary) -> np.ndarray:
    """Codes of a column in `vocab` (extended with unseen values), -1 for null."""
    return vocab.encode(text_column(source, name))


def _codes(source: ColumnSource, name: str) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for null) and names of a column's values; all -1 when the column is absent."""
    if name not in source.column_names:
        return np.full(source.num_rows, -1, dtype=np.int32), []
    return _encode(text_column(source, name))


def _encode(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 for null) and the distinct values as strings, codes in first-seen order."""
    vocab = Vocabulary()
    return vocab.encode(column), vocab.values


def _dictionary_chunks(column: pa.ChunkedArray | pa.Array):
    """(dictionary values as str list, indices with null -> len(values), whether the dictionary
    lists exactly the values the chunk uses in the order they first occur) per chunk.

    A dictionary column is used as it is; any other column is cast to string and
    dictionary-encoded (Arrow's hash table, not Python: its dictionary is in first-occurrence
    order)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        in_order = not pa.types.is_dictionary(chunk.type)
        if in_order:
            text = chunk if pa.types.is_string(chunk.type) else pc.cast(chunk, pa.string())
            chunk = pc.dictionary_encode(text)
        dictionary = chunk.dictionary
        if not pa.types.is_string(dictionary.type):
            dictionary = pc.cast(dictionary, pa.string())
        values = dictionary.to_pylist()
        t = chunk.indices.type
        dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(t) else 'u'}{t.bit_width // 8}")
        yield values, int_values(chunk.indices, dtype, fill=len(values))[0], in_order


def _first_occurrences(indices: np.ndarray, size: int) -> list[int]:
    """The dictionary positions the rows use, in the order rows first use them (nulls, coded
    `size`, left out). pandas.unique keeps first-occurrence order, by hashing: one pass."""
    import pandas as pd  # lazy: pandas loads in the background (stats.preload_slow_imports)

    return [i for i in pd.unique(indices).tolist() if i != size]


def read_parquet(path, columns: list[str] | None = None) -> pa.Table:
    """Read a Parquet file for the engine: Arrow's threads on every core, only `columns`, and
    string columns as dictionaries, so a categorical column never becomes a million Python or
    Arrow strings (decoding them was most of the read time)."""
    schema = pq.read_schema(path)
    wanted = [f for f in schema if columns is None or f.name in columns]
    text = [f.name for f in wanted if is_text(f.type)]
    # ParquetFile, not read_table: read_table goes through pyarrow.dataset, which imports pandas
    # (0.3 s) for nothing.
    with pq.ParquetFile(path, read_dictionary=text) as pf:
        return pf.read(columns=[f.name for f in wanted], use_threads=True)


def _duckdb_text(source: ColumnSource, expr: str) -> pa.ChunkedArray:
    """CAST((expr) AS VARCHAR) for every row of `source`, by DuckDB."""
    import duckdb  # lazy: only when slicing: its import costs about 0.1 s

    con = duckdb.connect()
    try:
        scan_view(con, "monitored", source)
        result = con.execute(f"SELECT CAST(({expr}) AS VARCHAR) AS v FROM monitored").arrow()
    except duckdb.Error as exc:
        raise SettingsMismatch(f"slicing expression {expr!r} cannot be evaluated: {exc}") from exc
    finally:
        con.close()
    return result.column("v") if isinstance(result, pa.Table) else result.read_all().column("v")


def _slice(source: ColumnSource, expr: str) -> tuple[np.ndarray, list[str]]:
    """Evaluate a slicing expression with DuckDB (which reads only the columns it names, in the
    source's row order); keep its 100 most frequent values. An expression that is just the
    name of a text column is that column's values (what CAST(text AS VARCHAR) gives), read
    without DuckDB: as dictionaries where the source can (`text_column`)."""
    if expr in source.column_names and is_text(source.schema.field(expr).type):
        codes, names = _encode(text_column(source, expr))
    else:
        codes, names = _encode(_duckdb_text(source, expr))
    if len(names) > MAX_SLICE_VALUES:
        counts = np.bincount(codes[codes >= 0], minlength=len(names))
        keep = np.sort(np.argsort(-counts, kind="stable")[:MAX_SLICE_VALUES])
        remap = np.full(len(names) + 1, -2, dtype=np.int64)  # -2: dropped from every slice
        remap[keep] = np.arange(keep.shape[0])
        remap[-1] = -1
        codes = remap[np.where(codes < 0, len(names), codes)].astype(np.int32)
        names = [names[i] for i in keep]
    return codes, names
