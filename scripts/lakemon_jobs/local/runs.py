"""Run folders: every `lakemon run-local` starts clean in a folder of its own.

    <home>/runs/<YYYYmmdd-HHMMSS>/   one run: mlflow.db, mlartifacts/, tables/, deployments/,
                                     reports/, cdktf.out/, logs/ (a LocalRuntime root)
    <home>/runs/latest               symlink to the newest COMPLETED run
    <home>/runs/<stamp>/COMPLETED    written when every step of the run has finished

Why a fresh folder rather than resuming: the rehearsal's point is to show the whole loop on
known data; resuming would mix two runs' payloads, labels and windows (the simulated days of
two runs overlap) and the drift verdicts would no longer say anything about this run. Earlier
runs are kept for comparison, the oldest pruned beyond `keep`.

Why `latest` moves only at completion: follow-up commands (`lakemon analyze-drift` without
--home) and users read `runs/latest`; an interrupted run has half its tables. For the same
reason pruning never deletes the newest completed run, however many interrupted runs follow it.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import datetime
from pathlib import Path

RUNS_DIR = "runs"
LATEST = "latest"
COMPLETED = "COMPLETED"


def new_run_folder(home: Path, *, now: datetime | None = None) -> Path:
    """Create and return a fresh, empty run folder under `<home>/runs/` (`latest` is not moved
    until the run completes: `mark_completed`)."""
    runs = home / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    folder = runs / stamp
    suffix = 1
    while True:
        try:
            folder.mkdir()
            break
        except FileExistsError:
            suffix += 1
            folder = runs / f"{stamp}-{suffix}"
    return folder


def mark_completed(folder: Path) -> None:
    """Record that every step of the run in `folder` finished, and point `latest` at it."""
    (folder / COMPLETED).write_text(datetime.now().isoformat(timespec="seconds") + "\n", encoding="utf-8")
    latest = folder.parent / LATEST
    with contextlib.suppress(FileNotFoundError):
        latest.unlink()
    with contextlib.suppress(OSError):  # a file system without symlinks only loses the shortcut
        latest.symlink_to(folder.name)


def is_completed(folder: Path) -> bool:
    return (folder / COMPLETED).is_file()


def run_folders(home: Path) -> list[Path]:
    """Run folders under `<home>/runs/`, oldest first (their names sort by start time)."""
    runs = home / RUNS_DIR
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and not p.is_symlink())


def prune_runs(home: Path, keep: int, *, current: Path) -> list[Path]:
    """Delete the oldest run folders so that the `keep` newest remain, plus the newest completed
    run when it is older than those (three interrupted runs must not remove the last good one);
    `current` is never deleted."""
    folders = run_folders(home)
    completed = [p for p in folders if is_completed(p)]
    spared = {current.resolve(), *([completed[-1].resolve()] if completed else [])}
    doomed = [p for p in folders[: max(0, len(folders) - keep)] if p.resolve() not in spared]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed
