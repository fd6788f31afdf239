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
