"""The Databricks engine: the same Databricks SQL run with spark.sql; writes are Delta MERGEs.

Kept thin on purpose: each method is one SQL statement or one DataFrame call, so the logic is
the SQL text and the pure functions, which both engines share. tests/spark runs it for real on
Apache Spark (local[2], parquet tables; MERGE and DELETE need Delta, so there they are checked
to get past parsing and column resolution).

Time zones (correct instants for any session time zone): Spark hands `mapInPandas` timestamps as naive values in the
session time zone (`spark.sql.session.timeZone`, UTC by default on Databricks but settable), and
reads a `TIMESTAMP '...'` literal without a zone in that zone too. So timestamps cross into
Python as exact epoch microseconds and become UTC-aware there (no local wall-clock step, so no
ambiguous daylight-saving hour either), and instants go into SQL as `timestamp_micros(n)`.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pyarrow as pa

from lakemon.config.model import Column

from .batches import BatchFn, OnBatch
from .conflicts import retry_on_conflict
from .engine import (
    Bound,
    ChangesUnavailable,
    QueryFailed,
    TableEngine,
    TableError,
    TableVersion,
    key_predicate,
    timestamp_sql,
)
from .schemas import spark_ddl, utc_timestamps


class SparkEngine(TableEngine):
    def __init__(self, spark) -> None:
        self.spark = spark

    @classmethod
    def active(cls) -> SparkEngine:
        from pyspark.sql import SparkSession  # lazy: pyspark, on Databricks only

        return cls(SparkSession.builder.getOrCreate())

    def exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def columns(self, name: str) -> list[str]:
        if not self.exists(name):
            raise TableError(f"table {name} does not exist")
        return list(self.spark.table(name).columns)

    def read_table(self, name: str) -> pd.DataFrame:
        return self._to_pandas(self.spark.table(name))

    def table_version(self, name: str) -> TableVersion:
        """DESCRIBE DETAIL (id) and DESCRIBE HISTORY (version) of a Delta table; both None for
        a table that is not Delta (the caller then reads the whole table)."""
        try:
            table_id = self.spark.sql(f"DESCRIBE DETAIL {name}").collect()[0]["id"]
            version = self.spark.sql(f"DESCRIBE HISTORY {name} LIMIT 1").collect()[0]["version"]
        except Exception:  # noqa: BLE001 - AnalysisException & co.: not a Delta table
            return TableVersion(table_id=None, version=None)
        return TableVersion(table_id=str(table_id), version=int(version))

    def register_changes(self, name: str, columns: list[str], start: int, end: int, view: str) -> int:
        """table_changes (https://docs.databricks.com/sql/language-manual/functions/table_changes):
        errors when change data feed is off or the versions are no longer available; counted
        here so that such an error surfaces now, as ChangesUnavailable."""
        names = ", ".join(f"`{c}`" for c in columns)
        frame = self.spark.sql(
            f"SELECT {names} FROM table_changes('{name}', {int(start)}, {int(end)}) WHERE _change_type = 'insert'"
        )
        try:
            frame.createOrReplaceTempView(view)
            return int(self.spark.sql(f"SELECT COUNT(*) AS n FROM {view}").collect()[0]["n"])
        except Exception as exc:  # noqa: BLE001 - AnalysisException, SparkConnectGrpcException, ...
            raise ChangesUnavailable(f"cannot read the change data feed of {name} for versions {start}-{end}: {exc}") from None

    def register_snapshot(self, name: str, columns: list[str], version: int | None, view: str) -> int:
        names = ", ".join(f"`{c}`" for c in columns)
        as_of = f" VERSION AS OF {int(version)}" if version is not None else ""
        self.spark.sql(f"SELECT {names} FROM {name}{as_of}").createOrReplaceTempView(view)
        return int(self.spark.sql(f"SELECT COUNT(*) AS n FROM {view}").collect()[0]["n"])

    def query(self, sql: str) -> pd.DataFrame:
        return self._to_pandas(self.spark.sql(sql))

    def query_arrow(self, sql: str) -> pa.Table:
        """`DataFrame.toArrow()`: public since Apache Spark 4.0 and Databricks Runtime 15.3
        (https://docs.databricks.com/aws/en/pyspark/reference/classes/dataframe/toArrow), so in
        the jobs' serverless environment 4 too (Databricks Connect 17.2.3,
        https://learn.microsoft.com/azure/databricks/release-notes/serverless/environment-version).
        Arrow timestamps are epoch instants whatever the session time zone; only their zone
        label is set to UTC here."""
        from pyspark.errors import PySparkException  # lazy: pyspark, on Databricks only

        try:
            result = self.spark.sql(sql).toArrow()
        except PySparkException as exc:  # AnalysisException & co.: one clear message, no traceback
            raise QueryFailed(f"query failed: {exc}") from None
        return utc_timestamps(result)

    def _to_pandas(self, frame) -> pd.DataFrame:
        """Collect with timestamps as UTC-aware values, whatever the session time zone.
        Top-level timestamp columns travel as epoch microseconds (exact, and years up to 9999,
        which pandas nanoseconds cannot hold); timestamps nested in structs are converted in
        UTC: the SQL was analyzed when the DataFrame was made, only the collection reads the
        zone, which is restored after."""
        from pyspark.sql import functions as F  # lazy: pyspark, on Databricks only
        from pyspark.sql.types import TimestampType  # lazy: pyspark, on Databricks only

        stamps = [f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampType)]
        frame = frame.select(*[F.unix_micros(F.col(f"`{c}`")).alias(c) if c in stamps else F.col(f"`{c}`") for c in frame.columns])
        conf = self.spark.conf
        zone = conf.get("spark.sql.session.timeZone")
        conf.set("spark.sql.session.timeZone", "UTC")
        try:
            result = frame.toPandas()
        finally:
            conf.set("spark.sql.session.timeZone", zone)
        for c in stamps:
            result[c] = utc_from_micros(result[c])
        return result

    def map_rows(self, sql: str, fn: BatchFn, out: list[Column], view: str, progress: OnBatch | None = None) -> None:
        """fn gets timestamps as UTC-aware pandas values, as from the local engine, whatever the
        session time zone; what it returns as UTC-aware is stored as that exact instant.
        `progress` is not called: the batches run lazily in the executors (Spark's UI shows them)."""
        del progress
        from pyspark.sql import functions as F  # lazy: pyspark, on Databricks only
        from pyspark.sql.types import TimestampType  # lazy: pyspark, on Databricks only

        source = self.spark.sql(sql)
        stamps = [f.name for f in source.schema.fields if isinstance(f.dataType, TimestampType)]
        source = source.select(*[F.unix_micros(F.col(f"`{c}`")).alias(c) if c in stamps else F.col(f"`{c}`") for c in source.columns])

        def batches(iterator):
            for batch in iterator:
                for c in stamps:
                    batch[c] = utc_from_micros(batch[c])
                yield fn(batch)

        source.mapInPandas(batches, schema=spark_ddl(out)).createOrReplaceTempView(view)

    @retry_on_conflict
    def create_if_missing(self, name: str, columns: list[Column]) -> bool:
        if self.exists(name):
            return False
        self.spark.sql(
            f"CREATE TABLE IF NOT EXISTS {name} ({spark_ddl(columns)}) "
            "TBLPROPERTIES (delta.enableChangeDataFeed = true)"
        )
        return True

    def _merge_count(self, result, column: str) -> int:
        rows = result.collect()
        return int(rows[0][column]) if rows and column in rows[0].asDict() else 0

    @retry_on_conflict
    def insert_new(self, name: str, sql: str, keys: list[str], columns: list[Column]) -> int:
        select = ", ".join(f"s.`{c.name}`" for c in columns)
        names = ", ".join(f"`{c.name}`" for c in columns)
        result = self.spark.sql(
            f"MERGE INTO {name} AS t USING ({sql}) AS s ON {key_predicate(keys, '<=>')} "
            f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({select})"
        )
        return self._merge_count(result, "num_inserted_rows")

    @retry_on_conflict
    def update_from(self, name: str, sql: str, keys: list[str], assignments: dict[str, str], where: str) -> int:
        sets = ", ".join(f"t.`{col}` = {expr}" for col, expr in assignments.items())
        result = self.spark.sql(
            f"MERGE INTO {name} AS t USING ({sql}) AS s ON {key_predicate(keys, '<=>')} "
            f"WHEN MATCHED AND {where} THEN UPDATE SET {sets}"
        )
        return self._merge_count(result, "num_updated_rows")

    @retry_on_conflict
    def delete_older_than(self, name: str, column: str, cutoff: datetime) -> int:
        result = self.spark.sql(f"DELETE FROM {name} WHERE `{column}` < {timestamp_sql(cutoff)}")
        return self._merge_count(result, "num_affected_rows")

    def column_types(self, name: str) -> dict[str, str]:
        if not self.exists(name):
            raise TableError(f"table {name} does not exist")
        return {f.name: f.dataType.simpleString() for f in self.spark.table(name).schema.fields}

    @retry_on_conflict
    def replace_rows(
        self, name: str, frame: pd.DataFrame, columns: list[Column], keys: list[str], scope: list[Bound]
    ) -> int:
        view = "lakemon_replace_rows_source"
        rows = frame[[c.name for c in columns]]
        rows = rows.astype(object).where(rows.notna(), None)  # NaN is a missing value, not a float NaN
        self.spark.createDataFrame(rows, schema=spark_ddl(columns)).createOrReplaceTempView(view)
        # timestamp_micros: the instant itself, whatever the session time zone (a TIMESTAMP '...'
        # literal without a zone would be read in the session time zone)
        in_scope = " AND ".join(
            f"t.`{b.column}` {b.op} {timestamp_sql(b.value)}" for b in scope
        ) or "true"
        sets = ", ".join(f"t.`{c.name}` = s.`{c.name}`" for c in columns)
        names = ", ".join(f"`{c.name}`" for c in columns)
        values = ", ".join(f"s.`{c.name}`" for c in columns)
        result = self.spark.sql(
            f"MERGE INTO {name} AS t USING {view} AS s ON {key_predicate(keys, '<=>')} "
            f"WHEN MATCHED THEN UPDATE SET {sets} "
            f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values}) "
            f"WHEN NOT MATCHED BY SOURCE AND {in_scope} THEN DELETE"
        )
        return self._merge_count(result, "num_inserted_rows") + self._merge_count(result, "num_updated_rows")

    @retry_on_conflict
    def overwrite(self, name: str, frame: pd.DataFrame, columns: list[Column]) -> None:
        typed = self.spark.createDataFrame(frame[[c.name for c in columns]], schema=spark_ddl(columns))
        typed.write.mode("overwrite").option("overwriteSchema", "true").saveAsTable(name)



def utc_from_micros(values: pd.Series) -> pd.Series:
    """Epoch microseconds (nulls allowed, int or float) as UTC-aware pandas timestamps in
    microsecond units, so years 1-9999 fit (nanoseconds stop at 2262)."""
    micros = pa.array(values, type=pa.int64(), from_pandas=True)
    stamps = micros.cast(pa.timestamp("us", tz="UTC")).to_pandas(coerce_temporal_nanoseconds=False)
    return pd.Series(stamps, index=values.index, name=values.name)
