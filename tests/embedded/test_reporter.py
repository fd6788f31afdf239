"""run-local's reporter (reporter.py) and the job-output setup (job_runner.py): the format of
every line, the timings, and that the interpreter-wide swaps are undone."""

from __future__ import annotations

import io
import logging
import sys
import warnings

import pytest

from lakemon_jobs.embedded.job_runner import job_output_for_the_run
from lakemon_jobs.embedded.reporter import JobOutput, Reporter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _reporter() -> tuple[Reporter, io.StringIO, FakeClock]:
    out, clock = io.StringIO(), FakeClock()
    return Reporter(out, clock=clock), out, clock


def test_a_step_prints_its_heading_its_lines_indented_and_its_time():
    reporter, out, clock = _reporter()
    with reporter.step(3, 10, "Serve"):
        reporter.info("first\nsecond")
        clock.now += 2.25
    assert out.getvalue() == "\n[3/10] Serve\n      first\n      second\n      done in 2.2s\n"
    assert [(t.number, t.title, t.seconds) for t in reporter.timings] == [(3, "Serve", 2.25)]


def test_a_failing_step_records_its_time_but_prints_no_done_line():
    reporter, out, clock = _reporter()
    with pytest.raises(RuntimeError), reporter.step(1, 2, "Train"):
        clock.now += 5
        raise RuntimeError("boom")
    assert "done in" not in out.getvalue()
    assert reporter.timings[0].seconds == 5


def test_a_table_is_a_caption_and_its_lines_under_the_step():
    reporter, out, _ = _reporter()
    reporter.table("per day:", ["| a | b |", "|---|---|"])
    assert out.getvalue() == "      per day:\n      | a | b |\n      |---|---|\n"


def test_timings_with_a_background_step_retimed_and_the_total():
    reporter, out, clock = _reporter()
    with reporter.step(1, 2, "Synth"):
        clock.now += 0.01
    with reporter.step(2, 2, "Train"):
        clock.now += 30
    reporter.resume(1, 2, "Synth", "collecting the result")
    reporter.retime(1, 19.5, "[background]")
    reporter.print_timings()
    text = out.getvalue()
    assert "\n[1/2] Synth: collecting the result\n" in text
    assert text.endswith(
        "\nwall time per step:\n  [1]   19.5s  Synth [background]\n  [2]   30.0s  Train\n  total 30.0s\n"
    )


def test_job_output_is_indented_line_by_line_across_partial_writes():
    out = io.StringIO()
    stream = JobOutput(out)
    stream.write("train: fitting")
    stream.write(" on 10 rows\nnext line\n")
    stream.write("\nlast")
    assert out.getvalue() == "      | train: fitting on 10 rows\n      | next line\n      | \n      | last"


def test_the_job_output_setup_indents_print_hides_mlflow_advice_and_undoes_everything():
    reporter, out, _ = _reporter()
    stdout, showwarning = sys.stdout, warnings.showwarning
    mlflow_level = logging.getLogger("mlflow").level
    shown: list[str] = []

    def record(message, *args, **kwargs):
        shown.append(str(message))

    warnings.showwarning = record
    try:
        with job_output_for_the_run(reporter):
            print("from a job")
            reporter.info("from the reporter")
            warnings.warn_explicit("advice", UserWarning, "/x/site-packages/mlflow/models/signature.py", 1)
            warnings.warn_explicit("real", UserWarning, "/x/site-packages/sklearn/metrics.py", 1)
            assert logging.getLogger("mlflow").getEffectiveLevel() >= logging.WARNING
        restored = warnings.showwarning
    finally:
        warnings.showwarning = showwarning
    assert out.getvalue() == "      | from a job\n      from the reporter\n"
    assert shown == ["real"]
    assert sys.stdout is stdout and restored is record
    assert logging.getLogger("mlflow").level == mlflow_level
