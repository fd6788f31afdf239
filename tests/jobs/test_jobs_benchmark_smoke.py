"""The job benchmark (benchmarks/job_benchmark.py) at CI size: 1M rows in 10,000 AI-gateway
requests (the four request formats, ten failed requests) over 30 days, unpack -> refresh ->
analyze-drift each as its own `lakemon` process, with the DuckDB and Python floors. No timing
is asserted (speed targets live in the benchmark); what the job wrote is."""

from __future__ import annotations

import sys

from jobs_helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import job_benchmark  # noqa: E402

from lakemon_jobs.context import JobContext  # noqa: E402


def test_job_benchmark_at_one_million_rows(tmp_path):
    steps, problems, data = job_benchmark.run_benchmark(
        requests=10_000, rows_per_request=100, days=30, repeat=1, work=tmp_path / "home", say=lambda _m: None
    )
    # every check of the benchmark passed: all 1M rows in the inference log, the 10 failed requests
    # quarantined, the accounting line balanced, 30 daily profile windows, verdicts for all 30 days,
    # a progress line from each step
    assert problems == []
    assert (data.rows, data.requests, data.failed, data.days) == (1_000_000, 10_000, 10, 30)
    for name, step in steps.items():
        run = step.runs[0]
        assert run.error is None, (name, run.error)
        assert run.cpu > 0 and run.peak_mb > 0, name
    # the floors read the same payload table: DuckDB counts every request's rows from the JSON
    floor_output = steps["floor: DuckDB scan + JSON"].runs[0].output
    assert '"request_rows": 1001000' in floor_output and '"predicted_rows": 1000000' in floor_output
    # the SQL unpack floor made (and its write floor rewrote) one row per prediction
    for name in ("floor: DuckDB SQL unpack, no checks", "floor: DuckDB write of the unpacked rows"):
        assert '"rows": 1000000' in steps[name].runs[0].output, name
    markdown = job_benchmark.table(steps, data)
    assert "| unpack |" in markdown and "| refresh + analyze-drift |" in markdown

    # the checks can fail: a run whose unpack lost its accounting line, or whose inference log
    # misses rows, is reported
    ctx = JobContext.load(data.env_file, home=data.home)
    outputs = {name: steps[name].runs[0].output for name in ("unpack", "refresh", "analyze-drift")}
    broken = job_benchmark.check(data, ctx, {**outputs, "unpack": outputs["unpack"].replace("check:", "")})
    assert any("accounting" in p for p in broken)
    fewer = job_benchmark.check(type(data)(**{**data.__dict__, "rows": data.rows + 1}), ctx, outputs)
    assert any("inference log has 1000000 rows, expected 1000001" in p for p in fewer)


def test_the_sql_unpack_floor_computes_the_rows_unpack_writes(tmp_path):
    """The "DuckDB SQL unpack, no checks" floor is only a fair lower bound if it does the same
    work: on clean payloads in all four request formats it must yield exactly the rows
    payloads.parse_payloads yields (same keys, features, predictions, times)."""
    import datetime as dt

    import duckdb
    import pandas as pd
    from deltalake import DeltaTable
    from job_data import write_job_data

    from lakemon.contract.tables import inference_log_columns
    from lakemon_jobs.payloads import parse_payloads

    data = write_job_data(tmp_path / "home", job_benchmark.ENV_FILE, requests=8, rows_per_request=3, days=2,
                          end=dt.date(2026, 11, 1), baseline_rows=10)
    ctx = JobContext.load(data.env_file, home=data.home)
    files = DeltaTable(str(ctx.runtime.table_path(ctx.tables.payload))).file_uris()
    sql_file = tmp_path / "unpack.sql"
    sql_file.write_text(job_benchmark.duckdb_unpack_sql(ctx.model))
    out = tmp_path / "unpacked.parquet"

    result = job_benchmark.floor("duckdb-unpack", files, str(out), str(sql_file))

    assert result == {"rows": 24}
    names = [c.name for c in inference_log_columns(ctx.model)]
    keys = ["databricks_request_id", "row_index"]
    floor_rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}')").df()
    assert list(floor_rows.columns) == names
    payloads = duckdb.sql("SELECT * FROM read_parquet($files)", params={"files": files}).df()
    assert set(payloads["request"].str.slice(2, 12)) == {"dataframe_", "instances\"", "inputs\": {"}
    expected = parse_payloads(payloads, ctx.model, now=pd.Timestamp("2026-11-02", tz="UTC"))
    expected = expected[expected["reason"].isna()][names]
    assert len(expected) == 24
    got = floor_rows.sort_values(keys).reset_index(drop=True)
    want = expected.sort_values(keys).reset_index(drop=True)
    time = ctx.model.timestamp_column
    assert (pd.to_datetime(got[time], utc=True) == pd.to_datetime(want[time], utc=True)).all()
    for name in names:
        if name != time:
            pd.testing.assert_series_equal(got[name].astype(object).where(got[name].notna(), None),
                                           want[name].astype(object).where(want[name].notna(), None),
                                           check_names=False, obj=name)
