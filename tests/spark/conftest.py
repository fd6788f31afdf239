"""The local Spark lane: the Spark table engine run for real, in one `local[2]` session.

Apache Spark with parquet tables in `spark_catalog` stands in for Databricks (Delta jars cannot
be fetched here; /work/shared/notes/spark.md). The session time zone is America/New_York, not
UTC, on purpose (timestamps must come out right for any session time zone).

Every `spark.sql` statement the engine runs is counted; the count is printed at the end of the
test session ("Spark lane: N SQL statements ran on Spark"). The lane is skipped, with the
reason, only where pyspark or Java cannot be used at all.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

SESSION_TZ = "America/New_York"
CATALOG = "spark_catalog"
SCHEMA = "lakemon_spark"
STATEMENTS: Counter = Counter()
"""SQL statement kind (first word) -> how many ran on Spark in this test session."""


class CountingSpark:
    """A SparkSession that counts `sql()` calls; everything else is the session itself."""

    def __init__(self, spark) -> None:
        self._spark = spark

    def sql(self, statement: str, *args, **kwargs):
        STATEMENTS[statement.strip().split(None, 1)[0].upper()] += 1
        return self._spark.sql(statement, *args, **kwargs)

    @property
    def raw(self):
        """The session without counting: for the tests' own setup and checks."""
        return self._spark

    def __getattr__(self, name):
        return getattr(self._spark, name)


def _why_no_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"pyspark is not installed ({exc}); `bash .ci/setup` installs it from requirements.lock"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java on PATH or JAVA_HOME): Spark needs Java 17"
    return None


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local[2] session for the whole test session (it takes 10-20 s to start)."""
    reason = _why_no_spark()
    if reason:
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (the venv with lakemon), not `python3` on PATH:
    # pyspark reads PYSPARK_PYTHON when it creates the context.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("lakemon-spark-lane")
        .config("spark.sql.session.timeZone", SESSION_TZ)
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.sources.default", "parquet")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sql(f"CREATE DATABASE IF NOT EXISTS {CATALOG}.{SCHEMA}")
    yield CountingSpark(session)
    session.stop()


@pytest.fixture(scope="session")
def spark_env_file(tmp_path_factory) -> Path:
    """envs/dev.yml with catalog spark_catalog (three-part names need it on Apache Spark)."""
    import yaml

    repo = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((repo / "envs" / "dev.yml").read_text())
    data.update(catalog=CATALOG, schema=SCHEMA)
    path = tmp_path_factory.mktemp("spark-env") / "dev.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def pytest_terminal_summary(terminalreporter):
    if STATEMENTS:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(STATEMENTS.items()))
        terminalreporter.write_line(
            f"Spark lane: {sum(STATEMENTS.values())} SQL statements ran on Spark "
            f"(local[2], session time zone {SESSION_TZ}): {kinds}"
        )
