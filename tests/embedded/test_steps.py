"""run-local's step list (steps.py): unique names, numbering derived from the list, options that
leave steps out, and the docs' step table kept equal to the list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lakemon_jobs.embedded.steps import ALL_STEPS, RETRAIN_STEPS, plan_steps

REPO = Path(__file__).resolve().parents[2]
FULL = ["synth", "train", "serve", "traffic", "unpack", "refresh", "analyze", "retrain", "after-retrain", "summary"]


def _plan(**changes):
    options = {"skip_synth": False, "has_app": True, "retraining": True, "skip_retrain": False} | changes
    return plan_steps(**options)


def test_every_step_has_a_unique_name_and_says_what_it_runs_and_produces():
    names = [s.name for s in ALL_STEPS]
    assert len(set(names)) == len(names)
    assert len({s.title for s in ALL_STEPS}) == len(ALL_STEPS)
    for step in ALL_STEPS:
        assert step.runs.strip() and step.produces.strip() and callable(step.action), step.name
    assert [s.name for s in ALL_STEPS if s.collect is not None] == ["synth"]  # the one background step


def test_a_full_run_has_every_step_numbered_in_order():
    plan = _plan()
    assert [s.name for s in plan.steps] == FULL and plan.total == 10 and plan.skipped == {}
    assert [plan.number(name) for name in FULL] == list(range(1, 11))


def test_skip_synth_leaves_the_synthesis_out_and_the_rest_renumbers():
    plan = _plan(skip_synth=True)
    assert [s.name for s in plan.steps] == FULL[1:]
    assert plan.number("train") == 1 and plan.number("summary") == plan.total == 9
    assert plan.skipped == {"synth": "--skip-synth"}
    with pytest.raises(KeyError, match="synth"):
        plan.number("synth")


def test_no_app_to_synthesize_leaves_the_synthesis_out_and_says_why():
    plan = _plan(has_app=False)
    assert "synth" not in plan and "stacks/app.py" in plan.skipped["synth"]


def test_skip_retrain_leaves_out_the_retrain_and_the_days_after_it():
    plan = _plan(skip_retrain=True)
    assert [s.name for s in plan.steps] == [n for n in FULL if n not in RETRAIN_STEPS]
    assert plan.total == 8 and plan.number("summary") == 8
    assert plan.skipped == {"retrain": "--skip-retrain", "after-retrain": "--skip-retrain"}


def test_a_model_without_retraining_has_no_retrain_steps_and_nothing_reported_as_skipped():
    for skip_retrain in (False, True):
        plan = _plan(retraining=False, skip_retrain=skip_retrain)
        assert [s.name for s in plan.steps] == [n for n in FULL if n not in RETRAIN_STEPS]
        assert plan.skipped == {}


def test_both_skip_options_together():
    plan = _plan(skip_synth=True, skip_retrain=True)
    assert [s.name for s in plan.steps] == ["train", "serve", "traffic", "unpack", "refresh", "analyze", "summary"]
    assert set(plan.skipped) == {"synth", *RETRAIN_STEPS}


def test_the_docs_step_table_is_the_step_list():
    text = (REPO / "docs" / "embedded.md").read_text(encoding="utf-8")
    section = text.split("## What it does", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if re.match(r"\| \d+", line)]
    numbers = [int(re.match(r"\| (\d+)", row).group(1)) for row in rows]
    names = [row.split("|")[2].strip().strip("`") for row in rows]
    assert numbers == list(range(1, len(ALL_STEPS) + 1))
    assert names == [s.name for s in ALL_STEPS]
