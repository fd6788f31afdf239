"""What a job may do to tables: the interface both engines implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pandas as pd
import pyarrow as pa

from lakemon.config.model import Column

from ..errors import EXIT_FAILED, UsageError
from .batches import BatchFn, OnBatch


@dataclass(frozen=True)
class Bound:
    """One side of a scope: `column op value`, op one of < <= > >=, value a UTC datetime."""

    column: str
    op: str
    value: datetime

    def __post_init__(self) -> None:
        if self.op not in ("<", "<=", ">", ">="):
            raise ValueError(f"scope operator {self.op!r}; allowed: < <= > >=")


class TableError(UsageError):
    """A table is missing or has the wrong columns: the job stops before writing anything
    (exit 2: the table or the config must change before a rerun can work)."""


class QueryFailed(TableError):
    """The engine refused a query (Spark's AnalysisException & co., a DuckDB error): one line
    with the engine's message, exit 1 (the job could not do its work)."""

    exit_code: ClassVar[int] = EXIT_FAILED


class ChangesUnavailable(RuntimeError):
    """The table's change data feed cannot be read for these versions (not enabled, vacuumed,
    or not a Delta table): the caller reads a snapshot instead."""


@dataclass(frozen=True)
class TableVersion:
    """Which table (its Delta id: a dropped and re-created table gets a new one) at which commit."""

    table_id: str | None
    version: int | None
    """None when the engine cannot tell (not a Delta table): the caller reads the whole table."""


class TableEngine(ABC):
    """SQL is Databricks SQL over three-part table names and the temporary views the job
    registered. Writes are idempotent MERGEs or atomic overwrites."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def columns(self, name: str) -> list[str]:
        """Column names of an existing table (TableError if it does not exist)."""

    @abstractmethod
    def create_if_missing(self, name: str, columns: list[Column]) -> bool:
        """Create an empty table with these columns; True if it was created."""

    @abstractmethod
    def query(self, sql: str) -> pd.DataFrame:
        """Run a SELECT and return the (small) result to the driver."""

    @abstractmethod
    def query_arrow(self, sql: str) -> pa.Table:
        """Run a SELECT and return the (small) result as Arrow, nested columns (structs, lists
        of structs) in their own types and every timestamp, nested ones too, a UTC instant.
        Why Arrow and not `query`: pandas has no type for a struct of timestamps (the metrics
        tables' `window`), Arrow keeps the table's schema as it is."""

    @abstractmethod
    def map_rows(self, sql: str, fn: BatchFn, out: list[Column], view: str, progress: OnBatch | None = None) -> None:
        """Register view `view` = fn applied batch-wise to the rows of `sql` (mapInPandas on
        Spark). fn must be pure and return frames with exactly the `out` columns.
        `progress(batch, result)` is called in this process after each batch where batches run
        here (the local engine); on Spark they run in the executors and it is not called."""

    @abstractmethod
    def insert_new(self, name: str, sql: str, keys: list[str], columns: list[Column]) -> int:
        """Insert the rows of `sql` whose key is not in table `name` yet (null-safe key match).
        One atomic commit; rerunning inserts nothing. Returns the rows inserted."""

    @abstractmethod
    def update_from(self, name: str, sql: str, keys: list[str], assignments: dict[str, str], where: str) -> int:
        """For target rows matching a row of `sql` on keys and satisfying `where` (over t.*),
        set column = source expression (over s.*). One atomic commit. Returns rows updated."""

    @abstractmethod
    def overwrite(self, name: str, frame: pd.DataFrame, columns: list[Column]) -> None:
        """Replace the table's content in one atomic commit (created if missing)."""

    @abstractmethod
    def delete_older_than(self, name: str, column: str, cutoff: datetime) -> int:
        """Delete rows whose `column` (a UTC timestamp) is before `cutoff`, in one atomic commit.
        Rows with a null timestamp are kept. Returns the rows deleted."""

    @abstractmethod
    def replace_rows(
        self, name: str, frame: pd.DataFrame, columns: list[Column], keys: list[str], scope: list[Bound]
    ) -> int:
        """Make the rows of `name` inside `scope` exactly the rows of `frame`, in ONE atomic
        commit (a MERGE): rows matching on `keys` are updated, new ones inserted, and rows inside
        the scope that `frame` no longer has are deleted. Rows outside the scope are untouched.
        Rerunning with the same frame changes nothing. Returns the rows written (inserted or
        updated). `frame` must have exactly `columns`."""

    @abstractmethod
    def column_types(self, name: str) -> dict[str, str]:
        """Column name -> config type name ('string', 'double', 'timestamp', ...; the Spark SQL
        type name in lower case for types lakemon does not declare)."""

    @abstractmethod
    def read_table(self, name: str) -> pd.DataFrame: ...

    @abstractmethod
    def table_version(self, name: str) -> TableVersion:
        """The table's Delta id and current commit version."""

    @abstractmethod
    def register_changes(self, name: str, columns: list[str], start: int, end: int, view: str) -> int:
        """Register view `view` = the rows inserted into `name` by commits `start`..`end`
        (inclusive), read from its change data feed, with these columns. Returns how many rows
        it has. ChangesUnavailable if the feed cannot be read for those versions."""

    @abstractmethod
    def register_snapshot(self, name: str, columns: list[str], version: int | None, view: str) -> int:
        """Register view `view` = every row of `name` as of commit `version` (None: the current
        rows), with these columns. Returns how many rows it has."""


    def require_schema(self, name: str, columns: list[Column]) -> None:
        """Fail with one clear message if `name` lacks any of the columns or has one of them
        with another type (extra columns are fine): a job checks before it writes anything."""
        self.require_columns(name, columns)
        have = {k.lower(): v for k, v in self.column_types(name).items()}
        wrong = [f"{c.name} is {have[c.name.lower()]}, expected {c.type}" for c in columns if have[c.name.lower()] != c.type]
        if wrong:
            raise TableError(f"table {name} has the wrong column type(s): {'; '.join(wrong)}")

    def require_columns(self, name: str, columns: list[Column]) -> None:
        """Fail with a clear message if `name` lacks any of the columns (extra columns are fine)."""
        have = {c.lower() for c in self.columns(name)}
        missing = [c.name for c in columns if c.name.lower() not in have]
        if missing:
            raise TableError(f"table {name} lacks column(s) {', '.join(missing)}; it has: {', '.join(sorted(have))}")


TYPE_FAMILIES = {
    "number": ("tinyint", "smallint", "int", "bigint", "float", "double", "int8", "int16", "int32", "int64",
               "uint8", "uint16", "uint32", "uint64", "halffloat", "decimal"),
    "string": ("string", "large_string", "string_view", "varchar", "char"),
    "timestamp": ("timestamp", "timestamp_ntz"),
    "boolean": ("boolean", "bool"),
    "date": ("date", "date32[day]"),
}
"""Column types that hold the same kind of value: an integer label read into a double column, or
a bigint stored where the config now says int, converts without loss of meaning; a string where
a number is expected does not (`ArrowInvalid: Could not convert '0'` deep inside a MERGE)."""


def type_family(type_name: str) -> str:
    base = type_name.lower().split("(")[0].split("<")[0].strip()
    for family, names in TYPE_FAMILIES.items():
        if base in names or (family == "timestamp" and base.startswith("timestamp")):
            return family
    return base


def check_types(name: str, have: dict[str, str], columns: list[Column], remedy: str) -> None:
    """TableError naming the first column of `columns` that `name` stores with a type of another
    family than the config's (`have`: engine.column_types(name)); columns it lacks are left to
    require_columns."""
    by_lower = {k.lower(): v for k, v in have.items()}
    for column in columns:
        stored = by_lower.get(column.name.lower())
        if stored is not None and type_family(stored) != type_family(column.type):
            raise TableError(
                f"column {column.name} of {name} is {stored}, but lakemon expects {column.type}: {remedy}"
            )


def key_predicate(keys: list[str], null_safe_op: str) -> str:
    return " AND ".join(f"(t.`{k}` {null_safe_op} s.`{k}`)" for k in keys)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp_sql(instant: datetime) -> str:
    """An exact instant in Databricks/Spark SQL, whatever the session time zone (a `TIMESTAMP
    '...'` literal without a zone is read in the session zone): `timestamp_micros(<microseconds
    since the epoch>)`. A naive `instant` is taken as UTC."""
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    delta = aware - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"timestamp_micros({micros})"
