"""run-local's orchestration (loop.py) without the heavy steps: the exit code for each way a run
ends, the numbering and background collection of a step list, failures named by their step,
and the outcome file the tests judge."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from datetime import date
from pathlib import Path

import pytest

from lakemon_jobs.embedded import loop
from lakemon_jobs.embedded.job_runner import StepFailed
from lakemon_jobs.embedded.reporter import Reporter
from lakemon_jobs.embedded.run_context import BadSetup, RetrainFacts, Run, RunOptions, RunOutcome
from lakemon_jobs.embedded.steps import Plan, Step

REPO = Path(__file__).resolve().parents[2]


def test_every_exit_code_has_its_own_value_and_the_help_lists_them():
    codes = {
        name: getattr(loop, name)
        for name in ("EXIT_OK", "EXIT_STEP_FAILED", "EXIT_CONFIG", "EXIT_CHECK_FAILED", "EXIT_INTERRUPTED")
    }
    assert len(set(codes.values())) == len(codes)
    assert codes["EXIT_CONFIG"] == 2  # as every job
    parser = argparse.ArgumentParser()
    loop.add_arguments(parser)
    help_text = " ".join(parser.format_help().split())
    for value in codes.values():
        assert f"{value} " in help_text
    assert "3 every step ran but a check did not hold" in help_text


def _args(tmp_path: Path, **changes) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    loop.add_arguments(parser)
    args = parser.parse_args(["--env-file", str(REPO / "envs" / "dev.yml"), "--home", str(tmp_path)])
    for key, value in changes.items():
        setattr(args, key, value)
    return args


@pytest.mark.parametrize(
    ("ending", "code", "says"),
    [
        (StepFailed("at step 4/10 (traffic): boom"), 1, "FAILED at step 4/10 (traffic): boom"),
        (BadSetup("cannot load envs/x.yml"), 2, "cannot load envs/x.yml"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (ZeroDivisionError("a bug"), 1, "FAILED (unexpected ZeroDivisionError): a bug"),
        (
            RunOutcome(failed_checks=["3 of 40 requests did not get HTTP 200"]),
            3,
            "  - 3 of 40 requests did not get HTTP 200",
        ),
        (RunOutcome(), 0, "lakemon run-local: OK: every step ran and every check held."),
    ],
)
def test_how_the_run_ends_maps_to_the_exit_code(ending, code, says, tmp_path, monkeypatch, capsys):
    def fake_run_local(options, reporter):
        if isinstance(ending, BaseException):
            raise ending
        return ending

    monkeypatch.setattr(loop, "run_local", fake_run_local)
    assert loop.run(_args(tmp_path)) == code
    assert says in capsys.readouterr().out


def test_an_option_out_of_range_is_a_usage_error(tmp_path, capsys):
    assert loop.run(_args(tmp_path, after_days=0)) == 2
    assert "--after-days must be at least 1" in capsys.readouterr().err


def test_the_closing_sentence_states_what_was_found():
    outcome = RunOutcome(
        day_sources={
            date(2026, 11, d): s for d, s in ((20, "marvel"), (21, "marvel"), (22, "dc"), (23, "dc"))
        },
        judged_days=[date(2026, 11, d) for d in (20, 21, 22, 23)],
        drifted={date(2026, 11, 23): ["year"]},
        alerted_windows={date(2026, 11, 23)},
        retrain=RetrainFacts("kept", "", metric="roc_auc", challenger_score=0.5, champion_score=0.6),
    )
    assert loop.found(outcome) == (
        "Daily windows that drifted: marvel 0/2, dc 1/2; windows the drift alert's SQL named: 2026-11-23; "
        "retrain: kept, roc_auc challenger 0.5000 vs champion 0.6000."
    )


# --- a step list run by the loop, with steps that only record ------------------------------------


def _run(tmp_path: Path, out: io.StringIO, stack: contextlib.ExitStack) -> Run:
    options = RunOptions(env_file=tmp_path / "dev.yml", home=tmp_path)
    return Run(
        options=options, job=None, root=tmp_path, reporter=Reporter(out), stack=stack, webhook_urls=[],
        outcome=RunOutcome(),
    )  # fmt: skip


def test_steps_run_in_order_numbered_from_the_list_and_a_background_step_is_collected_after_the_next(
    tmp_path,
):
    calls: list[str] = []

    def record(name):
        def action(run: Run) -> None:
            calls.append(name)
            run.reporter.info(f"{name} ran")

        return action

    def collect(run: Run) -> float:
        calls.append("collect")
        return 12.5

    plan = Plan(
        (
            Step("bg", "Background (while the next runs)", "r", "p", record("bg"), collect=collect),
            Step("one", "One", "r", "p", record("one")),
            Step("two", "Two", "r", "p", record("two")),
        ),
        skipped={},
    )
    out = io.StringIO()
    with contextlib.ExitStack() as stack:
        run = _run(tmp_path, out, stack)
        loop._run_steps(plan, run)
    assert calls == ["bg", "one", "collect", "two"]
    text = out.getvalue()
    assert text.index("[1/3] Background (while the next runs)") < text.index("[2/3] One")
    assert (
        text.index("[2/3] One")
        < text.index("[1/3] Background: collecting the result")
        < text.index("[3/3] Two")
    )
    assert [(s.number, s.name) for s in run.outcome.steps] == [(1, "bg"), (2, "one"), (3, "two")]
    assert run.outcome.steps[0].seconds == 12.5
    assert run.reporter.timings[0].title == "Background (while the next runs) [background]"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            StepFailed("`lakemon unpack` exited with code 1"),
            "at step 2/2 (second): `lakemon unpack` exited with code 1",
        ),
        (KeyError("boom"), "at step 2/2 (second) (unexpected KeyError): 'boom'"),
    ],
)
def test_a_failing_step_is_named_by_its_number_and_name_and_stops_the_run(error, message, tmp_path):
    ran: list[str] = []

    def fail(run: Run) -> None:
        raise error

    plan = Plan(
        (
            Step("first", "First", "r", "p", lambda run: ran.append("first")),
            Step("second", "Second", "r", "p", fail),
        ),
        skipped={},
    )
    with contextlib.ExitStack() as stack, pytest.raises(StepFailed) as failed:
        loop._run_steps(plan, _run(tmp_path, io.StringIO(), stack))
    assert str(failed.value) == message and ran == ["first"]


def test_the_outcome_file_is_json_with_dates_as_iso_strings(tmp_path):
    outcome = RunOutcome(
        env="dev",
        day_sources={date(2026, 11, 22): "dc"},
        drifted={date(2026, 11, 22): ["year", "align", "year"]},
        judged_days=[date(2026, 11, 22)],
        alerted_windows={date(2026, 11, 22)},
        status_counts={200: 40},
        sent_page_ids={1, 2},
        report_html=tmp_path / "r.html",
    )
    data = json.loads(outcome.write(tmp_path).read_text())
    assert data["day_sources"] == {"2026-11-22": "dc"} and data["drifted"] == {
        "2026-11-22": ["align", "year"]
    }
    assert data["alerted_windows"] == ["2026-11-22"] and data["status_counts"] == {"200": 40}
    assert data["report_html"] == str(tmp_path / "r.html") and "sent_page_ids" not in data
    assert data["retrain"] is None and data["failure"] is None


def test_no_print_in_the_loop_or_its_steps():
    """All console output goes through the reporter (the jobs' own output is theirs)."""
    folder = REPO / "scripts" / "lakemon_jobs" / "embedded"
    for name in (
        "loop.py",
        "steps.py",
        "steps_model.py",
        "steps_traffic.py",
        "steps_monitor.py",
        "run_context.py",
    ):
        source = (folder / name).read_text(encoding="utf-8")
        lines = [line for line in source.splitlines() if "print(" in line and "file=sys.stderr" not in line]
        assert [line for line in lines if "print_exc" not in line and "print_timings" not in line] == [], name


def test_the_job_output_setup_is_entered_before_the_first_step_starts_a_thread(tmp_path, monkeypatch):
    """The interpreter-wide swaps (stdout, showwarning) happen before any step runs and are
    undone after the exit stack stopped everything: a step sees them in place."""
    seen: list[bool] = []
    monkeypatch.setattr(
        loop, "_run_steps", lambda plan, run: seen.append(type(sys.stdout).__name__ == "JobOutput")
    )
    out = io.StringIO()
    outcome = loop.run_local(
        RunOptions(env_file=REPO / "envs" / "dev.yml", home=tmp_path, skip_synth=True), Reporter(out)
    )
    assert seen == [True] and type(sys.stdout).__name__ != "JobOutput"
    assert "(left out: step synth, --skip-synth)" in out.getvalue()
    latest = tmp_path / "runs" / "latest"
    assert json.loads((latest / "outcome.json").read_text())["model"] == outcome.model == "alive_classifier"
