"""run-local reads its day-by-day outcome from the daily monitor windows, and refuses up front an
env file whose monitor has none.

`monitoring.granularities` may list any granularity Databricks accepts, first or not. The
rehearsal sends traffic by the simulated day, so the window lines, the closing sentence and the
before/after table read the "1 day" windows (run_context.DAILY_GRANULARITY), whichever comes
first; without them the run used to go through every step and end "OK" with no window judged.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakemon.contract.verdicts import DRIFT_SUBJECT, QUALITY_SUBJECT, TABLE_FEATURE, Verdict, VerdictRow
from lakemon_jobs.context import JobContext
from lakemon_jobs.embedded import loop
from lakemon_jobs.embedded.rehearsal import day_views
from lakemon_jobs.embedded.reporter import Reporter
from lakemon_jobs.embedded.run_context import DAILY_GRANULARITY, BadSetup, RunOptions
from lakemon_jobs.embedded.steps_monitor import daily_drift

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "envs" / "dev.yml"
DEV_LINE = 'granularities: ["1 day"]'


def env_file(tmp_path: Path, granularities: str, name: str = "rehearse") -> Path:
    """envs/dev.yml with another `monitoring.granularities` (the file's stem is the env name)."""
    text = DEV.read_text(encoding="utf-8")
    assert text.count(DEV_LINE) == 1
    path = tmp_path / f"{name}.yml"
    path.write_text(text.replace(DEV_LINE, f"granularities: {granularities}"), encoding="utf-8")
    return path


def _args(path: Path, home: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    loop.add_arguments(parser)
    return parser.parse_args(["--env-file", str(path), "--home", str(home), "--skip-synth"])


@pytest.mark.parametrize("granularities", ['["1 week"]', '["1 hour"]', '["5 minutes", "1 month"]'])
def test_an_env_file_without_daily_windows_fails_before_any_step_with_one_line(
    granularities, tmp_path, monkeypatch, capsys
):
    path = env_file(tmp_path, granularities)
    home = tmp_path / "home"
    started = []
    monkeypatch.setattr(loop, "_check_training_columns", lambda ctx: started.append("training columns"))
    monkeypatch.setattr(loop, "_run_steps", lambda plan, run: started.append("steps"))

    assert loop.run(_args(path, home)) == loop.EXIT_CONFIG == 2

    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines == [
        f'lakemon run-local: {path}: monitoring.granularities: run-local judges its simulated traffic day by '
        f'day and needs "1 day" among them (got {granularities}); add it, e.g. {granularities[:-1]}, "1 day"]'
    ]
    assert started == []  # refused before the (slower) training-data check and before any step
    assert not (home / "runs").exists()  # no run folder: nothing was started


@pytest.mark.parametrize("granularities", ['["1 day"]', '["1 hour", "1 day"]', '["1 week", "1 day"]'])
def test_an_env_file_with_daily_windows_runs_its_steps(granularities, tmp_path, monkeypatch, capsys):
    path = env_file(tmp_path, granularities)
    ran = []
    monkeypatch.setattr(loop, "_check_training_columns", lambda ctx: None)
    monkeypatch.setattr(loop, "port_is_free", lambda port: True)  # another run may hold dev's 8765
    monkeypatch.setattr(loop, "_run_steps", lambda plan, run: ran.append([s.name for s in plan.steps]))

    outcome = loop.run_local(RunOptions.from_args(_args(path, tmp_path / "home"), "unused"), Reporter())

    assert ran and ran[0][0] == "train"  # synth left out by --skip-synth; every other step ran
    assert outcome.env == "rehearse" and outcome.failure is None
    assert (tmp_path / "home" / "runs" / "latest").is_symlink()


def test_the_shipped_env_files_have_daily_windows_and_a_weekly_one_is_refused(tmp_path):
    for path in sorted((REPO / "envs").glob("*.yml")):
        loop._check_daily_windows(JobContext.load(path, None, tmp_path), path)
    weekly = env_file(tmp_path, '["1 week"]')
    with pytest.raises(BadSetup, match=re.escape('(got ["1 week"]); add it, e.g. ["1 week", "1 day"]')):
        loop._check_daily_windows(JobContext.load(weekly, None, tmp_path), weekly)


# --- what the run reads: the daily windows, whichever granularity the env file lists first --------

DAY = date(2026, 11, 24)
MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)


def verdict(granularity: str, start: datetime, length: timedelta, subject: str, feature: str, statistic: str,
            value: float, result: Verdict) -> dict:  # fmt: skip
    return VerdictRow(
        subject=subject, granularity=granularity, window_start=start, window_end=start + length, feature=feature,
        kind=None, statistic=statistic, value=value, adjusted=None, threshold=0.1, pvalue=None, alpha=None,
        verdict=result.value, reason=None, row_count=100, min_rows=30, rule_version="test", run_id="r1",
        judged_at=MIDNIGHT,
    ).as_dict()  # fmt: skip


HOUR, ONE_DAY = timedelta(hours=1), timedelta(days=1)
ROWS = [
    # the day's window: `year` drifted, `hair` did not; accuracy 0.75
    verdict(DAILY_GRANULARITY, MIDNIGHT, ONE_DAY, DRIFT_SUBJECT, "year", "ks_test", 0.4, Verdict.DRIFT),
    verdict(DAILY_GRANULARITY, MIDNIGHT, ONE_DAY, DRIFT_SUBJECT, "hair", "chi_squared_test", 0.01, Verdict.OK),
    verdict(DAILY_GRANULARITY, MIDNIGHT, ONE_DAY, QUALITY_SUBJECT, TABLE_FEATURE, "accuracy_score", 0.75, Verdict.OK),
    # two hourly windows of the same day, which say otherwise
    verdict("1 hour", MIDNIGHT, HOUR, DRIFT_SUBJECT, "hair", "chi_squared_test", 0.9, Verdict.DRIFT),
    verdict("1 hour", MIDNIGHT + HOUR, HOUR, DRIFT_SUBJECT, "sex", "chi_squared_test", 0.9, Verdict.DRIFT),
    verdict("1 hour", MIDNIGHT + HOUR, HOUR, QUALITY_SUBJECT, TABLE_FEATURE, "accuracy_score", 0.1, Verdict.DEGRADED),
    # a weekly window starting that day
    verdict("1 week", MIDNIGHT, 7 * ONE_DAY, DRIFT_SUBJECT, "eye", "chi_squared_test", 0.9, Verdict.DRIFT),
]


def test_the_analysis_step_counts_the_daily_windows_only():
    assert daily_drift(ROWS) == ({DAY: ["year"]}, [DAY])
    assert daily_drift([r for r in ROWS if r["granularity"] != DAILY_GRANULARITY]) == ({}, [])


@pytest.mark.parametrize("granularities", ['["1 hour", "1 day", "1 week"]', '["1 day", "1 hour"]'])
def test_the_before_after_table_reads_the_daily_windows_whatever_comes_first(granularities, tmp_path):
    ctx = JobContext.load(env_file(tmp_path, granularities), None, tmp_path / "home")
    write_deltalake(str(ctx.runtime.table_path(ctx.tables.drift_verdicts)), pa.Table.from_pylist(ROWS))
    log = {ctx.model.model_id_column: ["alive_classifier-1"], ctx.model.timestamp_column: [MIDNIGHT + 3 * HOUR]}
    write_deltalake(str(ctx.runtime.table_path(ctx.tables.inference_log)), pa.table(log))

    view = day_views(ctx, {DAY: "dc"})[DAY]

    assert (view.drifted, view.judged) == (["year"], 2)
    assert (view.quality_metric, view.quality, view.quality_verdict) == ("accuracy_score", 0.75, "ok")
    assert view.served_by == "alive_classifier-1"
