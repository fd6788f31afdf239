"""Run folders: every `lakemon run-local` starts clean in a folder of its own.

    <home>/runs/<YYYYmmdd-HHMMSS>/   one run: mlflow.db, mlartifacts/, tables/, deployments/,
                                     reports/, cdktf.out/, logs/ (a LocalRuntime root)
    <home>/runs/latest               symlink to the newest run

Why a fresh folder rather than resuming: the rehearsal's point is to show the whole loop on
known data; resuming would mix two runs' payloads, labels and windows (the simulated days of
two runs overlap) and the drift verdicts would no longer say anything about this run. Earlier
runs are kept for comparison, the oldest pruned beyond `keep`.
"""

from __future__ import annotations

import contextlib
import shutil
from datetime import datetime
from pathlib import Path

RUNS_DIR = "runs"
LATEST = "latest"


def new_run_folder(home: Path, *, now: datetime | None = None) -> Path:
    """Create and return a fresh, empty run folder under `<home>/runs/`; point `latest` at it."""
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
    latest = runs / LATEST
    with contextlib.suppress(FileNotFoundError):
        latest.unlink()
    with contextlib.suppress(OSError):  # a file system without symlinks only loses the shortcut
        latest.symlink_to(folder.name)
    return folder


def prune_runs(home: Path, keep: int, *, current: Path) -> list[Path]:
    """Delete the oldest run folders so that at most `keep` remain (never `current`)."""
    runs = home / RUNS_DIR
    folders = sorted(p for p in runs.iterdir() if p.is_dir() and not p.is_symlink())
    doomed = [p for p in folders[: max(0, len(folders) - keep)] if p.resolve() != current.resolve()]
    for folder in doomed:
        shutil.rmtree(folder, ignore_errors=True)
    return doomed
