"""Column sources: the engine reads each column on its own and gets the same tables as from
Arrow tables in memory (bounded memory: a column pair at a time, not the table)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
from golden_case import golden_case

from lakemon_jobs.local.delta_files import plain_parquet_files
from lakemon_jobs.monitor_engine import engine, scheduling
from lakemon_jobs.monitor_engine.baselines import BaselineTable
from lakemon_jobs.monitor_engine.engine import compute_metrics
from lakemon_jobs.monitor_engine.prepare import monitored_columns
from lakemon_jobs.monitor_engine.sources import ParquetColumns, delta_columns, scan_view


def _same(a: tuple[pa.Table, pa.Table], b: tuple[pa.Table, pa.Table]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.schema.equals(y.schema)
        assert x.to_pylist() == y.to_pylist()


def test_parquet_files_with_many_row_groups_give_the_same_tables(tmp_path):
    inf, base, s = golden_case()["slices_models_two_granularities"]
    pq.write_table(inf, tmp_path / "inf.parquet", row_group_size=90)
    pq.write_table(base, tmp_path / "base.parquet", row_group_size=70)
    got = compute_metrics(ParquetColumns(tmp_path / "inf.parquet"), ParquetColumns(tmp_path / "base.parquet"), s)
    _same(got, compute_metrics(inf, base, s))


def test_delta_tables_of_several_files_give_the_same_tables(tmp_path):
    """Columns read one by one from several files must line up row for row (slices included)."""
    inf, base, s = golden_case()["slices_models_two_granularities"]
    for i in range(0, inf.num_rows, 150):
        write_deltalake(str(tmp_path / "inf"), inf.slice(i, 150), mode="append")
    for i in range(0, base.num_rows, 200):
        write_deltalake(str(tmp_path / "base"), base.slice(i, 200), mode="append")
    (inf_src, _), (base_src, _) = delta_columns(tmp_path / "inf"), delta_columns(tmp_path / "base")
    assert len(inf_src.dataset.files) == 3
    assert len(inf_src.parquet_files) == 3  # DuckDB (slicing) reads the files themselves
    # the whole tables as the refresh read them before (row order = the Delta log's file order)
    whole_inf, whole_base = DeltaTable(str(tmp_path / "inf")).to_pyarrow_table(), DeltaTable(str(tmp_path / "base")).to_pyarrow_table()
    _same(compute_metrics(inf_src, base_src, s), compute_metrics(whole_inf, whole_base, s))
    assert delta_columns(tmp_path / "nothing") is None


def test_duckdb_reads_a_plain_delta_tables_files_in_the_order_the_columns_are_read(tmp_path):
    """scan_view's read_parquet over the files must give the dataset's rows in the dataset's
    order (slice codes from DuckDB are matched to column values by position)."""
    import duckdb

    inf, _, _ = golden_case()["slices_models_two_granularities"]
    for i in range(0, inf.num_rows, 70):
        write_deltalake(str(tmp_path / "inf"), inf.slice(i, 70), mode="append")
    source, _ = delta_columns(tmp_path / "inf")
    assert source.parquet_files is not None and len(source.parquet_files) == 6
    con = duckdb.connect()
    scan_view(con, "v", source)
    got = pa.table(con.execute("SELECT * FROM v").arrow())
    assert got.column_names == source.column_names
    assert got.to_pylist() == source.dataset.to_table().to_pylist()


def test_a_partitioned_delta_table_is_scanned_through_its_dataset(tmp_path):
    """Partition values live in the Delta log, not in the files: no plain-Parquet read, and the
    tables are the same as from the table in memory."""
    inf, base, s = golden_case()["slices_models_two_granularities"]
    inf = inf.append_column("part", pa.array([i % 2 for i in range(inf.num_rows)], pa.int64()))
    write_deltalake(str(tmp_path / "inf"), inf, partition_by=["part"])
    source, _ = delta_columns(tmp_path / "inf")
    assert source.parquet_files is None
    assert plain_parquet_files(DeltaTable(str(tmp_path / "inf"))) is None
    whole = DeltaTable(str(tmp_path / "inf")).to_pyarrow_table()
    _same(compute_metrics(source, base, s), compute_metrics(whole, base, s))


class Recording:
    """A table that records which columns are read, in order."""

    def __init__(self, name: str, table: pa.Table, log: list) -> None:
        self.name, self.table, self.log = name, table, log

    @property
    def schema(self):
        return self.table.schema

    @property
    def num_rows(self):
        return self.table.num_rows

    @property
    def column_names(self):
        return self.table.column_names

    def column(self, name):
        self.log.append((self.name, name))
        return self.table.column(name)

    def scannable(self):
        self.log.append((self.name, "*duckdb*"))
        return self.table


def test_each_column_is_read_once_and_its_baseline_and_inference_values_together():
    """One worker thread: after the model-id and timestamp columns (groups and windows), the
    reads go column by column (baseline, then inference), never the whole table. Label and
    prediction are read once more for the quality metrics; DuckDB scans nothing when there is
    no slicing expression."""
    inf, base, s = golden_case()["one_model_one_window"]
    log: list = []
    specs = monitored_columns(s, inf, base)
    with ThreadPoolExecutor(1) as pool:
        baseline = BaselineTable.checked(Recording("base", base, log), s, specs)
        got = engine.run(Recording("inf", inf, log), baseline, engine.RunSettings(s, specs), pool)
    _same(got, compute_metrics(inf, base, s))
    monitored = [spec.name for spec in specs]
    quality = ("label", "prediction", "prediction_proba")
    assert log == [
        ("base", "model_version"), ("inf", "model_version"), ("inf", "timestamp"),  # groups and windows
        *[("inf", c) for c in quality], *[("base", c) for c in quality],  # quality metrics (queued first)
        *[(t, c) for c in monitored for t in ("base", "inf")],  # then one column pair at a time
    ]


def _run_and_count_in_flight(specs, at_once: int) -> tuple[list[str], int]:
    """Runs `scheduling.run_columns` with no sleeps: the first `at_once` tasks meet at a barrier, so
    they provably run together (a bound of 2 run one at a time breaks the barrier), and every
    submit counts the tasks submitted and not yet finished, so a bound exceeded is seen whatever
    the timing. Returns the result's column order and the most tasks in flight."""
    import threading

    lock = threading.Lock()
    first_batch = threading.Barrier(at_once, timeout=30)
    started, in_flight, most = [0], [0], [0]

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, *args):
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            return super().submit(fn, *args)

    def task(spec):
        with lock:
            started[0] += 1
            in_first_batch = started[0] <= at_once
        if in_first_batch:
            first_batch.wait()
        with lock:
            in_flight[0] -= 1
        return spec.name

    with CountingPool(4) as pool:
        out = scheduling.run_columns(pool, specs, task, scheduling.Progress(None, len(specs)), at_once)
    return list(out), most[0]


def test_columns_in_flight_are_bounded_by_the_memory_budget(monkeypatch):
    """Small tables: one column per thread; a table whose column pairs do not all fit the
    budget runs fewer at once (never none), so a 100M-row table cannot exhaust memory."""
    per_row = scheduling.BYTES_PER_ROW
    assert scheduling.columns_at_once(1_000_000, 2, budget=8 * 2**30) == 2
    assert scheduling.columns_at_once(200_000_000, 2, budget=per_row * 200_000_000 * 2 - 1) == 1
    assert scheduling.columns_at_once(200_000_000, 4, budget=1) == 1
    monkeypatch.setenv("LAKEMON_MONITOR_MEMORY_GB", "3")
    assert scheduling.memory_budget() == 3 * 2**30

    specs = list(golden_case()["one_model_one_window"][2].columns)
    assert len(specs) > 2
    for at_once in (1, 2):
        names, most = _run_and_count_in_flight(specs, at_once)
        assert names == [s.name for s in specs] and most == at_once


def test_codes_follow_the_rows_not_the_order_a_dictionary_lists_its_values():
    """A Parquet dictionary may list values in another order than the rows use them, or list
    values no row uses: the codes (and so slice and category order) are those of the plain
    strings, first occurrence first, unused values left out."""
    from lakemon_jobs.monitor_engine.prepare import Vocabulary

    rows = ["b", None, "c", "b", "a", "c", None, "a"]
    plain = Vocabulary()
    want = plain.encode(pa.chunked_array([pa.array(rows)]))
    dictionary = pa.array(["unused", "a", "c", "b"])
    indices = pa.array([3, None, 2, 3, 1, 2, None, 1], pa.int32())
    listed = Vocabulary()
    got = listed.encode(pa.chunked_array([pa.DictionaryArray.from_arrays(indices, dictionary)]))
    assert listed.values == plain.values == ["b", "c", "a"]
    assert got.tolist() == want.tolist()


def test_slicing_by_a_text_column_reads_it_without_duckdb_and_gives_what_duckdb_gives(tmp_path):
    """`sex`-style slicing (the expression is a text column's name) reads the column itself, as
    dictionaries from a plain Delta table's files; the codes and names are DuckDB's CAST."""
    from lakemon_jobs.monitor_engine.prepare import _duckdb_text, _encode, _slice

    inf, _, _ = golden_case()["slices_models_two_granularities"]
    for i in range(0, inf.num_rows, 130):
        write_deltalake(str(tmp_path / "inf"), inf.slice(i, 130), mode="append")
    source, _ = delta_columns(tmp_path / "inf")
    assert pa.types.is_dictionary(source.text_column("color").type)  # read as Parquet stores it
    for src in (source, inf):
        codes, names = _slice(src, "color")
        want_codes, want_names = _encode(_duckdb_text(src, "color"))
        assert names == want_names and codes.tolist() == want_codes.tolist()
    log: list = []
    _slice(Recording("inf", inf, log), "color")
    assert log == [("inf", "color")]  # no DuckDB scan
