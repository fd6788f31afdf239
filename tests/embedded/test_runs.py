"""Run folders: each run starts clean, `latest` points at the newest completed run, old runs are
pruned but never the newest completed one."""

from __future__ import annotations

from datetime import datetime

from lakemon_jobs.local.runs import mark_completed, new_run_folder, prune_runs


def test_each_run_gets_a_fresh_folder_and_latest_follows(tmp_path):
    when = datetime(2026, 1, 2, 3, 4, 5)
    first = new_run_folder(tmp_path, now=when)
    (first / "mlflow.db").write_text("first run")
    second = new_run_folder(tmp_path, now=when)  # same second: still a new, empty folder
    assert first != second and first.name == "20260102-030405" and second.name == "20260102-030405-2"
    assert list(second.iterdir()) == []
    assert not (tmp_path / "runs" / "latest").exists()  # nothing completed yet
    mark_completed(first)
    assert (tmp_path / "runs" / "latest").resolve() == first.resolve()  # not the unfinished second
    mark_completed(second)
    assert (tmp_path / "runs" / "latest").resolve() == second.resolve()
    assert (first / "mlflow.db").read_text() == "first run"


def test_prune_keeps_the_newest_and_never_the_current(tmp_path):
    folders = [new_run_folder(tmp_path, now=datetime(2026, 1, d)) for d in range(1, 6)]
    removed = prune_runs(tmp_path, 2, current=folders[-1])
    assert removed == folders[:3]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.is_symlink()) == [
        f.name for f in folders[3:]
    ]
    assert prune_runs(tmp_path, 1, current=folders[3]) == []  # the current run survives even if oldest


def test_interrupted_runs_never_prune_the_newest_completed_run(tmp_path):
    good = new_run_folder(tmp_path, now=datetime(2026, 1, 1))
    mark_completed(good)
    interrupted = []
    for day in (2, 3, 4, 5):  # four runs killed before the end, keep 3
        current = new_run_folder(tmp_path, now=datetime(2026, 1, day))
        prune_runs(tmp_path, 3, current=current)
        interrupted.append(current)
    assert good.exists() and (tmp_path / "runs" / "latest").resolve() == good.resolve()
    left = sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.is_symlink())
    # the 3 newest, plus the newest completed run on top of them
    assert left == [good.name, *(p.name for p in interrupted[-3:])]
    mark_completed(interrupted[-1])  # once a newer run completes, the old one may go
    assert prune_runs(tmp_path, 1, current=interrupted[-1]) == [good, *interrupted[-3:-1]]
