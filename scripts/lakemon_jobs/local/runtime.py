"""Where a job runs: on Databricks, or on the embedded default (one machine, no workspace).

Job scripts ask this module for locations instead of hard-coding them, so the same script
runs in both places. The embedded default keeps everything under one root folder:

    <root>/mlflow.db                     MLflow tracking + registry store (SQLite)
    <root>/mlartifacts/                  MLflow artifacts
    <root>/tables/<catalog>/<schema>/<table>/   local Delta tables (three-part names)
    <root>/deployments/<endpoint>.json   what the local "serving endpoint" serves
    <root>/reports/                      drift reports

The root is `$LAKEMON_HOME`, or `.lakemon` in the current directory.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError


def on_databricks() -> bool:
    """True inside a Databricks job or notebook (the runtime sets DATABRICKS_RUNTIME_VERSION)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


class HomeError(UsageError):
    """The embedded default's home folder cannot be used (a file, not creatable, not writable): exit 2."""


def usable_home(base: Path) -> Path:
    """`base`, created if missing, or HomeError saying what is wrong with it and what to do.

    Checked by writing a probe file, not with os.access: root passes access checks on a
    read-only mount, and the first real write would then fail deep inside MLflow or Delta."""
    if base.exists() and not base.is_dir():
        raise HomeError(f"the lakemon home {base} is a file, not a folder; pass --home <folder> (created if missing)")
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = base / f".lakemon-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise HomeError(
            f"the lakemon home {base} is not usable ({exc.strerror or exc}); pass --home <folder> "
            "with a writable folder, or set LAKEMON_HOME"
        ) from None
    return base


@dataclass(frozen=True)
class LocalRuntime:
    root: Path

    @classmethod
    def from_env(cls, root: str | Path | None = None) -> LocalRuntime:
        base = Path(root or os.environ.get("LAKEMON_HOME") or ".lakemon").resolve()
        return cls(usable_home(base))

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    def table_path(self, full_name: str) -> Path:
        parts = full_name.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{full_name!r} is not a three-part table name (catalog.schema.table)")
        return self.root / "tables" / Path(*parts)

    def deployment_path(self, endpoint: str) -> Path:
        return self.root / "deployments" / f"{endpoint}.json"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"


def write_atomically(path: Path, content: str) -> None:
    """Write to a temporary file in the same folder, then rename over the target: readers see
    the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
