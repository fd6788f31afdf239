"""The typed state of one `lakemon run-local`: its options, what the steps share, what it found.

- `RunOptions`: the command line, typed (what the step list is built from).
- `Run`: what every step receives: the job context, the run folder, the reporter, the exit
  stack that stops every server and process, and the live services the steps hand on (the
  logging layer, the scoring server).
- `RunOutcome`: the facts the steps record (what was sent, which windows drifted, which windows
  the alert named, the retrain's decision, row counts) and the run's own checks that failed.
  The run writes it to `<run>/outcome.json`; the tests judge it (tests/e2e/acceptance.py): the
  acceptance judgement of the rehearsal is theirs, not the loop's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..context import JobContext
    from ..retrain import RetrainResult
    from .logging_layer import LoggingLayer
    from .reporter import Reporter
    from .scoring import ScoringServer
    from .synth import BackgroundSynth

OUTCOME_FILE = "outcome.json"

DAILY_GRANULARITY = "1 day"
"""The monitor windows run-local's outcome is read from: the rehearsal sends its traffic by the
simulated day (one publisher per day), and the window lines of the analysis, the closing sentence,
outcome.json and the before/after table are per day. An env file without it in
`monitoring.granularities` is refused before any step (loop.py); its other granularities are
computed, judged and reported as usual, and the alerts and the retrain use the first one, as on
Databricks (docs/embedded.md)."""


class BadSetup(UsageError):
    """The env file, the model name or the home folder cannot be used: nothing was started (exit 2)."""


@dataclass(frozen=True)
class RunOptions:
    env_file: Path
    home: Path
    model: str | None = None
    rows_per_day: int = 800
    marvel_days: int = 4
    dc_days: int = 3
    batch_size: int = 20
    workers: int = 4
    keep_runs: int = 3
    skip_synth: bool = False
    skip_retrain: bool = False
    after_days: int = 2

    POSITIVE = ("rows_per_day", "marvel_days", "dc_days", "batch_size", "workers", "keep_runs", "after_days")

    @classmethod
    def from_args(cls, args: argparse.Namespace, default_home: str) -> RunOptions:
        env_file = (args.env_file or Path("envs") / f"{args.env}.yml").resolve()
        return cls(
            env_file=env_file,
            home=Path(args.home or default_home).resolve(),
            model=args.model,
            **{name: getattr(args, name) for name in (*cls.POSITIVE, "skip_synth", "skip_retrain")},
        )

    def problem(self) -> str | None:
        """The first option out of range, as the message to print, or None."""
        for name in self.POSITIVE:
            if getattr(self, name) < 1:
                return f"--{name.replace('_', '-')} must be at least 1"
        return None


@dataclass
class RetrainFacts:
    status: str
    message: str
    metric: str | None = None
    challenger_version: str | None = None
    challenger_score: float | None = None
    champion_version: str | None = None
    champion_score: float | None = None
    holdout_rows: int | None = None


@dataclass
class StepRecord:
    number: int
    name: str
    title: str
    seconds: float


@dataclass
class RunOutcome:
    """What the run found: facts for the closing summary, outcome.json and the tests."""

    env: str = ""
    model: str = ""
    run_folder: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """step name -> why it was left out of this run (an option)."""
    failed_checks: list[str] = field(default_factory=list)
    """The run's own checks that did not hold (nothing lost: every request answered, every
    prediction unpacked with its label, every port released, the new champion served)."""
    failure: str | None = None
    """Why the run stopped early, when it did."""
    rows_sent: int = 0
    requests_sent: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    day_sources: dict[date, str] = field(default_factory=dict)
    drifted: dict[date, list[str]] = field(default_factory=dict)
    """Daily windows judged drift -> their drifted features (the first analysis, step analyze)."""
    judged_days: list[date] = field(default_factory=list)
    alerted_windows: set[date] = field(default_factory=set)
    """Windows the drift alert's own SQL named when it fired (whichever destinations received it)."""
    alert_deliveries: list[str] = field(default_factory=list)
    """How each notification of the fired alerts went: `<alert> -> <destination> (<type>): sent|NOT sent`."""
    alerts_received: int = 0
    alert_destinations: int = 0
    retrain: RetrainFacts | None = None
    served_after_retrain: dict[date, str] = field(default_factory=dict)
    before_after: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    report_html: Path | None = None
    """The newest report (after a retrain: the one judged against the new baseline)."""
    report_json: Path | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)
    """Every report the run wrote, oldest first: html, json, first and last window, baseline
    version and champion it judged against, and which step wrote it."""
    servers: list[tuple[str, int]] = field(default_factory=list)
    """(what, port) of every server started, to check each port is free after the stop."""
    sent_page_ids: set[int] = field(default_factory=set)
    """DC characters already sent (the days after the retrain send other ones)."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sent_page_ids")
        data["status_counts"] = {str(k): v for k, v in self.status_counts.items()}
        data["day_sources"] = {d.isoformat(): s for d, s in sorted(self.day_sources.items())}
        data["drifted"] = {d.isoformat(): sorted(set(f)) for d, f in sorted(self.drifted.items())}
        data["judged_days"] = [d.isoformat() for d in sorted(self.judged_days)]
        data["alerted_windows"] = [d.isoformat() for d in sorted(self.alerted_windows)]
        data["served_after_retrain"] = {
            d.isoformat(): s for d, s in sorted(self.served_after_retrain.items())
        }
        for key in ("report_html", "report_json"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    def write(self, folder: Path) -> Path:
        path = folder / OUTCOME_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path


@dataclass
class Run:
    """What every step receives."""

    options: RunOptions
    job: JobContext
    root: Path
    reporter: Reporter
    stack: contextlib.ExitStack
    webhook_urls: list[str]
    outcome: RunOutcome
    after_days: int = 0
    """Days of traffic the after-retrain step will send (0 without it): the first traffic
    step leaves room for them, so every simulated day is in the past."""
    synth: BackgroundSynth | None = None
    layer: LoggingLayer | None = None
    scoring: ScoringServer | None = None
    """The scoring server that serves now (the retrain step swaps it)."""
    before_retrain: dict | None = None
    """The days as the first analysis judged them (rehearsal.DayView per day), for the before/after table."""
    retrain_result: RetrainResult | None = None

    @property
    def job_args(self) -> list[str]:
        return [
            "--env-file",
            str(self.options.env_file),
            "--model",
            self.job.model.name,
            "--home",
            str(self.root),
        ]
