"""run-local's step list: every step with what it runs and what it produces.

The list is built from the options (`plan_steps`): `--skip-synth` (or no CDKTF app to
synthesize) leaves out the synthesis, a model without `retraining:` (or `--skip-retrain`) the
retrain and the days after it. Step numbers are the positions in the list, so they are right
for every combination of options; the loop (loop.py) runs the list in order.

docs/embedded.md's step table is this list for a full run (a test keeps the two together).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from . import steps_model, steps_monitor, steps_traffic
from .run_context import Run


@dataclass(frozen=True)
class Step:
    name: str
    """Short and unique: used in failure messages, outcome.json and the tests."""
    title: str
    """The heading the run prints."""
    runs: str
    """What it runs (commands, servers)."""
    produces: str
    """What it leaves behind (tables, files, servers)."""
    action: Callable[[Run], None]
    collect: Callable[[Run], float] | None = None
    """For a step that runs in the background: after the next step, waits for it, reports, and
    returns its real wall time (the action only starts it)."""


ALL_STEPS: tuple[Step, ...] = (
    Step(
        "synth",
        "Synthesize the stacks (in the background, while the model trains)",
        runs="the CDKTF app (stacks/app.py) as a subprocess, as `cdktf synth` runs it",
        produces="<run>/cdktf.out/stacks/<env>/cdk.tf.json; resources by type per stack",
        action=steps_model.start_synth,
        collect=steps_model.collect_synth,
    ),
    Step(
        "train",
        "Train on the training data, register, promote the champion",
        runs="`lakemon train`, `lakemon register`",
        produces="<run>/mlflow.db and mlartifacts/ (the run, version 1 as champion), the baseline table",
        action=steps_model.train_and_register,
    ),
    Step(
        "serve",
        "Deploy the champion and serve it: MLflow scoring server behind the logging layer",
        runs="`lakemon deploy`, `mlflow models serve` (subprocess), the logging layer (thread)",
        produces="<run>/deployments/<endpoint>.json, <run>/logs/scoring-server.log, the endpoint URL",
        action=steps_model.deploy_and_serve,
    ),
    Step(
        "traffic",
        "Send traffic over simulated days: held-out Marvel, then DC",
        runs="HTTP POSTs to the endpoint (4 request formats), a labels writer",
        produces="the payload table, the labels table",
        action=steps_traffic.send_first_days,
    ),
    Step(
        "unpack",
        "Unpack the payloads into the inference log and join the labels",
        runs="`lakemon unpack`",
        produces="the inference log, quarantine and unpack-runs tables",
        action=steps_monitor.unpack,
    ),
    Step(
        "refresh",
        "Refresh the local monitor: profile and drift metrics",
        runs="`lakemon refresh` (the local monitor engine)",
        produces="the profile and drift metrics tables",
        action=steps_monitor.refresh,
    ),
    Step(
        "analyze",
        "Analyze drift: verdicts table, report; the synthesized alerts' SQL alerts the local webhook",
        runs="the webhook receiver (thread), `lakemon analyze-drift --stack-json ...`",
        produces="the verdicts table, <run>/reports/drift_*.html and .json, <run>/alerts/received.jsonl",
        action=steps_monitor.analyze_drift,
    ),
    Step(
        "retrain",
        "Retrain on confirmed drift: recent DC labels join training, the gate decides on held-out recent rows",
        runs="`lakemon retrain` (in process); a scoring server of a promoted challenger",
        produces="a new model version, its deployment and baseline, <run>/logs/scoring-server-retrained.log",
        action=steps_model.retrain_on_drift,
    ),
    Step(
        "after-retrain",
        "More DC days, served by the champion, judged against the new baseline",
        runs="HTTP POSTs, `lakemon unpack`, `lakemon refresh`, `lakemon analyze-drift --no-alerts`",
        produces="more rows in the same tables; the before/after table of drift and quality per day",
        action=steps_traffic.after_retrain,
    ),
    Step(
        "summary",
        "Where everything is",
        runs="row counts of every table",
        produces="the paths of the run folder, tables, report, alerts, logs, outcome.json",
        action=steps_monitor.where_everything_is,
    ),
)
STEPS_BY_NAME = {step.name: step for step in ALL_STEPS}
RETRAIN_STEPS = ("retrain", "after-retrain")


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    skipped: dict[str, str]
    """Left-out step name -> the option or reason that left it out (printed at the start)."""

    @property
    def total(self) -> int:
        return len(self.steps)

    def number(self, name: str) -> int:
        """The 1-based number of the step called `name` in this run."""
        for i, step in enumerate(self.steps, start=1):
            if step.name == name:
                return i
        raise KeyError(f"no step {name!r} in this run")

    def __contains__(self, name: object) -> bool:
        return any(step.name == name for step in self.steps)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


TRAINING_NAMES = {"bundled:marvel": "the Marvel characters", "bundled:dc": "the DC characters"}


def _titled(step: Step, stacks: tuple[str, ...], training_source: str | None) -> Step:
    """The step with a title naming this run's stacks and training data (a starter project
    has no `aut` stack; a team's model trains on its own table)."""
    if step.name == "synth" and stacks:
        noun = "stack" if len(stacks) == 1 else "stacks"
        return replace(step, title=step.title.replace("the stacks", f"the {_and(list(stacks))} {noun}"))
    if step.name == "train" and training_source:
        data = TRAINING_NAMES.get(training_source, training_source)
        return replace(step, title=step.title.replace("the training data", data))
    return step


def plan_steps(
    *,
    skip_synth: bool,
    has_app: bool,
    retraining: bool,
    skip_retrain: bool,
    stacks: tuple[str, ...] = (),
    training_source: str | None = None,
) -> Plan:
    """The steps of this run, in order, and why any were left out.

    `has_app`: a CDKTF app was found next to the env file; `retraining`: the model has a
    `retraining:` section (only then do the retrain steps apply at all); `stacks` and
    `training_source` name what the synth and train steps' titles say.
    """
    skipped: dict[str, str] = {}
    if skip_synth:
        skipped["synth"] = "--skip-synth"
    elif not has_app:
        skipped["synth"] = "no stacks/app.py (or app.py with cdktf.json) next to the env file"
    if retraining and skip_retrain:
        skipped.update(dict.fromkeys(RETRAIN_STEPS, "--skip-retrain"))
    not_applicable = set() if retraining else set(RETRAIN_STEPS)
    steps = tuple(
        _titled(s, stacks, training_source)
        for s in ALL_STEPS
        if s.name not in skipped and s.name not in not_applicable
    )
    return Plan(steps, skipped)
