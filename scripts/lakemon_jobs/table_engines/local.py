"""The embedded default's engine: Databricks SQL transpiled to DuckDB by SQLGlot, local Delta
tables read and written with `deltalake` (every write is one atomic Delta commit)."""

from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
from deltalake import DeltaTable, write_deltalake
from sqlglot import exp

from lakemon.config.model import Column

from ..local.delta_files import plain_parquet_files, read_parquet_view_sql
from ..local.runtime import LocalRuntime
from .batches import BatchFn, OnBatch
from .conflicts import is_commit_conflict, retry_on_conflict
from .engine import (
    Bound,
    ChangesUnavailable,
    QueryFailed,
    TableEngine,
    TableError,
    TableVersion,
    key_predicate,
)
from .integrity import check_version, damaged, storage_errors
from .schemas import arrow_schema, to_arrow, utc_timestamps

MAP_READ_ROWS = 256
"""Rows per batch DuckDB hands over: small, because one payload row can hold megabytes."""
MAP_BATCH_BYTES = 16 << 20
"""map_rows calls fn on batches of at least this much data (Arrow buffer size, mostly the
request and response texts), or what is left: large enough that the per-call overhead does not
count, small enough that fn's Python objects for one batch stay in the low hundreds of MB."""


SPILL_PREFIX = "lakemon-spill-"
SPILL_IN_USE = ".in-use"
"""A file in each spill folder that its engine keeps flock-ed while the folder is in use."""
SPILL_GRACE_S = 60.0
"""A spill folder without that file is left alone this long (it may be being created)."""


def _storage_guard(doing: str):
    """Turn a storage error of an engine method (a damaged or unreadable file) into one
    TableDamaged line naming the tables the call opened and their versions (tables.integrity).
    Commit conflicts pass through to retry_on_conflict, which sits outside this guard."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            outermost = self._depth == 0
            if outermost:
                self._opened = {}
            self._depth += 1
            try:
                return method(self, *args, **kwargs)
            except TableError:
                raise
            except storage_errors() as exc:
                if is_commit_conflict(exc) or not outermost:
                    raise
                opened = self._opened or self._all_opened
                names = ", ".join(opened) or "(unknown)"
                versions = [v for v in opened.values() if v is not None]
                raise damaged(names, versions[0] if len(versions) == 1 else None, exc, doing) from None
            finally:
                self._depth -= 1

        return wrapper

    return decorate


class LocalEngine(TableEngine):
    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self._views: set[str] = set()
        self._spill: tempfile.TemporaryDirectory | None = None
        self._depth = 0
        self._opened: dict[str, int | None] = {}
        """Tables (name -> version) the current engine call opened, for its error message; a
        query over views registered earlier names every table this engine opened."""
        self._all_opened: dict[str, int | None] = {}
        remove_stale_spills(runtime.root)

    # --- reading ---------------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        try:
            return str(self.runtime.table_path(name))
        except ValueError as exc:
            raise TableError(str(exc)) from None

    def exists(self, name: str) -> bool:
        try:
            return DeltaTable.is_deltatable(self._path(name))
        except storage_errors() as exc:
            raise damaged(name, None, exc, "opening") from None

    def _table(self, name: str) -> DeltaTable:
        """The table's current version; TableDamaged if its log cannot be read or its version is
        lower than one lakemon saw before (tables.integrity)."""
        if not self.exists(name):
            raise TableError(f"table {name} does not exist (looked for a Delta table at {self._path(name)})")
        try:
            table = DeltaTable(self._path(name))
            table_id, version = table.metadata().id, table.version()
        except storage_errors() as exc:
            raise damaged(name, None, exc, "opening") from None
        check_version(self._path(name), name, table_id, version)
        self._opened[name] = self._all_opened[name] = version
        return table

    @_storage_guard("reading")
    def columns(self, name: str) -> list[str]:
        return list(self._table(name).to_pyarrow_dataset().schema.names)

    @_storage_guard("reading")
    def read_table(self, name: str) -> pd.DataFrame:
        return self._table(name).to_pandas()

    def to_duckdb(self, sql: str, hide_after: tuple[str, datetime] | None = None, materialize: bool = False) -> str:
        """Transpile Databricks SQL to DuckDB, with every three-part table name replaced by a
        view over the current version of that local Delta table.

        `hide_after` = (column, time): tables with that column show only rows whose column is
        at or before the time (replaying what a scheduled query saw back then).
        `materialize`: read the tables into memory first (small tables: the verdicts).

        Each table is read the way `register_snapshot` reads one: by DuckDB's own `read_parquet`
        when its data files are plain Parquet (`plain_parquet_files`), else as a pyarrow dataset.
        Why not always the dataset: the deltalake MERGE writes string columns as string_view,
        and DuckDB pushes a string filter (`granularity = '1 hour'`) into the dataset scan, where
        pyarrow 25 has no kernel comparing string with string_view ("table damaged") as soon as a
        file's statistics cannot settle the filter alone."""
        tree = sqlglot.parse_one(sql, read="databricks")
        _exact_instants(tree)
        for table in list(tree.find_all(exp.Table)):
            if not (table.catalog and table.db):
                continue  # a CTE or one of our temporary views
            full = f"{table.catalog}.{table.db}.{table.name}"
            view = "delta_" + re.sub(r"\W", "_", full)
            if hide_after is not None:
                names = self._register_current(full, view + "_all", materialize)
                stamp = hide_after[1].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                hidden = f' WHERE "{hide_after[0]}" <= TIMESTAMPTZ \'{stamp}+00\'' if hide_after[0] in names else ""
                self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {view}_all{hidden}")
            else:
                self._register_current(full, view, materialize)
            alias = table.alias or table.name
            table.replace(exp.to_table(view).as_(alias) if alias else exp.to_table(view))
        return tree.sql(dialect="duckdb")

    def _register_current(self, name: str, view: str, materialize: bool) -> list[str]:
        """Make `view` the current version of table `name` (see `to_duckdb`: read_parquet over
        plain files, else a pyarrow dataset, or in memory); return its column names."""
        table = self._table(name)
        files = None if materialize else plain_parquet_files(table)
        if files:
            names = [f.name for f in table.schema().fields]
            self.con.execute(read_parquet_view_sql(view, files, names))
            return names
        self.con.execute(f"DROP VIEW IF EXISTS {view}")
        data = table.to_pyarrow_table() if materialize else table.to_pyarrow_dataset()
        self.con.register(view, data)
        return data.schema.names

    @_storage_guard("reading")
    def query(
        self, sql: str, hide_after: tuple[str, datetime] | None = None, materialize: bool = False
    ) -> pd.DataFrame:
        return self.con.execute(self.to_duckdb(sql, hide_after, materialize)).df()

    @_storage_guard("reading")
    def query_arrow(self, sql: str) -> pa.Table:
        """DuckDB's own Arrow result (`arrow()` gives a Table before DuckDB 1.4 and a record-batch
        reader from 1.4 on; `pa.table` reads either whole).
        The tables are read into memory first (`materialize`, as for the alert queries): these
        reads filter on strings, and `to_duckdb` says why such filters are kept out of a pyarrow
        dataset scan. Metrics tables are small (a row per window, column and slice)."""
        duck = self.to_duckdb(sql, materialize=True)
        try:
            result = pa.table(self.con.execute(duck).arrow())
        except duckdb.Error as exc:
            raise QueryFailed(f"query failed: {exc}") from None
        return utc_timestamps(result)

    def _arrow(self, sql: str, columns: list[Column]):
        return to_arrow(self.query(sql), columns)

    @_storage_guard("opening")
    def table_version(self, name: str) -> TableVersion:
        table = self._table(name)
        return TableVersion(table_id=table.metadata().id, version=table.version())

    def register_changes(self, name: str, columns: list[str], start: int, end: int, view: str) -> int:
        """deltalake's change data feed reader; like Databricks, only when the table has
        `delta.enableChangeDataFeed = true` (so both engines take the same path)."""
        table = self._table(name)
        if table.metadata().configuration.get("delta.enableChangeDataFeed", "false").lower() != "true":
            raise ChangesUnavailable(f"change data feed is not enabled on {name}")
        try:
            changes = pa.table(table.load_cdf(starting_version=start, ending_version=end, columns=[*columns, "_change_type"]))
        except Exception as exc:  # deltalake raises its own error types (DeltaError, ...)
            raise ChangesUnavailable(f"cannot read the change data feed of {name} for versions {start}-{end}: {exc}") from None
        changes = _no_string_views(changes)
        return self._register(view, changes.filter(pc.equal(changes["_change_type"], "insert")).select(columns))

    @_storage_guard("reading")
    def register_snapshot(self, name: str, columns: list[str], version: int | None, view: str) -> int:
        """A lazy dataset (DuckDB reads only what the queries need), not a copy in memory:
        the whole payload table can be large."""
        table = self._table(name)
        if version is not None:
            table = DeltaTable(self._path(name), version=version)
        dataset = table.to_pyarrow_dataset()
        missing = [c for c in columns if c not in dataset.schema.names]
        if missing:
            raise TableError(f"table {name} lacks column(s) {', '.join(missing)}")
        files = plain_parquet_files(table)
        if files:
            # DuckDB's own Parquet reader: a pyarrow dataset scan reads ahead whole files, 1.6 GB
            # for the request texts of 10M rows; read_parquet streams them (docs/monitoring.md).
            self.con.execute(read_parquet_view_sql(view, files, dataset.schema.names))
        else:
            self.con.register(view, dataset)
        self._views.add(view)
        return dataset.count_rows()

    def _register(self, view: str, data: pa.Table) -> int:
        self.con.register(view, data)
        self._views.add(view)
        return data.num_rows

    # --- transforming ----------------------------------------------------------------------------

    @_storage_guard("reading")
    def map_rows(self, sql: str, fn: BatchFn, out: list[Column], view: str, progress: OnBatch | None = None) -> None:
        """fn runs on batches of about MAP_BATCH_BYTES of input text (at least one row each), and
        the results are spilled to a Parquet file the view reads: memory is bounded by one batch,
        not by the whole input (10M unpacked rows would not fit; see docs/monitoring.md, "Job
        benchmark")."""
        path = self._spill_dir() / f"{view}-{len(self._views)}.parquet"
        schema = arrow_schema(out)
        reader = self.con.execute(self.to_duckdb(sql)).to_arrow_reader(MAP_READ_ROWS)
        with pq.ParquetWriter(str(path), schema) as writer:
            for batch in _batches_by_size(reader, MAP_BATCH_BYTES):
                frame = batch.to_pandas()
                result = fn(frame)
                writer.write_table(to_arrow(result, out))
                if progress is not None:
                    progress(frame, result)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet('{path}')")
        self._views.add(view)

    def _spill_dir(self) -> Path:
        """A temporary folder next to the tables (removed when the engine is garbage collected
        or the process ends): the spilled results of map_rows. A killed process cannot remove
        it, so the folder holds a flock-ed SPILL_IN_USE file: the kernel drops that lock when the
        process dies, and the next engine's remove_stale_spills deletes the folder."""
        if self._spill is None:
            self._spill = tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=self.runtime.root)
            folder = Path(self._spill.name)
            fd = os.open(folder / (SPILL_IN_USE + ".new"), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.replace(folder / (SPILL_IN_USE + ".new"), folder / SPILL_IN_USE)  # visible only once locked
            weakref.finalize(self, os.close, fd)
        return Path(self._spill.name)

    # --- writing ---------------------------------------------------------------------------------

    @retry_on_conflict
    @_storage_guard("creating")
    def create_if_missing(self, name: str, columns: list[Column]) -> bool:
        if self.exists(name):
            return False
        DeltaTable.create(self._path(name), schema=arrow_schema(columns), mode="ignore", name=name.split(".")[-1])
        return True

    @retry_on_conflict
    @_storage_guard("writing to")
    def insert_new(self, name: str, sql: str, keys: list[str], columns: list[Column]) -> int:
        """Streams the rows of `sql` into the MERGE (DuckDB batches cast to the table's Arrow
        types), so memory does not grow with the rows inserted."""
        source = _typed_stream(self.con.execute(self.to_duckdb(sql)).to_arrow_reader(MAP_READ_ROWS), columns)
        if source is None:
            return 0
        metrics = (
            self._table(name)
            .merge(source, predicate=_local_keys(keys), source_alias="s", target_alias="t")
            .when_not_matched_insert_all()
            .execute()
        )
        return int(metrics.get("num_target_rows_inserted", 0))

    @retry_on_conflict
    @_storage_guard("writing to")
    def update_from(self, name: str, sql: str, keys: list[str], assignments: dict[str, str], where: str) -> int:
        source_df = self.query(sql)
        if source_df.empty:
            return 0
        target = self._table(name)
        target_columns = {f.name: f for f in target.to_pyarrow_dataset().schema}
        source_columns = [Column(name=c, type=_column_type(target_columns, c, source_df)) for c in source_df.columns]
        metrics = (
            target.merge(to_arrow(source_df, source_columns), predicate=_local_keys(keys), source_alias="s", target_alias="t")
            .when_matched_update(updates=assignments, predicate=where)
            .execute()
        )
        return int(metrics.get("num_target_rows_updated", 0))

    @retry_on_conflict
    @_storage_guard("writing to")
    def delete_older_than(self, name: str, column: str, cutoff: datetime) -> int:
        stamp = cutoff.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        metrics = self._table(name).delete(f'"{column}" < \'{stamp}\'')
        return int(metrics.get("num_deleted_rows", 0))

    @_storage_guard("reading")
    def column_types(self, name: str) -> dict[str, str]:
        out = {}
        for field in self._table(name).to_pyarrow_dataset().schema:
            arrow_type = str(field.type)
            out[field.name] = "timestamp" if arrow_type.startswith("timestamp") else _ARROW_TO_TYPE.get(arrow_type, arrow_type)
        return out

    @retry_on_conflict
    @_storage_guard("writing to")
    def replace_rows(
        self, name: str, frame: pd.DataFrame, columns: list[Column], keys: list[str], scope: list[Bound]
    ) -> int:
        in_scope = " AND ".join(
            f'"t"."{b.column}" {b.op} \'{b.value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}\'' for b in scope
        ) or "true"
        metrics = (
            self._table(name)
            .merge(to_arrow(frame, columns), predicate=_local_keys(keys), source_alias="s", target_alias="t")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(predicate=in_scope)
            .execute()
        )
        return int(metrics.get("num_target_rows_inserted", 0)) + int(metrics.get("num_target_rows_updated", 0))

    @retry_on_conflict
    @_storage_guard("writing to")
    def overwrite(self, name: str, frame: pd.DataFrame, columns: list[Column]) -> None:
        write_deltalake(self._path(name), to_arrow(frame, columns), mode="overwrite", schema_mode="overwrite")


def remove_stale_spills(root: Path) -> list[Path]:
    """Delete the spill folders under `root` that no live process uses (their SPILL_IN_USE
    file is not locked; folders without one once SPILL_GRACE_S old), and return them.
    Best effort: a folder that cannot be inspected or removed is left for a later run."""
    removed = []
    try:
        candidates = [p for p in root.glob(SPILL_PREFIX + "*") if p.is_dir()]
    except OSError:
        return removed
    for folder in candidates:
        try:
            if not _spill_in_use(folder):
                shutil.rmtree(folder)
                removed.append(folder)
        except OSError:
            continue
    return removed


def _spill_in_use(folder: Path) -> bool:
    marker = folder / SPILL_IN_USE
    if not marker.exists():
        return time.time() - folder.stat().st_mtime < SPILL_GRACE_S
    fd = os.open(marker, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _exact_instants(tree: exp.Expression) -> None:
    """`timestamp_micros(n)` (how jobs write an exact instant, engine.timestamp_sql) as SQLGlot's
    epoch-to-time node, which DuckDB writes as MAKE_TIMESTAMP(n): SQLGlot 27 reads the
    Databricks function as an unknown one and would pass it to DuckDB, which has no such name.
    MAKE_TIMESTAMP gives a zone-less UTC time; the connection's time zone is UTC, so comparing it
    with a Delta timestamp column compares the same instant."""
    for call in list(tree.find_all(exp.Anonymous)):
        if call.name.lower() == "timestamp_micros" and len(call.expressions) == 1:
            call.replace(exp.UnixToTime(this=call.expressions[0], scale=exp.UnixToTime.MICROS))


def _batches_by_size(reader: pa.RecordBatchReader, min_bytes: int) -> Iterator[pa.Table]:
    """The reader's rows as tables of at least `min_bytes` each (the last one: what is left;
    none when the reader has no rows)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        size += batch.nbytes
        if size >= min_bytes:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _typed_stream(reader: pa.RecordBatchReader, columns: list[Column]) -> pa.RecordBatchReader | None:
    """The reader's rows with exactly these columns and Arrow types (missing ones null), or
    None when it has no rows (so an empty insert makes no commit). The reader's small batches
    (MAP_READ_ROWS rows, so one batch of large payload texts stays small) are combined into
    batches of about MAP_BATCH_BYTES: deltalake's MERGE pays per batch, and 256-row batches
    cost it 0.9 CPU s more per million rows (measured on unpack's inference-log insert)."""
    schema = arrow_schema(columns)

    def typed(batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = [
            batch.column(f.name).cast(f.type) if f.name in batch.schema.names else pa.nulls(batch.num_rows, f.type)
            for f in schema
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    batches = (b for table in _batches_by_size(reader, MAP_BATCH_BYTES) for b in table.combine_chunks().to_batches() if b.num_rows)
    first = next(batches, None)
    if first is None:
        return None

    def all_batches() -> Iterator[pa.RecordBatch]:
        yield typed(first)
        for batch in batches:
            yield typed(batch)

    return pa.RecordBatchReader.from_batches(schema, all_batches())


def _no_string_views(data: pa.Table) -> pa.Table:
    """string_view columns (deltalake's change-feed reader) as plain strings, which every
    pyarrow kernel and DuckDB take."""
    fields = [pa.field(f.name, pa.string() if f.type == pa.string_view() else f.type) for f in data.schema]
    return data.cast(pa.schema(fields))


def _local_keys(keys: list[str]) -> str:
    return key_predicate(keys, "IS NOT DISTINCT FROM").replace("`", '"')


_ARROW_TO_TYPE = {"string": "string", "large_string": "string", "double": "double", "float": "float",
                  "int64": "bigint", "int32": "int", "bool": "boolean", "date32[day]": "date"}


def _column_type(target: dict, name: str, frame: pd.DataFrame) -> str:
    """Type of a source column for a MERGE: the target's type when the target has the column."""
    if name in target:
        arrow_type = str(target[name].type)
        return "timestamp" if arrow_type.startswith("timestamp") else _ARROW_TO_TYPE.get(arrow_type, "string")
    kind = frame[name].dtype.kind
    return {"i": "bigint", "f": "double", "b": "boolean", "M": "timestamp"}.get(kind, "string")
